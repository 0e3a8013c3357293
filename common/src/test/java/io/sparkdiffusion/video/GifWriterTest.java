package io.sparkdiffusion.video;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Node;

class GifWriterTest {
    private static final String FORMAT = "javax_imageio_gif_image_1.0";

    @TempDir
    Path tmp;

    /** One frame read back: the image, its delay and the NETSCAPE2.0 loop count (null when absent). */
    record GifFrame(BufferedImage image, int delay, Integer loopCount) {}

    static GifFrame[] read(byte[] gif) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(gif))) {
            Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName("gif");
            ImageReader reader = it.next();
            try {
                reader.setInput(in, false);
                int n = reader.getNumImages(true);
                GifFrame[] frames = new GifFrame[n];
                for (int i = 0; i < n; i++) {
                    IIOMetadataNode root =
                            (IIOMetadataNode) reader.getImageMetadata(i).getAsTree(FORMAT);
                    int delay = -1;
                    Integer loop = null;
                    for (Node c = root.getFirstChild(); c != null; c = c.getNextSibling()) {
                        if (c.getNodeName().equals("GraphicControlExtension")) {
                            delay = Integer.parseInt(((IIOMetadataNode) c).getAttribute("delayTime"));
                        }
                        if (c.getNodeName().equals("ApplicationExtensions")) {
                            for (Node a = c.getFirstChild(); a != null; a = a.getNextSibling()) {
                                IIOMetadataNode app = (IIOMetadataNode) a;
                                if ("NETSCAPE".equals(app.getAttribute("applicationID"))
                                        && "2.0".equals(app.getAttribute("authenticationCode"))) {
                                    byte[] b = (byte[]) app.getUserObject();
                                    loop = (b[1] & 0xFF) | (b[2] & 0xFF) << 8;
                                }
                            }
                        }
                    }
                    frames[i] = new GifFrame(reader.read(i), delay, loop);
                }
                return frames;
            } finally {
                reader.dispose();
            }
        }
    }

    @Test
    void delayFromFps() {
        assertEquals(10, GifWriter.delayCentiseconds(10));
        assertEquals(4, GifWriter.delayCentiseconds(25));
        assertEquals(13, GifWriter.delayCentiseconds(8), "12.5 cs rounds half up");
        assertEquals(100, GifWriter.delayCentiseconds(1));
        assertEquals(1, GifWriter.delayCentiseconds(1000), "never 0");
        assertThrows(IllegalArgumentException.class, () -> GifWriter.delayCentiseconds(0));
    }

    @Test
    void rgbClipRoundTrips() throws IOException {
        Tensor clip = VideoTestClips.rgb(6, 17, 33, 1, 4);
        byte[] gif = GifWriter.toBytes(clip, 25);
        assertEquals("GIF89a", new String(gif, 0, 6, StandardCharsets.US_ASCII));
        GifFrame[] frames = read(gif);
        assertEquals(6, frames.length);
        assertEquals(0, frames[0].loopCount(), "NETSCAPE2.0 loop forever on the first frame");
        for (int f = 0; f < frames.length; f++) {
            assertEquals(33, frames[f].image().getWidth(), "GIF keeps odd sizes");
            assertEquals(17, frames[f].image().getHeight());
            assertEquals(4, frames[f].delay(), "25 fps = 4 cs");
            // quantised to <= 256 colours: close, not exact
            double e = Mp4WriterTest.mae(clip, f, frames[f].image());
            assertTrue(e < 6.0 / 255, "frame " + f + " mean abs error " + e * 255 + "/255");
        }
        assertTrue(Mp4WriterTest.meanLuma(frames[1].image()) > Mp4WriterTest.meanLuma(frames[4].image()) + 0.5);
    }

    @Test
    void grayscaleClipIsExact() throws IOException {
        Tensor clip = VideoTestClips.gray(4, 10, 12);
        GifFrame[] frames = read(GifWriter.toBytes(clip, 10));
        assertEquals(4, frames.length);
        for (int f = 0; f < 4; f++) {
            assertEquals(10, frames[f].delay());
            BufferedImage img = frames[f].image();
            assertEquals(12, img.getWidth());
            assertEquals(10, img.getHeight());
            for (int y = 0; y < 10; y++) {
                for (int x = 0; x < 12; x++) {
                    int v = Images.to8bit(clip.data()[(f * 10 + y) * 12 + x]);
                    assertEquals(v << 16 | v << 8 | v, img.getRGB(x, y) & 0xFFFFFF, "pixel " + x + "," + y);
                }
            }
        }
    }

    @Test
    void finiteLoopCountAndFileOutput() throws IOException {
        Tensor clip = VideoTestClips.rgb(3, 8, 8, 0, 2);
        Path file = tmp.resolve("clip.gif");
        Files.write(file, new byte[100_000]); // a longer existing file must not leave a tail behind
        GifWriter.write(clip, 5, 3, file);
        byte[] bytes = Files.readAllBytes(file);
        GifFrame[] frames = read(bytes);
        assertEquals(3, frames.length);
        assertEquals(3, frames[0].loopCount());
        assertEquals(20, frames[2].delay());
        assertEquals(0x3B, bytes[bytes.length - 1] & 0xFF, "ends with the GIF trailer");

        Path forever = tmp.resolve("forever.gif");
        GifWriter.write(clip, 5, forever);
        assertArrayEquals(GifWriter.toBytes(clip, 5), Files.readAllBytes(forever));
        assertNotNull(read(Files.readAllBytes(forever))[0].loopCount());
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> GifWriter.toBytes(Tensor.zeros(1, 4, 4, 2), 10));
        assertThrows(IllegalArgumentException.class, () -> GifWriter.toBytes(Tensor.zeros(1, 4, 4, 3), -1));
        assertThrows(
                IllegalArgumentException.class,
                () -> GifWriter.write(Tensor.zeros(1, 4, 4, 3), 10, -2, tmp.resolve("x.gif")));
    }
}

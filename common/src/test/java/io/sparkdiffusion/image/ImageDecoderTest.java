package io.sparkdiffusion.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import io.sparkdiffusion.testing.Fixtures;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImageDecoderTest {
    private static final Path IMAGES = Fixtures.root().resolve("testdata/assets/images");

    static byte[] read(String name) throws IOException {
        return Files.readAllBytes(IMAGES.resolve(name));
    }

    @Test
    void decodesJpegAndPngTo01Rgb() throws Exception {
        DecodedImage jpg = ImageDecoder.decode(read("astronaut_512.jpg"), ImageDecoder.Limits.DEFAULT);
        assertEquals(512, jpg.width());
        assertEquals(512 * 512 * 3, jpg.rgb().length);
        assertTrue(jpg.notes().isEmpty(), jpg.notes().toString());
        DecodedImage mask = ImageDecoder.decode(read("astronaut_mask_512.png"), ImageDecoder.Limits.DEFAULT);
        float[] l = mask.luminance();
        int white = 0;
        for (float v : l) {
            assertTrue(v >= 0 && v <= 1);
            white += v > 0.5 ? 1 : 0;
        }
        assertTrue(white > 0 && white < l.length, "the mask has a repaint region");
    }

    @Test
    void alphaIsCompositedOverWhite() throws Exception {
        BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_INT_ARGB);
        img.setRGB(0, 0, 0x00000000); // fully transparent black -> white
        img.setRGB(1, 0, 0x80FF0000); // half-transparent red -> pink
        img.setRGB(2, 0, 0xFF00FF00); // opaque green stays green
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        DecodedImage d = ImageDecoder.decode(png.toByteArray(), ImageDecoder.Limits.DEFAULT);
        assertTrue(
                d.notes().contains("alpha channel composited over white"),
                d.notes().toString());
        assertEquals(1f, d.rgb()[0]);
        assertEquals(1f, d.rgb()[3]);
        assertEquals(Math.round((0x80 * 0 + 255 * (255 - 0x80)) / 255f) / 255f, d.rgb()[4], 1e-6);
        assertEquals(0f, d.rgb()[6]);
        assertEquals(1f, d.rgb()[7]);
    }

    @Test
    void badFilesGiveAClearReason() throws Exception {
        String truncated = reason(Arrays.copyOf(read("astronaut_512.jpg"), read("astronaut_512.jpg").length / 2));
        assertTrue(truncated.contains("damaged") || truncated.contains("cannot decode"), truncated);
        assertTrue(reason(new byte[0]).contains("empty"));
        assertTrue(reason("just some text, not a PNG\n".getBytes(StandardCharsets.UTF_8))
                .contains("not a readable image"));
        BufferedImage tiny = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(tiny, "png", png);
        assertTrue(reason(png.toByteArray()).contains("too small"));
    }

    @Test
    void aDecompressionBombIsRefusedFromItsHeader() throws Exception {
        byte[] bomb = pngHeaderOnly(10_000, 10_000);
        // a bound that does not depend on the machine's speed: the bytes this thread allocates. Decoding the bomb
        // would allocate at least 10^8 pixels (400 MB as ints); refusing it from the header allocates a few kB.
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(thread);
        String r = reason(bomb);
        long allocated = threads.getThreadAllocatedBytes(thread) - before;
        assertTrue(r.contains("10000x10000") && r.contains("refused before decoding"), r);
        assertTrue(allocated < 16L << 20, "refused without decoding, but allocated " + allocated + " bytes");
    }

    @Test
    void lanczosResizeKeepsFlatColoursAndRange() {
        float[] flat = new float[10 * 6 * 3];
        Arrays.fill(flat, 0.25f);
        DecodedImage d = new DecodedImage(flat, 10, 6).resize(4, 9);
        assertEquals(4 * 9 * 3, d.rgb().length);
        for (float v : d.rgb()) {
            assertEquals(0.25f, v, 1e-6);
        }
        float[] nearest = Resize.nearest(new float[] {0, 1, 2, 3}, 2, 2, 1, 4, 4);
        assertEquals(0f, nearest[0]);
        assertEquals(1f, nearest[2]);
        assertEquals(3f, nearest[15]);
    }

    private static String reason(byte[] bytes) {
        return assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(bytes, ImageDecoder.Limits.DEFAULT))
                .getMessage();
    }

    /** A valid PNG signature and IHDR claiming w x h, with a tiny (wrong) IDAT: decoding it would allocate w*h. */
    static byte[] pngHeaderOnly(int w, int h) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(out);
        d.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream i = new DataOutputStream(ihdr);
        i.writeInt(w);
        i.writeInt(h);
        i.write(new byte[] {8, 2, 0, 0, 0});
        chunk(d, "IHDR", ihdr.toByteArray());
        chunk(d, "IDAT", new byte[] {0x78, (byte) 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
        chunk(d, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(DataOutputStream d, String type, byte[] data) throws IOException {
        d.writeInt(data.length);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        d.write(t);
        d.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        d.writeInt((int) crc.getValue());
    }
}

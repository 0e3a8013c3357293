package io.sparkdiffusion.video;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VideoPngFramesTest {
    @TempDir
    Path tmp;

    @Test
    void fileNamesArePaddedAndSortable() {
        assertEquals("frame_0000.png", PngFrames.fileName(0, 1));
        assertEquals("frame_0042.png", PngFrames.fileName(42, 100));
        assertEquals("frame_9999.png", PngFrames.fileName(9999, 10000));
        assertEquals("frame_00007.png", PngFrames.fileName(7, 10001));
    }

    @Test
    void folderHoldsOnePngPerFrame() throws IOException {
        Tensor clip = VideoTestClips.rgb(5, 7, 9, 1, 3);
        Path dir = tmp.resolve("frames");
        List<Path> files = PngFrames.write(clip, dir);
        assertEquals(5, files.size());
        List<String> names;
        try (Stream<Path> s = Files.list(dir)) {
            names = s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
        assertEquals(
                List.of("frame_0000.png", "frame_0001.png", "frame_0002.png", "frame_0003.png", "frame_0004.png"),
                names);
        for (int f = 0; f < 5; f++) {
            assertEquals(dir.resolve(names.get(f)), files.get(f));
            byte[] bytes = Files.readAllBytes(files.get(f));
            assertArrayEquals(Images.toPng(clip, f), bytes);
            assertArrayEquals(PngFrames.frame(clip, f), bytes);
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(bytes));
            assertEquals(9, img.getWidth());
            assertEquals(7, img.getHeight());
            // lossless: the exact 8-bit values
            float[] d = clip.data();
            int s = ((f * 7 + 3) * 9 + 4) * 3;
            int rgb = img.getRGB(4, 3);
            assertEquals(Images.to8bit(d[s]), (rgb >> 16) & 0xFF);
            assertEquals(Images.to8bit(d[s + 1]), (rgb >> 8) & 0xFF);
            assertEquals(Images.to8bit(d[s + 2]), rgb & 0xFF);
        }
    }

    @Test
    void posterIsFrameZero() throws IOException {
        Tensor clip = VideoTestClips.gray(3, 6, 10);
        byte[] poster = PngFrames.poster(clip);
        assertArrayEquals(Images.toPng(clip, 0), poster);
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(poster));
        assertEquals(BufferedImage.TYPE_BYTE_GRAY, img.getType());
        assertEquals(10, img.getWidth());
        assertEquals(6, img.getHeight());
        assertEquals(Images.to8bit(clip.data()[0]), img.getRaster().getSample(0, 0, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> PngFrames.frame(clip, 3));
    }

    @Test
    void zipHoldsTheSameFrames() throws IOException {
        Tensor clip = VideoTestClips.rgb(3, 4, 6, 0, 2);
        byte[] zip = PngFrames.toZip(clip);
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (int f = 0; f < 3; f++) {
                ZipEntry e = in.getNextEntry();
                assertEquals(PngFrames.fileName(f, 3), e.getName());
                assertArrayEquals(Images.toPng(clip, f), in.readAllBytes());
            }
            assertNull(in.getNextEntry());
        }
    }
}

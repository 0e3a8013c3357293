package io.sparkdiffusion.video;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VideoFormatTest {
    @TempDir
    Path tmp;

    @Test
    void namesResolve() {
        assertSame(VideoFormat.MP4, VideoFormat.fromName("mp4"));
        assertSame(VideoFormat.MP4, VideoFormat.fromName(" MP4 "));
        assertSame(VideoFormat.MP4, VideoFormat.fromName("h264"));
        assertSame(VideoFormat.GIF, VideoFormat.fromName("GIF"));
        assertSame(VideoFormat.PNG_FRAMES, VideoFormat.fromName("png-frames"));
        assertSame(VideoFormat.PNG_FRAMES, VideoFormat.fromName("png_frames"));
        for (VideoFormat f : VideoFormat.values()) {
            assertSame(f, VideoFormat.fromName(f.id()));
            assertSame(f, VideoFormat.writerFor(f.id()).format());
            assertSame(f, VideoFormat.fromName(f.toString()));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VideoFormat.fromName("avi"));
        assertTrue(e.getMessage().contains("mp4, gif, png-frames"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> VideoFormat.fromName(null));
    }

    @Test
    void namesAndTypes() {
        assertEquals("clip.mp4", VideoFormat.MP4.outputName("clip"));
        assertEquals("clip.gif", VideoFormat.GIF.outputName("clip"));
        assertEquals("clip", VideoFormat.PNG_FRAMES.outputName("clip"));
        assertEquals("video/mp4", VideoFormat.MP4.mimeType());
        assertEquals("image/gif", VideoFormat.GIF.mimeType());
        assertEquals("application/zip", VideoFormat.PNG_FRAMES.mimeType());
        assertTrue(VideoFormat.PNG_FRAMES.isDirectory());
        assertFalse(VideoFormat.MP4.isDirectory());
    }

    @Test
    void writersProduceTheirFormat() throws Exception {
        Tensor clip = VideoTestClips.rgb(3, 9, 11, 0, 2);
        for (VideoFormat f : VideoFormat.values()) {
            VideoWriter w = f.writer();
            byte[] bytes = w.toBytes(clip, 8);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            w.write(clip, 8, out);
            Path path = tmp.resolve(f.outputName("clip"));
            w.write(clip, 8, path);
            switch (f) {
                case MP4 -> {
                    assertEquals("ftyp", new String(bytes, 4, 4, StandardCharsets.US_ASCII));
                    assertEquals(
                            3, Mp4WriterTest.decode(out.toByteArray()).frames().size());
                    assertEquals(
                            3,
                            Mp4WriterTest.decode(Files.readAllBytes(path))
                                    .frames()
                                    .size());
                }
                case GIF -> {
                    assertEquals("GIF89a", new String(bytes, 0, 6, StandardCharsets.US_ASCII));
                    assertArrayEquals(bytes, out.toByteArray());
                    assertArrayEquals(bytes, Files.readAllBytes(path));
                }
                case PNG_FRAMES -> {
                    assertEquals("PK", new String(bytes, 0, 2, StandardCharsets.US_ASCII));
                    assertArrayEquals(bytes, out.toByteArray());
                    assertTrue(Files.isDirectory(path));
                    try (var files = Files.list(path)) {
                        assertEquals(3, files.count());
                    }
                }
                default -> throw new AssertionError(f);
            }
        }
    }
}

package io.sparkdiffusion.video;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jcodec.api.FrameGrab;
import org.jcodec.api.JCodecException;
import org.jcodec.common.DemuxerTrackMeta;
import org.jcodec.common.io.ByteBufferSeekableByteChannel;
import org.jcodec.common.model.Picture;
import org.jcodec.scale.AWTUtil;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Mp4WriterTest {
    /** H.264 is lossy: the decoded clip must stay within this mean absolute error (in [0, 1] units). */
    private static final double MAX_MAE = 10.0 / 255;

    @TempDir
    Path tmp;

    /** A decoded MP4: the frames as RGB images plus the track metadata. */
    record Decoded(List<BufferedImage> frames, DemuxerTrackMeta meta) {}

    static Decoded decode(byte[] mp4) throws IOException, JCodecException {
        FrameGrab grab =
                FrameGrab.createFrameGrab(ByteBufferSeekableByteChannel.readFromByteBuffer(ByteBuffer.wrap(mp4)));
        List<BufferedImage> frames = new ArrayList<>();
        Picture pic;
        while ((pic = grab.getNativeFrame()) != null) {
            frames.add(AWTUtil.toBufferedImage(pic));
        }
        return new Decoded(frames, grab.getVideoTrack().getMeta());
    }

    /** Mean |decoded - source| over the source pixels (not the padding), channels in [0, 1]. */
    static double mae(Tensor src, int f, BufferedImage img) {
        int h = (int) src.dim(1);
        int w = (int) src.dim(2);
        int c = (int) src.dim(3);
        float[] d = src.data();
        double sum = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                int[] got = {(rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF};
                int s = ((f * h + y) * w + x) * c;
                for (int k = 0; k < 3; k++) {
                    sum += Math.abs(got[k] - Images.to8bit(d[s + (c == 1 ? 0 : k)]));
                }
            }
        }
        return sum / (h * w * 3) / 255.0;
    }

    static double meanLuma(BufferedImage img) {
        double sum = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y);
                sum += ((rgb >> 16) & 0xFF) + ((rgb >> 8) & 0xFF) + (rgb & 0xFF);
            }
        }
        return sum / (3.0 * img.getWidth() * img.getHeight() * 255);
    }

    @Test
    void oddSizedRgbClipDecodesPaddedAndClose() throws Exception {
        // 7 frames, 17 high, 33 wide: both dimensions odd, so stored as 34 x 18 (right column / bottom row repeated)
        Tensor clip = VideoTestClips.rgb(7, 17, 33, 2, 5);
        byte[] mp4 = Mp4Writer.toBytes(clip, 12);
        assertEquals("ftyp", new String(mp4, 4, 4, StandardCharsets.US_ASCII));

        Decoded dec = decode(mp4);
        assertEquals(7, dec.frames().size());
        assertEquals(7, dec.meta().getTotalFrames());
        assertEquals(7.0 / 12, dec.meta().getTotalDuration(), 1e-3, "duration = frames / fps");
        for (int f = 0; f < 7; f++) {
            BufferedImage img = dec.frames().get(f);
            assertEquals(Mp4Writer.paddedWidth(33), img.getWidth());
            assertEquals(Mp4Writer.paddedHeight(17), img.getHeight());
            assertEquals(34, img.getWidth());
            assertEquals(18, img.getHeight());
            double e = mae(clip, f, img);
            assertTrue(e < MAX_MAE, "frame " + f + " mean abs error " + e * 255 + "/255");
        }
        // bright frame 2 vs dark frame 5 stay far apart
        double bright = meanLuma(dec.frames().get(2));
        double dark = meanLuma(dec.frames().get(5));
        assertTrue(bright > 0.75 && dark < 0.2, "bright " + bright + ", dark " + dark);
        // the padding repeats the last column / row
        BufferedImage f0 = dec.frames().get(0);
        for (int y = 0; y < 17; y++) {
            assertClose(f0.getRGB(32, y), f0.getRGB(33, y), 12);
        }
        for (int x = 0; x < 33; x++) {
            assertClose(f0.getRGB(x, 16), f0.getRGB(x, 17), 12);
        }
    }

    @Test
    void grayscaleClipIsExpandedToRgb() throws Exception {
        Tensor clip = VideoTestClips.gray(5, 24, 32);
        Decoded dec = decode(Mp4Writer.toBytes(clip, 24));
        assertEquals(5, dec.frames().size());
        double previous = -1;
        for (int f = 0; f < 5; f++) {
            BufferedImage img = dec.frames().get(f);
            assertEquals(32, img.getWidth(), "even sizes are not padded");
            assertEquals(24, img.getHeight());
            double e = mae(clip, f, img);
            assertTrue(e < MAX_MAE, "frame " + f + " mean abs error " + e * 255 + "/255");
            // decoded colour stays neutral
            int rgb = img.getRGB(16, 12);
            int r = (rgb >> 16) & 0xFF;
            int g = (rgb >> 8) & 0xFF;
            int b = rgb & 0xFF;
            assertTrue(Math.abs(r - g) <= 6 && Math.abs(g - b) <= 6, "gray pixel decoded as " + r + "," + g + "," + b);
            double luma = meanLuma(img);
            assertTrue(luma > previous, "brightness rises frame by frame");
            previous = luma;
        }
    }

    @Test
    void oddSizedGrayscaleClip() throws Exception {
        Tensor clip = VideoTestClips.gray(3, 9, 15);
        Decoded dec = decode(Mp4Writer.toBytes(clip, 8));
        assertEquals(3, dec.frames().size());
        assertEquals(16, dec.frames().get(0).getWidth());
        assertEquals(10, dec.frames().get(0).getHeight());
        for (int f = 0; f < 3; f++) {
            double e = mae(clip, f, dec.frames().get(f));
            assertTrue(e < MAX_MAE, "frame " + f + " mean abs error " + e * 255 + "/255");
        }
    }

    @Test
    void flatLevelsKeepTheirToneFromBlackToWhite() throws Exception {
        // Regression guard for the colour range: JCodec's own RGB -> YUV conversion (SequenceEncoder) maps 0..255 to
        // luma ~0..241 while decoders read limited range, which decoded 0.05 as black and 0.75 as ~0.7.
        float[] levels = {0f, 0.05f, 0.1f, 0.5f, 0.75f, 0.95f, 1f};
        Tensor clip = Tensor.zeros(levels.length, 16, 16, 1);
        for (int f = 0; f < levels.length; f++) {
            java.util.Arrays.fill(clip.data(), f * 256, (f + 1) * 256, levels[f]);
        }
        Decoded dec = decode(Mp4Writer.toBytes(clip, 10));
        for (int f = 0; f < levels.length; f++) {
            int want = Images.to8bit(levels[f]);
            int got = dec.frames().get(f).getRGB(8, 8) & 0xFF;
            assertTrue(Math.abs(got - want) <= 3, "level " + want + " decoded as " + got);
        }
    }

    @Test
    void fileStreamAndIncrementalWritesDecodeAlike() throws Exception {
        Tensor clip = VideoTestClips.rgb(4, 16, 20, 0, 3);
        Path file = tmp.resolve("clip.mp4");
        Mp4Writer.write(clip, 10, file);
        Decoded fromFile = decode(Files.readAllBytes(file));

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Mp4Writer.write(clip, 10, out);
        Decoded fromStream = decode(out.toByteArray());

        Path inc = tmp.resolve("incremental.mp4");
        try (Mp4Writer w = Mp4Writer.open(inc, 10)) {
            for (int f = 0; f < 4; f++) {
                // one (1, H, W, C) frame at a time, as a generator would produce them
                float[] one = new float[16 * 20 * 3];
                System.arraycopy(clip.data(), f * one.length, one, 0, one.length);
                w.addFrame(new Tensor(new long[] {1, 16, 20, 3}, one), 0);
            }
            assertEquals(4, w.frameCount());
        }
        Decoded incremental = decode(Files.readAllBytes(inc));

        for (Decoded d : List.of(fromFile, fromStream, incremental)) {
            assertEquals(4, d.frames().size());
            for (int f = 0; f < 4; f++) {
                assertArrayEquals(
                        pixels(fromFile.frames().get(f)),
                        pixels(d.frames().get(f)),
                        "the encoder is deterministic: same pixels whatever the destination");
            }
        }
    }

    @Test
    void rejectsBadInput() throws IOException {
        assertThrows(IllegalArgumentException.class, () -> Mp4Writer.toBytes(Tensor.zeros(2, 4, 4, 4), 10));
        assertThrows(IllegalArgumentException.class, () -> Mp4Writer.toBytes(Tensor.zeros(4, 4, 3), 10));
        assertThrows(IllegalArgumentException.class, () -> Mp4Writer.toBytes(Tensor.zeros(0, 4, 4, 3), 10));
        assertThrows(IllegalArgumentException.class, () -> Mp4Writer.toBytes(Tensor.zeros(1, 4, 4, 3), 0));
        Path file = tmp.resolve("mismatch.mp4");
        try (Mp4Writer w = Mp4Writer.open(file, 10)) {
            w.addFrame(Tensor.zeros(1, 8, 8, 3), 0);
            assertThrows(IllegalArgumentException.class, () -> w.addFrame(Tensor.zeros(1, 8, 10, 3), 0));
            assertThrows(IndexOutOfBoundsException.class, () -> w.addFrame(Tensor.zeros(1, 8, 8, 3), 1));
        }
        Mp4Writer empty = Mp4Writer.open(tmp.resolve("empty.mp4"), 10);
        assertThrows(IOException.class, empty::close);
    }

    @Test
    void ffprobeReadsH264WithAllFrames() throws Exception {
        Path ffprobe = onPath("ffprobe");
        Assumptions.assumeTrue(ffprobe != null, "ffprobe is not on PATH: skipping the ffprobe check of the MP4");
        Path file = tmp.resolve("probe.mp4");
        Mp4Writer.write(VideoTestClips.rgb(7, 17, 33, 2, 5), 12, file);
        Process p = new ProcessBuilder(
                        ffprobe.toString(),
                        "-v",
                        "error",
                        "-select_streams",
                        "v:0",
                        "-count_frames",
                        "-show_entries",
                        "stream=codec_name,width,height,nb_read_frames,avg_frame_rate",
                        "-of",
                        "default=noprint_wrappers=1",
                        file.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "ffprobe timed out");
        assertEquals(0, p.exitValue(), out);
        Map<String, String> kv = new HashMap<>();
        for (String line : out.split("\\R")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                kv.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        assertEquals("h264", kv.get("codec_name"), out);
        assertEquals("7", kv.get("nb_read_frames"), out);
        assertEquals("34", kv.get("width"), out);
        assertEquals("18", kv.get("height"), out);
        assertEquals("12/1", kv.get("avg_frame_rate"), out);
    }

    static Path onPath(String exe) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, exe);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    private static int[] pixels(BufferedImage img) {
        return img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
    }

    private static void assertClose(int rgbA, int rgbB, int tol) {
        for (int shift = 0; shift <= 16; shift += 8) {
            int a = (rgbA >> shift) & 0xFF;
            int b = (rgbB >> shift) & 0xFF;
            assertFalse(
                    Math.abs(a - b) > tol,
                    "padding pixel " + Integer.toHexString(rgbB) + " vs edge " + Integer.toHexString(rgbA));
        }
    }
}

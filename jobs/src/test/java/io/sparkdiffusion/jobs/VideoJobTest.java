package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.testing.Fixtures;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Row;
import org.jcodec.api.FrameGrab;
import org.jcodec.common.io.ByteBufferSeekableByteChannel;
import org.jcodec.common.model.Picture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The video mode: text-to-video (t2v-tiny) and image-to-video (svd-tiny) rows to MP4, with bad rows in errors/. */
class VideoJobTest extends LocalSparkTest {
    @TempDir
    Path tmp;

    static Map<String, String> settings(Path model, Path input, Path output) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", model.toString());
        m.put("mode", "video");
        m.put("input", input.toString());
        m.put("input_format", "json");
        m.put("output", output.toString());
        m.put("defaults.num_inference_steps", "2");
        m.put("batch_size", "2");
        m.put("max_error_fraction", "1");
        m.put("images.max_side", "32");
        m.put("progress.log_interval_seconds", "60");
        return m;
    }

    /** Decodes an MP4 with JCodec: frame count, then width and height of the first frame. */
    static int[] decode(Path mp4) throws Exception {
        FrameGrab grab = FrameGrab.createFrameGrab(
                ByteBufferSeekableByteChannel.readFromByteBuffer(ByteBuffer.wrap(Files.readAllBytes(mp4))));
        int frames = 0;
        int w = 0;
        int h = 0;
        Picture p;
        while ((p = grab.getNativeFrame()) != null) {
            frames++;
            w = p.getWidth();
            h = p.getHeight();
        }
        return new int[] {frames, w, h};
    }

    @Test
    void textToVideoWritesDecodableMp4sWithPostersAndMetadata() throws Exception {
        Path in = Files.write(
                tmp.resolve("in.jsonl"),
                List.of(
                        "{\"id\":\"panda\",\"prompt\":\"a panda playing guitar\",\"seed\":1,\"num_frames\":4,\"fps\":6}",
                        "{\"id\":\"beach\",\"prompt\":\"waves on a beach\",\"seed\":2,\"num_frames\":4,\"fps\":6}",
                        "{\"id\":\"zero-frames\",\"prompt\":\"x\",\"num_frames\":0}",
                        "{\"id\":\"zero-fps\",\"prompt\":\"x\",\"num_frames\":4,\"fps\":0}",
                        "{\"id\":\"too-long\",\"prompt\":\"x\",\"num_frames\":1000}"));
        Path out = tmp.resolve("out");
        JobSummary s = GenerateJob.run(spark, JobConfig.load(null, settings(Fixtures.fixture("t2v-tiny"), in, out)));
        assertEquals(2, s.written());
        assertEquals(3, s.rejected());
        for (String id : new String[] {"panda", "beach"}) {
            int[] d = decode(out.resolve("videos/" + id + ".mp4"));
            assertEquals(4, d[0], "frames of " + id);
            assertEquals(32, d[1]);
            assertEquals(32, d[2]);
            assertTrue(Files.size(out.resolve("images/" + id + ".png")) > 0, "poster frame");
            ffprobe(out.resolve("videos/" + id + ".mp4"), 4);
        }
        Row meta = spark.read()
                .parquet(out.resolve("metadata").toString())
                .filter("id = 'panda'")
                .first();
        assertEquals(4, (int) meta.getAs("num_frames"));
        assertEquals(6, (int) meta.getAs("fps"));
        assertEquals(4 / 6.0, (double) meta.getAs("duration_s"), 1e-9);
        assertTrue(((String) meta.getAs("video_path")).endsWith("videos/panda.mp4"));
        Map<String, String> fields = new HashMap<>();
        for (Row r : spark.read().parquet(out.resolve("errors").toString()).collectAsList()) {
            fields.put(r.getAs("id"), r.getAs("field"));
        }
        assertEquals(Map.of("zero-frames", "num_frames", "zero-fps", "fps", "too-long", "num_frames"), fields);
        String html = Files.readString(out.resolve("index.html"));
        assertTrue(
                html.contains("href=\"videos/panda.mp4\"") && html.contains("images/panda.png"),
                "poster linked to the video");
    }

    @Test
    void imageToVideoAnimatesAPictureAndRejectsAnUndecodableOne() throws Exception {
        Path pic = Fixtures.root().resolve("testdata/assets/images/coffee_512.jpg");
        Path broken = Files.writeString(tmp.resolve("broken.png"), "not a picture");
        Path in = Files.write(
                tmp.resolve("in.jsonl"),
                List.of(
                        "{\"id\":\"coffee\",\"image\":\"" + pic
                                + "\",\"seed\":3,\"num_frames\":3,\"fps\":7,\"motion_bucket_id\":100}",
                        "{\"id\":\"broken\",\"image\":\"" + broken + "\",\"seed\":4}"));
        Path out = tmp.resolve("out");
        Map<String, String> s = settings(Fixtures.fixture("svd-tiny"), in, out);
        s.put("video.num_frames", "3");
        s.put("images.allowed_roots", pic.getParent() + "," + tmp); // the picture is not next to the table
        JobSummary r = GenerateJob.run(spark, JobConfig.load(null, s));
        assertEquals(1, r.written());
        int[] d = decode(out.resolve("videos/coffee.mp4"));
        assertEquals(3, d[0]);
        Row err = spark.read().parquet(out.resolve("errors").toString()).first();
        assertEquals("broken", err.getAs("id"));
        assertEquals("image", err.getAs("field"));
        assertTrue(((String) err.getAs("reason")).contains("not a readable image"));
    }

    /** Checks the MP4 with ffprobe where ffmpeg is installed; skipped with a message otherwise. */
    static void ffprobe(Path mp4, int frames) throws Exception {
        Path ffprobe = null;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "ffprobe"))) {
                ffprobe = Path.of(dir, "ffprobe");
            }
        }
        if (ffprobe == null) {
            System.out.println("ffprobe not installed: skipping the ffprobe check of " + mp4.getFileName());
            return;
        }
        Process p = new ProcessBuilder(
                        ffprobe.toString(),
                        "-v",
                        "error",
                        "-select_streams",
                        "v:0",
                        "-count_frames",
                        "-show_entries",
                        "stream=codec_name,nb_read_frames",
                        "-of",
                        "default=noprint_wrappers=1",
                        mp4.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("codec_name=h264") && out.contains("nb_read_frames=" + frames), out);
    }
}

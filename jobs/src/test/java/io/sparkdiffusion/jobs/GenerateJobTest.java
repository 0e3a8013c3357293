package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.quality.DigitClassifier;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generation job on local[2] with the bundled digits model. */
class GenerateJobTest extends LocalSparkTest {
    @TempDir
    Path tmp;

    static Path jsonl(Path file, List<String> lines) throws IOException {
        Files.write(file, lines);
        return file;
    }

    static String digitRow(String id, int digit, long seed) {
        return "{\"id\":\"" + id + "\",\"prompt\":\"a handwritten digit " + DigitClassifier.word(digit) + "\",\"seed\":"
                + seed + "}";
    }

    static Map<String, String> settings(Path input, Path output, String... more) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", Fixtures.model("digits-t2i").toString());
        m.put("input", input.toString());
        m.put("input_format", "json");
        m.put("output", output.toString());
        m.put("defaults.num_inference_steps", "8");
        m.put("defaults.guidance_scale", "3");
        m.put("batch_size", "4");
        m.put("progress.log_interval_seconds", "60");
        for (int i = 0; i < more.length; i += 2) {
            m.put(more[i], more[i + 1]);
        }
        return m;
    }

    static JobSummary run(Map<String, String> settings) {
        return GenerateJob.run(spark, JobConfig.load(null, settings));
    }

    static Map<String, byte[]> images(Path output) throws IOException {
        Map<String, byte[]> out = new HashMap<>();
        try (Stream<Path> s = Files.list(output.resolve("images"))) {
            for (Path p : s.toList()) {
                out.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    @Test
    void writesOneImageAndOneMetadataRowPerInputRow() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            lines.add(digitRow("r" + i, i, 100 + i));
        }
        Path out = tmp.resolve("out");
        JobSummary s = run(settings(jsonl(tmp.resolve("in.jsonl"), lines), out, "partitions", "2"));
        assertEquals(6, s.written());
        assertEquals(0, s.rejected());
        assertFalse(s.errorBudgetExceeded());
        Map<String, byte[]> imgs = images(out);
        assertEquals(6, imgs.size(), imgs.keySet().toString());
        for (int i = 0; i < 6; i++) {
            BufferedImage img = ImageIO.read(new java.io.ByteArrayInputStream(imgs.get("r" + i + ".png")));
            assertEquals(16, img.getWidth());
        }
        List<Row> meta = spark.read()
                .parquet(out.resolve("metadata").toString())
                .orderBy("id")
                .collectAsList();
        assertEquals(6, meta.size());
        for (int i = 0; i < 6; i++) {
            Row r = meta.get(i);
            assertEquals("r" + i, r.getAs("id"));
            assertEquals(100L + i, (long) r.getAs("seed"));
            assertEquals(8, (int) r.getAs("num_inference_steps"));
            assertEquals("DDIMScheduler", r.getAs("scheduler"));
            assertEquals(64, ((String) r.getAs("image_sha256")).length());
            assertEquals(64, ((String) r.getAs("model_fingerprint")).length());
            assertTrue(((String) r.getAs("image_path")).endsWith("images/r" + i + ".png"));
        }
        assertEquals(0, spark.read().parquet(out.resolve("errors").toString()).count());
        String html = Files.readString(out.resolve("index.html"));
        for (int i = 0; i < 6; i++) {
            assertTrue(html.contains("images/r" + i + ".png"), "contact sheet shows r" + i);
        }
        assertTrue(html.contains("a handwritten digit five") && html.contains("seed 105"));
        assertTrue(Files.readString(out.resolve("_job.json")).contains("\"finished\""));
    }

    @Test
    void theImagesDoNotDependOnPartitioningOrBatching() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            lines.add(digitRow("d" + i, (i * 3) % 10, 7 * i + 1));
        }
        Path in = jsonl(tmp.resolve("in.jsonl"), lines);
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        run(settings(in, a, "partitions", "1", "batch_size", "1", "defaults.scheduler", "euler_a"));
        run(settings(in, b, "partitions", "3", "batch_size", "4", "defaults.scheduler", "euler_a"));
        Map<String, byte[]> ia = images(a);
        Map<String, byte[]> ib = images(b);
        assertEquals(ia.keySet(), ib.keySet());
        int identical = 0;
        int worst = 0;
        for (String k : ia.keySet()) {
            if (java.util.Arrays.equals(ia.get(k), ib.get(k))) {
                identical++;
            } else {
                worst = Math.max(worst, maxPixelDiff(ia.get(k), ib.get(k)));
            }
        }
        System.out.printf(
                "partitioning/batching: %d/%d PNGs byte-identical, max pixel diff otherwise %d%n",
                identical, ia.size(), worst);
        assertTrue(worst <= 1, "pixels differ by " + worst + "/255 between partitionings");
    }

    private static int maxPixelDiff(byte[] a, byte[] b) throws IOException {
        BufferedImage x = ImageIO.read(new java.io.ByteArrayInputStream(a));
        BufferedImage y = ImageIO.read(new java.io.ByteArrayInputStream(b));
        int worst = 0;
        for (int i = 0; i < x.getWidth(); i++) {
            for (int j = 0; j < x.getHeight(); j++) {
                worst = Math.max(worst, Math.abs((x.getRGB(i, j) & 0xff) - (y.getRGB(i, j) & 0xff)));
            }
        }
        return worst;
    }

    @Test
    void badRowsLandInErrorsAndGoodRowsAreStillWritten() throws Exception {
        List<String> lines = List.of(
                digitRow("good-1", 1, 1),
                digitRow("good-2", 2, 2),
                "{\"prompt\":\"a handwritten digit three\",\"seed\":3}",
                digitRow("dup", 4, 4),
                digitRow("dup", 5, 5),
                "{\"id\":\"steps0\",\"prompt\":\"a handwritten digit six\",\"num_inference_steps\":0}",
                "{\"id\":\"steps-big\",\"prompt\":\"a handwritten digit six\",\"num_inference_steps\":100000}",
                "{\"id\":\"nan\",\"prompt\":\"a handwritten digit six\",\"guidance_scale\":\"NaN\"}",
                "{\"id\":\"odd\",\"prompt\":\"a handwritten digit six\",\"width\":15}",
                "{\"id\":\"sched\",\"prompt\":\"a handwritten digit six\",\"scheduler\":\"warp_drive\"}",
                "{\"id\":\"seedtext\",\"prompt\":\"a handwritten digit six\",\"seed\":\"forty\"}",
                "{\"id\":\"../x\",\"prompt\":\"a handwritten digit six\"}",
                "{\"id\":\"noprompt\"}");
        Path out = tmp.resolve("out");
        JobSummary s = run(settings(jsonl(tmp.resolve("in.jsonl"), lines), out, "max_error_fraction", "0.5"));
        assertEquals(2, s.written());
        assertEquals(11, s.rejected());
        assertTrue(s.errorBudgetExceeded(), "11 of 13 rows rejected exceeds 0.5");
        assertEquals(java.util.Set.of("good-1.png", "good-2.png"), images(out).keySet());
        Map<String, String> fieldById = new HashMap<>();
        List<Row> errors =
                spark.read().parquet(out.resolve("errors").toString()).collectAsList();
        assertEquals(11, errors.size());
        for (Row r : errors) {
            assertTrue(r.getAs("reason") != null && r.getAs("input_row") != null);
            Object id = r.getAs("id"); // an Object, so that valueOf does not pick the char[] overload
            fieldById.merge(String.valueOf(id), r.getAs("field"), (x, y) -> x);
        }
        assertEquals("id", fieldById.get("null"));
        assertEquals("id", fieldById.get("dup"));
        assertEquals("num_inference_steps", fieldById.get("steps0"));
        assertEquals("num_inference_steps", fieldById.get("steps-big"));
        assertEquals("guidance_scale", fieldById.get("nan"));
        assertEquals("width", fieldById.get("odd"));
        assertEquals("scheduler", fieldById.get("sched"));
        assertEquals("seed", fieldById.get("seedtext"));
        assertEquals("id", fieldById.get("../x"));
        assertEquals("prompt", fieldById.get("noprompt"));
        // nothing escaped the output folder
        try (Stream<Path> all = Files.walk(tmp)) {
            for (Path p : all.filter(Files::isRegularFile).toList()) {
                assertTrue(p.startsWith(out) || p.getFileName().toString().equals("in.jsonl"), "stray file " + p);
            }
        }
    }

    @Test
    void resumeWritesOnlyWhatIsMissing() throws Exception {
        List<String> all = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            all.add(digitRow("m" + i, i, 40 + i));
        }
        Path out = tmp.resolve("out");
        JobSummary first = run(settings(jsonl(tmp.resolve("part.jsonl"), all.subList(0, 3)), out));
        assertEquals(3, first.written());
        Path full = jsonl(tmp.resolve("full.jsonl"), all);
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> run(settings(full, out)));
        assertTrue(refused.getMessage().contains("--resume")
                && refused.getMessage().contains("--overwrite"));
        // the metadata table records what is done: a resume trusts it and lists no pictures (see
        // CommitProtocolTest for rows committed by a crashed run)
        long before = Files.getLastModifiedTime(out.resolve("images/m0.png")).toMillis();
        JobSummary second = run(settings(full, out, "resume", "true"));
        assertEquals(3, second.written(), "m3..m5");
        assertEquals(3, second.skipped());
        assertEquals(
                before, Files.getLastModifiedTime(out.resolve("images/m0.png")).toMillis(), "m0 untouched");
        assertEquals(6, images(out).size());
        List<Row> ids = spark.read()
                .parquet(out.resolve("metadata").toString())
                .select("id")
                .distinct()
                .collectAsList();
        assertEquals(6, ids.size());
    }

    @Test
    void expandedIdsThatMeetAnotherRowsIdAreRejectedNotOverwritten() throws Exception {
        List<String> lines = List.of(
                "{\"id\":\"a\",\"prompt\":\"a handwritten digit one\",\"seed\":1,\"num_images_per_prompt\":2}",
                digitRow("a-0", 2, 2));
        Path out = tmp.resolve("out");
        JobSummary s = run(settings(jsonl(tmp.resolve("in.jsonl"), lines), out, "max_error_fraction", "1"));
        assertEquals(java.util.Set.of("a-1.png"), images(out).keySet());
        List<Row> errors =
                spark.read().parquet(out.resolve("errors").toString()).collectAsList();
        assertEquals(2, errors.size());
        for (Row r : errors) {
            assertEquals("a-0", r.getAs("id"));
            assertTrue(((String) r.getAs("reason")).contains("more than one input row"));
        }
        assertEquals(1, s.written());
    }

    @Test
    void resumeAfterARunThatDiedBeforeCommittingMetadata() throws Exception {
        Path out = tmp.resolve("out");
        Path in = jsonl(tmp.resolve("in.jsonl"), List.of(digitRow("z1", 1, 1), digitRow("z2", 2, 2)));
        // what a killed run leaves: an image, Spark's uncommitted _temporary folder, no metadata files
        Files.createDirectories(out.resolve("images"));
        Files.createDirectories(out.resolve("metadata/_temporary/0"));
        Files.write(out.resolve("images/z1.png"), new byte[] {1, 2, 3});
        JobSummary s = run(settings(in, out, "resume", "true"));
        assertEquals(2, s.written());
        assertTrue(ImageIO.read(out.resolve("images/z1.png").toFile()) != null, "the partial image was regenerated");
    }

    @Test
    void unconditionalModelsNeedOnlyIdAndSeed() throws Exception {
        Path out = tmp.resolve("out");
        Path in = jsonl(tmp.resolve("in.jsonl"), List.of("{\"id\":\"u1\",\"seed\":1}", "{\"id\":\"u2\"}"));
        Map<String, String> s = settings(in, out, "defaults.num_inference_steps", "5");
        s.put("model", Fixtures.model("digits-ddpm").toString());
        JobSummary r = run(s);
        assertEquals(2, r.written());
        assertEquals(java.util.Set.of("u1.png", "u2.png"), images(out).keySet());
    }

    @Test
    void overwriteReplacesOnlyWhatTheJobOwns() throws Exception {
        Path out = tmp.resolve("out");
        Path in = jsonl(tmp.resolve("in.jsonl"), List.of(digitRow("o1", 1, 1)));
        run(settings(in, out));
        JobSummary again = run(settings(in, out, "overwrite", "true"));
        assertEquals(1, again.written());
        Files.writeString(out.resolve("precious.txt"), "not ours");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> run(settings(in, out, "overwrite", "true")));
        assertTrue(e.getMessage().contains("precious.txt"), e.getMessage());
        assertTrue(Files.exists(out.resolve("precious.txt")));
        // inside a folder the job writes, a file it would not write
        Files.delete(out.resolve("precious.txt"));
        Files.writeString(out.resolve("metadata/budget.csv"), "quarter,amount\n");
        e = assertThrows(IllegalArgumentException.class, () -> run(settings(in, out, "overwrite", "true")));
        assertTrue(e.getMessage().contains("metadata/budget.csv"), e.getMessage());
        assertTrue(Files.exists(out.resolve("metadata/budget.csv")) && Files.exists(out.resolve("images/o1.png")));
    }

    @Test
    void overwriteRefusesAFolderThatIsNotARunOfThisTool() throws Exception {
        // the user's own folder, laid out like an output, with a _job.json of their own
        Path out = tmp.resolve("album");
        Map<String, String> theirs = Map.of(
                "images/holiday.png", "a holiday picture",
                "index.html", "<html>my album</html>",
                "metadata/budget.csv", "quarter,amount\n",
                "_job.json", "{\"job\": \"holiday album\", \"state\": \"finished\"}");
        for (Map.Entry<String, String> f : theirs.entrySet()) {
            Files.createDirectories(out.resolve(f.getKey()).getParent());
            Files.writeString(out.resolve(f.getKey()), f.getValue());
        }
        Path in = jsonl(tmp.resolve("in.jsonl"), List.of(digitRow("o1", 1, 1)));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> run(settings(in, out, "overwrite", "true")));
        assertTrue(
                e.getMessage().contains("_job.json was not written by spark-diffusion")
                        && e.getMessage().contains("nothing was deleted"),
                e.getMessage());
        for (Map.Entry<String, String> f : theirs.entrySet()) {
            assertEquals(f.getValue(), Files.readString(out.resolve(f.getKey())), f.getKey() + " survives");
        }
        try (Stream<Path> all = Files.walk(out)) {
            assertEquals(theirs.size(), all.filter(Files::isRegularFile).count(), "nothing added either");
        }
    }

    @Test
    void csvAndParquetInputsWork() throws Exception {
        Path csv = tmp.resolve("in.csv");
        // RFC 4180: a quoted prompt may hold a line break and doubled quotes
        Files.writeString(
                csv,
                "id,prompt,seed,num_inference_steps\n"
                        + "c1,a handwritten digit one,11,6\n"
                        + "c2,a handwritten digit two,x,6\n"
                        + "c3,\"a handwritten digit three,\nwith a \"\"quoted\"\" line\",13,6\n"
                        + "c4,a handwritten digit four,14,6\n");
        JobSummary s = run(settings(csv, tmp.resolve("csv-out"), "input_format", "csv"));
        assertEquals(4, s.inputRows(), "no phantom row from the line break");
        assertEquals(3, s.written());
        assertEquals(1, s.rejected(), "c2's seed");
        Row c3 = spark.read()
                .parquet(tmp.resolve("csv-out/metadata").toString())
                .filter("id = 'c3'")
                .first();
        assertEquals("a handwritten digit three,\nwith a \"quoted\" line", c3.getAs("prompt"));
        Path parquet = tmp.resolve("in.parquet");
        spark.sql(
                        "SELECT 'p1' AS id, 'a handwritten digit nine' AS prompt, CAST(9 AS BIGINT) AS seed, 2 AS num_images_per_prompt")
                .write()
                .parquet(parquet.toString());
        JobSummary p = run(settings(parquet, tmp.resolve("pq-out"), "input_format", "parquet"));
        assertEquals(2, p.written());
        assertEquals(
                java.util.Set.of("p1-0.png", "p1-1.png"),
                images(tmp.resolve("pq-out")).keySet());
    }

    @Test
    void aSingleInputFileIsSpreadOverEveryTaskSlot() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            lines.add(digitRow("s" + i, i, 60 + i));
        }
        // one file of 8 rows, batches of 4, local[2]: two batches, two task slots
        JobSummary s = run(settings(jsonl(tmp.resolve("one-file.jsonl"), lines), tmp.resolve("out")));
        assertEquals(8, s.written());
        assertEquals(2, s.partitions(), "the rows spread over both task slots (0 keeps no longer one partition)");
    }

    @Test
    void atLeast95PercentOfTheJobsImagesShowThePromptedDigit() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int d = 0; d < 10; d++) {
            for (int s = 0; s < 3; s++) {
                lines.add(digitRow("q" + d + "-" + s, d, 500 + 10 * d + s));
            }
        }
        Path out = tmp.resolve("out");
        JobSummary s = run(settings(
                jsonl(tmp.resolve("in.jsonl"), lines),
                out,
                "defaults.num_inference_steps",
                "20",
                "partitions",
                "2",
                "batch_size",
                "8"));
        assertEquals(30, s.written());
        int correct = 0;
        try (DigitClassifier classifier =
                new DigitClassifier(Fixtures.model("digits-classifier"), RuntimeOptions.DEFAULT)) {
            for (Row r :
                    spark.read().parquet(out.resolve("metadata").toString()).collectAsList()) {
                String id = r.getAs("id");
                BufferedImage img =
                        ImageIO.read(out.resolve("images").resolve(id + ".png").toFile());
                float[] px = new float[256];
                for (int y = 0; y < 16; y++) {
                    for (int x = 0; x < 16; x++) {
                        px[y * 16 + x] = (img.getRaster().getSample(x, y, 0)) / 255f;
                    }
                }
                int predicted = classifier.predict(new Tensor(new long[] {1, 16, 16, 1}, px))[0];
                correct += predicted == DigitClassifier.promptedDigit(r.getAs("prompt")) ? 1 : 0;
            }
        }
        System.out.printf(
                "job quality: %d/30 images show the prompted digit; %.2f images/s%n", correct, s.imagesPerSecond());
        assertTrue(correct >= 29, correct + "/30 below 95 %");
    }
}

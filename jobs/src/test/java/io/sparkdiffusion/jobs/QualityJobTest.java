package io.sparkdiffusion.jobs;

import static io.sparkdiffusion.jobs.GenerateJobTest.digitPicture;
import static io.sparkdiffusion.jobs.GenerateJobTest.digitRow;
import static io.sparkdiffusion.jobs.GenerateJobTest.jsonl;
import static io.sparkdiffusion.jobs.GenerateJobTest.run;
import static io.sparkdiffusion.jobs.GenerateJobTest.settings;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.quality.DigitClassifier;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.JsonConfig;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** quality.* in the job on local[2]: scorers on the executors, filters, best of n, a model folder's safety checker. */
class QualityJobTest extends LocalSparkTest {
    private static final String CLASSIFIER = Fixtures.model("digits-classifier").toString();
    private static final String LABEL_FILTER = "label_matches == true";

    @TempDir
    Path tmp;

    private static List<Row> table(Path out, String name) {
        return spark.read().parquet(out.resolve(name).toString()).orderBy("id").collectAsList();
    }

    private static Set<String> ids(List<Row> rows) {
        return rows.stream().map(r -> r.<String>getAs("id")).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void theClassifierFilterKeepsOnlyThePromptedDigitAndRecordsEveryOtherWithItsScore() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            lines.add(digitRow("d" + i, i % 10, 300 + i));
        }
        Path out = tmp.resolve("out");
        // guidance 1 (no classifier-free guidance): the bundled model then misses some digits, so both sides are seen
        JobSummary s = run(settings(
                jsonl(tmp.resolve("in.jsonl"), lines),
                out,
                "defaults.guidance_scale",
                "1",
                "partitions",
                "2",
                "quality.classifier",
                CLASSIFIER,
                "quality.filters",
                LABEL_FILTER));
        List<Row> kept = table(out, "metadata");
        List<Row> dropped = table(out, "errors");
        assertFalse(kept.isEmpty(), "some images show their digit");
        assertFalse(dropped.isEmpty(), "at guidance 1 some images miss their digit");
        assertEquals(30, kept.size() + dropped.size());
        assertEquals(kept.size(), s.written());
        assertEquals(0, s.failed(), "filtered images are not failures");
        assertEquals(
                Map.of("filter: " + LABEL_FILTER, (long) dropped.size()),
                s.quality().filtered());
        assertEquals(30, s.quality().generated());
        try (DigitClassifier classifier =
                new DigitClassifier(Fixtures.model("digits-classifier"), RuntimeOptions.DEFAULT)) {
            for (Row r : kept) {
                int prompted = DigitClassifier.promptedDigit(r.getAs("prompt"));
                Path png = out.resolve("images").resolve(r.<String>getAs("id") + ".png");
                assertEquals(prompted, classifier.predict(digitPicture(png))[0], "kept " + png);
                assertEquals(String.valueOf(prompted), r.getAs("label"));
                assertEquals(Boolean.TRUE, r.getAs("label_matches"));
                assertTrue(r.<Double>getAs("label_score") > 0.1, "a probability");
                assertNull(r.getAs("nsfw"), "no safety checker ran");
                assertNull(r.getAs("clip_score"), "no CLIP scorer ran");
            }
        }
        Set<String> pngs = new TreeSet<>(GenerateJobTest.images(out).keySet());
        for (Row e : dropped) {
            String id = e.getAs("id");
            assertEquals("filter", e.getAs("stage"), id);
            assertEquals(LABEL_FILTER, e.getAs("field"), id);
            assertEquals(Boolean.FALSE, e.getAs("label_matches"), id);
            String label = e.getAs("label");
            assertTrue(
                    e.<String>getAs("reason")
                            .startsWith("fails label_matches == true (label_matches false); scores: label " + label
                                    + ", label_score " + QualityScores.format(e.<Double>getAs("label_score"))),
                    e.<String>getAs("reason"));
            assertFalse(pngs.contains(id + ".png"), "a dropped image is not written: " + id);
        }
        String html = Files.readString(out.resolve("index.html"));
        assertTrue(html.contains("<select id=\"sort\">") && html.contains("data-label-score=\""), "sortable by score");
        assertTrue(html.contains("filter: label_matches == true " + dropped.size()), "the summary's share per rule");
    }

    @Test
    void bestOfNKeepsTheHighestScoredImageOfEachPromptAcrossPartitions() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int digit : new int[] {2, 5, 8}) {
            lines.add("{\"id\":\"p" + digit + "\",\"prompt\":\"a handwritten digit " + DigitClassifier.word(digit)
                    + "\",\"seed\":" + (40 + digit) + ",\"num_images_per_prompt\":4}");
        }
        Path out = tmp.resolve("best");
        JobSummary s = run(settings(
                jsonl(tmp.resolve("in.jsonl"), lines),
                out,
                "partitions",
                "3",
                "batch_size",
                "2",
                "quality.classifier",
                CLASSIFIER,
                "quality.best_of.keep",
                "1",
                "quality.best_of.by",
                "label_score"));
        List<Row> kept = table(out, "metadata");
        List<Row> dropped = table(out, "errors");
        assertEquals(
                Set.of("p2", "p5", "p8"),
                kept.stream().map(r -> r.<String>getAs("input_id")).collect(Collectors.toSet()));
        assertEquals(3, kept.size(), "one image per prompt");
        assertEquals(9, dropped.size());
        assertEquals(Map.of("filter: best 1 by label_score", 9L), s.quality().filtered());
        Map<String, Double> best = new HashMap<>();
        kept.forEach(r -> best.put(r.getAs("input_id"), r.getAs("label_score")));
        Set<String> pngs = GenerateJobTest.images(out).keySet();
        for (Row e : dropped) {
            String id = e.getAs("id");
            String input = id.substring(0, id.indexOf('-'));
            assertEquals("filter", e.getAs("stage"));
            assertEquals("best 1 by label_score", e.getAs("field"));
            assertTrue(
                    e.<String>getAs("reason").startsWith("not in the best 1 of 4 by label_score; scores: label "),
                    e.<String>getAs("reason"));
            assertTrue(e.<Double>getAs("label_score") <= best.get(input), id + " scored above the kept image");
            assertFalse(pngs.contains(id + ".png"), "deleted: " + id);
        }
        for (Row r : kept) {
            assertTrue(pngs.contains(r.<String>getAs("id") + ".png"));
        }
    }

    private static String prompts(int images, int... digits) {
        StringBuilder b = new StringBuilder();
        for (int digit : digits) {
            b.append("{\"id\":\"p")
                    .append(digit)
                    .append("\",\"prompt\":\"a handwritten digit ")
                    .append(DigitClassifier.word(digit))
                    .append("\",\"seed\":")
                    .append(40 + digit)
                    .append(",\"num_images_per_prompt\":")
                    .append(images)
                    .append("}\n");
        }
        return b.toString();
    }

    private static Map<String, FileTime> pngTimes(Path out) throws IOException {
        Map<String, FileTime> m = new HashMap<>();
        try (Stream<Path> s = Files.list(out.resolve("images"))) {
            for (Path p : s.toList()) {
                m.put(p.getFileName().toString(), Files.getLastModifiedTime(p));
            }
        }
        return m;
    }

    @Test
    void bestOfNIsChosenFromTheRecordsAndAResumeNeverGeneratesAFinishedImageAgain() throws Exception {
        Path in = tmp.resolve("in.jsonl");
        Files.writeString(in, prompts(4, 2, 5, 8));
        Path out = Files.createDirectories(tmp.resolve("out"));
        // a file where the metadata table must go: the run fails when it publishes, after every image is recorded
        Files.writeString(out.resolve("metadata"), "not a folder");
        String[] best = {
            "partitions",
            "3",
            "batch_size",
            "2",
            "output.commit_every_rows",
            "1",
            "resume",
            "true",
            "quality.classifier",
            CLASSIFIER,
            "quality.best_of.keep",
            "1",
            "quality.best_of.by",
            "label_score"
        };
        assertThrows(Exception.class, () -> run(settings(in, out, best)));
        assertFalse(OutputFormatsTest.listTars(out.resolve("records")).isEmpty(), "the images are recorded");

        // the resume publishes the records: the choice is made from them, nothing is generated again
        Files.delete(out.resolve("metadata"));
        JobSummary resumed = run(settings(in, out, best));
        assertEquals(0, resumed.written(), "nothing generated again");
        assertEquals(12, resumed.skipped());
        List<Row> kept = table(out, "metadata");
        assertEquals(
                Set.of("p2", "p5", "p8"),
                kept.stream().map(r -> r.<String>getAs("input_id")).collect(Collectors.toSet()));
        assertEquals(3, kept.size(), "one image per prompt");
        List<Row> dropped = table(out, "errors");
        assertEquals(9, dropped.size());
        for (Row e : dropped) {
            assertEquals("filter", e.getAs("stage"));
            assertEquals("best 1 by label_score", e.getAs("field"));
            assertNotNull(e.getAs("label_score"), "its score");
        }
        Map<String, FileTime> pngs = pngTimes(out);
        assertEquals(ids(kept).stream().map(id -> id + ".png").collect(Collectors.toSet()), pngs.keySet());
        assertTrue(OutputFormatsTest.listTars(out.resolve("records")).isEmpty(), "published records removed");

        // a resume with one more prompt: the 12 images are finished (kept or left out), only the new 4 are made
        Files.writeString(in, prompts(4, 2, 5, 8, 3));
        JobSummary more = run(settings(in, out, best));
        assertEquals(12, more.skipped(), "the images left out are finished too");
        assertEquals(1, more.written());
        assertEquals(Map.of("filter: best 1 by label_score", 3L), more.quality().filtered());
        assertEquals(4, table(out, "metadata").size());
        List<Row> errors = table(out, "errors");
        assertEquals(12, errors.size(), "the earlier run's rows stay: " + ids(errors));
        assertTrue(ids(errors).containsAll(ids(dropped)));
        Map<String, FileTime> after = pngTimes(out);
        pngs.forEach((file, time) -> assertEquals(time, after.get(file), file + " not written again"));
    }

    @Test
    void theScoresReachEveryOutputFormatAndBestOfNLeavesTheOthersOut() throws Exception {
        Path in = tmp.resolve("in.jsonl");
        Files.writeString(in, prompts(2, 2, 5));
        for (String format : List.of("parquet", "webdataset")) {
            Path out = tmp.resolve(format);
            JobSummary s = run(settings(
                    in,
                    out,
                    "output_format",
                    format,
                    "partitions",
                    "2",
                    "quality.classifier",
                    CLASSIFIER,
                    "quality.best_of.keep",
                    "1",
                    "quality.best_of.by",
                    "label_score"));
            assertEquals(2, s.written(), format);
            assertEquals(
                    Map.of("filter: best 1 by label_score", 2L), s.quality().filtered(), format);
            List<Row> meta = table(out, "metadata");
            Set<String> kept = ids(meta);
            assertEquals(2, kept.size(), format);
            Map<String, Double> scoreOf = new HashMap<>();
            meta.forEach(r -> scoreOf.put(r.getAs("id"), r.getAs("label_score")));
            assertEquals(2, table(out, "errors").size(), format);
            if (format.equals("parquet")) {
                List<Row> data = table(out, ParquetDataset.FOLDER);
                assertEquals(kept, ids(data), "only the kept images in data/");
                for (Row r : data) {
                    assertEquals(scoreOf.get(r.<String>getAs("id")), r.<Double>getAs("label_score"));
                    assertNotNull(r.getAs("label"));
                    assertNotNull(r.getAs("label_matches"));
                }
            } else {
                Set<String> samples = new TreeSet<>();
                for (Path shard : OutputFormatsTest.listTars(out.resolve(WebDatasetShards.FOLDER))) {
                    try (InputStream raw = Files.newInputStream(shard);
                            TarArchiveInputStream tar = new TarArchiveInputStream(raw)) {
                        TarArchiveEntry e;
                        while ((e = tar.getNextEntry()) != null) {
                            if (e.getName().endsWith(".json")) {
                                JsonNode json = JsonConfig.mapper().readTree(tar.readAllBytes());
                                String id = json.path("id").asText();
                                samples.add(id);
                                assertEquals(
                                        scoreOf.get(id),
                                        json.path("label_score").asDouble(),
                                        id);
                                assertTrue(json.path("label_matches").isBoolean(), json.toString());
                                assertTrue(
                                        json.has("clip_score")
                                                && json.path("clip_score").isNull(),
                                        "no CLIP");
                            }
                        }
                    }
                }
                assertEquals(kept, samples, "only the kept images in the shards");
            }
        }
    }

    /** A temporary copy of the tiny SD model with the tiny safety checker and its feature extractor. */
    private Path sdWithSafetyChecker() throws IOException {
        Path model = tmp.resolve("sd-tiny-safety");
        copyTree(Fixtures.fixture("sd-tiny"), model, "cases");
        Path safety = Fixtures.fixture("quality/safety-tiny");
        copyTree(safety.resolve("safety_checker"), model.resolve("safety_checker"), null);
        copyTree(safety.resolve("feature_extractor"), model.resolve("feature_extractor"), null);
        return model;
    }

    private static void copyTree(Path from, Path to, String skip) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path rel = from.relativize(f);
                if (skip != null && rel.startsWith(skip)) {
                    continue;
                }
                Path target = to.resolve(rel.toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
    }

    private Map<String, String> sdSettings(Path model, Path input, Path out, String flagged) {
        Map<String, String> m = settings(input, out, "partitions", "2", "quality.safety_checker", "required");
        m.put("model", model.toString());
        m.put("defaults.num_inference_steps", "2");
        m.put("quality.flagged", flagged);
        return m;
    }

    @Test
    void theModelsSafetyCheckerJudgesEveryImageAndItsActionFollowsTheFlag() throws Exception {
        Path model = sdWithSafetyChecker();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            lines.add("{\"id\":\"s" + i + "\",\"prompt\":\"a picture number " + i + "\",\"seed\":" + i + "}");
        }
        Path in = jsonl(tmp.resolve("sd.jsonl"), lines);

        // black_out writes every image: the metadata has every verdict
        Path blackOut = tmp.resolve("black");
        run(sdSettings(model, in, blackOut, "black_out"));
        List<Row> all = table(blackOut, "metadata");
        assertEquals(8, all.size());
        Set<String> flagged = new TreeSet<>();
        for (Row r : all) {
            Boolean nsfw = r.getAs("nsfw");
            Double score = r.getAs("nsfw_score");
            assertNotNull(nsfw, "every image is checked");
            assertNotNull(score);
            assertNotNull(r.getAs("nsfw_special_score"));
            assertEquals(score > 0, nsfw, "flagged exactly when the highest concept score is above 0");
            if (nsfw) {
                flagged.add(r.getAs("id"));
            }
        }
        // the tiny random model and checker flag about half of these pictures: both actions are exercised
        assertFalse(flagged.isEmpty(), "some images flagged");
        assertTrue(flagged.size() < all.size(), "some images clean: " + flagged);

        Path dropOut = tmp.resolve("drop");
        JobSummary dropped = run(sdSettings(model, in, dropOut, "drop"));
        List<Row> errors = table(dropOut, "errors");
        assertEquals(flagged, ids(errors), "the flagged images, and only they, are dropped");
        for (Row e : errors) {
            assertEquals("safety", e.getAs("stage"));
            assertEquals("nsfw", e.getAs("field"));
            assertEquals(Boolean.TRUE, e.getAs("nsfw"));
            assertTrue(e.<String>getAs("reason").startsWith("flagged by the safety checker; scores: nsfw true"));
        }
        assertEquals(all.size() - flagged.size(), dropped.written());
        assertEquals(
                Map.of("safety: nsfw", (long) flagged.size()), dropped.quality().filtered());

        Map<String, byte[]> clean = GenerateJobTest.images(dropOut);
        Map<String, byte[]> blacked = GenerateJobTest.images(blackOut);
        for (String id : ids(all)) {
            String file = id + ".png";
            if (flagged.contains(id)) {
                assertFalse(clean.containsKey(file), "dropped: " + id);
                BufferedImage img =
                        ImageIO.read(blackOut.resolve("images").resolve(file).toFile());
                for (int y = 0; y < img.getHeight(); y++) {
                    for (int x = 0; x < img.getWidth(); x++) {
                        assertEquals(0, img.getRGB(x, y) & 0xffffff, id + " is black");
                    }
                }
            } else {
                assertArrayEquals(clean.get(file), blacked.get(file), id + " is written as generated");
            }
        }
    }
}

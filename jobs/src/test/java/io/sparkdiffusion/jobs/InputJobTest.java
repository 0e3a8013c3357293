package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.quality.DigitClassifier;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job's inputs read by Spark's own readers: ORC and CSV files with reader options, a Delta table written with
 * delta-spark, a table of the session's catalog, and prompt templates (alone, and over a table's columns), on the
 * digits model; the templates' slot values in the metadata of every output format; and the errors summary and list
 * of such a run, read from the errors table the publication wrote.
 */
@Slow
class InputJobTest {
    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    private static SparkSession spark;

    @BeforeAll
    static void startSpark() {
        // catalog tables go to a warehouse of the test's own; Delta's extension and catalog as its docs set them
        spark = SparkTestSession.start(Map.of(
                "spark.sql.warehouse.dir", shared.resolve("warehouse").toString(),
                "spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension",
                "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog",
                // Delta replays its log in 50 tasks by default: far too many for three rows on two cores
                "spark.databricks.delta.snapshotPartitions", "2"));
    }

    @AfterAll
    static void stopSpark() {
        SparkTestSession.stop(spark);
    }

    private static JobSummary run(Map<String, String> settings) {
        return GenerateJob.run(spark, JobConfig.load(null, settings));
    }

    private static List<Row> metadata(Path out) {
        return spark.read()
                .parquet(out.resolve("metadata").toString())
                .orderBy("id")
                .collectAsList();
    }

    private static Map<String, String> promptById(Path out) {
        Map<String, String> m = new HashMap<>();
        metadata(out).forEach(r -> m.put(r.getAs("id"), r.getAs("prompt")));
        return m;
    }

    private static final String PROMPTS_SQL = "SELECT * FROM VALUES ('o1', 'a handwritten digit one', 1L),"
            + " ('o2', 'a handwritten digit two', 2L) AS t(id, prompt, seed)";

    @Test
    void orcAndCsvFilesWithReaderOptions() throws Exception {
        Path orc = tmp.resolve("prompts.orc");
        spark.sql(PROMPTS_SQL).write().orc(orc.toString());
        Path out = tmp.resolve("orc-out");
        JobSummary s = run(GenerateJobTest.settings(orc, out, "input_format", "orc"));
        assertEquals(2, s.written());
        assertEquals(Map.of("o1", "a handwritten digit one", "o2", "a handwritten digit two"), promptById(out));
        // a reader option replaces one of the CSV defaults (the separator), the others stay (header)
        Path csv = Files.writeString(tmp.resolve("in.csv"), "id;prompt\nc1;a handwritten digit three\n");
        JobSummary c = run(
                GenerateJobTest.settings(csv, tmp.resolve("csv-out"), "input_format", "csv", "input_options.sep", ";"));
        assertEquals(1, c.written());
        assertEquals(Map.of("c1", "a handwritten digit three"), promptById(tmp.resolve("csv-out")));
    }

    @Test
    void aDeltaTableWrittenByDeltaSparkAtAnEarlierVersion() throws Exception {
        Path delta = tmp.resolve("prompts-delta");
        spark.sql(PROMPTS_SQL).write().format("delta").save(delta.toString());
        spark.sql("SELECT 'o3' AS id, 'a handwritten digit three' AS prompt, 3L AS seed")
                .write()
                .format("delta")
                .mode("append")
                .save(delta.toString());
        assertEquals(3, spark.read().format("delta").load(delta.toString()).count());
        // Delta's time travel is a reader option: version 0 holds the first two rows only
        Path first = tmp.resolve("first");
        JobSummary s =
                run(GenerateJobTest.settings(delta, first, "input_format", "delta", "input_options.versionAsOf", "0"));
        assertEquals(2, s.written());
        assertEquals(Map.of("o1", "a handwritten digit one", "o2", "a handwritten digit two"), promptById(first));
    }

    @Test
    void aTableOfTheSessionsCatalog() throws Exception {
        spark.sql("CREATE DATABASE IF NOT EXISTS prompts_db");
        spark.sql("CREATE TABLE prompts_db.daily (id STRING, prompt STRING, seed BIGINT) USING parquet");
        spark.sql("INSERT INTO prompts_db.daily " + PROMPTS_SQL);
        Map<String, String> settings = GenerateJobTest.settings(tmp, tmp.resolve("out"));
        settings.remove("input");
        settings.put("input_table", "prompts_db.daily");
        JobSummary s = run(settings);
        assertEquals(2, s.written());
        assertEquals(Set.of("o1", "o2"), promptById(tmp.resolve("out")).keySet());
        String manifest = Files.readString(tmp.resolve("out/_job.json"));
        assertTrue(manifest.contains("\"input\" : \"table prompts_db.daily\""), manifest);
        settings.put("input_table", "prompts_db.nightly");
        settings.put("output", tmp.resolve("out2").toString());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> run(settings));
        assertTrue(
                missing.getMessage().contains("input_table prompts_db.nightly does not exist in the session's catalog"),
                missing.getMessage());
    }

    @Test
    void templatesAloneDescribeAWholeDataset() throws Exception {
        Path out = tmp.resolve("dataset");
        // the shipped example as written, with its own output folder and one seed of its grid
        JobConfig config = JobConfig.load(
                Fixtures.root().resolve("conf/digits-dataset.yaml"),
                Map.of(
                        "model",
                        Fixtures.model("digits-t2i").toString(),
                        "output",
                        out.toString(),
                        "grid.seeds",
                        "3",
                        "progress.log_interval_seconds",
                        "60"));
        JobSummary s = GenerateJob.run(spark, config);
        assertEquals(10, s.inputRows(), "one input row per combination");
        assertEquals(10, s.written());
        List<Row> meta = metadata(out);
        int correct = 0;
        try (DigitClassifier classifier =
                new DigitClassifier(Fixtures.model("digits-classifier"), RuntimeOptions.DEFAULT)) {
            for (Row r : meta) {
                String digit = JsonConfig.mapper()
                        .readTree((String) r.getAs("template_slots"))
                        .get("digit")
                        .asText();
                assertEquals(digit + "-s3-g3", r.getAs("id"));
                assertEquals(digit, r.getAs("input_id"), "the combination is the input row");
                assertEquals("a handwritten digit " + digit, r.getAs("prompt"));
                assertEquals(3L, (long) r.getAs("seed"));
                int predicted = GenerateJobTest.predictedDigit(
                        classifier, out.resolve("images").resolve(r.getAs("id") + ".png"));
                correct += DigitClassifier.word(predicted).equals(digit) ? 1 : 0;
            }
        }
        assertEquals(10, meta.size());
        System.out.printf("templates: %d/10 images show the digit of their slot%n", correct);
        assertTrue(correct >= 9, correct + "/10 images show their slot's digit");
    }

    @Test
    void templatesOverATablesColumnsAndTheErrorsReadableWithoutParquetTools() throws Exception {
        Path in = GenerateJobTest.jsonl(
                tmp.resolve("in.jsonl"),
                List.of(
                        "{\"id\":\"r1\",\"digit\":\"seven\",\"seed\":5}",
                        "{\"id\":\"r2\",\"digit\":\"two\"}",
                        "{\"id\":\"r3\"}",
                        "{\"id\":\"r4\",\"digit\":\"one\",\"num_inference_steps\":0}",
                        "{\"id\":\"r<5>\",\"digit\":\"one\",\"scheduler\":\"warp\"}"));
        Path out = tmp.resolve("out");
        Map<String, String> settings = GenerateJobTest.settings(
                in,
                out,
                "templates.prompt",
                "{article} handwritten digit {digit}",
                "templates.slots.article",
                "a,the",
                "max_error_fraction",
                "1");
        JobSummary s = run(settings);
        assertEquals(4, s.written());
        assertEquals(3, s.rejected(), "each bad row once, not once per combination");
        Map<String, Row> byId = metadata(out).stream().collect(Collectors.toMap(r -> r.getAs("id"), r -> r));
        assertEquals(Set.of("r1-a", "r1-the", "r2-a", "r2-the"), byId.keySet());
        Row r1the = byId.get("r1-the");
        assertEquals("the handwritten digit seven", r1the.getAs("prompt"));
        assertEquals("r1", r1the.getAs("input_id"));
        assertEquals(5L, (long) r1the.getAs("seed"), "the row's seed for every combination");
        JsonNode slots = JsonConfig.mapper().readTree((String) r1the.getAs("template_slots"));
        assertEquals("the", slots.get("article").asText());
        assertEquals("seven", slots.get("digit").asText());

        // the errors as the driver log's summary and index.html show them, from the errors table the run published
        OutputStore store = new OutputStore(new HadoopConf(new Configuration()), out.toString());
        String log = ErrorReport.read(spark, store, 10).logSummary("errors/");
        assertTrue(log.startsWith("errors: 3 rows in errors/ (3 rejected input rows, 0 failed images)"), log);
        assertTrue(log.contains("validation / digit: 1, first ids: r3;"), log);
        assertTrue(log.contains("validation / num_inference_steps: 1, first ids: r4;"), log);
        assertTrue(log.contains("validation / scheduler: 1, first ids: r<5>; e.g. unknown scheduler 'warp'"), log);
        String html = Files.readString(out.resolve("index.html"));
        assertTrue(html.contains("<h2 id=\"errors\">Errors</h2>"), html);
        assertTrue(
                html.contains("<tr><td><code>r3</code></td><td>validation</td><td>digit</td><td>slot {digit} of"
                        + " templates.prompt has no value: the row&#39;s &#39;digit&#39; column is null</td></tr>"),
                html);
        assertTrue(html.contains("<code>r&lt;5&gt;</code>"), "ids are escaped");

        // an image that failed on an executor, recorded by a task of a run that then crashed: the resume publishes
        // it into the errors table, and the summary and the page count it as a failed image
        GeneratedRow failed = new GeneratedRow();
        failed.setId("r0-a");
        failed.setImageKey("r0-a");
        failed.setRunId(RunManifest.newRunId());
        failed.setWritten(false);
        failed.setErrorField("generation");
        failed.setErrorReason("engine failed: out of memory");
        try (RecordFragments.Writer w = new RecordFragments.Writer(
                store,
                failed.getRunId(),
                0,
                0,
                new RecordFragments.Policy(16, RecordFragments.Policy.EVERY_BYTES, 30))) {
            w.add(failed, Map.of());
        }
        settings.put("resume", "true");
        JobSummary resumed = run(settings);
        assertEquals(0, resumed.written());
        assertEquals(1, resumed.failed());
        String after = ErrorReport.read(spark, store, 10).logSummary("errors/");
        assertTrue(after.startsWith("errors: 4 rows in errors/ (3 rejected input rows, 1 failed image)"), after);
        assertTrue(
                after.contains("generation / generation: 1, first ids: r0-a; e.g. engine failed: out of memory"),
                after);
        String page = Files.readString(out.resolve("index.html"));
        assertTrue(
                page.contains("<tr><td><code>r0-a</code></td><td>generation</td><td>generation</td>"
                        + "<td>engine failed: out of memory</td></tr>"),
                page);
    }

    @Test
    void templateSlotsAreInTheMetadataOfEveryOutputFormat() throws Exception {
        for (String format : List.of("parquet", "webdataset")) {
            Path out = tmp.resolve(format);
            Map<String, String> settings = GenerateJobTest.settings(
                    tmp,
                    out,
                    "output_format",
                    format,
                    "templates.prompt",
                    "a handwritten digit {digit}",
                    "templates.slots.digit",
                    "four,five");
            settings.remove("input");
            assertEquals(2, run(settings).written(), format);
            Map<String, String> digitById = new TreeMap<>();
            if (format.equals("parquet")) {
                // the dataset's own column, as a user queries it with Spark SQL
                for (Row r : spark.read()
                        .parquet(out.resolve("data").toString())
                        .selectExpr("id", "get_json_object(template_slots, '$.digit')")
                        .collectAsList()) {
                    digitById.put(r.getString(0), r.getString(1));
                }
            } else {
                // each sample's .json, read with a plain tar reader
                for (Path shard : OutputFormatsTest.listTars(out.resolve("shards"))) {
                    try (TarArchiveInputStream tar = new TarArchiveInputStream(Files.newInputStream(shard))) {
                        for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
                            if (e.getName().endsWith(".json")) {
                                JsonNode meta = JsonConfig.mapper().readTree(tar.readAllBytes());
                                JsonNode slots = JsonConfig.mapper()
                                        .readTree(meta.path("template_slots").asText());
                                digitById.put(
                                        meta.path("id").asText(),
                                        slots.path("digit").asText());
                            }
                        }
                    }
                }
            }
            assertEquals(Map.of("five", "five", "four", "four"), digitById, format);
        }
    }
}

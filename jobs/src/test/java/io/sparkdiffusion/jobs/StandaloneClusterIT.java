package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.quality.DigitClassifier;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job submitted with spark-submit to a standalone cluster of separate JVMs (a master, two workers of one core
 * each), from a working folder where the model, input and output are given as relative paths, with credentials
 * passed on the command line. Compared with the same job on local Spark in this JVM.
 */
@Slow
class StandaloneClusterIT {
    static final int ROWS = 40;
    static final List<String> SECRETS = List.of("AzureAccountKey-it-0451", "CustomApiKey-it-0452");

    @TempDir
    static Path tmp;

    static StandaloneCluster cluster;

    @BeforeAll
    static void startCluster() throws IOException {
        cluster = StandaloneCluster.start(tmp.resolve("cluster"), 2, 1);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** The job's settings, relative to its working folder, with the credentials of two Hadoop connectors. */
    static Map<String, String> settings(Path workDir) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("model", "digits-t2i");
        s.put("input", "prompts.jsonl");
        s.put("input_format", "json");
        s.put("output", "out");
        s.put("batch_size", "4");
        s.put("defaults.num_inference_steps", "8");
        s.put("defaults.guidance_scale", "3");
        s.put("progress.log_interval_seconds", "1");
        s.put("hadoop.fs.azure.account.key.itaccount.blob.core.windows.net", SECRETS.get(0));
        s.put("hadoop.my.custom.apikey", SECRETS.get(1));
        return s;
    }

    static Path workFolder(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.createSymbolicLink(dir.resolve("digits-t2i"), Fixtures.model("digits-t2i"));
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            rows.add("{\"id\":\"c" + i + "\",\"prompt\":\"a handwritten digit " + DigitClassifier.word(i % 10)
                    + "\",\"seed\":" + (900 + i) + "}");
        }
        Files.write(dir.resolve("prompts.jsonl"), rows);
        return dir;
    }

    @Test
    void everyImageOnceAndAsALocalRunMakesIt() throws Exception {
        Path work = workFolder(tmp.resolve("cluster-run"));
        List<String> args = jobArgs(work);
        Map<String, String> conf = clusterConf();
        conf.put("spark.eventLog.enabled", "true");
        conf.put(
                "spark.eventLog.dir",
                Files.createDirectories(tmp.resolve("events")).toUri().toString());
        Set<Path> before = cluster.appFolders();
        long t0 = System.nanoTime();
        StandaloneCluster.Driver driver = cluster.submit(work, conf, args);
        int code = driver.await(Duration.ofMinutes(5));
        String log = driver.log();
        System.out.printf("cluster run: %.1f s%n%s%n", (System.nanoTime() - t0) / 1e9, log);
        assertEquals(0, code, log);
        String executors = cluster.executorLogsSince(before);

        Map<String, byte[]> images = pngs(work.resolve("out/images"));
        assertEquals(ROWS, images.size(), "one PNG per row, in the driver's output folder");
        assertEquals(ROWS, generatedRows(executors), "every image generated once:\n" + executors);
        assertTrue(log.contains("Spark UI: http://"), "the Spark UI address at start:\n" + log);
        assertTrue(log.contains("partitions (2 task slots)"), "spread over both workers:\n" + log);
        // two executors of one core on a machine with more: one ONNX Runtime thread each
        Matcher loaded = Pattern.compile("loaded resident pipeline \\S+ on cpu intra=(\\d+)")
                .matcher(executors);
        int pipelines = 0;
        while (loaded.find()) {
            assertEquals("1", loaded.group(1), "threads of an executor with one core");
            pipelines++;
        }
        assertEquals(2, pipelines, "one resident pipeline per executor:\n" + executors);
        String workers = Files.readString(cluster.workerLog(0)) + Files.readString(cluster.workerLog(1));
        assertTrue(
                workers.contains("-XX:OnError=sed") && workers.contains("-XX:+PerfDisableSharedMem"),
                "executors start with the job's crash-file options:\n" + workers);

        assertSameAsLocalRunAndEachOnce(work);
        SecretScan.assertNotIn(tmp, SECRETS);
    }

    /**
     * An executor SIGKILLed mid-run (a lost machine): the job completes; every image once, with the bytes of a
     * clean run; the killed executor's committed rows are not generated again (at most the rows it had generated
     * and not yet committed, less than one batch here, are).
     */
    @Test
    void aLostExecutorCostsOnlyItsUncommittedRows() throws Exception {
        Path work = workFolder(tmp.resolve("executor-lost"));
        Set<Path> before = cluster.appFolders();
        StandaloneCluster.Driver driver = cluster.submit(work, clusterConf(), jobArgs(work, "--set", COMMIT_EVERY_2));
        Path victimLog = awaitBatches(before, 2, driver);
        ProcessHandle victim = cluster.executorOf(victimLog);
        int beforeKill = generatedRows(cluster.executorLogsSince(before));
        victim.destroyForcibly();
        int code = driver.await(Duration.ofMinutes(6));
        String log = driver.log();
        assertEquals(0, code, log);
        String executors = cluster.executorLogsSince(before);
        int generated = generatedRows(executors);
        assertSameAsLocalRunAndEachOnce(work);
        int regenerated = generated - ROWS;
        assertTrue(
                regenerated >= 0 && regenerated <= 4,
                "at most the killed executor's generated-but-uncommitted rows (< one batch of 4) again: " + generated
                        + " generations of " + ROWS + " rows\n" + executors);
        System.out.printf(
                "executor lost: %d rows generated before the kill, %d generations in all for %d rows"
                        + " (%d regenerated); retried tasks skipped their committed rows: %s%n",
                beforeKill,
                generated,
                ROWS,
                regenerated,
                executors.contains("rows committed by earlier attempts are not generated again"));
    }

    /**
     * The driver SIGKILLed mid-run, then the same job with --resume: only the rows that no task had committed are
     * generated; the output is that of a clean run, each image once.
     */
    @Test
    void aLostDriverCostsOnlyTheRowsInFlightAndResumeFinishesIt() throws Exception {
        Path work = workFolder(tmp.resolve("driver-lost"));
        Set<Path> before = cluster.appFolders();
        StandaloneCluster.Driver first = cluster.submit(work, clusterConf(), jobArgs(work, "--set", COMMIT_EVERY_2));
        awaitBatches(before, 3, first);
        first.kill();
        first.await(Duration.ofMinutes(1));
        cluster.awaitNoExecutors(Duration.ofMinutes(1)); // the master ends the application's executors
        int generatedBefore = generatedRows(cluster.executorLogsSince(before));
        Set<String> committed = committedIds(work.resolve("out"));
        assertTrue(
                !committed.isEmpty() && committed.size() < ROWS,
                "the crash left part of the run committed: " + committed.size());

        Set<Path> beforeResume = cluster.appFolders();
        StandaloneCluster.Driver resumed =
                cluster.submit(work, clusterConf(), jobArgs(work, "--set", COMMIT_EVERY_2, "--resume"));
        int code = resumed.await(Duration.ofMinutes(6));
        assertEquals(0, code, resumed.log());
        int generatedByResume = generatedRows(cluster.executorLogsSince(beforeResume));
        assertEquals(ROWS - committed.size(), generatedByResume, "only what no task had committed:\n" + resumed.log());
        assertSameAsLocalRunAndEachOnce(work);
        System.out.printf(
                "driver lost: %d rows generated before the kill, %d committed; --resume generated %d;"
                        + " the crash cost %d images regenerated of %d%n",
                generatedBefore, committed.size(), generatedByResume, generatedBefore + generatedByResume - ROWS, ROWS);
    }

    static final String COMMIT_EVERY_2 = "output.commit_every_rows=2";

    static Map<String, String> clusterConf() throws IOException {
        Map<String, String> conf = new LinkedHashMap<>();
        // what deploy/spark-submit-gpu.sh gives every job: the tokenizer offline on its in-jar library
        conf.put("spark.executorEnv.DJL_OFFLINE", "true");
        conf.put("spark.executorEnv.RUST_FLAVOR", "cpu");
        conf.put("spark.executorEnv.DJL_CACHE_DIR", tmp.resolve("djl").toString());
        conf.put("spark.sql.shuffle.partitions", "4"); // as the local session: 200 tasks for 40 rows are slow
        return conf;
    }

    static List<String> jobArgs(Path work, String... more) {
        List<String> args = new ArrayList<>();
        settings(work).forEach((k, v) -> args.addAll(List.of("--set", k + "=" + v)));
        args.addAll(List.of(more));
        return args;
    }

    /** Waits until one executor of the job started after {@code before} logged {@code batches} batches; its log. */
    static Path awaitBatches(Set<Path> before, int batches, StandaloneCluster.Driver driver) throws Exception {
        long end = System.nanoTime() + Duration.ofMinutes(4).toNanos();
        while (System.nanoTime() < end) {
            for (Path f : cluster.executorLogFiles(before)) {
                if (generatedBatches(Files.readString(f)) >= batches) {
                    return f;
                }
            }
            if (!driver.handle().isAlive()) {
                throw new AssertionError("the job ended before the fault:\n" + driver.log());
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no executor generated " + batches + " batches:\n" + driver.log());
    }

    /** The ids every record fragment under {@code out/records} holds (committed, not published). */
    static Set<String> committedIds(Path out) throws IOException {
        Set<String> ids = new TreeSet<>();
        Path records = out.resolve("records");
        if (!Files.isDirectory(records)) {
            return ids;
        }
        try (Stream<Path> files = Files.list(records)) {
            for (Path tar : files.filter(f -> f.toString().endsWith(".tar")).toList()) {
                try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(tar))) {
                    TarArchiveEntry e;
                    while ((e = in.getNextEntry()) != null) {
                        if (e.getName().endsWith(".json")) {
                            ids.add(e.getName().substring(0, e.getName().length() - ".json".length()));
                        }
                    }
                }
            }
        }
        return ids;
    }

    /**
     * The job's output in {@code work/out} holds every row once (metadata and pictures) and each picture has the
     * bytes a clean local run makes.
     */
    static void assertSameAsLocalRunAndEachOnce(Path work) throws IOException {
        Map<String, byte[]> images = pngs(work.resolve("out/images"));
        Map<String, byte[]> reference = localReference();
        assertEquals(reference.keySet(), images.keySet());
        for (String name : reference.keySet()) {
            assertArrayEquals(reference.get(name), images.get(name), name + ": the same bytes as local Spark");
        }
        SparkSession local = SparkTestSession.start();
        try {
            List<Row> meta = local.read()
                    .parquet(work.resolve("out/metadata").toString())
                    .select("id")
                    .collectAsList();
            assertEquals(ROWS, meta.size(), "one metadata row per image");
            assertEquals(ROWS, meta.stream().map(r -> r.getString(0)).distinct().count());
        } finally {
            SparkTestSession.stop(local);
        }
        assertEquals(Set.of(), committedIds(work.resolve("out")), "every record fragment published and removed");
    }

    private static Map<String, byte[]> reference;

    /** The pictures of the job on local Spark in this JVM (made once). */
    static synchronized Map<String, byte[]> localReference() throws IOException {
        if (reference == null) {
            long t1 = System.nanoTime();
            SparkSession local = SparkTestSession.start();
            try {
                Path localWork = workFolder(tmp.resolve("local-run"));
                Map<String, String> s = settings(localWork);
                s.replaceAll((k, v) -> k.equals("model") || k.equals("input") || k.equals("output")
                        ? localWork.resolve(v).toString()
                        : v);
                JobSummary summary = GenerateJob.run(local, JobConfig.load(null, s));
                assertEquals(ROWS, summary.written());
                reference = pngs(localWork.resolve("out/images"));
            } finally {
                SparkTestSession.stop(local);
            }
            System.out.printf("local run: %.1f s%n", (System.nanoTime() - t1) / 1e9);
        }
        return reference;
    }

    static int generatedBatches(String executorLog) {
        Matcher m = Pattern.compile("generated a batch of (\\d+) rows").matcher(executorLog);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    /** Rows generated by the executors: the sum of their engine batches ("generated a batch of B rows"). */
    static int generatedRows(String executorLogs) {
        Matcher m = Pattern.compile("generated a batch of (\\d+) rows").matcher(executorLogs);
        int n = 0;
        while (m.find()) {
            n += Integer.parseInt(m.group(1));
        }
        return n;
    }

    static Map<String, byte[]> pngs(Path dir) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.toString().endsWith(".png")).toList()) {
                out.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }
}

package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.quality.DigitClassifier;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import io.sparkdiffusion.util.JsonConfig;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job end to end against a real S3 server (S3Proxy in its own JVM): input table, model and output all on
 * {@code s3a://}, the S3A settings given only as {@code hadoop.*} job keys. One job run in {@link #setUp()} feeds
 * the output checks; the later tests (ordered) run again into the same output: refused without --resume or
 * --overwrite, and a no-op with --resume.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Slow
class S3aJobTest {
    private static final int ROWS = 6;

    @TempDir
    static Path tmp;

    private static S3ProxyServer s3;
    private static SparkSession spark;
    private static WriterAppender logCapture;
    private static final StringWriter LOG = new StringWriter();
    private static final Map<String, Long> SEEDS = new TreeMap<>();
    private static JobSummary first;

    @BeforeAll
    static void setUp() throws IOException {
        // Spark starts while S3Proxy starts and the uploads run (both mostly class loading and JIT)
        CompletableFuture<SparkSession> sparkStart = CompletableFuture.supplyAsync(SparkTestSession::start);
        try {
            s3 = S3ProxyServer.start();
            upload();
        } finally {
            spark = sparkStart.join();
        }
        startLogCapture();
        first = run();
    }

    /** The input table and the model, written through a separate, uncached S3A client. */
    private static void upload() throws IOException {
        // newInstance: nothing lands in Hadoop's FileSystem cache, so the job must reach S3 through its hadoop.* keys
        Configuration conf = new Configuration();
        s3.hadoopSettings().forEach(conf::set);
        try (FileSystem fs = FileSystem.newInstance(URI.create(s3.uri("")), conf)) {
            StringBuilder jsonl = new StringBuilder();
            for (int i = 0; i < ROWS; i++) {
                String id = "d" + i;
                long seed = 1000 + 7L * i;
                SEEDS.put(id, seed);
                jsonl.append("{\"id\":\"")
                        .append(id)
                        .append("\",\"prompt\":\"a handwritten digit ")
                        .append(DigitClassifier.word(i))
                        .append("\",\"seed\":")
                        .append(seed)
                        .append("}\n");
            }
            try (FSDataOutputStream out =
                    fs.create(new org.apache.hadoop.fs.Path(s3.uri("input/prompts.jsonl")), true)) {
                out.write(jsonl.toString().getBytes(StandardCharsets.UTF_8));
            }
            // through S3 (not into S3Proxy's folder behind its back): real objects, with ETags for S3A's change
            // detection
            Path model = Fixtures.model("digits-t2i");
            uploadTree(fs, model, s3.uri("models/digits-t2i"));
            assertEquals(countFiles(model), countFiles(fs, s3.uri("models/digits-t2i")), "model files uploaded");
        }
    }

    @AfterAll
    static void tearDown() throws IOException {
        try {
            stopLogCapture();
            SparkTestSession.stop(spark);
        } finally {
            try {
                if (s3 != null && spark != null) {
                    // the cached S3A client of this bucket (its thread pools), before its server goes
                    FileSystem.get(URI.create(s3.uri("")), spark.sparkContext().hadoopConfiguration())
                            .close();
                }
            } finally {
                if (s3 != null) {
                    s3.close();
                }
            }
        }
    }

    static Map<String, String> settings(String... more) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", s3.uri("models/digits-t2i"));
        m.put("input", s3.uri("input/"));
        m.put("input_format", "json");
        m.put("output", s3.uri("out"));
        m.put("defaults.num_inference_steps", "8");
        m.put("defaults.guidance_scale", "3");
        m.put("batch_size", "2");
        m.put("partitions", "2");
        m.put("runtime.local_model_dir", tmp.resolve("models").toString());
        m.put("progress.log_interval_seconds", "60");
        m.putAll(s3.jobSettings());
        for (int i = 0; i < more.length; i += 2) {
            m.put(more[i], more[i + 1]);
        }
        return m;
    }

    static JobSummary run(String... more) {
        return GenerateJob.run(spark, JobConfig.load(null, settings(more)));
    }

    /** The job's S3A client: the session's Hadoop configuration, which the run gave the hadoop.* settings. */
    static FileSystem fs() throws IOException {
        return FileSystem.get(URI.create(s3.uri("")), spark.sparkContext().hadoopConfiguration());
    }

    static byte[] read(String key) throws IOException {
        try (InputStream in = fs().open(new org.apache.hadoop.fs.Path(s3.uri(key)))) {
            return in.readAllBytes();
        }
    }

    static String readText(String key) throws IOException {
        return new String(read(key), StandardCharsets.UTF_8);
    }

    /** Image file name to modification time, through s3a. */
    static Map<String, Long> images() throws IOException {
        Map<String, Long> out = new TreeMap<>();
        for (FileStatus s : fs().listStatus(new org.apache.hadoop.fs.Path(s3.uri("out/images")))) {
            out.put(s.getPath().getName(), s.getModificationTime());
        }
        return out;
    }

    @Test
    @Order(1)
    void writesImagesThroughS3a() throws IOException {
        assertEquals(ROWS, first.inputRows());
        assertEquals(ROWS, first.planned());
        assertEquals(ROWS, first.written(), "images written");
        assertEquals(0, first.skipped());
        assertEquals(0, first.rejected());
        assertEquals(0, first.failed());
        assertFalse(first.errorBudgetExceeded());

        Map<String, Long> images = images();
        assertEquals(SEEDS.keySet().stream().map(id -> id + ".png").toList(), new ArrayList<>(images.keySet()));
        for (String name : images.keySet()) {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(read("out/images/" + name)));
            assertNotNull(img, name + " decodes as an image");
            assertEquals(16, img.getWidth(), name);
            assertEquals(16, img.getHeight(), name);
        }
        // the model went through ModelLocalizer's copy: a completed local copy under runtime.local_model_dir
        try (Stream<Path> s = Files.list(tmp.resolve("models"))) {
            List<Path> copies = s.filter(Files::isDirectory).toList();
            assertEquals(1, copies.size(), "one local copy of the model: " + copies);
            assertTrue(Files.isRegularFile(copies.get(0).resolve(".complete")), "the copy is marked complete");
            assertEquals(
                    countFiles(Fixtures.model("digits-t2i")) + 1, countFiles(copies.get(0)), "every model file copied");
        }
    }

    @Test
    @Order(2)
    void metadataAndErrorsReadableThroughS3a() {
        Dataset<Row> meta = spark.read().parquet(s3.uri("out/metadata"));
        List<Row> rows = meta.select("id", "seed", "image_path", "width", "height", "num_inference_steps")
                .collectAsList();
        assertEquals(ROWS, rows.size());
        Map<String, Long> seeds = new TreeMap<>();
        for (Row r : rows) {
            String id = r.getString(0);
            seeds.put(id, r.getLong(1));
            assertEquals(s3.uri("out/images/" + id + ".png"), r.getString(2));
            assertEquals(16, r.getInt(3));
            assertEquals(16, r.getInt(4));
            assertEquals(8, r.getInt(5));
        }
        assertEquals(SEEDS, seeds, "ids and seeds of the input");
        assertEquals(0, spark.read().parquet(s3.uri("out/errors")).count(), "no error rows");
    }

    @Test
    @Order(3)
    void contactSheetManifestAndLogsKeepCredentialsOut() throws IOException {
        String html = readText("out/index.html");
        for (String id : SEEDS.keySet()) {
            assertTrue(html.contains("src=\"images/" + id + ".png\""), "index.html shows " + id);
        }
        JsonNode job = JsonConfig.mapper().readTree(read("out/_job.json"));
        assertEquals("finished", job.path("state").asText());
        assertEquals(s3.uri("models/digits-t2i"), job.path("model_uri").asText());
        assertEquals(ROWS, job.path("summary").path("written").asLong(), job.toString());

        String describe = JobConfig.load(null, settings()).describe();
        assertTrue(describe.contains("hadoop.fs.s3a.secret.key = ******"), describe);
        assertTrue(
                LOG.toString().contains("copied model " + s3.uri("models/digits-t2i")),
                "the model copy from s3a is logged:\n" + LOG);
        for (String secret : List.of(s3.secretKey(), s3.accessKey())) {
            assertFalse(html.contains(secret), "credential in index.html");
            assertFalse(job.toString().contains(secret), "credential in _job.json");
            assertFalse(describe.contains(secret), "credential in the settings log");
        }
        assertNoCredentialLogged();
    }

    @Test
    @Order(4)
    void secondRunIntoTheSameOutputIsRefused() throws IOException {
        Map<String, Long> before = images();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, S3aJobTest::run);
        assertTrue(e.getMessage().contains("already holds data"), e.getMessage());
        assertTrue(e.getMessage().contains("--resume") && e.getMessage().contains("--overwrite"), e.getMessage());
        assertTrue(e.getMessage().contains(s3.uri("out")), e.getMessage());
        assertFalse(e.getMessage().contains(s3.secretKey()), e.getMessage());
        assertEquals(before, images(), "nothing touched");
    }

    @Test
    @Order(5)
    void resumeWritesNothingNew() throws IOException {
        Map<String, Long> before = images();
        JobSummary again = run("resume", "true");
        assertEquals(0, again.written(), "images written on resume");
        assertEquals(ROWS, again.skipped(), "images skipped on resume");
        assertEquals(0, again.failed());
        assertEquals(before, images(), "no image rewritten");
        assertEquals(ROWS, spark.read().parquet(s3.uri("out/metadata")).count(), "no metadata row added");
        String html = readText("out/index.html");
        for (String id : SEEDS.keySet()) {
            assertTrue(html.contains("src=\"images/" + id + ".png\""), "index.html still shows " + id);
        }
        assertNoCredentialLogged();
    }

    /** Everything logged so far (Spark, Hadoop, the job; all three runs by the last test) names no credential. */
    private static void assertNoCredentialLogged() {
        String logs = LOG.toString();
        assertTrue(logs.contains("hadoop.fs.s3a.secret.key = ******"), "the settings are logged (masked)");
        assertFalse(logs.contains(s3.secretKey()), "the secret key in the log output");
        assertFalse(logs.contains(s3.accessKey()), "the access key in the log output");
    }

    private static void startLogCapture() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        var config = ctx.getConfiguration();
        logCapture = WriterAppender.newBuilder()
                .setName("s3a-test-capture")
                .setTarget(LOG)
                .setLayout(PatternLayout.newBuilder()
                        .withPattern("%-5level %c{1} - %msg%n%throwable")
                        .build())
                .build();
        logCapture.start();
        config.addAppender(logCapture);
        config.getRootLogger().addAppender(logCapture, null, null);
        ctx.updateLoggers();
    }

    private static void stopLogCapture() {
        if (logCapture == null) {
            return;
        }
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        ctx.getConfiguration().getRootLogger().removeAppender(logCapture.getName());
        ctx.updateLoggers();
        logCapture.stop();
    }

    /** Uploads every file under {@code dir} to {@code uri}, a few at a time (S3A creates are round-trip bound). */
    private static void uploadTree(FileSystem fs, Path dir, String uri) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).toList();
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (Path f : files) {
                done.add(pool.submit(() -> {
                    String rel = dir.relativize(f).toString().replace('\\', '/');
                    try (FSDataOutputStream out = fs.create(new org.apache.hadoop.fs.Path(uri + "/" + rel), true)) {
                        Files.copy(f, out);
                    }
                    return null;
                }));
            }
            for (Future<?> d : done) {
                d.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while uploading " + dir, e);
        } catch (ExecutionException e) {
            throw new IOException("cannot upload " + dir + ": " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    private static long countFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    private static long countFiles(FileSystem fs, String uri) throws IOException {
        long n = 0;
        var it = fs.listFiles(new org.apache.hadoop.fs.Path(uri), true);
        while (it.hasNext()) {
            it.next();
            n++;
        }
        return n;
    }
}

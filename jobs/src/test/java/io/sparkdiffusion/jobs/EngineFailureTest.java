package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import io.sparkdiffusion.util.EngineException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.spark.ExceptionFailure;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An engine-wide failure (here a truncated UNet file, which the driver's checks do not open) fails the job fast with
 * one line naming the cause, instead of Spark retrying every task {@code spark.task.maxFailures} times.
 */
@Slow
class EngineFailureTest {
    private static final int MAX_FAILURES = 4;
    private static SparkSession spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startSpark() {
        // local[N, F]: N threads, each task tried up to F times, as on a cluster (plain local[N] never retries)
        spark = SparkSession.builder()
                .appName("spark-diffusion-engine-failure-test")
                .master("local[2," + MAX_FAILURES + "]")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.ui.enabled", "false")
                .getOrCreate();
    }

    @AfterAll
    static void stopSpark() {
        SparkTestSession.stop(spark);
    }

    @Test
    void aModelThatCannotLoadOnTheExecutorsFailsTheJobOnceWithOneLine() throws Exception {
        Path model = copy(Fixtures.model("digits-t2i"), tmp.resolve("digits-t2i"));
        Path unet = model.resolve("unet/model.onnx");
        byte[] whole = Files.readAllBytes(unet);
        Files.write(unet, java.util.Arrays.copyOf(whole, whole.length / 3)); // a truncated download

        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            rows.add(GenerateJobTest.digitRow("r" + i, i % 10, i));
        }
        Path in = GenerateJobTest.jsonl(tmp.resolve("rows.jsonl"), rows);
        Path out = tmp.resolve("out");
        Map<String, String> settings = GenerateJobTest.settings(in, out, "partitions", "8");
        settings.put("model", model.toString());

        AtomicInteger failedAttempts = new AtomicInteger();
        SparkListener counter = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                if (end.reason() instanceof ExceptionFailure) {
                    failedAttempts.incrementAndGet();
                }
            }
        };
        spark.sparkContext().addSparkListener(counter);
        try {
            EngineException e =
                    assertThrows(EngineException.class, () -> GenerateJob.run(spark, JobConfig.load(null, settings)));
            String line = e.getMessage();
            System.out.printf(
                    "engine failure: %d failed task attempts of 8 tasks (without the fail-fast: at least %d); %s%n",
                    failedAttempts.get(), MAX_FAILURES, line);
            assertFalse(line.contains("\n"), line);
            assertTrue(line.startsWith("engine failure"), line);
            assertTrue(line.contains("unet"), "names the broken component: " + line);
            // the running tasks may fail once each; no task is retried up to spark.task.maxFailures
            assertTrue(failedAttempts.get() < MAX_FAILURES, failedAttempts.get() + " failed attempts");
        } finally {
            spark.sparkContext().removeSparkListener(counter);
        }
        JsonNode manifest = new ObjectMapper().readTree(out.resolve("_job.json").toFile());
        assertEquals("failed", manifest.get("state").asText());
        assertTrue(manifest.toString().contains("engine failure"), manifest.toString());
    }

    @Test
    void onlyEngineExceptionsCountAsEngineFailures() {
        assertTrue(EngineFailures.isEngineFailure(EngineException.class.getName()));
        assertTrue(EngineFailures.isEngineFailure(io.sparkdiffusion.util.ModelLoadException.class.getName()));
        assertFalse(EngineFailures.isEngineFailure(IllegalArgumentException.class.getName()));
        assertFalse(EngineFailures.isEngineFailure("no.such.Exception"));
    }

    private static Path copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
        return to;
    }
}

package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.quality.DigitClassifier;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bin/spark-diffusion job} as a user runs it, in a JVM of its own. */
@Slow
class LauncherIT {
    static final List<String> SECRETS = List.of("AzureAccountKey-launcher-0461", "CustomApiKey-launcher-0462");

    @TempDir
    Path tmp;

    /**
     * {@code bin/spark-diffusion job} on the bundled digits model, local[1], in {@code work} with HOME and Spark's
     * local folders under {@code tmp}, its output to {@code log}.
     */
    ProcessBuilder job(Path work, Path log, String input, String... more) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                Fixtures.root().resolve("bin/spark-diffusion").toString(),
                "job",
                "--model",
                Fixtures.model("digits-t2i").toString(),
                "--input",
                input,
                "--output",
                "out",
                "--master",
                "local[1]"));
        cmd.addAll(List.of(more));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(Files.createDirectories(work).toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment()
                .put("HOME", Files.createDirectories(tmp.resolve("home")).toString());
        pb.environment()
                .put(
                        "SPARK_LOCAL_DIRS",
                        Files.createDirectories(tmp.resolve("spark-local")).toString());
        pb.environment().put("SPARK_DIFFUSION_JAVA_OPTS", "-Xmx2g");
        pb.environment().remove("SPARK_DIFFUSION_CRASH_DIR");
        return pb;
    }

    @Test
    void aCrashLeavesNoCredentialInAnyFile() throws Exception {
        Path work = tmp.resolve("work");
        Files.createDirectories(work);
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            rows.add("{\"id\":\"k" + i + "\",\"prompt\":\"a handwritten digit " + DigitClassifier.word(i % 10)
                    + "\",\"seed\":" + i + "}");
        }
        Files.write(work.resolve("rows.jsonl"), rows);
        Path log = tmp.resolve("launcher.log");
        Process p = job(
                        work,
                        log,
                        "rows.jsonl",
                        "--input-format",
                        "json",
                        "--steps",
                        "50",
                        "--set",
                        "hadoop.fs.azure.account.key.acct.blob.core.windows.net=" + SECRETS.get(0),
                        "--set",
                        "hadoop.my.custom.apikey=" + SECRETS.get(1))
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.readString(log).contains("generating") && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertTrue(p.isAlive(), "the job runs: " + Files.readString(log));
        Path perfData = Path.of(System.getProperty("java.io.tmpdir"), "hsperfdata_" + System.getProperty("user.name"))
                .resolve(Long.toString(p.pid()));
        assertFalse(Files.exists(perfData), "no shared performance file holding the command line: " + perfData);
        StandaloneCluster.signal(p.toHandle(), "SEGV"); // a crash in native code, as ONNX Runtime's were
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the JVM ends after its crash report");
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(1, p.exitValue(), "HotSpot exits with 1 after its report when core dumps are off: " + output);

        Path crashDir = tmp.resolve("home/.spark-diffusion/crash");
        Path report = crashDir.resolve("hs_err_pid" + p.pid() + ".log");
        assertTrue(Files.exists(report), "the crash report in the private folder: " + output);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(crashDir)));
        String text = Files.readString(report, StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("SIGSEGV") && text.contains("jvm_args:"), "a real report, scrubbed");
        assertTrue(
                text.lines().noneMatch(l -> l.startsWith("Command Line:") || l.startsWith("java_command:")),
                "no command line in it");
        try (Stream<Path> files = Files.list(work)) {
            assertTrue(
                    files.noneMatch(f -> f.getFileName().toString().startsWith("hs_err")),
                    "no crash file in the working folder");
        }
        SecretScan.assertNotIn(tmp, SECRETS);
    }

    @Test
    void aWholeInputErrorIsOneLineOfOutput() throws Exception {
        Path work = tmp.resolve("work");
        Files.createDirectories(work);
        Files.writeString(work.resolve("rows.parquet"), "{\"id\":\"a\",\"prompt\":\"x\"}\n");
        Path log = tmp.resolve("launcher.log");
        Process p = job(work, log, "rows.parquet").start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(1, p.exitValue(), output);
        assertEquals(1, output.strip().lines().count(), "everything the launcher printed:\n" + output);
        assertTrue(output.contains("rows.parquet") && output.contains("looks like JSON"), output);
    }
}

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

    /**
     * SIGTERM during generation, as a scheduler sends it: the running batch finishes, finished rows are published,
     * the JVM exits with 143 and writes no crash file; {@code --resume} generates exactly the rows that were left.
     */
    @Test
    void sigtermStopsCleanlyAndResumeGeneratesOnlyTheRest() throws Exception {
        int total = 96;
        Path work = tmp.resolve("work");
        Files.createDirectories(work);
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            rows.add("{\"id\":\"t" + i + "\",\"prompt\":\"a handwritten digit " + DigitClassifier.word(i % 10)
                    + "\",\"seed\":" + i + "}");
        }
        Files.write(work.resolve("rows.jsonl"), rows);
        String[] settings = {
            "--input-format", "json", "--steps", "12", "--batch-size", "4", "--set", "output.commit_every_rows=4"
        };
        Path log = tmp.resolve("stopped.log");
        Process p = job(work, log, "rows.jsonl", settings).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (generatedRows(Files.readString(log)) < 12 && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(p.isAlive(), "the job is generating: " + Files.readString(log));
        StandaloneCluster.signal(p.toHandle(), "TERM");
        assertTrue(p.waitFor(240, TimeUnit.SECONDS), "the job ends after its running batch: " + Files.readString(log));
        String stopped = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(143, p.exitValue(), "the documented exit code of SIGTERM:\n" + stopped);
        assertTrue(stopped.contains("stopped by SIGTERM"), stopped);
        assertFalse(stopped.contains("SIGSEGV") || stopped.contains("fatal error"), "no JVM crash:\n" + stopped);
        assertNoCrashFile(work);
        assertTrue(Files.readString(work.resolve("out/_job.json")).contains("\"state\" : \"stopped\""));
        int published = writtenCount(stopped);
        int pictures = pngCount(work.resolve("out/images"));
        assertTrue(published > 0 && published < total, "part of the run was published: " + published);
        assertEquals(published, pictures, "every published row has its picture, and no picture is unpublished");
        int firstGenerated = generatedRows(stopped);

        Path resumeLog = tmp.resolve("resumed.log");
        List<String> resume = new ArrayList<>(List.of(settings));
        resume.add("--resume");
        Process r = job(work, resumeLog, "rows.jsonl", resume.toArray(String[]::new))
                .start();
        assertTrue(r.waitFor(480, TimeUnit.SECONDS), "the resumed run ends: " + Files.readString(resumeLog));
        String resumed = Files.readString(resumeLog, StandardCharsets.UTF_8);
        assertEquals(0, r.exitValue(), resumed);
        assertEquals(total - published, writtenCount(resumed), resumed);
        assertEquals(total - published, generatedRows(resumed), "only the rows left were generated:\n" + resumed);
        assertEquals(total, pngCount(work.resolve("out/images")));
        assertTrue(Files.readString(work.resolve("out/_job.json")).contains("\"state\" : \"finished\""));
        assertNoCrashFile(work);
        System.out.printf(
                "SIGTERM: %d of %d images published before the stop (%d generated), %d generated by --resume%n",
                published, total, firstGenerated, generatedRows(resumed));
    }

    private void assertNoCrashFile(Path work) throws IOException {
        for (Path dir : List.of(work, tmp.resolve("home/.spark-diffusion/crash"))) {
            if (Files.isDirectory(dir)) {
                try (Stream<Path> files = Files.list(dir)) {
                    assertTrue(
                            files.noneMatch(f -> f.getFileName().toString().startsWith("hs_err")),
                            "no crash file in " + dir);
                }
            }
        }
    }

    /** The launcher's summary line: {@code written N, skipped ...}. */
    private static int writtenCount(String output) {
        java.util.regex.Matcher m =
                java.util.regex.Pattern.compile("written (\\d+), skipped").matcher(output);
        assertTrue(m.find(), "the summary line:\n" + output);
        return Integer.parseInt(m.group(1));
    }

    private static int generatedRows(String output) {
        return StandaloneClusterIT.generatedRows(output);
    }

    private static int pngCount(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return (int) files.filter(f -> f.toString().endsWith(".png")).count();
        }
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

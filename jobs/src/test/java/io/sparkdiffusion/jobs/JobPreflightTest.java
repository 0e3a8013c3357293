package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.cli.Main;
import io.sparkdiffusion.testing.Fixtures;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole-input mistakes are found on the driver before Spark starts, and reported in one line (Spark's failed read
 * printed 130 to 150 lines of stack traces): the command returns before any Spark session exists.
 */
class JobPreflightTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {}

    Run job(Path input, String... more) {
        List<String> args = new ArrayList<>(List.of(
                "job",
                "--model",
                Fixtures.model("digits-t2i").toString(),
                "--input",
                input.toString(),
                "--output",
                tmp.resolve("out").toString(),
                "--master",
                "local[1]"));
        args.addAll(List.of(more));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    static void assertOneLine(Run r, int code, String... mentions) {
        assertEquals(code, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertEquals("", r.out());
        for (String m : mentions) {
            assertTrue(r.err().contains(m), m + " in: " + r.err());
        }
    }

    @Test
    void wholeInputErrorsAreOneLine() throws Exception {
        Path corrupt = Files.write(tmp.resolve("corrupt.parquet"), "PAR1 and then garbage, no footer".getBytes());
        Path empty = Files.write(tmp.resolve("empty.parquet"), new byte[0]);
        Path json = Files.writeString(tmp.resolve("rows.parquet"), "{\"id\":\"a\",\"prompt\":\"x\"}\n");
        Path csv = Files.writeString(tmp.resolve("rows2.parquet"), "id,prompt\na,x\n");
        Path emptyFolder = Files.createDirectories(tmp.resolve("empty-folder"));
        Files.writeString(emptyFolder.resolve("_SUCCESS"), "");
        assertOneLine(job(corrupt), 1, "corrupt.parquet", "truncated");
        assertOneLine(job(empty), 1, "empty.parquet", "is empty (0 bytes)");
        assertOneLine(job(json), 1, "rows.parquet", "looks like JSON", "input_format json");
        assertOneLine(job(csv), 1, "rows2.parquet", "looks like CSV");
        assertOneLine(job(tmp.resolve("nowhere.parquet")), 2, "nowhere.parquet", "does not exist");
        assertOneLine(job(tmp.resolve("*.nothing")), 2, "matches no file");
        assertOneLine(job(emptyFolder), 2, "holds no data files");
        assertFalse(Files.exists(tmp.resolve("out")), "nothing written");
    }

    @Test
    void aMissingModelFolderIsOneLineBeforeSparkStarts() throws Exception {
        Path in = Files.writeString(tmp.resolve("in.jsonl"), "{\"id\":\"a\",\"prompt\":\"x\"}\n");
        Run r = job(in, "--input-format", "json", "--set", "model=" + tmp.resolve("no-model"));
        assertOneLine(r, 2, "model folder", "does not exist");
    }

    @Test
    void relativePathsAreResolvedOnTheDriver() throws Exception {
        Path in = Files.writeString(tmp.resolve("in.jsonl"), "{\"id\":\"a\",\"prompt\":\"x\"}\n");
        Path cwd = Path.of("").toAbsolutePath();
        String relativeModel = cwd.relativize(Fixtures.model("digits-t2i")).toString();
        JobConfig prepared = JobPreflight.prepare(
                JobConfig.load(
                        null,
                        java.util.Map.of(
                                "model",
                                relativeModel,
                                "input",
                                cwd.relativize(in).toString(),
                                "input_format",
                                "json",
                                "output",
                                cwd.relativize(tmp.resolve("out")).toString())),
                new Configuration());
        assertEquals(Fixtures.model("digits-t2i").toString(), prepared.model());
        assertEquals("file:" + in, prepared.input());
        assertEquals("file:" + tmp.resolve("out"), prepared.output());
        assertEquals(List.of("file:" + tmp), prepared.allowedRoots(), "the input's folder");
    }

    @Test
    void aLinkedModelFolderHasItsTargetsFingerprint() throws Exception {
        Path model = Fixtures.model("digits-t2i");
        Path link = Files.createSymbolicLink(tmp.resolve("model-link"), model);
        assertEquals(ModelLocalizer.fingerprint(model), ModelLocalizer.fingerprint(link));
        assertFalse(
                ModelLocalizer.fingerprint(link).startsWith("e3b0c442"), "not the SHA-256 of nothing (no file seen)");
    }
}

package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Work is committed as it finishes: when a run fails after its tasks generated the pictures (here, publishing the
 * metadata table fails), {@code _job.json} says failed and why, the finished rows are in record fragments, and a
 * {@code --resume} publishes them without generating any of them again; the final metadata table has every row once.
 */
class CommitProtocolTest extends LocalSparkTest {
    @TempDir
    Path tmp;

    @Test
    void aRunThatFailsAfterGeneratingLosesNothingAndTheResumeRegeneratesNothing() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            lines.add(GenerateJobTest.digitRow("k" + i, i, 70 + i));
        }
        Path input = GenerateJobTest.jsonl(tmp.resolve("rows.jsonl"), lines);
        Path out = Files.createDirectories(tmp.resolve("out"));
        // a file where the metadata table must go: publishing fails after every picture was generated
        Files.writeString(out.resolve("metadata"), "not a folder");
        Map<String, String> settings =
                GenerateJobTest.settings(input, out, "resume", "true", "output.commit_every_rows", "1");
        assertThrows(Exception.class, () -> GenerateJobTest.run(settings));

        JsonNode manifest =
                JsonConfig.mapper().readTree(out.resolve("_job.json").toFile());
        assertEquals("failed", manifest.path("state").asText());
        assertTrue(manifest.path("reason").asText().contains("metadata"), manifest.toString());
        List<Path> fragments = OutputFormatsTest.listTars(out.resolve("records"));
        assertFalse(fragments.isEmpty(), "the finished rows are committed");
        Map<String, FileTime> written = new HashMap<>();
        try (Stream<Path> s = Files.list(out.resolve("images"))) {
            for (Path p : s.toList()) {
                written.put(p.getFileName().toString(), Files.getLastModifiedTime(p));
            }
        }
        assertEquals(6, written.size());

        Files.delete(out.resolve("metadata"));
        JobSummary resumed = GenerateJobTest.run(settings);
        assertEquals(0, resumed.written(), "nothing generated again");
        assertEquals(6, resumed.skipped(), "all six were committed by the failed run");
        try (Stream<Path> s = Files.list(out.resolve("images"))) {
            for (Path p : s.toList()) {
                assertEquals(written.get(p.getFileName().toString()), Files.getLastModifiedTime(p), p.toString());
            }
        }
        assertEquals(
                6,
                spark.read()
                        .parquet(out.resolve("metadata").toString())
                        .select("id")
                        .distinct()
                        .count());
        assertEquals(6, spark.read().parquet(out.resolve("metadata").toString()).count(), "each row once");
        assertTrue(OutputFormatsTest.listTars(out.resolve("records")).isEmpty(), "published records removed");
        assertEquals(
                "finished",
                JsonConfig.mapper()
                        .readTree(out.resolve("_job.json").toFile())
                        .path("state")
                        .asText());
    }
}

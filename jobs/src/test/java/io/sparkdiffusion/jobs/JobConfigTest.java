package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobConfigTest {
    @TempDir
    Path tmp;

    @Test
    void theShippedConfigsLoad() {
        JobConfig ref = JobConfig.load(Fixtures.root().resolve("conf/spark-diffusion.yaml"), Map.of());
        assertEquals(4, ref.batchSize());
        assertEquals("auto", ref.provider());
        JobConfig digits = JobConfig.load(Fixtures.root().resolve("conf/digits-job.yaml"), Map.of());
        assertEquals("json", digits.inputFormat());
        assertEquals(3.0, digits.rowDefaults().guidance());
        JobConfig dataset = JobConfig.load(Fixtures.root().resolve("conf/digits-dataset.yaml"), Map.of());
        assertTrue(dataset.templates().standalone());
        assertEquals(10, dataset.templates().combinations());
        assertEquals("templates: a handwritten digit {digit}", dataset.inputLabel());
    }

    @Test
    void inputsFromAnySourceATableOrTemplates() throws Exception {
        Path f = tmp.resolve("in.yaml");
        Files.writeString(
                f,
                "input: in.orc\ninput_format: ORC\ninput_options:\n  mergeSchema: true\n  path.glob: x\n"
                        + "templates:\n  prompt: \"{object} in {style}\"\n  slots:\n"
                        + "    object: [\"a red, shiny apple\", pear]\n    style: [ink]\n");
        JobConfig c = JobConfig.load(f, Map.of("input_options.header", "false"));
        assertEquals("orc", c.inputFormat());
        assertEquals(Map.of("mergeSchema", "true", "path.glob", "x", "header", "false"), c.inputOptions());
        PromptTemplates t = c.templates();
        assertFalse(t.standalone(), "an input table comes first");
        assertEquals(2, t.combinations(), "a value holding a comma stays one value");
        assertEquals(
                "com.example.MySource",
                JobConfig.load(null, Map.of("input_format", "com.example.MySource"))
                        .inputFormat());
        assertEquals(
                "json", JobConfig.load(null, Map.of("input_format", "jsonl")).inputFormat());
        assertEquals(
                "table db.prompts",
                JobConfig.load(null, Map.of("input_table", "db.prompts")).inputLabel());
        IllegalArgumentException both = assertThrows(
                IllegalArgumentException.class,
                () -> JobConfig.load(null, Map.of("input_table", "db.prompts", "input", "x.parquet")));
        assertTrue(both.getMessage().contains("input_table excludes input"), both.getMessage());
        IllegalArgumentException none = assertThrows(
                IllegalArgumentException.class,
                () -> JobConfig.load(null, Map.of()).inputLabel());
        assertTrue(
                none.getMessage().contains("input_table") && none.getMessage().contains("templates.prompt"));
        assertTrue(JobConfig.load(null, Map.of("input_options.password", "hunter2"))
                .describe()
                .contains(Redaction.MASK));
    }

    @Test
    void runtimeKeysReachTheRuntimeOptions() throws Exception {
        Path f = tmp.resolve("runtime.yaml");
        Files.writeString(
                f, "runtime:\n  spinning: true\n  cuda:\n    conv_algo_search: heuristic\n    mem_limit_mb: 512\n");
        RuntimeOptions o =
                JobConfig.load(f, Map.of("runtime.cpu_arena", "false")).runtimeOptions();
        assertTrue(o.spinning(), "the config's value, not the default (false)");
        assertFalse(o.cpuArena());
        assertNull(o.memoryPattern(), "absent: the default, auto");
        assertEquals("cpu", o.provider(), "the executor picks the device");
        assertEquals(new RuntimeOptions.Cuda("heuristic", true, "next_power_of_two", 512, false, true), o.cuda());
        assertEquals(
                RuntimeOptions.DEFAULT,
                JobConfig.load(Fixtures.root().resolve("conf/spark-diffusion.yaml"), Map.of())
                        .runtimeOptions(),
                "the reference config spells out the defaults");
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> JobConfig.load(null, Map.of("runtime.cuda.arena_extend_strategy", "grow")));
        assertTrue(e.getMessage().contains("arena_extend_strategy"), e.getMessage());
    }

    @Test
    void theReferenceConfigDocumentsEveryKey() throws Exception {
        Object root = new org.yaml.snakeyaml.Yaml()
                .load(Files.readString(Fixtures.root().resolve("conf/spark-diffusion.yaml")));
        java.util.Set<String> documented = new java.util.TreeSet<>();
        keys("", (Map<?, ?>) root, documented);
        java.util.Set<String> missing = new java.util.TreeSet<>(JobConfig.DEFAULTS.keySet());
        missing.removeAll(documented);
        assertEquals(java.util.Set.of(), missing, "keys missing from conf/spark-diffusion.yaml");
    }

    /** Every key of the YAML file, null values included, as dotted names. */
    private static void keys(String prefix, Map<?, ?> m, java.util.Set<String> out) {
        m.forEach((k, v) -> {
            if (v instanceof Map<?, ?> sub && !k.equals("hadoop")) {
                keys(prefix + k + ".", sub, out);
            } else {
                out.add(prefix + k);
            }
        });
    }

    @Test
    void overridesWinOverTheFile() throws Exception {
        Path f = tmp.resolve("c.yaml");
        Files.writeString(f, "batch_size: 2\ndefaults:\n  guidance_scale: 3\ngrid:\n  seeds: [1, \"5..7\"]\n");
        JobConfig c = JobConfig.load(f, Map.of("batch_size", "6"));
        assertEquals(6, c.batchSize());
        assertEquals(3.0, c.rowDefaults().guidance());
        assertEquals(4, c.gridSeeds().length);
        assertEquals(7, c.gridSeeds()[3]);
    }

    @Test
    void unknownKeysAndBadValuesAreNamed() throws Exception {
        Path f = tmp.resolve("typo.yaml");
        Files.writeString(f, "batchsize: 2\n");
        IllegalArgumentException typo = assertThrows(IllegalArgumentException.class, () -> JobConfig.load(f, Map.of()));
        assertTrue(typo.getMessage().contains("'batchsize'"), typo.getMessage());
        for (Map.Entry<String, String> bad : Map.of(
                        "batch_size",
                        "0",
                        "max_error_fraction",
                        "2",
                        "input_format",
                        "not a name",
                        "runtime.provider",
                        "tpu",
                        "defaults.guidance_scale",
                        "NaN",
                        "grid.seeds",
                        "a..b",
                        "runtime.optimization",
                        "max",
                        "resume",
                        "maybe")
                .entrySet()) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> JobConfig.load(null, Map.of(bad.getKey(), bad.getValue())),
                    bad.toString());
            assertTrue(
                    e.getMessage().contains(bad.getKey().substring(bad.getKey().indexOf('.') + 1)), e.getMessage());
        }
        assertThrows(
                IllegalArgumentException.class,
                () -> JobConfig.load(null, Map.of("resume", "true", "overwrite", "true")));
    }

    @Test
    void credentialsNeverAppearInTheDescription() {
        JobConfig c = JobConfig.load(
                null,
                Map.of(
                        "hadoop.fs.s3a.secret.key",
                        "TOPSECRET",
                        "hadoop.fs.s3a.access.key",
                        "AKIAEXAMPLE",
                        "input",
                        "s3a://user:pass@bucket/in",
                        "hadoop.fs.s3a.endpoint",
                        "http://127.0.0.1:9000"));
        String d = c.describe();
        assertFalse(d.contains("TOPSECRET") || d.contains("AKIAEXAMPLE") || d.contains("user:pass"), d);
        assertTrue(d.contains("http://127.0.0.1:9000"), d);
        assertEquals("TOPSECRET", c.hadoopSettings().get("fs.s3a.secret.key"));
    }
}

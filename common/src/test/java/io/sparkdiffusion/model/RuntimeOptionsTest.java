package io.sparkdiffusion.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtSession;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.TinyOnnx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the settings reach ONNX Runtime: session options, session config entries, CUDA provider options. */
class RuntimeOptionsTest {
    @TempDir
    Path dir;

    @Test
    void absentKeysKeepTheDefaultsAndEveryKeyIsRead() {
        assertEquals(RuntimeOptions.DEFAULT, RuntimeOptions.fromMap(Map.of()));
        RuntimeOptions o = RuntimeOptions.fromMap(Map.ofEntries(
                Map.entry("intra_op_threads", "3"),
                Map.entry("inter_op_threads", "1"),
                Map.entry("optimization", "extended"),
                Map.entry("provider", "cuda"),
                Map.entry("device_id", "2"),
                Map.entry("memory_pattern", "false"),
                Map.entry("cpu_arena", "FALSE"),
                Map.entry("spinning", "true"),
                Map.entry("rows_per_run", "2"),
                Map.entry("cuda.conv_algo_search", "heuristic"),
                Map.entry("cuda.conv_max_workspace", "false"),
                Map.entry("cuda.arena_extend_strategy", "same_as_requested"),
                Map.entry("cuda.mem_limit_mb", "4096"),
                Map.entry("cuda.prefer_nhwc", "true"),
                Map.entry("cuda.tf32", "false")));
        assertEquals(
                new RuntimeOptions(
                        3,
                        1,
                        "extended",
                        "cuda",
                        2,
                        false,
                        false,
                        true,
                        2,
                        new RuntimeOptions.Cuda("heuristic", false, "same_as_requested", 4096, true, false),
                        false,
                        null),
                o);
        assertEquals(
                Map.of(
                        "cudnn_conv_algo_search", "HEURISTIC",
                        "cudnn_conv_use_max_workspace", "0",
                        "arena_extend_strategy", "kSameAsRequested",
                        "gpu_mem_limit", Long.toString(4096L << 20),
                        "prefer_nhwc", "1",
                        "use_tf32", "0"),
                o.cuda().providerOptions());
        assertEquals(o, o.withThreads(5, 0).withThreads(3, 1), "withThreads keeps every other setting");
        assertEquals(o, o.withDevice("cpu", 0).withDevice("cuda", 2), "withDevice keeps every other setting");
        assertEquals(o, o.withRowsPerRun(7).withRowsPerRun(2), "withRowsPerRun keeps every other setting");
    }

    @Test
    void memoryPatternIsTheSettingElseOnForSmallComponentsAndOffForLargeOnes() throws Exception {
        long limit = RuntimeOptions.AUTO_MEMORY_PATTERN_MAX_BYTES;
        RuntimeOptions auto = RuntimeOptions.fromMap(Map.of("memory_pattern", "auto"));
        assertEquals(RuntimeOptions.DEFAULT, auto, "auto is the default");
        assertTrue(auto.memoryPatternFor(limit));
        assertFalse(auto.memoryPatternFor(limit + 1));
        assertTrue(auto.memoryPatternFor(-1), "unknown size: ONNX Runtime's default");
        assertFalse(RuntimeOptions.fromMap(Map.of("memory_pattern", "false")).memoryPatternFor(1));
        assertTrue(RuntimeOptions.fromMap(Map.of("memory_pattern", "TRUE")).memoryPatternFor(limit * 100));
        assertTrue(RuntimeOptions.fromMap(Map.of("memory_pattern", "false"))
                .toString()
                .contains("memory_pattern=false"));
        // a component's size is model.onnx plus its model.onnx_data
        Path model = dir.resolve("c/model.onnx");
        Files.createDirectories(model.getParent());
        Files.write(model, new byte[10]);
        assertEquals(10, RuntimeOptions.componentBytes(model));
        Files.write(model.resolveSibling("model.onnx_data"), new byte[5]);
        assertEquals(15, RuntimeOptions.componentBytes(model));
        assertEquals(-1, RuntimeOptions.componentBytes(dir.resolve("absent/model.onnx")));
    }

    @Test
    void rowsPerRunIsTheSettingElseEveryRowOnCudaElseWhatFitsTheCpuBudget() {
        long budget = RuntimeOptions.CPU_RUN_ACTIVATION_BUDGET;
        RuntimeOptions cpu = RuntimeOptions.DEFAULT;
        // the digits model: 32 channels x 16 x 16 float32, twice with guidance = 64 KiB a row -> 4 rows
        assertEquals(4, cpu.rowsPerRun(2L * 32 * 16 * 16 * 4));
        assertEquals(1, cpu.rowsPerRun(budget), "a row that fills the budget runs alone");
        assertEquals(2, cpu.rowsPerRun(budget / 2));
        // SD-Turbo at 512 x 512: 320 channels x 64 x 64 float32 a row, far over: one row per call
        assertEquals(1, cpu.rowsPerRun(320L * 64 * 64 * 4));
        assertEquals(Integer.MAX_VALUE, cpu.rowsPerRun(0), "nothing known about the activation: the whole batch");
        assertEquals(Integer.MAX_VALUE, cpu.withDevice("cuda", 0).rowsPerRun(budget * 10));
        assertEquals(3, cpu.withRowsPerRun(3).rowsPerRun(budget * 10));
        assertEquals(3, cpu.withDevice("cuda", 0).withRowsPerRun(3).rowsPerRun(1));
        assertTrue(cpu.withRowsPerRun(3).toString().contains("rows_per_run=3"));
    }

    @Test
    void theCudaDefaultsAreOnnxRuntimesNamedExplicitly() {
        assertEquals(
                Map.of(
                        "cudnn_conv_algo_search", "EXHAUSTIVE",
                        "cudnn_conv_use_max_workspace", "1",
                        "arena_extend_strategy", "kNextPowerOfTwo",
                        "prefer_nhwc", "0",
                        "use_tf32", "1"),
                RuntimeOptions.DEFAULT.cuda().providerOptions());
    }

    @Test
    void badValuesAndUnknownKeysAreNamed() {
        for (Map.Entry<String, String> bad : Map.of(
                        "spinning", "maybe",
                        "memory_pattern", "sometimes",
                        "cuda.conv_algo_search", "fastest",
                        "cuda.arena_extend_strategy", "grow",
                        "cuda.mem_limit_mb", "-1",
                        "rows_per_run", "-2",
                        "intra_op_threads", "two",
                        "cuda.graphs", "true")
                .entrySet()) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> RuntimeOptions.fromMap(Map.ofEntries(bad)), bad.toString());
            assertTrue(e.getMessage().contains(bad.getKey()), e.getMessage());
        }
    }

    @Test
    void theGraphCacheKeysAreReadCheckedAndKeptByTheCopies() {
        assertFalse(RuntimeOptions.DEFAULT.graphCache(), "off unless asked for");
        RuntimeOptions o = RuntimeOptions.fromMap(Map.of("graph_cache", "true", "graph_cache_dir", "/var/cache/sd"));
        assertTrue(o.graphCache());
        assertEquals("/var/cache/sd", o.graphCacheDir());
        assertEquals(o, o.withThreads(4, 2).withThreads(0, 0), "withThreads keeps the cache");
        assertEquals(o, o.withDevice("cuda", 1).withDevice("cpu", 0), "withDevice keeps the cache");
        assertTrue(o.toString().contains("graph_cache=/var/cache/sd"), o.toString());
        assertEquals(null, RuntimeOptions.fromMap(Map.of("graph_cache", "true")).graphCacheDir(), "the default folder");
        assertEquals(
                null, RuntimeOptions.fromMap(Map.of("graph_cache_dir", "null")).graphCacheDir());
        for (Map.Entry<String, String> bad :
                Map.of("graph_cache", "yes", "graph_cache_dir", "relative/dir").entrySet()) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> RuntimeOptions.fromMap(Map.ofEntries(bad)), bad.toString());
            assertTrue(e.getMessage().contains(bad.getKey()), e.getMessage());
        }
    }

    @Test
    void spinningIsOffByDefaultAndOnLeavesOnnxRuntimesDefault() throws Exception {
        for (RuntimeOptions off :
                List.of(RuntimeOptions.DEFAULT, RuntimeOptions.fromMap(Map.of("spinning", "false")))) {
            try (OrtSession.SessionOptions so = off.toSessionOptions()) {
                assertEquals("0", so.getConfigEntries().get("session.intra_op.allow_spinning"));
                assertEquals("0", so.getConfigEntries().get("session.inter_op.allow_spinning"));
            }
        }
        try (OrtSession.SessionOptions so =
                RuntimeOptions.fromMap(Map.of("spinning", "true")).toSessionOptions()) {
            assertFalse(so.getConfigEntries().containsKey("session.intra_op.allow_spinning"));
            assertFalse(so.getConfigEntries().containsKey("session.inter_op.allow_spinning"));
        }
    }

    @Test
    void aSessionRunsWithoutArenaMemoryPatternOrSpinning() throws Exception {
        Path file = dir.resolve("model.onnx");
        Files.write(file, TinyOnnx.addCast(TinyOnnx.FLOAT, TinyOnnx.FLOAT, new long[] {-1}));
        RuntimeOptions lean =
                RuntimeOptions.fromMap(Map.of("memory_pattern", "false", "cpu_arena", "false", "spinning", "false"));
        try (OnnxModel m = OnnxModel.load(file, lean)) {
            Tensor y = m.run1(Map.of("x", Tensor.full(1f, 2), "t", Tensor.full(2f, 2)), "y");
            assertArrayEquals(new float[] {3f, 3f}, y.data(), 0f);
        }
    }

    @Test
    void cudaWithoutTheGpuBuildFailsWithOneLineNamingTheFix() {
        RuntimeOptions cuda = RuntimeOptions.fromMap(Map.of("provider", "cuda", "cuda.conv_algo_search", "heuristic"));
        IllegalStateException e = assertThrows(IllegalStateException.class, cuda::toSessionOptions);
        assertTrue(e.getMessage().contains("CUDA execution provider requested")
                && e.getMessage().contains("-Pgpu"));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
}

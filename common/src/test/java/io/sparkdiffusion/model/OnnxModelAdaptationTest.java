package io.sparkdiffusion.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.TinyOnnx;
import io.sparkdiffusion.util.EngineException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The same call (x: [B] floats, t: a per-row timestep [B]) must work whatever element types and rank the export
 * declares: float16 weights, int64 or int32 or float timesteps, scalar / [1] / [B] ranks.
 */
class OnnxModelAdaptationTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "x {0}, t {1} rank {2}")
    @CsvSource({
        "1,1,batch",
        "1,7,batch",
        "1,6,batch",
        "1,1,scalar",
        "1,7,scalar",
        "1,7,one",
        "10,1,batch",
        "10,7,scalar",
        "10,1,one"
    })
    void adaptsTypesAndRanks(int xType, int tType, String tRank) throws Exception {
        long[] dims = switch (tRank) {
            case "scalar" -> null;
            case "one" -> new long[] {1};
            default -> new long[] {-1};
        };
        Path file = dir.resolve("model.onnx");
        Files.write(file, TinyOnnx.addCast(xType, tType, dims));
        try (OnnxModel m = new OnnxModel("tiny", file, RuntimeOptions.DEFAULT)) {
            Tensor x = new Tensor(new long[] {3}, new float[] {0.5f, -1.25f, 2f});
            Tensor t = Tensor.full(500f, 3);
            Tensor y = m.run1(Map.of("x", x, "t", t, "unused", x), "y");
            assertArrayEquals(new float[] {500.5f, 498.75f, 502f}, y.data(), 0f);
        }
    }

    /**
     * A call's runs (a denoising loop) keep their input buffers while shapes stay the same and let ONNX Runtime
     * write outputs into pinned buffers: every run must still give its own values, also after a shape change, and an
     * output returned earlier must not change when a later run reuses the buffers.
     */
    @ParameterizedTest(name = "x {0}, t {1}")
    @CsvSource({"1,7", "10,1", "1,1"})
    void runsOfOneCallReuseBuffersAndKeepEveryOutputItsOwn(int xType, int tType) throws Exception {
        Path file = dir.resolve("model.onnx");
        Files.write(file, TinyOnnx.addCast(xType, tType, new long[] {-1}));
        try (OnnxModel m = new OnnxModel("tiny", file, RuntimeOptions.DEFAULT);
                OnnxModel.Runs runs = m.runs(Map.of("t", Tensor.full(100f, 3), "unused", Tensor.zeros(1)))) {
            Tensor first = runs.run1(Map.of("x", new Tensor(new long[] {3}, new float[] {1f, 2f, 3f})), "y");
            Tensor second = runs.run1(Map.of("x", new Tensor(new long[] {3}, new float[] {4f, 5f, 6f})), "y");
            Tensor third = runs.run1(Map.of("x", new Tensor(new long[] {3}, new float[] {7f, 8f, 9f})), "y");
            assertArrayEquals(new float[] {101f, 102f, 103f}, first.data(), 0f);
            assertArrayEquals(new float[] {104f, 105f, 106f}, second.data(), 0f);
            assertArrayEquals(new float[] {107f, 108f, 109f}, third.data(), 0f);
            assertEquals(3, m.stats().calls(), "three runs");
        }
        try (OnnxModel m = new OnnxModel("tiny", file, RuntimeOptions.DEFAULT);
                OnnxModel.Runs runs = m.runs(Map.of())) {
            // shapes change between runs: buffers and pinned outputs are made again
            Tensor two = runs.run1(Map.of("x", Tensor.full(1f, 2), "t", Tensor.full(10f, 2)), "y");
            Tensor twoAgain = runs.run1(Map.of("x", Tensor.full(2f, 2), "t", Tensor.full(10f, 2)), "y");
            Tensor five = runs.run1(Map.of("x", Tensor.full(3f, 5), "t", Tensor.full(20f, 5)), "y");
            Tensor fiveAgain = runs.run1(Map.of("x", Tensor.full(4f, 5), "t", Tensor.full(20f, 5)), "y");
            Tensor fiveThird = runs.run1(Map.of("x", Tensor.full(5f, 5), "t", Tensor.full(20f, 5)), "y");
            assertArrayEquals(new float[] {11f, 11f}, two.data(), 0f);
            assertArrayEquals(new float[] {12f, 12f}, twoAgain.data(), 0f);
            assertArrayEquals(new float[] {23f, 23f, 23f, 23f, 23f}, five.data(), 0f);
            assertArrayEquals(new float[] {24f, 24f, 24f, 24f, 24f}, fiveAgain.data(), 0f);
            assertArrayEquals(new float[] {25f, 25f, 25f, 25f, 25f}, fiveThird.data(), 0f);
        }
    }

    /**
     * {@code run1Into} writes the output into the caller's array when it has the output's size (pinned or not, in
     * any element type) and into a new array otherwise, with the values {@code run1} gives.
     */
    @ParameterizedTest(name = "x {0}, t {1}")
    @CsvSource({"1,7", "10,1"})
    void runIntoWritesTheOutputIntoTheCallersArrayWhenItFits(int xType, int tType) throws Exception {
        Path file = dir.resolve("model.onnx");
        Files.write(file, TinyOnnx.addCast(xType, tType, new long[] {-1}));
        try (OnnxModel m = new OnnxModel("tiny", file, RuntimeOptions.DEFAULT);
                OnnxModel.Runs runs = m.runs(Map.of())) {
            float[] mine = new float[3];
            for (int step = 0; step < 3; step++) { // the first run unpinned, the later ones pinned
                Tensor y = runs.run1Into(Map.of("x", Tensor.full(step, 3), "t", Tensor.full(10f, 3)), "y", mine);
                assertSame(mine, y.data(), "step " + step);
                assertArrayEquals(new float[] {10f + step, 10f + step, 10f + step}, mine, 0f);
            }
            Tensor other = runs.run1Into(Map.of("x", Tensor.full(1f, 2), "t", Tensor.full(5f, 2)), "y", mine);
            assertNotSame(mine, other.data(), "a different size gets an array of its own");
            assertArrayEquals(new float[] {6f, 6f}, other.data(), 0f);
            assertArrayEquals(new float[] {12f, 12f, 12f}, mine, 0f, "the caller's array is left as it was");
        }
    }

    @ParameterizedTest
    @CsvSource({"1,1,batch"})
    void aMissingInputNamesTheComponentAndInput(int xType, int tType, String ignored) throws Exception {
        Path file = dir.resolve("model.onnx");
        Files.write(file, TinyOnnx.addCast(xType, tType, new long[] {-1}));
        try (OnnxModel m = new OnnxModel("unet", file, RuntimeOptions.DEFAULT)) {
            // the pipeline and the export disagree: an engine failure, not a bad request
            EngineException e = assertThrows(EngineException.class, () -> m.run(Map.of("x", Tensor.zeros(2))));
            assertTrue(e.getMessage().contains("'unet'") && e.getMessage().contains("'t'"), e.getMessage());
        }
    }
}

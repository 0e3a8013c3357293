package io.sparkdiffusion.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

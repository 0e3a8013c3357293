package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Beyond the recorded cases: non-square sizes, several rows with their own negative prompts, bad sizes. */
@Slow
class GeneralisationTest {
    @Test
    void nonSquareSizesAndMixedRowsRun() {
        try (ImagePipeline sd = Pipelines.openImage(Fixtures.fixture("sd-tiny"), RuntimeOptions.DEFAULT)) {
            Tensor out = sd.generate(
                    ImageRequest.builder()
                            .prompts(List.of("a very long prompt about " + "mountains and rivers ".repeat(20), "东京の夜景"))
                            .negativePrompts(java.util.Arrays.asList("blurry", null))
                            .size(48, 24)
                            .steps(3)
                            .guidanceScale(5)
                            .scheduler("dpmpp_2m_karras")
                            .build(),
                    new SeededNoise(1, 2));
            assertArrayEquals(new long[] {2, 24, 48, 3}, out.shape());
            for (float v : out.data()) {
                assertTrue(v >= 0 && v <= 1 && !Float.isNaN(v));
            }
        }
        try (ImagePipeline xl = Pipelines.openImage(Fixtures.fixture("sdxl-tiny"), RuntimeOptions.DEFAULT)) {
            Tensor out = xl.generate(
                    ImageRequest.builder()
                            .prompts(List.of("a fox", "a cat", "a dog"))
                            .negativePrompts(java.util.Arrays.asList(null, "ugly", null))
                            .size(16, 40)
                            .steps(2)
                            .guidanceScale(4)
                            .build(),
                    new SeededNoise(1, 2, 3));
            assertArrayEquals(new long[] {3, 40, 16, 3}, out.shape());
        }
    }

    @Test
    void aSizeThatIsNotAMultipleOfTheVaeFactorIsRejected() {
        try (ImagePipeline sd = Pipelines.openImage(Fixtures.fixture("sd-tiny"), RuntimeOptions.DEFAULT)) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> sd.generate(
                            ImageRequest.builder()
                                    .prompts(List.of("x"))
                                    .size(30, 32)
                                    .steps(1)
                                    .build(),
                            new SeededNoise(1)));
            assertTrue(e.getMessage().contains("width 30") && e.getMessage().contains("multiple of 4"), e.getMessage());
        }
    }

    @Test
    void anUnknownSchedulerListsTheKnownOnes() {
        try (ImagePipeline sd = Pipelines.openImage(Fixtures.fixture("sd-tiny"), RuntimeOptions.DEFAULT)) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> sd.generate(
                            ImageRequest.builder()
                                    .prompts(List.of("x"))
                                    .steps(1)
                                    .scheduler("warp_drive")
                                    .build(),
                            new SeededNoise(1)));
            assertTrue(
                    e.getMessage().contains("unknown scheduler 'warp_drive'")
                            && e.getMessage().contains("euler_a"),
                    e.getMessage());
        }
    }
}

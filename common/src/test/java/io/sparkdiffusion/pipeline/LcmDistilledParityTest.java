package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.noise.ReplayNoise;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import io.sparkdiffusion.validate.CaseComparison;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An LCM-distilled UNet (guidance as the input {@code timestep_cond}, no classifier-free guidance pass), exported
 * by tools/export/export_onnx.py, against diffusers' {@code LatentConsistencyModelPipeline} on the same weights.
 */
@Slow
class LcmDistilledParityTest {
    private static final Path MODEL = Fixtures.exported("sd-lcm-tiny");

    @ParameterizedTest
    @ValueSource(strings = {"lcm_4step_g8.5", "lcm_2step_g2"})
    void matchesDiffusers(String caseName) throws Exception {
        ParityCheck.check(MODEL, MODEL.resolve("cases").resolve(caseName));
    }

    /** Negative control: the same draws with another guidance scale must land outside the tolerance. */
    @Test
    void theGuidanceScaleReachesTheUnetThroughItsEmbedding() throws Exception {
        Path caseDir = MODEL.resolve("cases/lcm_4step_g8.5");
        try (CaseReplay replay = new CaseReplay(MODEL, caseDir, RuntimeOptions.DEFAULT)) {
            TextToImagePipeline pipeline = (TextToImagePipeline) replay.pipeline();
            ImageRequest recorded = replay.request();
            assertEquals(8.5, recorded.guidanceScale());
            assertFalse(pipeline.unet.usesGuidance(8.5), "an LCM-distilled UNet runs one pass per step, as diffusers");
            ImageRequest other = ImageRequest.builder()
                    .prompts(recorded.prompts())
                    .steps(recorded.steps())
                    .guidanceScale(3.0)
                    .size(recorded.width(), recorded.height())
                    .build();
            Tensor image = pipeline.generate(other, ReplayNoise.fromCaseDir(caseDir));
            double d = Fixtures.maxDiff(image, Fixtures.npy(caseDir.resolve("image.npy")));
            assertTrue(d > CaseComparison.PIXEL_TOLERANCE, "guidance 3 instead of 8.5 changed the pixels by only " + d);
        }
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Stable Diffusion text-to-image against diffusers, one case per scheduler, plus a two-row unguided batch. */
@Slow
class SdTxt2ImgParityTest {
    @ParameterizedTest
    @ValueSource(
            strings = {
                "txt2img_ddim",
                "txt2img_ddpm",
                "txt2img_pndm",
                "txt2img_euler",
                "txt2img_euler_a",
                "txt2img_lms",
                "txt2img_dpmpp_2m",
                "txt2img_dpmpp_2m_karras",
                "txt2img_unipc",
                "txt2img_lcm",
                "txt2img_batch_noguidance"
            })
    void matchesDiffusers(String caseName) throws Exception {
        ParityCheck.check(Fixtures.fixture("sd-tiny"), Fixtures.fixture("sd-tiny/cases/" + caseName));
    }

    /**
     * The same pipeline exported with {@code --dtype fp16-weights} (weights stored as float16, cast to float32 when
     * the session opens) against diffusers run on the same float16-rounded weights in float32.
     */
    @Test
    void anFp16WeightsExportMatchesDiffusersOnItsRoundedWeights() throws Exception {
        ParityCheck.check(Fixtures.fixture("sd-tiny-fp16w"), Fixtures.fixture("sd-tiny-fp16w/cases/f16w_euler"));
    }
}

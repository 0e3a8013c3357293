package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Image-to-image and inpainting against diffusers: SD img2img (DDIM, Euler ancestral), inpainting by latent blending
 * on SD's 4-channel UNet, the 9-channel inpainting UNet at strength 1.0 and 0.8, and SDXL-Turbo img2img and
 * inpainting (4-channel blending). Each case replays the recorded VAE posterior, forward and step draws in order.
 */
@Slow
class ImageConditionedParityTest {
    @ParameterizedTest
    @ValueSource(
            strings = {
                "sd-tiny/cases/img2img_ddim",
                "sd-tiny/cases/img2img_euler_a",
                "sd-tiny/cases/inpaint_legacy_ddim",
                "sd-inpaint-tiny/cases/inpaint_ddim",
                "sd-inpaint-tiny/cases/inpaint_euler_a_strength08",
                "sdxl-tiny/cases/img2img_turbo",
                "sdxl-tiny/cases/inpaint_turbo"
            })
    void matchesDiffusers(String caseDir) throws Exception {
        String model = caseDir.substring(0, caseDir.indexOf('/'));
        ParityCheck.check(Fixtures.fixture(model), Fixtures.fixture(caseDir));
    }
}

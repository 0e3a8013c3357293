package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The schedulers added after the first ten, and the config options, against diffusers: sd-tiny cases recorded by
 * {@code tools/export/export_onnx.py} (two-evaluation Heun and KDPM2 driven by the one loop, img2img with their
 * order 2, singlestep and SDE DPM-Solver, DEIS, EDM, TCD, iPNDM, exponential / beta / Lu sigmas, thresholding,
 * sigma_min final sigma), and Playground v2.5's arrangement (EDM DPM-Solver++ with the VAE's latents_mean /
 * latents_std) on the SDXL fixture's weights.
 */
@Slow
class SchedulerCasesParityTest {
    @ParameterizedTest
    @CsvSource({
        "sd-tiny,txt2img_heun",
        "sd-tiny,txt2img_heun_karras",
        "sd-tiny,txt2img_kdpm2",
        "sd-tiny,txt2img_kdpm2_karras",
        "sd-tiny,txt2img_kdpm2_a",
        "sd-tiny,img2img_heun",
        "sd-tiny,img2img_kdpm2_a",
        "sd-tiny,txt2img_dpmpp_2s",
        "sd-tiny,txt2img_dpmpp_3s",
        "sd-tiny,txt2img_dpmpp_2s_sde",
        "sd-tiny,txt2img_dpmpp_sde",
        "sd-tiny,txt2img_deis",
        "sd-tiny,txt2img_deis_3",
        "sd-tiny,txt2img_edm_euler",
        "sd-tiny,txt2img_edm_dpmpp_2m",
        "sd-tiny,txt2img_tcd",
        "sd-tiny,txt2img_ipndm",
        "sd-tiny,txt2img_euler_exponential",
        "sd-tiny,txt2img_euler_beta",
        "sd-tiny,txt2img_lms_beta",
        "sd-tiny,txt2img_dpmpp_2m_lu",
        "sd-tiny,txt2img_dpmpp_2m_beta",
        "sd-tiny,txt2img_dpmpp_2m_sigma_min",
        "sd-tiny,txt2img_unipc_exponential",
        "sd-tiny,txt2img_ddim_thresholding",
        "sd-tiny,txt2img_dpmpp_2m_thresholding",
        "sd-tiny,txt2img_unipc_thresholding",
        "playground-v25-tiny,playground_v25"
    })
    void matchesDiffusers(String model, String caseName) throws Exception {
        ParityCheck.check(Fixtures.fixture(model), Fixtures.fixture(model + "/cases/" + caseName));
    }
}

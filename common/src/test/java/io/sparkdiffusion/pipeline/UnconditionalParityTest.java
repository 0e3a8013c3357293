package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.testing.Slow;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** DDPMPipeline / DDIMPipeline on the tiny random UNet2DModel and on the real digits DDPM. */
@Slow
class UnconditionalParityTest {
    @ParameterizedTest
    @CsvSource({
        "testdata:ddpm-tiny,ddpm_10",
        "testdata:ddpm-tiny,ddim_10",
        "models:digits-ddpm,ddim_20",
        "models:digits-ddpm,ddpm_50"
    })
    void matchesDiffusers(String model, String caseName) throws Exception {
        ParityCheck.check(ParityModels.model(model), ParityModels.cases(model).resolve(caseName));
    }
}

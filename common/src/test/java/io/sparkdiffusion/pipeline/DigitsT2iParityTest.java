package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.testing.Slow;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The bundled real digits text-to-image model (pixel space, identity VAE) against diffusers. */
@Slow
class DigitsT2iParityTest {
    @ParameterizedTest
    @ValueSource(strings = {"ddim_20_g3", "euler_a_20_g3"})
    void matchesDiffusers(String caseName) throws Exception {
        ParityCheck.check(
                ParityModels.model("models:digits-t2i"),
                ParityModels.cases("models:digits-t2i").resolve(caseName));
    }
}

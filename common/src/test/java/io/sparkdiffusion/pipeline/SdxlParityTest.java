package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** SDXL text-to-image: Turbo (guidance 0, 1 and 4 steps), Playground-style guidance 3, SDXL guidance 5. */
@Slow
class SdxlParityTest {
    @ParameterizedTest
    @ValueSource(strings = {"turbo_1step", "turbo_4step", "playground_cfg3", "sdxl_cfg5"})
    void matchesDiffusers(String caseName) throws Exception {
        ParityCheck.check(Fixtures.fixture("sdxl-tiny"), Fixtures.fixture("sdxl-tiny/cases/" + caseName));
    }
}

package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The converted sigma schedules and their helpers against closed forms: the Beta quantile (arcsine law for
 * Beta(1/2, 1/2), the uniform and power laws), the exponential and Lu ramps, and the one-of rule of the flags.
 */
class SigmaScheduleTest {
    /** Beta(1/2, 1/2) is the arcsine law: ppf(q) = sin(pi q / 2)^2; Beta(1, 1) uniform; Beta(2, 1): sqrt(q). */
    @ParameterizedTest
    @ValueSource(doubles = {0, 1e-6, 0.01, 0.2, 0.5, 0.77, 0.999, 1})
    void betaQuantileMatchesClosedForms(double q) {
        double arcsine = Math.pow(Math.sin(Math.PI * q / 2), 2);
        assertEquals(arcsine, BetaDistribution.quantile(q, 0.5, 0.5), 1e-12);
        assertEquals(q, BetaDistribution.quantile(q, 1, 1), 1e-12);
        assertEquals(Math.sqrt(q), BetaDistribution.quantile(q, 2, 1), 1e-12);
        // symmetric Beta(0.6, 0.6): ppf(1 - q) = 1 - ppf(q)
        assertEquals(1 - BetaDistribution.quantile(q, 0.6, 0.6), BetaDistribution.quantile(1 - q, 0.6, 0.6), 1e-12);
    }

    @Test
    void logGammaMatchesFactorialsAndHalfIntegers() {
        assertEquals(Math.log(24), BetaDistribution.logGamma(5), 1e-13);
        assertEquals(0.5 * Math.log(Math.PI), BetaDistribution.logGamma(0.5), 1e-13);
        assertEquals(Math.log(0.75 * Math.sqrt(Math.PI)), BetaDistribution.logGamma(2.5), 1e-13);
    }

    @Test
    void exponentialAndLuRampsAreLogLinear() {
        double[] e = SigmaSchedule.exponential(0.1, 10, 5);
        double[] lu = SigmaSchedule.luLambdas(0.1, 10, 5);
        for (int i = 0; i < 5; i++) {
            double want = Math.pow(10, 1 - i / 2.0);
            assertEquals(want, e[i], 1e-12 * want);
            assertEquals(want, lu[i], 1e-12 * want);
        }
    }

    @Test
    void onlyOneSigmaSpacingAtATime() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(
                        sdConfig("EulerDiscreteScheduler", "use_karras_sigmas", true, "use_exponential_sigmas", true)));
        assertEquals(true, e.getMessage().contains("only one"), e.getMessage());
    }
}

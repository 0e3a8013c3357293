package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.noDraws;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.numInferenceSteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.pattern;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.recordedTimesteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.runLoop;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.scaledLinearSigmas;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.schedulerConfig;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparkdiffusion.tensor.Tensor;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Heun's method (Karras et al. 2022, Algorithm 1): the Euler half and the trapezoidal correction checked from
 * their definition in double; the interleaved timesteps the pipelines' one loop drives; the recorded runs.
 */
class HeunDiscreteSchedulerTest {
    private static final long[] SHAPE = {1, 4, 3, 3};
    private static final double[] SD_SIGMAS = scaledLinearSigmas(0.00085, 0.012, 1000);

    @ParameterizedTest
    @ValueSource(strings = {"txt2img_heun", "txt2img_heun_karras"})
    void timestepsMatchTheRecordedRun(String caseName) {
        Path dir = caseDir("sd-tiny", caseName);
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        assertInstanceOf(HeunDiscreteScheduler.class, s);
        s.setTimesteps(numInferenceSteps(dir));
        assertArrayEquals(recordedTimesteps(dir), s.timesteps(), 1e-3);
    }

    /** Every timestep but the first twice; 2n - 1 model evaluations; order 2 for img2img's strength. */
    @Test
    void timestepsAreInterleavedForTwoEvaluationsPerStep() {
        Scheduler s = Schedulers.create("heun", sdConfig("EulerDiscreteScheduler", "timestep_spacing", "leading"));
        s.setTimesteps(4);
        assertArrayEquals(new double[] {751, 501, 501, 251, 251, 1, 1}, s.timesteps(), 0.0);
        assertEquals(2, s.order());
        runLoop(s, SHAPE, 0, noDraws());
    }

    /** x' = x + d(x, s0) (s1 - s0); x1 = x + (d(x, s0) + d(x', s1)) / 2 (s1 - s0), d = (x - x0) / sigma = eps. */
    @Test
    void aStepIsEulerThenTheTrapezoidalCorrection() {
        HeunDiscreteScheduler s = new HeunDiscreteScheduler(
                sdConfig("HeunDiscreteScheduler", "beta_schedule", "scaled_linear", "timestep_spacing", "leading"));
        s.setTimesteps(4);
        double[] ts = s.timesteps();
        double s0 = SD_SIGMAS[751];
        double s1 = SD_SIGMAS[501];
        Tensor x = pattern(SHAPE, 0);
        Tensor e0 = pattern(SHAPE, 1);
        Tensor e1 = pattern(SHAPE, 2);
        Tensor half = s.step(e0, ts[0], x, noDraws());
        Tensor full = s.step(e1, ts[1], half, noDraws());
        for (int k = 0; k < x.size(); k++) {
            double xk = x.data()[k];
            double xHalf = xk + e0.data()[k] * (s1 - s0);
            assertEquals(xHalf, half.data()[k], 2e-4 * Math.max(1, Math.abs(xHalf)), "Euler half " + k);
            double xFull = xk + (e0.data()[k] + e1.data()[k]) / 2 * (s1 - s0);
            assertEquals(xFull, full.data()[k], 2e-4 * Math.max(1, Math.abs(xFull)), "corrected " + k);
        }
    }

    /** The model input is scaled for the sigma the evaluation sees: s1 for both evaluations at t1. */
    @Test
    void bothEvaluationsOfATimestepSeeItsSigma() {
        HeunDiscreteScheduler s = new HeunDiscreteScheduler(
                sdConfig("HeunDiscreteScheduler", "beta_schedule", "scaled_linear", "timestep_spacing", "leading"));
        s.setTimesteps(4);
        double[] ts = s.timesteps();
        Tensor x = pattern(SHAPE, 0);
        Tensor after = s.step(pattern(SHAPE, 1), ts[0], x, noDraws());
        Tensor scaled = s.scaleModelInput(after, ts[1]);
        double s1 = SD_SIGMAS[501];
        assertEquals(after.data()[4] / Math.sqrt(s1 * s1 + 1), scaled.data()[4], 1e-5);
    }

    @Test
    void customTimestepsAreInterpolatedAndRefusedWithKarras() {
        HeunDiscreteScheduler s =
                new HeunDiscreteScheduler(sdConfig("HeunDiscreteScheduler", "beta_schedule", "scaled_linear"));
        s.setTimesteps(new double[] {900, 500.5, 100});
        assertArrayEquals(new double[] {900, 500.5, 500.5, 100, 100}, s.timesteps(), 0.0);
        double mid = SchedulerTestSupport.sigmaAt(SD_SIGMAS, 500.5);
        assertEquals(mid, s.sigmas()[1], 1e-5 * mid);
        HeunDiscreteScheduler karras =
                new HeunDiscreteScheduler(sdConfig("HeunDiscreteScheduler", "use_karras_sigmas", true));
        assertThrows(IllegalArgumentException.class, () -> karras.setTimesteps(new double[] {900, 100}));
    }
}

package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.noDraws;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.noiseDraws;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.scheduler.SchedulerTestSupport.CountingNoise;
import io.sparkdiffusion.tensor.Tensor;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * DPM-Solver-2 in sigma space (KDPM2) and its ancestral variant, checked from their definitions in double: the
 * log-midpoint {@code sqrt(sigma sigma_next)}, the midpoint step, the ancestral split
 * {@code sigma_down^2 + sigma_up^2 = sigma_next^2}, one draw per completed step; the recorded runs.
 */
class KDpm2DiscreteSchedulerTest {
    private static final long[] SHAPE = {1, 4, 3, 3};
    private static final double[] SD_SIGMAS = scaledLinearSigmas(0.00085, 0.012, 1000);

    @ParameterizedTest
    @CsvSource({
        "txt2img_kdpm2,KDpm2DiscreteScheduler",
        "txt2img_kdpm2_karras,KDpm2DiscreteScheduler",
        "txt2img_kdpm2_a,KDpm2AncestralDiscreteScheduler"
    })
    void timestepsMatchTheRecordedRun(String caseName, String javaClass) {
        Path dir = caseDir("sd-tiny", caseName);
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        assertEquals(javaClass, s.getClass().getSimpleName());
        s.setTimesteps(numInferenceSteps(dir));
        assertArrayEquals(recordedTimesteps(dir), s.timesteps(), 1e-3);
        assertEquals(2, s.order());
    }

    /** From sigma an Euler half to sqrt(sigma sigma_next), then the full step with the midpoint's derivative. */
    @Test
    void aStepIsTheMidpointRule() {
        KDpm2DiscreteScheduler s = new KDpm2DiscreteScheduler(
                sdConfig("KDPM2DiscreteScheduler", "beta_schedule", "scaled_linear", "timestep_spacing", "leading"));
        s.setTimesteps(4);
        double s0 = SD_SIGMAS[751];
        double s1 = SD_SIGMAS[501];
        double mid = Math.sqrt(s0 * s1);
        assertEquals(mid, s.sigmasInterpol[1], 1e-5 * mid);
        double[] ts = s.timesteps();
        assertEquals(5 + 2, ts.length);
        Tensor x = pattern(SHAPE, 0);
        Tensor e0 = pattern(SHAPE, 1);
        Tensor e1 = pattern(SHAPE, 2);
        Tensor half = s.step(e0, ts[0], x, noDraws());
        Tensor scaled = s.scaleModelInput(half, ts[1]);
        Tensor full = s.step(e1, ts[1], half, noDraws());
        for (int k = 0; k < x.size(); k++) {
            double xk = x.data()[k];
            double xHalf = xk + e0.data()[k] * (mid - s0);
            assertEquals(xHalf, half.data()[k], 2e-4 * Math.max(1, Math.abs(xHalf)));
            assertEquals(xHalf / Math.sqrt(mid * mid + 1), scaled.data()[k], 2e-4, "input scaled at the midpoint");
            double xFull = xk + e1.data()[k] * (s1 - s0);
            assertEquals(xFull, full.data()[k], 2e-4 * Math.max(1, Math.abs(xFull)));
        }
    }

    @Test
    void theLastEulerHalfLandsOnTheDenoisedSample() {
        KDpm2DiscreteScheduler s = new KDpm2DiscreteScheduler(sdConfig("KDPM2DiscreteScheduler"));
        s.setTimesteps(3);
        double[] ts = s.timesteps();
        Tensor x = pattern(SHAPE, 0);
        for (int i = 0; i < ts.length - 1; i++) {
            x = s.step(pattern(SHAPE, 1 + i), ts[i], x, noDraws());
        }
        Tensor eps = pattern(SHAPE, 9);
        double sigma = s.sigmas()[ts.length - 1];
        Tensor last = s.step(eps, ts[ts.length - 1], x, noDraws());
        for (int k = 0; k < x.size(); k++) {
            assertEquals(x.data()[k] - sigma * eps.data()[k], last.data()[k], 1e-4);
        }
    }

    /** sigma_up = sqrt(next^2 (s^2 - next^2) / s^2), sigma_down = sqrt(next^2 - up^2); n - 1 draws in all. */
    @Test
    void ancestralStepsSplitTheNextSigmaAndDrawOncePerStep() {
        KDpm2AncestralDiscreteScheduler s = new KDpm2AncestralDiscreteScheduler(sdConfig(
                "KDPM2AncestralDiscreteScheduler", "beta_schedule", "scaled_linear", "timestep_spacing", "leading"));
        s.setTimesteps(4);
        double s0 = SD_SIGMAS[751];
        double s1 = SD_SIGMAS[501];
        double up = Math.sqrt(s1 * s1 * (s0 * s0 - s1 * s1) / (s0 * s0));
        double down = Math.sqrt(s1 * s1 - up * up);
        double mid = Math.sqrt(s0 * down);
        double[] ts = s.timesteps();
        Tensor x = pattern(SHAPE, 0);
        Tensor e0 = pattern(SHAPE, 1);
        Tensor e1 = pattern(SHAPE, 2);
        Tensor z = pattern(SHAPE, 5);
        Tensor half = s.step(e0, ts[0], x, noDraws());
        Tensor full = s.step(e1, ts[1], half, SchedulerTestSupport.constant(z));
        for (int k = 0; k < x.size(); k++) {
            double xk = x.data()[k];
            assertEquals(xk + e0.data()[k] * (mid - s0), half.data()[k], 2e-4 * Math.max(1, Math.abs(xk)));
            double want = xk + e1.data()[k] * (down - s0) + up * z.data()[k];
            assertEquals(want, full.data()[k], 2e-4 * Math.max(1, Math.abs(want)));
        }
        CountingNoise counting = new CountingNoise();
        KDpm2AncestralDiscreteScheduler fresh =
                new KDpm2AncestralDiscreteScheduler(sdConfig("KDPM2AncestralDiscreteScheduler"));
        fresh.setTimesteps(5);
        runLoop(fresh, SHAPE, 0, counting);
        assertEquals(4, counting.draws, "n - 1 draws");
        assertEquals(4, noiseDraws(caseDir("sd-tiny", "txt2img_kdpm2_a")).length, "the recorded run: latents + 3");
    }

    @Test
    void samplePredictionAndCustomTimestepsAreRefused() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(sdConfig("KDPM2DiscreteScheduler", "prediction_type", "sample")));
        assertTrue(e.getMessage().contains("prediction_type"), e.getMessage());
        Scheduler s = Schedulers.create("kdpm2", sdConfig("KDPM2DiscreteScheduler"));
        assertInstanceOf(KDpm2DiscreteScheduler.class, s);
        IllegalArgumentException c =
                assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(new double[] {900, 100}));
        assertTrue(c.getMessage().contains("KDPM2DiscreteScheduler")
                && c.getMessage().contains("HeunDiscreteScheduler"));
    }
}

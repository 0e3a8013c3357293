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
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sigmaAt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.tensor.Tensor;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EulerDiscreteSchedulerTest {
    private static final long[] SHAPE = {1, 4, 8, 8};
    /** Training sigmas of SD's schedule, from the definition in double. */
    private static final double[] SD_SIGMAS = scaledLinearSigmas(0.00085, 0.012, 1000);

    @ParameterizedTest
    @CsvSource({"sd-tiny,txt2img_euler", "sdxl-tiny,playground_cfg3", "sdxl-tiny,sdxl_cfg5"})
    void timestepsMatchTheRecordedRun(String model, String caseName) {
        Path dir = caseDir(model, caseName);
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        assertSame(EulerDiscreteScheduler.class, s.getClass());
        s.setTimesteps(numInferenceSteps(dir));
        assertArrayEquals(recordedTimesteps(dir), s.timesteps(), 0.0);
    }

    @ParameterizedTest
    @CsvSource({"sd-tiny,txt2img_euler", "sdxl-tiny,playground_cfg3", "sdxl-tiny,sdxl_cfg5"})
    void theLoopDrawsNoNoiseBeyondTheInitialLatents(String model, String caseName) {
        Path dir = caseDir(model, caseName);
        long[][] draws = noiseDraws(dir);
        assertEquals(1, draws.length, "the recorded run draws only the initial latents");
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        s.setTimesteps(numInferenceSteps(dir));
        runLoop(s, draws[0], 0, noDraws()); // fails on any draw
    }

    @Test
    void sigmasInterpolateTheTrainingSigmasAtTheTimesteps() {
        EulerDiscreteScheduler s =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "timestep_spacing", "leading"));
        s.setTimesteps(4);
        assertArrayEquals(new double[] {751, 501, 251, 1}, s.timesteps(), 0.0);
        assertEquals(5, s.sigmas.length);
        for (int i = 0; i < 4; i++) {
            assertEquals(SD_SIGMAS[(int) s.timesteps()[i]], s.sigmas[i], 2e-5 * s.sigmas[i]);
        }
        assertEquals(0.0, s.sigmas[4]);
    }

    @Test
    void initNoiseSigmaIsTheLargestSigmaForLinspaceAndItsVarianceForLeading() {
        EulerDiscreteScheduler lin =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "timestep_spacing", "linspace"));
        lin.setTimesteps(4);
        // SD's well-known sigma_max 14.6146...
        assertEquals(14.614647, lin.initNoiseSigma(), 1e-5);
        assertEquals(SD_SIGMAS[999], lin.initNoiseSigma(), 1e-4);

        EulerDiscreteScheduler lead =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "timestep_spacing", "leading"));
        lead.setTimesteps(4);
        double sigma751 = SD_SIGMAS[751];
        assertEquals(Math.sqrt(sigma751 * sigma751 + 1), lead.initNoiseSigma(), 1e-4);
    }

    @Test
    void fractionalLinspaceTimestepsInterpolateTheSigmas() {
        EulerDiscreteScheduler s =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "timestep_spacing", "linspace"));
        s.setTimesteps(7);
        double t1 = s.timesteps()[1];
        assertEquals((float) (999.0 * 5 / 6), t1, 0.0); // linspace(0, 999, 7)[::-1][1] = 832.5
        assertEquals(sigmaAt(SD_SIGMAS, 832.5), s.sigmas[1], 2e-5 * s.sigmas[1]);
    }

    @Test
    void stepIsTheEulerUpdateOnOneElement() {
        EulerDiscreteScheduler s =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "timestep_spacing", "linspace"));
        s.setTimesteps(4);
        Tensor x = pattern(SHAPE, 0);
        Tensor eps = pattern(SHAPE, 1);
        double t0 = s.timesteps()[0];
        Tensor scaled = s.scaleModelInput(x, t0);
        double sigma0 = SD_SIGMAS[999];
        double sigma1 = SD_SIGMAS[666];
        int k = 5;
        assertEquals(x.data()[k] / Math.sqrt(sigma0 * sigma0 + 1), scaled.data()[k], 1e-6);
        Tensor next = s.step(eps, t0, x, noDraws());
        // x0 = x - sigma eps; d = (x - x0) / sigma = eps; x' = x + d (sigma1 - sigma0)
        double expected = x.data()[k] + eps.data()[k] * (sigma1 - sigma0);
        assertEquals(expected, next.data()[k], 1e-4);
    }

    @Test
    void vPredictionStepUsesTheVParameterisation() {
        EulerDiscreteScheduler s =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "timestep_spacing", "leading")
                        .with("prediction_type", "v_prediction"));
        s.setTimesteps(4);
        Tensor x = pattern(SHAPE, 0);
        Tensor v = pattern(SHAPE, 2);
        double sigma = SD_SIGMAS[751];
        double sigmaNext = SD_SIGMAS[501];
        Tensor next = s.step(v, 751, x, noDraws());
        int k = 11;
        double x0 = -sigma / Math.sqrt(sigma * sigma + 1) * v.data()[k] + x.data()[k] / (sigma * sigma + 1);
        double expected = x.data()[k] + (x.data()[k] - x0) / sigma * (sigmaNext - sigma);
        assertEquals(expected, next.data()[k], 1e-4);
    }

    @Test
    void addNoiseUsesTheSigmaAtTheBeginIndex() {
        EulerDiscreteScheduler s =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "timestep_spacing", "linspace"));
        s.setTimesteps(4);
        s.setBeginIndex(2);
        Tensor x0 = pattern(SHAPE, 0);
        Tensor n = pattern(SHAPE, 3);
        Tensor noisy = s.addNoise(x0, n, s.timesteps()[2]);
        int k = 7;
        assertEquals(x0.data()[k] + SD_SIGMAS[333] * n.data()[k], noisy.data()[k], 1e-4);
    }

    @Test
    void zeroTerminalSnrPinsTheLastAlphaCumprod() {
        EulerDiscreteScheduler s =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "timestep_spacing", "trailing")
                        .with("rescale_betas_zero_snr", true));
        s.setTimesteps(4);
        // abar_999 = 2^-24: sigma = sqrt((1 - 2^-24) / 2^-24)
        double expected = Math.sqrt((1 - 0x1p-24) / 0x1p-24);
        assertEquals(expected, s.initNoiseSigma(), 1e-3);
        assertTrue(Double.isFinite(s.sigmas[0]));
    }

    @Test
    void karrasSigmasSpanTheSameRange() {
        EulerDiscreteScheduler plain =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "timestep_spacing", "linspace"));
        plain.setTimesteps(10);
        EulerDiscreteScheduler k =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "timestep_spacing", "linspace")
                        .with("use_karras_sigmas", true));
        k.setTimesteps(10);
        assertEquals(plain.sigmas[0], k.sigmas[0], 1e-5);
        assertEquals(plain.sigmas[9], k.sigmas[9], 1e-5);
        // Karras et al. eq. 5 with rho = 7, middle point
        double rho = 7;
        double mid = Math.pow(
                Math.pow(plain.sigmas[0], 1 / rho)
                        + 5.0 / 9 * (Math.pow(plain.sigmas[9], 1 / rho) - Math.pow(plain.sigmas[0], 1 / rho)),
                rho);
        assertEquals(mid, k.sigmas[5], 1e-5 * mid);
        double[] ts = k.timesteps();
        assertEquals(999, ts[0], 1e-3);
        for (int i = 1; i < ts.length; i++) {
            assertTrue(ts[i] < ts[i - 1], "timesteps decrease");
        }
    }

    /**
     * {@code use_exponential_sigmas}: log sigma linear between the interpolated ends; {@code use_beta_sigmas}: the
     * Beta(0.6, 0.6) quantiles of {@code 1 - i/(n-1)}, symmetric about the middle (closed forms).
     */
    @Test
    void exponentialAndBetaSigmasSpanTheInterpolatedEnds() {
        EulerDiscreteScheduler plain = new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler"));
        plain.setTimesteps(7);
        double max = plain.sigmas[0];
        double min = plain.sigmas[6];
        EulerDiscreteScheduler exp =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "use_exponential_sigmas", true));
        exp.setTimesteps(7);
        for (int i = 0; i < 7; i++) {
            double want = Math.exp(Math.log(max) + i / 6.0 * (Math.log(min) - Math.log(max)));
            assertEquals(want, exp.sigmas[i], 1e-6 * want, "exponential sigma " + i);
        }
        EulerDiscreteScheduler beta =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "use_beta_sigmas", true));
        beta.setTimesteps(7);
        assertEquals(max, beta.sigmas[0], 1e-5 * max);
        assertEquals(min, beta.sigmas[6], 1e-5);
        assertEquals((min + max) / 2, beta.sigmas[3], 1e-5 * max, "ppf(1/2) = 1/2 for a symmetric Beta");
        assertEquals(max + min - beta.sigmas[1], beta.sigmas[5], 1e-5 * max, "symmetric about the middle");
        for (int i = 1; i < 7; i++) {
            assertTrue(beta.sigmas[i] < beta.sigmas[i - 1]);
            assertTrue(exp.timesteps()[i] < exp.timesteps()[i - 1]);
        }
        assertEquals(0.0, beta.sigmas[7]);
    }
}

package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseJson;
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

import io.sparkdiffusion.scheduler.SchedulerTestSupport.CountingNoise;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EulerAncestralDiscreteSchedulerTest {
    private static final long[] SHAPE = {1, 4, 8, 8};
    private static final double[] SD_SIGMAS = scaledLinearSigmas(0.00085, 0.012, 1000);

    @ParameterizedTest
    @CsvSource({"sd-tiny,txt2img_euler_a", "sdxl-tiny,turbo_1step", "sdxl-tiny,turbo_4step"})
    void timestepsMatchTheRecordedRun(String model, String caseName) {
        Path dir = caseDir(model, caseName);
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        assertInstanceOf(EulerAncestralDiscreteScheduler.class, s);
        s.setTimesteps(numInferenceSteps(dir));
        assertArrayEquals(recordedTimesteps(dir), s.timesteps(), 0.0);
    }

    /** One draw per denoising step, the last one included: the recorded draws minus the initial latents. */
    @ParameterizedTest
    @CsvSource({
        "sd-tiny,txt2img_euler_a",
        "sdxl-tiny,turbo_1step",
        "sdxl-tiny,turbo_4step",
        "digits/digits-t2i,euler_a_20_g3"
    })
    void drawsOnceEveryStepLikeTheRecordedRun(String model, String caseName) {
        Path dir = caseDir(model, caseName);
        long[][] draws = noiseDraws(dir);
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        int steps = numInferenceSteps(dir);
        s.setTimesteps(steps);
        CountingNoise noise = new CountingNoise();
        runLoop(s, draws[0], 0, noise);
        assertEquals(draws.length - 1, noise.draws);
        assertEquals(steps, noise.draws);
        assertArrayEquals(draws[draws.length - 1], noise.lastShape);
    }

    /** img2img (strength 0.5 of 4 steps): VAE posterior + add_noise draws, then one per remaining step. */
    @Test
    void img2imgStartsAtTheBeginIndexAndDrawsPerRemainingStep() {
        Path dir = caseDir("sd-tiny", "img2img_euler_a");
        long[][] draws = noiseDraws(dir);
        int steps = numInferenceSteps(dir);
        double strength = caseJson(dir).node().get("strength").asDouble();
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        s.setTimesteps(steps);
        int begin = steps - (int) (steps * strength);
        assertEquals(2, begin);
        s.setBeginIndex(begin);
        Tensor x0 = pattern(SHAPE, 0);
        Tensor n = pattern(SHAPE, 3);
        Tensor noisy = s.addNoise(x0, n, s.timesteps()[begin]);
        int k = 9;
        assertEquals(x0.data()[k] + SD_SIGMAS[333] * n.data()[k], noisy.data()[k], 1e-4);
        CountingNoise noise = new CountingNoise();
        runLoop(s, draws[0], begin, noise);
        assertEquals(draws.length - 2, noise.draws); // minus the posterior sample and the add_noise draw
    }

    @Test
    void initNoiseSigmaForLinspaceAndTrailingIsTheLargestSigma() {
        for (String spacing : new String[] {"linspace", "trailing"}) {
            Scheduler s = new EulerAncestralDiscreteScheduler(
                    sdConfig("EulerAncestralDiscreteScheduler", "timestep_spacing", spacing));
            s.setTimesteps(4);
            assertEquals(SD_SIGMAS[999], s.initNoiseSigma(), 1e-4, spacing);
        }
        Scheduler lead = new EulerAncestralDiscreteScheduler(
                sdConfig("EulerAncestralDiscreteScheduler", "timestep_spacing", "leading"));
        lead.setTimesteps(4);
        assertEquals(Math.sqrt(SD_SIGMAS[751] * SD_SIGMAS[751] + 1), lead.initNoiseSigma(), 1e-4);
    }

    @Test
    void stepIsEulerDownToSigmaDownPlusSigmaUpNoise() {
        EulerAncestralDiscreteScheduler s = new EulerAncestralDiscreteScheduler(
                sdConfig("EulerAncestralDiscreteScheduler", "timestep_spacing", "trailing"));
        s.setTimesteps(4); // 999, 749, 499, 249
        Tensor x = pattern(SHAPE, 0);
        Tensor eps = pattern(SHAPE, 1);
        Tensor z = pattern(SHAPE, 2);
        int[] calls = {0};
        Tensor next = s.step(eps, 999, x, shape -> {
            calls[0]++;
            return z;
        });
        assertEquals(1, calls[0]);
        double from = SD_SIGMAS[999];
        double to = SD_SIGMAS[749];
        double up = Math.sqrt(to * to * (from * from - to * to) / (from * from));
        double down = Math.sqrt(to * to - up * up);
        int k = 13;
        // x0 = x - sigma eps, d = eps: x' = x + eps (down - sigma) + up z
        double expected = x.data()[k] + eps.data()[k] * (down - from) + up * z.data()[k];
        assertEquals(expected, next.data()[k], 1e-4);
        // sigma_up^2 + sigma_down^2 = sigma_next^2: the marginal variance matches
        assertEquals(to * to, up * up + down * down, 1e-9);
    }

    @Test
    void lastStepStillDrawsButLandsOnThePrediction() {
        EulerAncestralDiscreteScheduler s = new EulerAncestralDiscreteScheduler(
                sdConfig("EulerAncestralDiscreteScheduler", "timestep_spacing", "trailing"));
        s.setTimesteps(1);
        Tensor x = pattern(SHAPE, 0);
        Tensor eps = pattern(SHAPE, 1);
        CountingNoise noise = new CountingNoise();
        Tensor out = s.step(eps, 999, x, noise);
        assertEquals(1, noise.draws);
        double sigma = SD_SIGMAS[999];
        int k = 21;
        assertEquals(x.data()[k] - sigma * eps.data()[k], out.data()[k], 1e-4); // sigma_up = sigma_down = 0
    }

    @Test
    void vPredictionUsesTheVParameterisation() {
        EulerAncestralDiscreteScheduler s = new EulerAncestralDiscreteScheduler(
                sdConfig("EulerAncestralDiscreteScheduler", "timestep_spacing", "leading")
                        .with("prediction_type", "v_prediction"));
        s.setTimesteps(4); // 751, 501, 251, 1
        Tensor x = pattern(SHAPE, 0);
        Tensor v = pattern(SHAPE, 4);
        Tensor z = pattern(SHAPE, 5);
        Tensor next = s.step(v, 751, x, shape -> z);
        double from = SD_SIGMAS[751];
        double to = SD_SIGMAS[501];
        double up = Math.sqrt(to * to * (from * from - to * to) / (from * from));
        double down = Math.sqrt(to * to - up * up);
        int k = 3;
        double x0 = -from / Math.sqrt(from * from + 1) * v.data()[k] + x.data()[k] / (from * from + 1);
        double expected = x.data()[k] + (x.data()[k] - x0) / from * (down - from) + up * z.data()[k];
        assertEquals(expected, next.data()[k], 1e-4);
    }

    @Test
    void ignoresKarrasAndRejectsSamplePrediction() {
        JsonConfig base = sdConfig("EulerAncestralDiscreteScheduler", "timestep_spacing", "linspace");
        EulerAncestralDiscreteScheduler plain = new EulerAncestralDiscreteScheduler(base);
        EulerAncestralDiscreteScheduler karras =
                new EulerAncestralDiscreteScheduler(base.with("use_karras_sigmas", true));
        plain.setTimesteps(6);
        karras.setTimesteps(6);
        assertArrayEquals(plain.timesteps(), karras.timesteps(), 0.0);
        assertArrayEquals(plain.sigmas, karras.sigmas, 0.0);
        assertThrows(
                IllegalArgumentException.class,
                () -> new EulerAncestralDiscreteScheduler(base.with("prediction_type", "sample")));
    }

    @Test
    void zeroTerminalSnrGivesAFiniteFirstSigma() {
        EulerAncestralDiscreteScheduler s = new EulerAncestralDiscreteScheduler(
                sdConfig("EulerAncestralDiscreteScheduler", "timestep_spacing", "trailing")
                        .with("rescale_betas_zero_snr", true));
        s.setTimesteps(4);
        assertEquals(Math.sqrt((1 - 0x1p-24) / 0x1p-24), s.initNoiseSigma(), 1e-3);
    }

    @Test
    void aliasesBuildTheAncestralScheduler() {
        JsonConfig c = sdConfig("EulerDiscreteScheduler", "timestep_spacing", "linspace");
        assertInstanceOf(EulerAncestralDiscreteScheduler.class, Schedulers.create("euler_a", c));
        assertInstanceOf(EulerAncestralDiscreteScheduler.class, Schedulers.create("euler_ancestral", c));
        assertInstanceOf(
                EulerAncestralDiscreteScheduler.class, Schedulers.create("EulerAncestralDiscreteScheduler", c));
    }
}

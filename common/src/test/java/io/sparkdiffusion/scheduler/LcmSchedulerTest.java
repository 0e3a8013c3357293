package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.constant;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.noDraws;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.npy;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.numInferenceSteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.override;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.recordedTimesteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.schedulerConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.noise.ReplayNoise;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LcmSchedulerTest {
    private static final double TOL = 1e-4;
    private static final Path CASE = caseDir("sd-tiny", "txt2img_lcm");

    @Test
    void timestepsMatchDiffusers() {
        Scheduler s = Schedulers.create(schedulerConfig(CASE));
        assertInstanceOf(LcmScheduler.class, s);
        s.setTimesteps(numInferenceSteps(CASE));
        assertArrayEquals(recordedTimesteps(CASE), s.timesteps());
        assertArrayEquals(new double[] {999, 759, 499, 259}, s.timesteps());
    }

    /** Values from numpy with diffusers' recipe; timestep_spacing and steps_offset do not change them. */
    @Test
    void otherStepCountsStrengthAndOriginalSteps() {
        JsonConfig cfg = schedulerConfig(CASE);
        LcmScheduler s = (LcmScheduler) Schedulers.create(override(cfg, "timestep_spacing", "trailing"));
        s.setTimesteps(8);
        assertArrayEquals(new double[] {999, 879, 759, 639, 499, 379, 259, 139}, s.timesteps());
        s.setTimesteps(3);
        assertArrayEquals(new double[] {999, 679, 339}, s.timesteps());
        s.setTimesteps(4, 50, 0.6);
        assertArrayEquals(new double[] {599, 459, 299, 159}, s.timesteps());
        Scheduler orig100 = Schedulers.create(override(cfg, "original_inference_steps", 100));
        orig100.setTimesteps(6);
        assertArrayEquals(new double[] {999, 839, 669, 499, 339, 169}, orig100.timesteps());
    }

    /** Noise at every step but the last: the recorded draws minus the initial latents. */
    @Test
    void fullLoopDrawsAsDiffusersDid() throws Exception {
        ReplayNoise noise = ReplayNoise.fromCaseDir(CASE);
        Scheduler s = Schedulers.create(schedulerConfig(CASE));
        s.setTimesteps(numInferenceSteps(CASE));
        Tensor x = noise.next(1, 4, 16, 16);
        for (double t : s.timesteps()) {
            x = s.step(Tensors.scale(x, 0.3), t, x, noise);
        }
        assertEquals(noise.recorded(), noise.consumed());
        assertEquals(s.timesteps().length - 1, noise.recorded() - 1);
    }

    /** Consistency function with its boundary conditions, then re-noising to abar of the next timestep. */
    @Test
    void handCheckedSteps() {
        Scheduler s = Schedulers.create(schedulerConfig(CASE));
        s.setTimesteps(4);
        Tensor x = npy(CASE, "noise_000.npy");
        Tensor eps = Tensors.scale(npy(CASE, "noise_001.npy"), 0.8);
        Tensor z = npy(CASE, "noise_002.npy");
        Tensor x1 = s.step(eps, 999, x, constant(z));
        Tensor x2 = s.step(eps, 759, x1, constant(z));
        Tensor x3 = s.step(eps, 499, x2, constant(z));
        Tensor x4 = s.step(eps, 259, x3, noDraws()); // last step: denoised, no draw
        double[] ac = SchedulerTestSupport.sdAlphasCumprod();
        for (int i = 0; i < x.size(); i += 29) {
            double e = eps.data()[i];
            double zi = z.data()[i];
            assertEquals(
                    lcm(x.data()[i], e, 999, ac) * Math.sqrt(ac[759]) + Math.sqrt(1 - ac[759]) * zi,
                    x1.data()[i],
                    TOL,
                    "step 0");
            assertEquals(
                    lcm(x1.data()[i], e, 759, ac) * Math.sqrt(ac[499]) + Math.sqrt(1 - ac[499]) * zi,
                    x2.data()[i],
                    TOL,
                    "step 1");
            assertEquals(lcm(x3.data()[i], e, 259, ac), x4.data()[i], TOL, "last step");
        }
    }

    /** f(x, t) = c_skip x + c_out x0 with s = 10 t, sigma_data = 0.5 (epsilon prediction). */
    private static double lcm(double x, double eps, int t, double[] ac) {
        double s = 10.0 * t;
        double cSkip = 0.25 / (s * s + 0.25);
        double cOut = s / Math.sqrt(s * s + 0.25);
        double x0 = (x - Math.sqrt(1 - ac[t]) * eps) / Math.sqrt(ac[t]);
        return cSkip * x + cOut * x0;
    }

    @Test
    void defaultsAreLcmsOwn() {
        // no beta fields: LCMScheduler's scaled_linear 0.00085..0.012, not the generic linear default
        Scheduler s = Schedulers.create("lcm", JsonConfig.empty("test"));
        Tensor one = Tensor.full(1f, 1, 1, 1, 1);
        Tensor zero = Tensor.zeros(1, 1, 1, 1);
        double abar = SchedulerTestSupport.sdAlphasCumprod()[500];
        assertEquals(Math.sqrt(abar), s.addNoise(one, zero, 500).data()[0], 1e-5);
        s.setTimesteps(1);
        assertArrayEquals(new double[] {999}, s.timesteps());
    }

    @Test
    void aliasesAndInvalidConfigs() {
        JsonConfig cfg = schedulerConfig(CASE);
        assertInstanceOf(LcmScheduler.class, Schedulers.create("lcm", cfg));
        assertInstanceOf(
                LcmScheduler.class, Schedulers.create("LCM", schedulerConfig(caseDir("sd-tiny", "txt2img_pndm"))));
        assertInstanceOf(LcmScheduler.class, Schedulers.create("LCMScheduler", cfg));
        assertTrue(Schedulers.isKnown("lcm"));

        Scheduler s = Schedulers.create(cfg);
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(51));
        assertTrue(tooMany.getMessage().contains("original_inference_steps"), tooMany.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ((LcmScheduler) s).setTimesteps(20, 50, 0.2));
        IllegalArgumentException orig = assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(override(cfg, "original_inference_steps", 2000)));
        assertTrue(orig.getMessage().contains("original_inference_steps"), orig.getMessage());
        IllegalArgumentException pred = assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(override(cfg, "prediction_type", "flow_prediction")));
        assertTrue(pred.getMessage().contains("prediction_type"), pred.getMessage());
    }
}

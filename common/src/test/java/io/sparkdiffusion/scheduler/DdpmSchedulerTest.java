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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DdpmSchedulerTest {
    private static final double TOL = 1e-4;

    @Test
    void sdTinyTimestepsMatchDiffusers() {
        Path dir = caseDir("sd-tiny", "txt2img_ddpm");
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        assertInstanceOf(DdpmScheduler.class, s);
        s.setTimesteps(numInferenceSteps(dir));
        assertArrayEquals(recordedTimesteps(dir), s.timesteps());
        assertArrayEquals(new double[] {751, 501, 251, 1}, s.timesteps());
    }

    @Test
    void unconditionalCasesUseLeadingSpacingWithoutOffset() {
        Scheduler ddpm10 = Schedulers.create(schedulerConfig(caseDir("ddpm-tiny", "ddpm_10")));
        ddpm10.setTimesteps(10);
        assertArrayEquals(new double[] {900, 800, 700, 600, 500, 400, 300, 200, 100, 0}, ddpm10.timesteps());

        Scheduler digits = Schedulers.create(schedulerConfig(caseDir("digits/digits-ddpm", "ddpm_50")));
        digits.setTimesteps(50);
        double[] t = digits.timesteps();
        assertEquals(50, t.length);
        for (int i = 0; i < 50; i++) {
            assertEquals(980 - 20 * i, t[i]);
        }
    }

    @Test
    void trailingAndLinspaceSpacing() {
        Scheduler trailing = Schedulers.create("ddpm", JsonConfig.empty("test").with("timestep_spacing", "trailing"));
        trailing.setTimesteps(10);
        assertArrayEquals(new double[] {999, 899, 799, 699, 599, 499, 399, 299, 199, 99}, trailing.timesteps());
        Scheduler linspace = Schedulers.create("ddpm", JsonConfig.empty("test").with("timestep_spacing", "linspace"));
        linspace.setTimesteps(10);
        assertArrayEquals(new double[] {999, 888, 777, 666, 555, 444, 333, 222, 111, 0}, linspace.timesteps());
    }

    /** A full loop draws once per timestep above 0: the recorded draws minus the initial latents. */
    @ParameterizedTest
    @CsvSource({"sd-tiny, txt2img_ddpm", "ddpm-tiny, ddpm_10", "digits/digits-ddpm, ddpm_50"})
    void fullLoopDrawsAsDiffusersDid(String model, String caseName) throws Exception {
        Path dir = caseDir(model, caseName);
        ReplayNoise noise = ReplayNoise.fromCaseDir(dir);
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        s.setTimesteps(numInferenceSteps(dir));
        Tensor x = noise.next(npy(dir, "noise_000.npy").shape());
        for (double t : s.timesteps()) {
            Tensor eps = Tensors.scale(x, 0.3); // any model output: only the draw count matters here
            x = s.step(eps, t, x, noise);
        }
        assertEquals(noise.recorded(), noise.consumed(), "draws of the full loop, plus the initial latents");
        long positiveSteps =
                java.util.Arrays.stream(s.timesteps()).filter(t -> t > 0).count();
        assertEquals(noise.recorded() - 1, positiveSteps);
    }

    /** Ho et al. eq. 7 at t=900 -> 800 with clip_sample, checked element by element with double arithmetic. */
    @Test
    void handCheckedStepWithClipping() {
        Path dir = caseDir("ddpm-tiny", "ddpm_10");
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        s.setTimesteps(10);
        Tensor x = npy(dir, "noise_000.npy");
        Tensor eps = Tensors.scale(npy(dir, "noise_001.npy"), 0.9);
        Tensor z = npy(dir, "noise_002.npy");
        Tensor out = s.step(eps, 900, x, constant(z));

        double[] ac = SchedulerTestSupport.ddpmAlphasCumprod();
        double at = ac[900];
        double ap = ac[800];
        double beta = 1 - at / ap;
        int clipped = 0;
        for (int i = 0; i < x.size(); i++) {
            double xi = x.data()[i];
            double x0 = (xi - Math.sqrt(1 - at) * eps.data()[i]) / Math.sqrt(at);
            if (Math.abs(x0) > 1) {
                clipped++;
            }
            x0 = Math.max(-1, Math.min(1, x0));
            double mean = Math.sqrt(ap) * beta / (1 - at) * x0 + Math.sqrt(at / ap) * (1 - ap) / (1 - at) * xi;
            double std = Math.sqrt((1 - ap) / (1 - at) * beta);
            assertEquals(mean + std * z.data()[i], out.data()[i], TOL, "element " + i);
        }
        assertTrue(clipped > 0, "the check should exercise clip_sample");
    }

    /** The final step of the sd-tiny case goes from t=1 to "t=-1" (abar_prev = 1) and still draws, as t > 0. */
    @Test
    void lastStepOfOffsetScheduleUsesAlphaOneAndDraws() {
        Path dir = caseDir("sd-tiny", "txt2img_ddpm");
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        s.setTimesteps(4);
        Tensor x = npy(dir, "noise_000.npy");
        Tensor eps = npy(dir, "noise_001.npy");
        Tensor z = npy(dir, "noise_002.npy");
        Tensor out = s.step(eps, 1, x, constant(z));
        double at = SchedulerTestSupport.sdAlphasCumprod()[1];
        for (int i = 0; i < 5; i++) {
            double x0 = (x.data()[i] - Math.sqrt(1 - at) * eps.data()[i]) / Math.sqrt(at); // clip_sample false
            // abar_prev = 1: x0 coefficient 1, sample coefficient 0, posterior variance clamped at 1e-20
            double expected = x0 + Math.sqrt(1e-20) * z.data()[i];
            assertEquals(expected, out.data()[i], TOL);
        }
    }

    @Test
    void stepAtZeroDrawsNothing() {
        Scheduler s = Schedulers.create(schedulerConfig(caseDir("ddpm-tiny", "ddpm_10")));
        s.setTimesteps(10);
        Tensor x = Tensor.full(0.5f, 1, 3, 4, 4);
        Tensor out = s.step(Tensor.full(0.1f, 1, 3, 4, 4), 0, x, noDraws());
        double at = SchedulerTestSupport.ddpmAlphasCumprod()[0];
        double x0 = (0.5 - Math.sqrt(1 - at) * 0.1) / Math.sqrt(at);
        assertEquals(Math.max(-1, Math.min(1, x0)), out.data()[0], 1e-5);
    }

    @Test
    void fixedLargeUsesBetaAndVPredictionConverts() {
        JsonConfig cfg = override(
                schedulerConfig(caseDir("ddpm-tiny", "ddpm_10")),
                "variance_type",
                "fixed_large",
                "prediction_type",
                "v_prediction",
                "clip_sample",
                false);
        Scheduler s = Schedulers.create(cfg);
        s.setTimesteps(10);
        Tensor x = Tensor.full(0.7f, 1, 1, 2, 2);
        Tensor v = Tensor.full(-0.2f, 1, 1, 2, 2);
        Tensor z = Tensor.full(1.5f, 1, 1, 2, 2);
        Tensor out = s.step(v, 500, x, constant(z));
        double[] ac = SchedulerTestSupport.ddpmAlphasCumprod();
        double at = ac[500];
        double ap = ac[400];
        double beta = 1 - at / ap;
        double x0 = Math.sqrt(at) * 0.7 - Math.sqrt(1 - at) * -0.2;
        double mean = Math.sqrt(ap) * beta / (1 - at) * x0 + Math.sqrt(at / ap) * (1 - ap) / (1 - at) * 0.7;
        assertEquals(mean + Math.sqrt(beta) * 1.5, out.data()[3], 1e-5);
    }

    @Test
    void aliasesAndClassNames() {
        JsonConfig cfg = schedulerConfig(caseDir("sd-tiny", "txt2img_ddpm"));
        assertInstanceOf(DdpmScheduler.class, Schedulers.create("ddpm", cfg));
        assertInstanceOf(DdpmScheduler.class, Schedulers.create("DDPM", cfg));
        assertInstanceOf(DdpmScheduler.class, Schedulers.create("DDPMScheduler", cfg));
        assertTrue(Schedulers.isKnown("ddpm"));
        assertTrue(Schedulers.knownNames().contains("DDPMScheduler"));
        // swapping the PNDM case's scheduler for DDPM keeps its offset and betas
        Scheduler swapped = Schedulers.create("ddpm", schedulerConfig(caseDir("sd-tiny", "txt2img_pndm")));
        swapped.setTimesteps(4);
        assertArrayEquals(new double[] {751, 501, 251, 1}, swapped.timesteps());
    }

    @Test
    void invalidConfigsFailClearly() {
        JsonConfig base = schedulerConfig(caseDir("ddpm-tiny", "ddpm_10"));
        // diffusers' fixed_large_log takes the square root of a log: refused
        IllegalArgumentException variance = assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(override(base, "variance_type", "fixed_large_log")));
        assertTrue(variance.getMessage().contains("variance_type"), variance.getMessage());
        IllegalArgumentException pred = assertThrows(
                IllegalArgumentException.class, () -> Schedulers.create(override(base, "prediction_type", "flow")));
        assertTrue(pred.getMessage().contains("prediction_type"), pred.getMessage());
        IllegalArgumentException spacing = assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(override(base, "timestep_spacing", "sideways")));
        assertTrue(spacing.getMessage().contains("sideways"), spacing.getMessage());
        Scheduler ok = Schedulers.create(base);
        assertThrows(IllegalArgumentException.class, () -> ok.setTimesteps(0));
        assertThrows(IllegalArgumentException.class, () -> ok.setTimesteps(1001));
        assertThrows(
                IllegalStateException.class,
                () -> ok.step(Tensor.zeros(1, 1, 1, 1), 900, Tensor.zeros(1, 1, 1, 1), noDraws()));
    }
}

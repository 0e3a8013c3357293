package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseJson;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.constant;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.noDraws;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.npy;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.override;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.pattern;
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

/**
 * {@link UnClipScheduler} (diffusers' {@code UnCLIPScheduler}) with the Kandinsky 2.2 prior's config of the
 * {@code kandinsky22-tiny/cases/sketch2img} case: timesteps, hand-checked steps against the cosine schedule recomputed
 * in double from its closed form, draws, options and errors.
 */
class UnClipSchedulerTest {
    private static final Path CASE = caseDir("kandinsky22-tiny", "sketch2img");

    private static JsonConfig priorConfig() {
        return caseJson(CASE).getObject("prior_scheduler");
    }

    /**
     * The cosine schedule in double: {@code abar(s) = cos((s + 0.008) / 1.008 * pi / 2)^2}; the betas telescope, so
     * {@code alphas_cumprod[t] = abar((t+1)/T) / abar(0)}, except the last beta, capped at 0.999.
     */
    private static double[] cosineAlphasCumprod() {
        double[] out = new double[1000];
        double a0 = abar(0);
        for (int t = 0; t < 999; t++) {
            out[t] = abar((t + 1) / 1000.0) / a0;
        }
        out[999] = out[998] * (1 - 0.999);
        return out;
    }

    private static double abar(double s) {
        double c = Math.cos((s + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    @Test
    void timestepsAsDiffusers() {
        Scheduler s = Schedulers.create(priorConfig());
        assertInstanceOf(UnClipScheduler.class, s);
        s.setTimesteps(3);
        assertArrayEquals(new double[] {999, 500, 0}, s.timesteps(), "the case's 3 prior steps: round(499.5) = 500");
        s.setTimesteps(2);
        assertArrayEquals(new double[] {999, 0}, s.timesteps());
        // step ratio 166.5: NumPy rounds 832.5 and 166.5 half to even
        s.setTimesteps(7);
        assertArrayEquals(new double[] {999, 832, 666, 500, 333, 166, 0}, s.timesteps());
        s.setTimesteps(25);
        double[] t = s.timesteps();
        assertEquals(25, t.length);
        assertEquals(999, t[0]);
        assertEquals(957, t[1], "round(23 * 41.625) = round(957.375)");
        assertEquals(42, t[23], "round(41.625)");
        assertEquals(0, t[24]);
        assertEquals(1.0, s.initNoiseSigma());
    }

    /** Ho et al. eq. 7 from t = 999 to 500 (beta recomputed between them), clip at 10, fixed_small_log noise. */
    @Test
    void handCheckedStepWithClipping() {
        Scheduler s = Schedulers.create(priorConfig());
        s.setTimesteps(3);
        Tensor x = npy(CASE, "noise_000.npy");
        Tensor predicted = Tensors.scale(npy(CASE, "noise_001.npy"), 6.0); // prediction_type "sample": x0 itself
        Tensor z = npy(CASE, "noise_002.npy");
        Tensor out = s.step(predicted, 999, x, constant(z));

        double[] ac = cosineAlphasCumprod();
        double at = ac[999];
        double ap = ac[500];
        double beta = 1 - at / ap;
        double alpha = 1 - beta;
        int clipped = 0;
        for (int i = 0; i < x.size(); i++) {
            double x0 = predicted.data()[i];
            if (Math.abs(x0) > 10) {
                clipped++;
            }
            x0 = Math.max(-10, Math.min(10, x0));
            double mean = Math.sqrt(ap) * beta / (1 - at) * x0 + Math.sqrt(alpha) * (1 - ap) / (1 - at) * x.data()[i];
            double std = Math.sqrt((1 - ap) / (1 - at) * beta);
            double expected = mean + std * z.data()[i];
            assertEquals(expected, out.data()[i], 1e-4 * Math.max(1, Math.abs(expected)), "element " + i);
        }
        assertTrue(clipped > 0, "the check should exercise clip_sample_range 10");
        // one value spelled out: element 0
        double x0 = Math.max(-10, Math.min(10, predicted.data()[0]));
        double v = Math.sqrt(ap) * beta / (1 - at) * x0
                + Math.sqrt(alpha) * (1 - ap) / (1 - at) * x.data()[0]
                + Math.sqrt((1 - ap) / (1 - at) * beta) * z.data()[0];
        assertEquals(v, out.data()[0], 1e-4);
    }

    /**
     * The last step goes to t - 1 = -1 (abar_prev = 1, beta = betas[0], alpha = alphas[0]): the sample's coefficient
     * is 0 and x0's is {@code betas[0] / (1 - alphas_cumprod[0])}, about 1 but not exactly in float32 (betas[0] is
     * about 4e-5, so rounding {@code alphas[0] = 1 - betas[0]} to float32 moves it by ~1e-3 relative, as in
     * diffusers' float32 tensors); no draw at t = 0.
     */
    @Test
    void lastStepReturnsThePredictionWithoutDrawing() {
        Scheduler s = Schedulers.create(priorConfig());
        s.setTimesteps(3);
        Tensor x = pattern(new long[] {2, 16}, 0.3);
        Tensor predicted = pattern(new long[] {2, 16}, 1.1);
        Tensor out = s.step(predicted, 0, x, noDraws());
        float beta0 = (float) (1 - abar(0.001) / abar(0));
        float alpha0 = 1f - beta0;
        double coefficient = beta0 / (1.0 - alpha0);
        assertEquals(1.0, coefficient, 2e-3);
        for (int i = 0; i < out.size(); i++) {
            assertEquals(coefficient * predicted.data()[i], out.data()[i], 1e-5);
        }
    }

    /** epsilon prediction from t = 500 to 0 (not t - 1: beta = 1 - abar_500 / abar_0). */
    @Test
    void epsilonPredictionMiddleStep() {
        Scheduler s = Schedulers.create(override(priorConfig(), "prediction_type", "epsilon", "clip_sample", false));
        s.setTimesteps(3);
        Tensor x = Tensor.full(0.7f, 1, 4);
        Tensor eps = Tensor.full(-0.2f, 1, 4);
        Tensor z = Tensor.full(1.5f, 1, 4);
        Tensor out = s.step(eps, 500, x, constant(z));
        double[] ac = cosineAlphasCumprod();
        double at = ac[500];
        double ap = ac[0];
        double beta = 1 - at / ap;
        double x0 = (0.7 - Math.sqrt(1 - at) * -0.2) / Math.sqrt(at);
        double mean = Math.sqrt(ap) * beta / (1 - at) * x0 + Math.sqrt(1 - beta) * (1 - ap) / (1 - at) * 0.7;
        double expected = mean + Math.sqrt((1 - ap) / (1 - at) * beta) * 1.5;
        assertEquals(expected, out.data()[3], 1e-4 * Math.max(1, Math.abs(expected)));
    }

    /** learned_range: the second half of the output interpolates log(posterior variance) and log(beta). */
    @Test
    void learnedRangeVariance() {
        Scheduler s = Schedulers.create(override(priorConfig(), "variance_type", "learned_range"));
        s.setTimesteps(3);
        Tensor x = Tensor.full(0.5f, 1, 2);
        Tensor output = new Tensor(new long[] {1, 4}, new float[] {0.25f, -0.5f, 0.6f, -1f});
        Tensor z = Tensor.full(1f, 1, 2);
        Tensor out = s.step(output, 500, x, constant(z));
        assertArrayEquals(new long[] {1, 2}, out.shape());
        double[] ac = cosineAlphasCumprod();
        double at = ac[500];
        double ap = ac[0];
        double beta = 1 - at / ap;
        double posterior = (1 - ap) / (1 - at) * beta;
        double[] x0 = {0.25, -0.5};
        double[] p = {0.6, -1};
        for (int i = 0; i < 2; i++) {
            double mean = Math.sqrt(ap) * beta / (1 - at) * x0[i] + Math.sqrt(1 - beta) * (1 - ap) / (1 - at) * 0.5;
            double frac = (p[i] + 1) / 2;
            double logVar = frac * Math.log(beta) + (1 - frac) * Math.log(posterior);
            assertEquals(mean + Math.exp(0.5 * logVar), out.data()[i], 1e-4);
        }
    }

    /** A full prior loop draws once per timestep above 0: the case's draws 1 and 2 after the initial latents. */
    @Test
    void fullLoopDrawsAsDiffusersDid() throws Exception {
        ReplayNoise noise = ReplayNoise.fromCaseDir(CASE);
        Scheduler s = Schedulers.create(priorConfig());
        s.setTimesteps(3);
        Tensor x = noise.next(2, 16);
        for (double t : s.timesteps()) {
            x = s.step(Tensors.scale(x, 0.5), t, x, noise);
        }
        assertEquals(3, noise.consumed());
    }

    @Test
    void addNoiseIsTheForwardProcess() {
        Scheduler s = Schedulers.create(priorConfig());
        Tensor out = s.addNoise(Tensor.full(2f, 1, 3), Tensor.full(-1f, 1, 3), 500);
        double at = cosineAlphasCumprod()[500];
        assertEquals(Math.sqrt(at) * 2 - Math.sqrt(1 - at), out.data()[1], 1e-5);
    }

    @Test
    void aliasDefaultsAndErrors() {
        Scheduler bare = Schedulers.create("unclip", JsonConfig.empty("test"));
        assertInstanceOf(UnClipScheduler.class, bare);
        bare.setTimesteps(3);
        assertArrayEquals(new double[] {999, 500, 0}, bare.timesteps());
        // beta_schedule defaults to the cosine schedule (not DDPM's linear)
        Tensor a = bare.addNoise(Tensor.full(1f, 1, 1), Tensor.zeros(1, 1), 500);
        assertEquals(Math.sqrt(cosineAlphasCumprod()[500]), a.data()[0], 1e-5);
        assertInstanceOf(UnClipScheduler.class, Schedulers.create("UnCLIPScheduler", JsonConfig.empty("test")));
        assertTrue(Schedulers.isKnown("unclip"));

        assertThrows(IllegalArgumentException.class, () -> bare.setTimesteps(1));
        IllegalArgumentException linear = assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(override(priorConfig(), "beta_schedule", "linear")));
        assertTrue(linear.getMessage().contains("squaredcos_cap_v2"), linear.getMessage());
        IllegalArgumentException variance = assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(override(priorConfig(), "variance_type", "fixed_large")));
        assertTrue(variance.getMessage().contains("variance_type"), variance.getMessage());
        IllegalArgumentException v = assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(override(priorConfig(), "prediction_type", "v_prediction")));
        assertTrue(v.getMessage().contains("prediction_type"), v.getMessage());
    }
}

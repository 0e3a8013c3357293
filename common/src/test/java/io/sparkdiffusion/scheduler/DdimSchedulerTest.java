package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.constant;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.noDraws;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.numInferenceSteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.pattern;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.recordedTimesteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.schedulerConfig;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdAlphasCumprod;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.tensor.Tensor;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * DDIM (Song et al. 2021, eq. 12) checked from its definition: with the true noise as the model's prediction, a
 * deterministic step moves {@code x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps} to exactly
 * {@code sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps}, whatever the prediction type; {@code eta} adds
 * {@code sigma_t z} with one draw per step; {@code clip_sample} (on by default in diffusers' DDIM) clamps x0; the
 * recorded diffusers timesteps.
 */
class DdimSchedulerTest {
    private static final long[] SHAPE = {1, 4, 3, 5};
    private static final double TOL = 2e-5;

    @Test
    void recordedTimestepsMatchDiffusers() {
        Path dir = caseDir("sd-tiny", "txt2img_ddim");
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        assertInstanceOf(DdimScheduler.class, s);
        s.setTimesteps(numInferenceSteps(dir));
        assertArrayEquals(recordedTimesteps(dir), s.timesteps());
    }

    @Test
    void aStepWithTheTrueNoiseLandsOnTheForwardProcessAtThePreviousTimestep() {
        double[] abar = sdAlphasCumprod();
        Tensor x0 = pattern(SHAPE, 0.3);
        Tensor eps = pattern(SHAPE, 1.7);
        for (String prediction : new String[] {"epsilon", "v_prediction", "sample"}) {
            Scheduler s =
                    Schedulers.create(sdConfig("DDIMScheduler", "prediction_type", prediction, "clip_sample", false));
            s.setTimesteps(10);
            double[] ts = s.timesteps();
            for (int i = 0; i < ts.length; i++) {
                int t = (int) ts[i];
                double at = abar[t];
                double aPrev = i + 1 < ts.length ? abar[(int) ts[i + 1]] : 1.0; // set_alpha_to_one
                Tensor xt = forward(x0, eps, at);
                Tensor output = switch (prediction) {
                    case "epsilon" -> eps;
                    case "sample" -> x0;
                    // v = sqrt(abar) eps - sqrt(1 - abar) x0 (Salimans & Ho 2022)
                    default -> combine(Math.sqrt(at), eps, -Math.sqrt(1 - at), x0);
                };
                Tensor prev = s.step(output, t, xt, noDraws());
                assertClose(forward(x0, eps, aPrev), prev, prediction + " at t=" + t);
            }
        }
    }

    @Test
    void setAlphaToOneFalseEndsOnTheFirstTrainingAlpha() {
        double[] abar = sdAlphasCumprod();
        Scheduler s = Schedulers.create(sdConfig("DDIMScheduler", "set_alpha_to_one", false, "clip_sample", false));
        s.setTimesteps(4);
        double[] ts = s.timesteps();
        int last = (int) ts[ts.length - 1];
        Tensor x0 = pattern(SHAPE, 0.1);
        Tensor eps = pattern(SHAPE, 2.2);
        Tensor prev = s.step(eps, last, forward(x0, eps, abar[last]), noDraws());
        assertClose(forward(x0, eps, abar[0]), prev, "final step with alpha_cumprod[0]");
    }

    @Test
    void etaAddsSigmaTimesOneDrawPerStep() {
        double[] abar = sdAlphasCumprod();
        double eta = 0.7;
        DdimScheduler s = (DdimScheduler) Schedulers.create(sdConfig("DDIMScheduler", "clip_sample", false));
        s.eta(eta);
        s.setTimesteps(5);
        double[] ts = s.timesteps();
        int t = (int) ts[1];
        int prev = (int) ts[2];
        Tensor x0 = pattern(SHAPE, 0.4);
        Tensor eps = pattern(SHAPE, 0.9);
        Tensor z = pattern(SHAPE, 5.0);
        Tensor out = s.step(eps, t, forward(x0, eps, abar[t]), constant(z));
        // eq. 16: sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev)
        double sigma = eta * Math.sqrt((1 - abar[prev]) / (1 - abar[t]) * (1 - abar[t] / abar[prev]));
        Tensor expected = combine(
                1, combine(Math.sqrt(abar[prev]), x0, Math.sqrt(1 - abar[prev] - sigma * sigma), eps), sigma, z);
        assertClose(expected, out, "eta step");

        SchedulerTestSupport.CountingNoise counting = new SchedulerTestSupport.CountingNoise();
        SchedulerTestSupport.runLoop(s, SHAPE, 0, counting);
        assertEquals(5, counting.draws, "one draw per step with eta > 0");
    }

    @Test
    void clipSampleBoundsThePredictedOriginal() {
        double[] abar = sdAlphasCumprod();
        Scheduler s = Schedulers.create(sdConfig("DDIMScheduler", "clip_sample", true, "clip_sample_range", 0.5));
        s.setTimesteps(10);
        int t = (int) s.timesteps()[0];
        int prev = (int) s.timesteps()[1];
        Tensor x0 = pattern(SHAPE, 0.2); // in [-1.5, 1.5]: the clipping bites
        Tensor eps = pattern(SHAPE, 3.1);
        Tensor out = s.step(eps, t, forward(x0, eps, abar[t]), noDraws());
        float[] clipped = x0.copy().data();
        for (int i = 0; i < clipped.length; i++) {
            clipped[i] = Math.max(-0.5f, Math.min(0.5f, clipped[i]));
        }
        Tensor expected = forward(new Tensor(SHAPE, clipped), eps, abar[prev]);
        assertClose(expected, out, "clipped x0");
    }

    @Test
    void unsupportedValuesAreRefusedByName() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(sdConfig("DDIMScheduler", "prediction_type", "flow_prediction")));
        assertTrue(e.getMessage().contains("prediction_type"), e.getMessage());
        assertTrue(e.getMessage().contains("DDIMScheduler"), e.getMessage());
    }

    /** {@code q(x_t | x0)}'s mean plus its noise: {@code sqrt(abar) x0 + sqrt(1 - abar) eps}, in double. */
    private static Tensor forward(Tensor x0, Tensor eps, double abar) {
        return combine(Math.sqrt(abar), x0, Math.sqrt(1 - abar), eps);
    }

    private static Tensor combine(double a, Tensor x, double b, Tensor y) {
        float[] out = new float[x.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (a * x.data()[i] + b * y.data()[i]);
        }
        return new Tensor(x.shape(), out);
    }

    private static void assertClose(Tensor expected, Tensor actual, String what) {
        float[] e = expected.data();
        float[] a = actual.data();
        assertEquals(e.length, a.length, what);
        for (int i = 0; i < e.length; i++) {
            assertEquals(e[i], a[i], TOL * Math.max(1, Math.abs(e[i])), what + " [" + i + "]");
        }
    }
}

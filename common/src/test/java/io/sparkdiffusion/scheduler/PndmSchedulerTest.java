package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
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

class PndmSchedulerTest {
    private static final double TOL = 1e-4;
    private static final Path CASE = caseDir("sd-tiny", "txt2img_pndm");

    /** PNDM eq. 9 in double: x_prev = sqrt(ap/at) x - (ap - at) e / (at sqrt(1-ap) + sqrt(at (1-at) ap)). */
    private static double transfer(double x, double e, double at, double ap) {
        return Math.sqrt(ap / at) * x - (ap - at) * e / (at * Math.sqrt(1 - ap) + Math.sqrt(at * (1 - at) * ap));
    }

    /** A smooth, distinct stand-in for the k-th model output. */
    private static Tensor tensor(int k) {
        float[] d = new float[4 * 16 * 16];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) Math.sin(0.37 * i + 1.3 * k);
        }
        return new Tensor(new long[] {1, 4, 16, 16}, d);
    }

    @Test
    void timestepsMatchDiffusersWithRepeatedTimestep() {
        Scheduler s = Schedulers.create(schedulerConfig(CASE));
        assertInstanceOf(PndmScheduler.class, s);
        s.setTimesteps(numInferenceSteps(CASE));
        assertArrayEquals(recordedTimesteps(CASE), s.timesteps());
        assertArrayEquals(new double[] {751, 501, 501, 251, 1}, s.timesteps());
    }

    @Test
    void prkWarmUpTimesteps() {
        JsonConfig cfg = override(
                schedulerConfig(CASE),
                "skip_prk_steps",
                false,
                "beta_schedule",
                "linear",
                "beta_start",
                0.0001,
                "beta_end",
                0.02);
        Scheduler s = Schedulers.create(cfg);
        s.setTimesteps(10);
        assertArrayEquals(
                new double[] {
                    901, 851, 851, 801, 801, 751, 751, 701, 701, 651, 651, 601, 601, 501, 401, 301, 201, 101, 1
                },
                s.timesteps());
        // the PLMS-only list of the same schedule repeats the second timestep
        Scheduler plms = Schedulers.create(override(cfg, "skip_prk_steps", true));
        plms.setTimesteps(10);
        assertArrayEquals(new double[] {901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1}, plms.timesteps());
    }

    @Test
    void otherSpacings() {
        JsonConfig cfg = JsonConfig.empty("test").with("skip_prk_steps", true);
        Scheduler linspace = Schedulers.create("pndm", cfg.with("timestep_spacing", "linspace"));
        linspace.setTimesteps(4);
        assertArrayEquals(new double[] {999, 666, 666, 333, 0}, linspace.timesteps());
        Scheduler trailing = Schedulers.create("pndm", cfg.with("timestep_spacing", "trailing"));
        trailing.setTimesteps(4);
        assertArrayEquals(new double[] {999, 749, 749, 499, 249}, trailing.timesteps());
    }

    /** PNDM is deterministic: a full loop draws nothing beyond the initial latents diffusers recorded. */
    @Test
    void fullLoopDrawsNoNoise() throws Exception {
        ReplayNoise recorded = ReplayNoise.fromCaseDir(CASE);
        assertEquals(1, recorded.recorded());
        Scheduler s = Schedulers.create(schedulerConfig(CASE));
        s.setTimesteps(numInferenceSteps(CASE));
        Tensor x = recorded.next(1, 4, 16, 16);
        for (double t : s.timesteps()) {
            x = s.step(Tensors.scale(x, 0.3), t, x, noDraws());
        }
        assertEquals(recorded.recorded() - 1, 0);
        assertTrue(Float.isFinite(x.data()[0]));
    }

    /**
     * The start-up of PLMS without PRK: call 0 steps 751 -> 501 with e0 from x; call 1 (timestep 501 again)
     * restarts from x with (e0 + e1) / 2; call 2 uses (3 e2 - e0) / 2 (e1 is not kept in the history); call 3 the
     * third-order formula; call 4 the fourth-order one, into abar_0 since set_alpha_to_one is false.
     */
    @Test
    void handCheckedPlmsSequence() {
        Scheduler s = Schedulers.create(schedulerConfig(CASE));
        s.setTimesteps(4);
        double[] ac = SchedulerTestSupport.sdAlphasCumprod();
        Tensor x = npy(CASE, "noise_000.npy");
        Tensor[] e = new Tensor[5];
        for (int k = 0; k < 5; k++) {
            e[k] = tensor(k);
        }
        Tensor x1 = s.step(e[0], 751, x, noDraws());
        Tensor x2 = s.step(e[1], 501, x1, noDraws());
        Tensor x3 = s.step(e[2], 501, x2, noDraws());
        Tensor x4 = s.step(e[3], 251, x3, noDraws());
        Tensor x5 = s.step(e[4], 1, x4, noDraws());
        for (int i = 0; i < x.size(); i += 37) {
            double xi = x.data()[i];
            double[] ei = new double[5];
            for (int k = 0; k < 5; k++) {
                ei[k] = e[k].data()[i];
            }
            assertEquals(transfer(xi, ei[0], ac[751], ac[501]), x1.data()[i], TOL, "call 0");
            assertEquals(transfer(xi, (ei[0] + ei[1]) / 2, ac[751], ac[501]), x2.data()[i], TOL, "call 1");
            assertEquals(
                    transfer(x2.data()[i], (3 * ei[2] - ei[0]) / 2, ac[501], ac[251]), x3.data()[i], TOL, "call 2");
            assertEquals(
                    transfer(x3.data()[i], (23 * ei[3] - 16 * ei[2] + 5 * ei[0]) / 12, ac[251], ac[1]),
                    x4.data()[i],
                    TOL,
                    "call 3");
            double e4 = (55 * ei[4] - 59 * ei[3] + 37 * ei[2] - 9 * ei[0]) / 24;
            assertEquals(transfer(x4.data()[i], e4, ac[1], ac[0]), x5.data()[i], TOL, "call 4");
        }
    }

    /** One Runge-Kutta step of the warm-up: four calls end at t - h from the first sample with RK4 weights. */
    @Test
    void handCheckedPrkStep() {
        JsonConfig cfg = override(schedulerConfig(CASE), "skip_prk_steps", false);
        Scheduler s = Schedulers.create(cfg);
        s.setTimesteps(10);
        double[] ts = s.timesteps();
        Tensor x = npy(CASE, "noise_000.npy");
        Tensor[] e = new Tensor[4];
        Tensor cur = x;
        Tensor[] outs = new Tensor[4];
        for (int k = 0; k < 4; k++) {
            e[k] = tensor(k);
            outs[k] = s.step(e[k], ts[k], cur, noDraws());
            cur = outs[k];
        }
        double[] ac = SchedulerTestSupport.sdAlphasCumprod();
        for (int i = 0; i < x.size(); i += 41) {
            double xi = x.data()[i];
            assertEquals(transfer(xi, e[0].data()[i], ac[901], ac[851]), outs[0].data()[i], TOL);
            assertEquals(transfer(xi, e[1].data()[i], ac[901], ac[851]), outs[1].data()[i], TOL);
            assertEquals(transfer(xi, e[2].data()[i], ac[901], ac[801]), outs[2].data()[i], TOL);
            double rk = (e[0].data()[i] + 2 * e[1].data()[i] + 2 * e[2].data()[i] + e[3].data()[i]) / 6;
            assertEquals(transfer(xi, rk, ac[901], ac[801]), outs[3].data()[i], TOL);
        }
        // the whole warm-up plus PLMS runs through
        for (int k = 4; k < ts.length; k++) {
            cur = s.step(Tensors.scale(cur, 0.1), ts[k], cur, noDraws());
        }
        assertTrue(Float.isFinite(cur.data()[0]));
    }

    @Test
    void aliasesAndInvalidConfigs() {
        JsonConfig cfg = schedulerConfig(CASE);
        assertInstanceOf(PndmScheduler.class, Schedulers.create("pndm", cfg));
        assertInstanceOf(PndmScheduler.class, Schedulers.create("PNDM", cfg));
        assertInstanceOf(
                PndmScheduler.class,
                Schedulers.create("PNDMScheduler", schedulerConfig(caseDir("sd-tiny", "txt2img_ddpm"))));
        assertTrue(Schedulers.isKnown("pndm"));
        IllegalArgumentException pred = assertThrows(
                IllegalArgumentException.class, () -> Schedulers.create(override(cfg, "prediction_type", "sample")));
        assertTrue(pred.getMessage().contains("prediction_type"), pred.getMessage());
        Scheduler fresh = Schedulers.create(cfg);
        assertThrows(
                IllegalStateException.class,
                () -> fresh.step(Tensor.zeros(1, 1, 1, 1), 751, Tensor.zeros(1, 1, 1, 1), noDraws()));
    }
}

package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.assertElements;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.numInferenceSteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.random;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.recordedTimesteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.schedulerConfig;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.SchedulerTestSupport.Vp;
import io.sparkdiffusion.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * UniPC against the update rules of Zhao et al. 2023 (arXiv:2302.04867) written out in double: data prediction,
 * {@code hh = -h}, {@code phi = e^hh - 1}, {@code B(h) = hh} (bh1) or {@code e^hh - 1} (bh2).
 */
class UniPcMultistepSchedulerTest {
    private static final int N = 16;
    private static final NoiseSource NO_NOISE = shape -> {
        throw new AssertionError("UniPC must not draw noise");
    };

    @Test
    void timestepsMatchTheRecordedRun() {
        Scheduler s = Schedulers.create(schedulerConfig(caseDir("sd-tiny", "txt2img_unipc")));
        assertInstanceOf(UniPcMultistepScheduler.class, s);
        s.setTimesteps(numInferenceSteps(caseDir("sd-tiny", "txt2img_unipc")));
        assertArrayEquals(recordedTimesteps(caseDir("sd-tiny", "txt2img_unipc")), s.timesteps(), 0.0);
        Scheduler alias = Schedulers.create("unipc", schedulerConfig(caseDir("sd-tiny", "txt2img_dpmpp_2m")));
        assertInstanceOf(UniPcMultistepScheduler.class, alias);
        alias.setTimesteps(4);
        assertArrayEquals(recordedTimesteps(caseDir("sd-tiny", "txt2img_unipc")), alias.timesteps(), 0.0);
    }

    /** UniP-1 is DDIM (in both the data- and the noise-prediction form). */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void firstStepIsDdim(boolean predictX0) {
        UniPcMultistepScheduler s =
                new UniPcMultistepScheduler(sdConfig("UniPCMultistepScheduler", "predict_x0", predictX0));
        s.setTimesteps(4);
        Vp from = Vp.of(s.sigmas()[0]);
        Vp to = Vp.of(s.sigmas()[1]);
        Tensor x = random(1, N);
        Tensor eps = random(2, N);
        Tensor prev = s.step(eps, s.timesteps()[0], x, NO_NOISE);
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            double x0 = (x.data()[i] - from.sigma() * eps.data()[i]) / from.alpha();
            want[i] = to.alpha() * x0 + to.sigma() * eps.data()[i];
        }
        assertElements(want, prev, 2e-5, "DDIM step");
    }

    /**
     * Step 2: UniC-1 re-solves step 1 with the new output (rho = 1/2, a trapezoid in lambda), then UniP-2 predicts
     * with rho = 1/2 and D = (m_prev - m_cur) / r, r = (lambda_prev - lambda_cur) / h.
     */
    @ParameterizedTest
    @ValueSource(strings = {"bh2", "bh1"})
    void secondStepCorrectsThenPredicts(String solverType) {
        UniPcMultistepScheduler s =
                new UniPcMultistepScheduler(sdConfig("UniPCMultistepScheduler", "solver_type", solverType));
        s.setTimesteps(4);
        double[] sig = s.sigmas();
        Tensor x = random(3, N);
        Tensor eps0 = random(4, N);
        Tensor eps1 = random(5, N);
        Tensor x1 = s.step(eps0, s.timesteps()[0], x, NO_NOISE);
        Tensor x2 = s.step(eps1, s.timesteps()[1], x1, NO_NOISE);
        Vp v0 = Vp.of(sig[0]);
        Vp v1 = Vp.of(sig[1]);
        Vp v2 = Vp.of(sig[2]);
        boolean bh1 = solverType.equals("bh1");
        double hc = v1.lambda() - v0.lambda();
        double phiC = Math.expm1(-hc);
        double bC = bh1 ? -hc : phiC;
        double hp = v2.lambda() - v1.lambda();
        double phiP = Math.expm1(-hp);
        double bP = bh1 ? -hp : phiP;
        double r = (v0.lambda() - v1.lambda()) / hp;
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            double m0 = (x.data()[i] - v0.sigma() * eps0.data()[i]) / v0.alpha();
            double m1 = (x1.data()[i] - v1.sigma() * eps1.data()[i]) / v1.alpha(); // from the uncorrected sample
            double corrected =
                    v1.sigma() / v0.sigma() * x.data()[i] - v1.alpha() * phiC * m0 - v1.alpha() * bC * 0.5 * (m1 - m0);
            want[i] = v2.sigma() / v1.sigma() * corrected
                    - v2.alpha() * phiP * m1
                    - v2.alpha() * bP * 0.5 * (m0 - m1) / r;
        }
        assertElements(want, x2, 2e-5, solverType + " UniC-1 + UniP-2");
    }

    @Test
    void disabledCorrectorLeavesTheSampleAsGiven() {
        UniPcMultistepScheduler s =
                new UniPcMultistepScheduler(sdConfig("UniPCMultistepScheduler", "disable_corrector", List.of(0)));
        s.setTimesteps(4);
        double[] sig = s.sigmas();
        Tensor x = random(6, N);
        Tensor eps0 = random(7, N);
        Tensor eps1 = random(8, N);
        Tensor x1 = s.step(eps0, s.timesteps()[0], x, NO_NOISE);
        Tensor x2 = s.step(eps1, s.timesteps()[1], x1, NO_NOISE);
        Vp v0 = Vp.of(sig[0]);
        Vp v1 = Vp.of(sig[1]);
        Vp v2 = Vp.of(sig[2]);
        double hp = v2.lambda() - v1.lambda();
        double phiP = Math.expm1(-hp);
        double r = (v0.lambda() - v1.lambda()) / hp;
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            double m0 = (x.data()[i] - v0.sigma() * eps0.data()[i]) / v0.alpha();
            double m1 = (x1.data()[i] - v1.sigma() * eps1.data()[i]) / v1.alpha();
            want[i] = v2.sigma() / v1.sigma() * x1.data()[i]
                    - v2.alpha() * phiP * m1
                    - v2.alpha() * phiP * 0.5 * (m0 - m1) / r;
        }
        assertElements(want, x2, 2e-5, "UniP-2 without corrector");
    }

    /**
     * solver_order 3, third step: UniC-2 then UniP-3, whose rhos solve {@code sum_k rho_k r_k^(i-1) = b_i} with
     * {@code b_i = i! hh phi_{i+1}(hh) / B(h)} (Theorem 3.1), solved here by Cramer's rule.
     */
    @Test
    void thirdOrderSolvesForTheRhos() {
        UniPcMultistepScheduler s = new UniPcMultistepScheduler(sdConfig("UniPCMultistepScheduler", "solver_order", 3));
        s.setTimesteps(10);
        double[] sig = s.sigmas();
        double[] t = s.timesteps();
        Tensor x = random(9, N);
        Tensor[] eps = {random(10, N), random(11, N), random(12, N)};
        Tensor x1 = s.step(eps[0], t[0], x, NO_NOISE);
        Tensor x2 = s.step(eps[1], t[1], x1, NO_NOISE);
        Tensor x3 = s.step(eps[2], t[2], x2, NO_NOISE);
        Vp[] v = {Vp.of(sig[0]), Vp.of(sig[1]), Vp.of(sig[2]), Vp.of(sig[3])};
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            double m0 = x0(x.data()[i], eps[0].data()[i], v[0]);
            double m1 = x0(x1.data()[i], eps[1].data()[i], v[1]);
            double m2 = x0(x2.data()[i], eps[2].data()[i], v[2]);
            // step 1: UniC-1 of step 0, then UniP-2 (its order is what step 2's corrector uses)
            double x1c = firstOrder(x.data()[i], m0, v[0], v[1]) - v[1].alpha() * bh2(v[0], v[1]) * 0.5 * (m1 - m0);
            // step 2: UniC-2 of step 1 from x1c (two rhos: for D = (m0 - m1)/r and for m2 - m1)
            double h = v[2].lambda() - v[1].lambda();
            double r = (v[0].lambda() - v[1].lambda()) / h;
            double[] b = bs(-h, 2);
            double[] rho = cramer2(1, 1, r, 1, b[0], b[1]);
            double x2c = firstOrder(x1c, m1, v[1], v[2])
                    - v[2].alpha() * bh2(v[1], v[2]) * (rho[0] * (m0 - m1) / r + rho[1] * (m2 - m1));
            // UniP-3 from x2c: D_k = (m_k - m2) / r_k over the two earlier outputs
            double hp = v[3].lambda() - v[2].lambda();
            double r1 = (v[1].lambda() - v[2].lambda()) / hp;
            double r2 = (v[0].lambda() - v[2].lambda()) / hp;
            double[] bp = bs(-hp, 2);
            double[] rp = cramer2(1, 1, r1, r2, bp[0], bp[1]);
            want[i] = firstOrder(x2c, m2, v[2], v[3])
                    - v[3].alpha() * bh2(v[2], v[3]) * (rp[0] * (m1 - m2) / r1 + rp[1] * (m0 - m2) / r2);
        }
        assertElements(want, x3, 1e-4, "UniC-2 + UniP-3");
    }

    private static double x0(double x, double eps, Vp v) {
        return (x - v.sigma() * eps) / v.alpha();
    }

    /** (sigma_t/sigma_s) x - alpha_t (e^-h - 1) m. */
    private static double firstOrder(double x, double m, Vp s, Vp t) {
        return t.sigma() / s.sigma() * x - t.alpha() * Math.expm1(-(t.lambda() - s.lambda())) * m;
    }

    private static double bh2(Vp s, Vp t) {
        return Math.expm1(-(t.lambda() - s.lambda()));
    }

    /** b_i = i! hh phi_{i+1}(hh) / B(h), bh2, with phi_1(z) = (e^z - 1)/z, phi_{k+1}(z) = (phi_k(z) - 1/k!)/z. */
    private static double[] bs(double hh, int n) {
        double[] b = new double[n];
        double phi = Math.expm1(hh) / hh;
        double fact = 1;
        for (int k = 1; k <= n; k++) {
            phi = (phi - 1 / fact) / hh; // phi_{k+1}
            b[k - 1] = fact * hh * phi / Math.expm1(hh);
            fact *= k + 1;
        }
        return b;
    }

    /** Solves [[a, b], [c, d]] x = [e, f]. */
    private static double[] cramer2(double a, double b, double c, double d, double e, double f) {
        double det = a * d - b * c;
        return new double[] {(e * d - b * f) / det, (a * f - e * c) / det};
    }

    @Test
    void karrasSigmasHonourSigmaMinAndMax() {
        UniPcMultistepScheduler s = new UniPcMultistepScheduler(sdConfig(
                "UniPCMultistepScheduler",
                "use_karras_sigmas",
                true,
                "sigma_min",
                0.05,
                "sigma_max",
                10.0,
                "final_sigmas_type",
                "sigma_min"));
        s.setTimesteps(10);
        double[] sig = s.sigmas();
        assertEquals(10.0, sig[0], 1e-6);
        assertEquals(0.05, sig[9], 1e-8);
        assertEquals(0.05, sig[10], 1e-8, "final sigma_min is the ramp's end");
        for (int i = 1; i < 10; i++) {
            assertTrue(sig[i] < sig[i - 1]);
        }
        UniPcMultistepScheduler z =
                new UniPcMultistepScheduler(sdConfig("UniPCMultistepScheduler", "use_karras_sigmas", true));
        z.setTimesteps(10);
        assertEquals(0.0, z.sigmas()[10]);
        assertEquals(999.0, z.timesteps()[0]);
        assertEquals(0.0, z.timesteps()[9]);
    }

    @Test
    void unsupportedOptionsAreRejected() {
        assertThrows(
                IllegalArgumentException.class,
                () -> new UniPcMultistepScheduler(sdConfig("UniPCMultistepScheduler", "solver_type", "rk4")));
        assertThrows(
                IllegalArgumentException.class,
                () -> new UniPcMultistepScheduler(sdConfig("UniPCMultistepScheduler", "use_flow_sigmas", true)));
        assertThrows(
                IllegalArgumentException.class,
                () -> new UniPcMultistepScheduler(
                        sdConfig("UniPCMultistepScheduler", "solver_p", "DPMSolverMultistepScheduler")));
    }
}

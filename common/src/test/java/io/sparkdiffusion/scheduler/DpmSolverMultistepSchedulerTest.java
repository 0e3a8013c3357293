package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.assertElements;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.numInferenceSteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.override;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.random;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.recordedTimesteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.schedulerConfig;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdAlphasCumprod;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.SchedulerTestSupport.Vp;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DpmSolverMultistepSchedulerTest {
    private static final int N = 16;
    private static final NoiseSource NO_NOISE = shape -> {
        throw new AssertionError("deterministic DPM-Solver++ must not draw noise");
    };

    @ParameterizedTest
    @ValueSource(strings = {"txt2img_dpmpp_2m", "txt2img_dpmpp_2m_karras"})
    void timestepsMatchTheRecordedRun(String caseName) {
        Scheduler s = Schedulers.create(schedulerConfig(caseDir("sd-tiny", caseName)));
        assertInstanceOf(DpmSolverMultistepScheduler.class, s);
        s.setTimesteps(numInferenceSteps(caseDir("sd-tiny", caseName)));
        assertArrayEquals(recordedTimesteps(caseDir("sd-tiny", caseName)), s.timesteps(), 0.0);
    }

    @Test
    void karrasAliasTurnsOnKarrasSigmas() {
        Scheduler s = Schedulers.create("dpmpp_2m_karras", schedulerConfig(caseDir("sd-tiny", "txt2img_dpmpp_2m")));
        s.setTimesteps(4);
        assertArrayEquals(recordedTimesteps(caseDir("sd-tiny", "txt2img_dpmpp_2m_karras")), s.timesteps(), 0.0);
        Scheduler plain = Schedulers.create(
                "dpmpp_2m",
                override(schedulerConfig(caseDir("sd-tiny", "txt2img_dpmpp_2m_karras")), "use_karras_sigmas", false));
        plain.setTimesteps(4);
        assertArrayEquals(recordedTimesteps(caseDir("sd-tiny", "txt2img_dpmpp_2m")), plain.timesteps(), 0.0);
    }

    /** n + 1 points over [0, T-1] (or T // (n+1) steps, or T/n from the end), the t = 0 end dropped. */
    @ParameterizedTest
    @CsvSource({"linspace,999 749 500 250", "leading,801 601 401 201", "trailing,999 749 499 249"})
    void timestepSpacings(String spacing, String expected) {
        DpmSolverMultistepScheduler s =
                new DpmSolverMultistepScheduler(sdConfig("DPMSolverMultistepScheduler", "timestep_spacing", spacing));
        s.setTimesteps(4);
        double[] want = Arrays.stream(expected.split(" "))
                .mapToDouble(Double::parseDouble)
                .toArray();
        assertArrayEquals(want, s.timesteps(), 0.0);
    }

    @Test
    void sigmasAreTheTrainingSigmasAtTheTimestepsThenZero() {
        double[] abar = sdAlphasCumprod();
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(sdConfig("DPMSolverMultistepScheduler"));
        s.setTimesteps(4);
        double[] sig = s.sigmas();
        assertEquals(5, sig.length);
        for (int i = 0; i < 4; i++) {
            int t = (int) s.timesteps()[i];
            double want = Math.sqrt((1 - abar[t]) / abar[t]);
            assertEquals(want, sig[i], 1e-4 * want, "sigma " + i);
        }
        assertEquals(0.0, sig[4]);
    }

    @ParameterizedTest
    @CsvSource({"4,zero", "10,zero", "25,sigma_min", "50,sigma_min"})
    void karrasSigmasFallMonotonicallyAndEndAtTheFinalSigma(int steps, String finalType) {
        double[] abar = sdAlphasCumprod();
        double sigmaMin = Math.sqrt((1 - abar[0]) / abar[0]);
        double sigmaMax = Math.sqrt((1 - abar[999]) / abar[999]);
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(
                sdConfig("DPMSolverMultistepScheduler", "use_karras_sigmas", true, "final_sigmas_type", finalType));
        s.setTimesteps(steps);
        double[] sig = s.sigmas();
        double[] t = s.timesteps();
        assertEquals(steps + 1, sig.length);
        assertEquals(steps, t.length);
        for (int i = 1; i < steps; i++) {
            assertTrue(sig[i] < sig[i - 1], "karras sigmas strictly decrease at " + i);
            assertTrue(t[i] <= t[i - 1], "timesteps do not increase at " + i);
            assertEquals(Math.rint(t[i]), t[i], "integer timesteps");
        }
        assertEquals(sigmaMax, sig[0], 1e-4 * sigmaMax, "ramp starts at the largest training sigma");
        assertEquals(sigmaMin, sig[steps - 1], 1e-4 * sigmaMin, "ramp ends at the smallest training sigma");
        // Karras et al. 2022 eq. 5: sigma^(1/7) is linear in the step
        int mid = steps / 2;
        double root = Math.pow(sigmaMax, 1 / 7.0)
                + (double) mid / (steps - 1) * (Math.pow(sigmaMin, 1 / 7.0) - Math.pow(sigmaMax, 1 / 7.0));
        assertEquals(Math.pow(root, 7), sig[mid], 1e-4 * sig[mid]);
        assertEquals(999.0, t[0]);
        assertEquals(finalType.equals("zero") ? 0.0 : sigmaMin, sig[steps], 1e-4 * sigmaMin, "final sigma");
    }

    @Test
    void duplicateKarrasTimestepsAreKeptAndSteppedInOrder() {
        DpmSolverMultistepScheduler s =
                new DpmSolverMultistepScheduler(sdConfig("DPMSolverMultistepScheduler", "use_karras_sigmas", true));
        s.setTimesteps(100);
        double[] t = s.timesteps();
        assertEquals(100, t.length, "diffusers no longer drops repeated timesteps");
        assertEquals(0.0, t[99]);
        assertEquals(0.0, t[98], "the densest end of the ramp maps twice to t = 0");
        Tensor eps = random(2, N);
        Tensor x = random(1, N);
        for (int k = 0; k < 99; k++) {
            x = s.step(eps, t[k], x, NO_NOISE);
        }
        Tensor last = s.step(eps, t[99], x, NO_NOISE);
        // the last step (to sigma 0) lands on its data prediction x0 = (x - sigma_t eps) / alpha_t at sigmas[99]
        Vp v = Vp.of(s.sigmas()[99]);
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            want[i] = (x.data()[i] - v.sigma() * eps.data()[i]) / v.alpha();
        }
        assertElements(want, last, 2e-5, "x0 after 100 steps");
    }

    @Test
    void lambdaMinClippedDropsTheLowSnrEndOfTheCosineSchedule() {
        JsonConfig c = sdConfig(
                "DPMSolverMultistepScheduler", "beta_schedule", "squaredcos_cap_v2", "lambda_min_clipped", -5.1);
        // independently: cosine abar(t) = f(t)/f(0) with f(t) = cos^2((t/T + 0.008)/1.008 * pi/2) (betas capped at
        // 0.999 only at the very end); lambda = log(alpha/sigma) = 0.5 log(abar / (1 - abar))
        int clipped = 0;
        double prod = 1;
        for (int i = 0; i < 1000; i++) {
            double beta = Math.min(1 - cosBar((i + 1) / 1000.0) / cosBar(i / 1000.0), 0.999);
            prod *= 1 - beta;
            if (0.5 * Math.log(prod / (1 - prod)) < -5.1) {
                clipped++;
            }
        }
        assertEquals(4, clipped);
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(c);
        s.setTimesteps(10);
        // round(linspace(0, 995, 11)) half to even, reversed, t = 0 dropped
        assertArrayEquals(new double[] {995, 896, 796, 696, 597, 498, 398, 298, 199, 100}, s.timesteps(), 0.0);
    }

    private static double cosBar(double t) {
        double v = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return v * v;
    }

    /** DPM-Solver-1 (++) is DDIM: x_prev = sqrt(abar') x0 + sqrt(1 - abar') eps (arXiv:2211.01095, Section 4). */
    @ParameterizedTest
    @ValueSource(strings = {"epsilon", "v_prediction", "sample"})
    void firstStepIsDdim(String predictionType) {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(
                sdConfig("DPMSolverMultistepScheduler", "prediction_type", predictionType));
        s.setTimesteps(4);
        double[] sig = s.sigmas();
        Vp from = Vp.of(sig[0]);
        Vp to = Vp.of(sig[1]);
        Tensor x = random(3, N);
        Tensor out = random(4, N);
        Tensor prev = s.step(out, s.timesteps()[0], x, NO_NOISE);
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            double xi = x.data()[i];
            double oi = out.data()[i];
            double x0 = switch (predictionType) {
                case "epsilon" -> (xi - from.sigma() * oi) / from.alpha();
                case "v_prediction" -> from.alpha() * xi - from.sigma() * oi;
                default -> oi;
            };
            double eps = (xi - from.alpha() * x0) / from.sigma();
            want[i] = to.alpha() * x0 + to.sigma() * eps;
        }
        assertElements(want, prev, 2e-5, "DDIM step");
    }

    /**
     * DPM-Solver++(2M) (arXiv:2211.01095, Algorithm 2): x_t = (sigma_t/sigma_s) x - alpha_t (e^-h - 1) D with
     * D = (1 + 1/(2r)) x0_s - 1/(2r) x0_prev, r = h_prev / h (midpoint); heun: D0 - ((e^-h - 1)/h + 1)/(e^-h - 1) D1.
     */
    @ParameterizedTest
    @ValueSource(strings = {"midpoint", "heun"})
    void secondStepIsTheMultistepUpdate(String solverType) {
        DpmSolverMultistepScheduler s =
                new DpmSolverMultistepScheduler(sdConfig("DPMSolverMultistepScheduler", "solver_type", solverType));
        s.setTimesteps(4);
        double[] sig = s.sigmas();
        double[] t = s.timesteps();
        Tensor x = random(5, N);
        Tensor eps0 = random(6, N);
        Tensor eps1 = random(7, N);
        Tensor x1 = s.step(eps0, t[0], x, NO_NOISE);
        Tensor x2 = s.step(eps1, t[1], x1, NO_NOISE);
        Vp prev = Vp.of(sig[0]);
        Vp cur = Vp.of(sig[1]);
        Vp next = Vp.of(sig[2]);
        double h = next.lambda() - cur.lambda();
        double r = (cur.lambda() - prev.lambda()) / h;
        double phi = Math.exp(-h) - 1;
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            double m1 = (x.data()[i] - prev.sigma() * eps0.data()[i]) / prev.alpha();
            double xi = x1.data()[i];
            double m0 = (xi - cur.sigma() * eps1.data()[i]) / cur.alpha();
            double d1 = (m0 - m1) / r;
            double update = solverType.equals("midpoint")
                    ? -next.alpha() * phi * ((1 + 1 / (2 * r)) * m0 - 1 / (2 * r) * m1)
                    : -next.alpha() * phi * m0 + next.alpha() * (phi / h + 1) * d1;
            want[i] = next.sigma() / cur.sigma() * xi + update;
        }
        assertElements(want, x2, 2e-5, solverType + " second-order step");
    }

    @Test
    void lastStepWithZeroFinalSigmaReturnsTheDataPrediction() {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(sdConfig("DPMSolverMultistepScheduler"));
        s.setTimesteps(4);
        Tensor x = random(8, N);
        for (int k = 0; k < 3; k++) {
            x = s.step(random(10 + k, N), s.timesteps()[k], x, NO_NOISE);
        }
        Tensor eps = random(20, N);
        Tensor last = s.step(eps, s.timesteps()[3], x, NO_NOISE);
        Vp v = Vp.of(s.sigmas()[3]);
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            want[i] = (x.data()[i] - v.sigma() * eps.data()[i]) / v.alpha();
        }
        assertElements(want, last, 2e-5, "final x0");
    }

    /** SDE-DPM-Solver++1: x_t = (sigma_t/sigma_s) e^-h x + alpha_t (1 - e^-2h) x0 + sigma_t sqrt(1 - e^-2h) z. */
    @Test
    void sdeDpmSolverPlusPlusDrawsOneNoisePerStep() {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(
                sdConfig("DPMSolverMultistepScheduler", "algorithm_type", "sde-dpmsolver++"));
        s.setTimesteps(4);
        Tensor z = random(30, N);
        int[] draws = {0};
        NoiseSource noise = shape -> {
            draws[0]++;
            assertArrayEquals(new long[] {1, 1, 1, N}, shape);
            return z;
        };
        Tensor x = random(31, N);
        Tensor eps = random(32, N);
        Tensor prev = s.step(eps, s.timesteps()[0], x, noise);
        assertEquals(1, draws[0]);
        Vp from = Vp.of(s.sigmas()[0]);
        Vp to = Vp.of(s.sigmas()[1]);
        double h = to.lambda() - from.lambda();
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            double x0 = (x.data()[i] - from.sigma() * eps.data()[i]) / from.alpha();
            want[i] = to.sigma() / from.sigma() * Math.exp(-h) * x.data()[i]
                    + to.alpha() * (1 - Math.exp(-2 * h)) * x0
                    + to.sigma() * Math.sqrt(1 - Math.exp(-2 * h)) * z.data()[i];
        }
        assertElements(want, prev, 2e-5, "SDE step");
    }

    @Test
    void addNoiseUsesTheStepSigma() {
        DpmSolverMultistepScheduler s = new DpmSolverMultistepScheduler(sdConfig("DPMSolverMultistepScheduler"));
        s.setTimesteps(4);
        double[] abar = sdAlphasCumprod();
        Tensor x0 = random(40, N);
        Tensor z = random(41, N);
        Tensor noisy = s.addNoise(x0, z, 500);
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            want[i] = Math.sqrt(abar[500]) * x0.data()[i] + Math.sqrt(1 - abar[500]) * z.data()[i];
        }
        assertElements(want, noisy, 1e-4, "q(x_t | x_0)");
    }

    @Test
    void unsupportedOptionsAreRejectedWithTheSupportedList() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new DpmSolverMultistepScheduler(
                        sdConfig("DPMSolverMultistepScheduler", "algorithm_type", "foo")));
        assertTrue(e.getMessage().contains("dpmsolver++, sde-dpmsolver++, dpmsolver, sde-dpmsolver"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> new DpmSolverMultistepScheduler(
                        sdConfig("DPMSolverMultistepScheduler", "use_flow_sigmas", true)));
        assertThrows(
                IllegalArgumentException.class,
                () -> new DpmSolverMultistepScheduler(
                        sdConfig("DPMSolverMultistepScheduler", "algorithm_type", "dpmsolver")),
                "zero final sigma");
        assertThrows(
                IllegalArgumentException.class,
                () -> new DpmSolverMultistepScheduler(sdConfig("DPMSolverMultistepScheduler", "solver_type", "rk4")));
    }
}

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

import io.sparkdiffusion.tensor.Tensor;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LmsDiscreteSchedulerTest {
    private static final long[] SHAPE = {1, 4, 8, 8};
    private static final double[] SD_SIGMAS = scaledLinearSigmas(0.00085, 0.012, 1000);

    private static LmsDiscreteScheduler sd(String spacing, int steps) {
        LmsDiscreteScheduler s =
                new LmsDiscreteScheduler(sdConfig("LMSDiscreteScheduler", "timestep_spacing", spacing));
        s.setTimesteps(steps);
        return s;
    }

    @Test
    void timestepsMatchTheRecordedRunAndNoNoiseIsDrawn() {
        Path dir = caseDir("sd-tiny", "txt2img_lms");
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        assertInstanceOf(LmsDiscreteScheduler.class, s);
        s.setTimesteps(numInferenceSteps(dir));
        assertArrayEquals(recordedTimesteps(dir), s.timesteps(), 0.0);
        long[][] draws = noiseDraws(dir);
        assertEquals(1, draws.length); // initial latents only: the loop draws recorded - 1 = 0
        runLoop(s, draws[0], 0, noDraws());
        assertEquals(SD_SIGMAS[999], s.initNoiseSigma(), 1e-4);
    }

    /** With equally spaced nodes the LMS coefficients are h times the Adams–Bashforth ones: 55, -59, 37, -9 / 24. */
    @Test
    void equallySpacedNodesGiveAdamsBashforth4() {
        double[] nodes = {0, 1, 2, 3}; // sigma_t, sigma_{t-1}, ...: step h = -1 from 0 to -1
        double[] ab4 = {55.0 / 24, -59.0 / 24, 37.0 / 24, -9.0 / 24};
        for (int j = 0; j < 4; j++) {
            assertEquals(-ab4[j], LmsDiscreteScheduler.integrateLagrangeBasis(nodes, j, 0, -1), 1e-13);
        }
        // order 2: 3/2, -1/2
        assertEquals(-1.5, LmsDiscreteScheduler.integrateLagrangeBasis(new double[] {0, 1}, 0, 0, -1), 1e-14);
        assertEquals(0.5, LmsDiscreteScheduler.integrateLagrangeBasis(new double[] {0, 1}, 1, 0, -1), 1e-14);
    }

    @Test
    void firstAndSecondOrderCoefficientsMatchTheirClosedForms() {
        LmsDiscreteScheduler s = sd("linspace", 10);
        double a = s.sigmas[3];
        double b = s.sigmas[4];
        // order 1: integral of 1 = b - a
        assertEquals(b - a, s.lmsCoefficient(1, 3, 0), 1e-12);
        // order 2, nodes s0 = sigma_3 (= a), s1 = sigma_2: integral of (tau - s1)/(s0 - s1) and (tau - s0)/(s1 - s0)
        double s0 = s.sigmas[3];
        double s1 = s.sigmas[2];
        double c0 = ((b - s1) * (b - s1) - (a - s1) * (a - s1)) / (2 * (s0 - s1));
        double c1 = ((b - s0) * (b - s0) - (a - s0) * (a - s0)) / (2 * (s1 - s0));
        assertEquals(c0, s.lmsCoefficient(2, 3, 0), 1e-11);
        assertEquals(c1, s.lmsCoefficient(2, 3, 1), 1e-11);
    }

    /** Order 4 on the real (non-uniform) sigma grid: sum_j c_j p(sigma_{t-j}) = integral of p, for p of degree <= 3. */
    @Test
    void fourthOrderCoefficientsIntegrateCubicsExactly() {
        LmsDiscreteScheduler s = sd("linspace", 12);
        for (int t = 3; t < 12; t++) {
            double a = s.sigmas[t];
            double b = s.sigmas[t + 1];
            double[] c = new double[4];
            for (int j = 0; j < 4; j++) {
                c[j] = s.lmsCoefficient(4, t, j);
            }
            for (int deg = 0; deg <= 3; deg++) {
                double sum = 0;
                for (int j = 0; j < 4; j++) {
                    sum += c[j] * Math.pow(s.sigmas[t - j], deg);
                }
                double exact = (Math.pow(b, deg + 1) - Math.pow(a, deg + 1)) / (deg + 1);
                assertEquals(exact, sum, 1e-10 * Math.max(1, Math.abs(exact)), "t=" + t + " degree " + deg);
            }
        }
    }

    @Test
    void stepsCombineTheDerivativeHistory() {
        LmsDiscreteScheduler s = sd("linspace", 4);
        double[] ts = s.timesteps();
        Tensor x = pattern(SHAPE, 0);
        Tensor e0 = pattern(SHAPE, 1);
        Tensor e1 = pattern(SHAPE, 2);
        int k = 17;
        double sg0 = SD_SIGMAS[999];
        double sg1 = SD_SIGMAS[666];
        double sg2 = SD_SIGMAS[333];

        // step 1 (order 1) is an Euler step: d = eps, x1 = x + (sigma1 - sigma0) eps
        s.scaleModelInput(x, ts[0]);
        Tensor x1 = s.step(e0, ts[0], x, noDraws());
        double x1k = x.data()[k] + (sg1 - sg0) * e0.data()[k];
        assertEquals(x1k, x1.data()[k], 1e-4);

        // step 2 (order 2, Adams–Bashforth on nodes sigma1, sigma0)
        Tensor x2 = s.step(e1, ts[1], x1, noDraws());
        double c0 = ((sg2 - sg0) * (sg2 - sg0) - (sg1 - sg0) * (sg1 - sg0)) / (2 * (sg1 - sg0));
        double c1 = ((sg2 - sg1) * (sg2 - sg1)) / (2 * (sg0 - sg1));
        double expected = x1.data()[k] + c0 * e1.data()[k] + c1 * e0.data()[k];
        assertEquals(expected, x2.data()[k], 1e-4);
    }

    @Test
    void firstStepMatchesEuler() {
        LmsDiscreteScheduler lms = sd("leading", 5);
        EulerDiscreteScheduler euler =
                new EulerDiscreteScheduler(sdConfig("EulerDiscreteScheduler", "timestep_spacing", "leading"));
        euler.setTimesteps(5);
        assertArrayEquals(euler.timesteps(), lms.timesteps(), 0.0);
        assertEquals(euler.initNoiseSigma(), lms.initNoiseSigma(), 0.0);
        Tensor x = pattern(SHAPE, 0);
        Tensor eps = pattern(SHAPE, 1);
        double t = lms.timesteps()[0];
        assertArrayEquals(
                euler.scaleModelInput(x, t).data(), lms.scaleModelInput(x, t).data(), 0f);
        assertArrayEquals(
                euler.step(eps, t, x, noDraws()).data(),
                lms.step(eps, t, x, noDraws()).data(),
                2e-5f);
    }

    @Test
    void setTimestepsClearsTheHistory() {
        LmsDiscreteScheduler s = sd("linspace", 4);
        Tensor first = runLoop(s, SHAPE, 0, noDraws());
        s.setTimesteps(4);
        Tensor again = runLoop(s, SHAPE, 0, noDraws());
        assertArrayEquals(first.data(), again.data(), 0f);
    }

    @Test
    void img2imgBeginIndexUsesOnlyTheAvailableHistory() {
        LmsDiscreteScheduler s = sd("linspace", 4);
        s.setBeginIndex(2);
        double[] ts = s.timesteps();
        Tensor x = pattern(SHAPE, 0);
        Tensor eps = pattern(SHAPE, 1);
        // order = min(2 + 1, 4) = 3 but one derivative: only c_0 of the third-order rule is applied (as diffusers' zip)
        Tensor out = s.step(eps, ts[2], x, noDraws());
        double c0 = s.lmsCoefficient(3, 2, 0);
        int k = 4;
        assertEquals(x.data()[k] + c0 * eps.data()[k], out.data()[k], 1e-4);
    }

    @Test
    void karrasSigmasAndAliases() {
        LmsDiscreteScheduler k = new LmsDiscreteScheduler(
                sdConfig("LMSDiscreteScheduler", "timestep_spacing", "linspace").with("use_karras_sigmas", true));
        k.setTimesteps(8);
        LmsDiscreteScheduler plain = sd("linspace", 8);
        assertEquals(plain.sigmas[0], k.sigmas[0], 1e-5);
        assertEquals(plain.sigmas[7], k.sigmas[7], 1e-5);
        assertTrue(k.sigmas[3] < plain.sigmas[3], "Karras spends more steps at low noise");
        runLoop(k, SHAPE, 0, noDraws());
        assertInstanceOf(
                LmsDiscreteScheduler.class,
                Schedulers.create("lms", sdConfig("EulerDiscreteScheduler", "timestep_spacing", "linspace")));
        assertThrows(
                IllegalArgumentException.class,
                () -> new LmsDiscreteScheduler(sdConfig("LMSDiscreteScheduler", "timestep_spacing", "linspace")
                        .with("use_beta_sigmas", true)
                        .with("use_karras_sigmas", true)),
                "only one sigma spacing");
    }
}

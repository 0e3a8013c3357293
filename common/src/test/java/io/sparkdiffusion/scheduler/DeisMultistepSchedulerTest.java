package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.assertElements;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.noDraws;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.numInferenceSteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.random;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.recordedTimesteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.scaledLinearSigmas;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.schedulerConfig;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.sparkdiffusion.scheduler.SchedulerTestSupport.Vp;
import io.sparkdiffusion.tensor.Tensor;
import java.nio.file.Path;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DEIS (arXiv:2204.13902): its coefficients are integrals in rho of the Lagrange basis in log rho, checked here by
 * numerical quadrature; DDIM as the first order; the final sigma is the smallest training one; the recorded runs.
 */
class DeisMultistepSchedulerTest {
    private static final int N = 16;

    @ParameterizedTest
    @ValueSource(strings = {"txt2img_deis", "txt2img_deis_3"})
    void timestepsMatchTheRecordedRun(String caseName) {
        Path dir = caseDir("sd-tiny", caseName);
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        assertInstanceOf(DeisMultistepScheduler.class, s);
        s.setTimesteps(numInferenceSteps(dir));
        assertArrayEquals(recordedTimesteps(dir), s.timesteps(), 0.0);
    }

    @Test
    void theFinalSigmaIsTheSmallestTrainingSigma() {
        DeisMultistepScheduler s =
                new DeisMultistepScheduler(sdConfig("DEISMultistepScheduler", "beta_schedule", "scaled_linear"));
        s.setTimesteps(4);
        double sigmaMin = scaledLinearSigmas(0.00085, 0.012, 1000)[0];
        assertEquals(sigmaMin, s.sigmas()[4], 2e-5 * sigmaMin, "float32 alphas_cumprod against double");
    }

    /** int_{rho_s0}^{rho_t} l_k(log rho) d rho with the Lagrange basis of the nodes log rho_s0, log rho_s1 (, ...). */
    @Test
    void coefficientsAreTheIntegralsOfTheLagrangeBasisInLogRho() {
        float rt = 0.8f;
        float r0 = 1.3f;
        float r1 = 2.1f;
        float r2 = 3.4f;
        double l0 = Math.log(r0);
        double l1 = Math.log(r1);
        double l2 = Math.log(r2);
        double c1 = integrate(r -> (Math.log(r) - l1) / (l0 - l1), r0, rt);
        double c2 = integrate(r -> (Math.log(r) - l0) / (l1 - l0), r0, rt);
        assertEquals(c1, DeisMultistepScheduler.ind2(rt, r0, r1) - DeisMultistepScheduler.ind2(r0, r0, r1), 1e-5);
        assertEquals(c2, DeisMultistepScheduler.ind2(rt, r1, r0) - DeisMultistepScheduler.ind2(r0, r1, r0), 1e-5);
        double q1 = integrate(r -> (Math.log(r) - l1) * (Math.log(r) - l2) / ((l0 - l1) * (l0 - l2)), r0, rt);
        double q3 = integrate(r -> (Math.log(r) - l0) * (Math.log(r) - l1) / ((l2 - l0) * (l2 - l1)), r0, rt);
        assertEquals(
                q1, DeisMultistepScheduler.ind3(rt, r0, r1, r2) - DeisMultistepScheduler.ind3(r0, r0, r1, r2), 1e-4);
        assertEquals(
                q3, DeisMultistepScheduler.ind3(rt, r2, r0, r1) - DeisMultistepScheduler.ind3(r0, r2, r0, r1), 1e-4);
    }

    /** Composite Simpson's rule, 2000 intervals. */
    private static double integrate(DoubleUnaryOperator f, double a, double b) {
        int n = 2000;
        double h = (b - a) / n;
        double sum = f.applyAsDouble(a) + f.applyAsDouble(b);
        for (int i = 1; i < n; i++) {
            sum += f.applyAsDouble(a + i * h) * (i % 2 == 1 ? 4 : 2);
        }
        return sum * h / 3;
    }

    /** The first step is DDIM: alpha_t x0 + sigma_t eps. */
    @Test
    void theFirstStepIsDdim() {
        DeisMultistepScheduler s = new DeisMultistepScheduler(sdConfig("DEISMultistepScheduler"));
        s.setTimesteps(4);
        Vp from = Vp.of(s.sigmas()[0]);
        Vp to = Vp.of(s.sigmas()[1]);
        Tensor x = random(1, N);
        Tensor eps = random(2, N);
        Tensor prev = s.step(eps, s.timesteps()[0], x, noDraws());
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            double x0 = (x.data()[i] - from.sigma() * eps.data()[i]) / from.alpha();
            want[i] = to.alpha() * x0 + to.sigma() * eps.data()[i];
        }
        assertElements(want, prev, 2e-5, "DDIM step");
    }
}

package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.assertElements;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.noDraws;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.numInferenceSteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.random;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.recordedTimesteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.schedulerConfig;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparkdiffusion.scheduler.SchedulerTestSupport.Vp;
import io.sparkdiffusion.tensor.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Singlestep DPM-Solver(++) (arXiv:2211.01095 Algorithm 1): the order of each step as diffusers' get_order_list
 * lays it out, DDIM as the first order, the second-order singlestep update from the group's start written out in
 * double; the recorded runs.
 */
class DpmSolverSinglestepSchedulerTest {
    private static final int N = 16;

    @ParameterizedTest
    @ValueSource(strings = {"txt2img_dpmpp_2s", "txt2img_dpmpp_3s", "txt2img_dpmpp_2s_sde"})
    void timestepsMatchTheRecordedRun(String caseName) {
        Path dir = caseDir("sd-tiny", caseName);
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        assertInstanceOf(DpmSolverSinglestepScheduler.class, s);
        s.setTimesteps(numInferenceSteps(dir));
        assertArrayEquals(recordedTimesteps(dir), s.timesteps(), 0.0);
    }

    /**
     * get_order_list: [1, 2] or [1, 2, 3] repeated; lower_order_final (forced with a zero final sigma) lowers the
     * tail; the last step is first order with a zero final sigma.
     */
    @ParameterizedTest
    @CsvSource({
        "2,4,zero,1 2 1 1",
        "2,5,zero,1 2 1 2 1",
        "3,6,zero,1 2 3 1 2 1",
        "3,7,zero,1 2 3 1 2 3 1",
        "3,8,zero,1 2 3 1 2 3 1 1",
        "2,4,sigma_min,1 2 1 2",
        "3,6,sigma_min,1 2 3 1 2 3"
    })
    void ordersFollowDiffusersOrderList(int order, int steps, String finalSigma, String expected) {
        DpmSolverSinglestepScheduler s = new DpmSolverSinglestepScheduler(
                sdConfig("DPMSolverSinglestepScheduler", "solver_order", order, "final_sigmas_type", finalSigma));
        s.setTimesteps(steps);
        int[] want =
                Arrays.stream(expected.split(" ")).mapToInt(Integer::parseInt).toArray();
        assertArrayEquals(want, s.orderList());
    }

    /**
     * Step 1 is DDIM from s0 to s1; step 2 (order 2) goes from s0 to s2 with the outputs at s0 and s1:
     * x = (sigma_2/sigma_0) x_0 - alpha_2 (e^-h - 1) (m0 + (m1 - m0) / (2 r)), h = lambda_2 - lambda_0,
     * r = (lambda_1 - lambda_0) / h (midpoint).
     */
    @Test
    void theSecondStepCompletesTheGroupFromItsStart() {
        DpmSolverSinglestepScheduler s = new DpmSolverSinglestepScheduler(sdConfig("DPMSolverSinglestepScheduler"));
        s.setTimesteps(4);
        double[] sig = s.sigmas();
        Vp v0 = Vp.of(sig[0]);
        Vp v1 = Vp.of(sig[1]);
        Vp v2 = Vp.of(sig[2]);
        Tensor x = random(1, N);
        Tensor eps0 = random(2, N);
        Tensor eps1 = random(3, N);
        Tensor x1 = s.step(eps0, s.timesteps()[0], x, noDraws());
        Tensor x2 = s.step(eps1, s.timesteps()[1], x1, noDraws());
        double h = v2.lambda() - v0.lambda();
        double r = (v1.lambda() - v0.lambda()) / h;
        double[] want1 = new double[N];
        double[] want2 = new double[N];
        for (int i = 0; i < N; i++) {
            double m0 = (x.data()[i] - v0.sigma() * eps0.data()[i]) / v0.alpha();
            double e0 = (x.data()[i] - v0.alpha() * m0) / v0.sigma();
            want1[i] = v1.alpha() * m0 + v1.sigma() * e0;
            double m1 = (x1.data()[i] - v1.sigma() * eps1.data()[i]) / v1.alpha();
            want2[i] = v2.sigma() / v0.sigma() * x.data()[i] - v2.alpha() * Math.expm1(-h) * (m0 + (m1 - m0) / (2 * r));
        }
        assertElements(want1, x1, 2e-5, "DDIM");
        assertElements(want2, x2, 2e-5, "singlestep order 2");
    }

    @Test
    void namesAndRefusals() {
        assertInstanceOf(DpmSolverSinglestepScheduler.class, Schedulers.create("dpmpp_2s", sdConfig("PNDMScheduler")));
        assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(sdConfig("DPMSolverSinglestepScheduler", "algorithm_type", "sde-dpmsolver")));
        assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(sdConfig(
                        "DPMSolverSinglestepScheduler",
                        "algorithm_type",
                        "dpmsolver",
                        "final_sigmas_type",
                        "sigma_min",
                        "thresholding",
                        true)),
                "diffusers' dpmsolver thresholding is broken");
        // the singlestep class has no timestep_spacing: a leading config still gets the linspace timesteps
        Scheduler s = Schedulers.create("dpmpp_2s", sdConfig("DDIMScheduler", "timestep_spacing", "leading"));
        s.setTimesteps(4);
        assertArrayEquals(new double[] {999, 749, 500, 250}, s.timesteps(), 0.0);
    }
}

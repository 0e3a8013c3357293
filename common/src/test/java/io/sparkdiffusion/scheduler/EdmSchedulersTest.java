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
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The EDM schedulers (Karras et al. 2022, Table 1) from their definitions: the Karras ramp between sigma_max and
 * sigma_min with rho, {@code c_noise = ln(sigma) / 4} as the timesteps, {@code c_in} scaling, the preconditioned
 * denoiser {@code D = c_skip x + c_out F} in Euler's step, and DPM-Solver++ with {@code alpha_t = 1}; the recorded
 * runs (sd-tiny, and Playground v2.5's arrangement on the SDXL fixture).
 */
class EdmSchedulersTest {
    private static final int N = 16;

    @ParameterizedTest
    @CsvSource({
        "sd-tiny,txt2img_edm_euler,EdmEulerScheduler",
        "sd-tiny,txt2img_edm_dpmpp_2m,EdmDpmSolverMultistepScheduler",
        "playground-v25-tiny,playground_v25,EdmDpmSolverMultistepScheduler"
    })
    void timestepsMatchTheRecordedRun(String model, String caseName, String javaClass) {
        Path dir = caseDir(model, caseName);
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        assertEquals(javaClass, s.getClass().getSimpleName());
        s.setTimesteps(numInferenceSteps(dir));
        assertArrayEquals(recordedTimesteps(dir), s.timesteps(), 1e-6);
    }

    @Test
    void playgroundV25FolderIsTheEdmSchedulerWithItsVaeStatistics() {
        Path folder = Fixtures.fixture("playground-v25-tiny");
        Scheduler s = Schedulers.create(JsonConfig.read(folder.resolve("scheduler/scheduler_config.json")));
        assertInstanceOf(EdmDpmSolverMultistepScheduler.class, s);
        assertEquals(Math.sqrt(80.0 * 80.0 + 1), s.initNoiseSigma(), 1e-9);
    }

    /** sigma_i = (max^(1/rho) + i/(n-1) (min^(1/rho) - max^(1/rho)))^rho; the UNet sees ln(sigma) / 4. */
    @Test
    void eulerSigmasAreTheKarrasRampAndTimestepsTheLogSigma() {
        EdmEulerScheduler s = new EdmEulerScheduler(sdConfig("EDMEulerScheduler"));
        s.setTimesteps(5);
        double[] sig = s.sigmas();
        for (int i = 0; i < 5; i++) {
            double root = Math.pow(80, 1 / 7.0) + i / 4.0 * (Math.pow(0.002, 1 / 7.0) - Math.pow(80, 1 / 7.0));
            double want = Math.pow(root, 7);
            assertEquals(want, sig[i], 1e-6 * want, "sigma " + i);
            assertEquals(0.25 * Math.log(want), s.timesteps()[i], 1e-6, "c_noise " + i);
        }
        assertEquals(0.0, sig[5]);
    }

    /** x' = x + (x - D(x)) / sigma (sigma' - sigma), D = c_skip x + c_out F; the input is x c_in. */
    @Test
    void eulerStepUsesThePreconditionedDenoiser() {
        EdmEulerScheduler s = new EdmEulerScheduler(sdConfig("EDMEulerScheduler"));
        s.setTimesteps(4);
        double sigma = s.sigmas()[1];
        double next = s.sigmas()[2];
        Tensor x = random(1, N);
        Tensor f = random(2, N);
        s.step(random(3, N), s.timesteps()[0], x, noDraws());
        Tensor scaled = s.scaleModelInput(x, s.timesteps()[1]);
        Tensor prev = s.step(f, s.timesteps()[1], x, noDraws());
        double cSkip = 0.25 / (sigma * sigma + 0.25);
        double cOut = sigma * 0.5 / Math.sqrt(sigma * sigma + 0.25);
        double cIn = 1 / Math.sqrt(sigma * sigma + 0.25);
        double[] want = new double[N];
        double[] wantIn = new double[N];
        for (int i = 0; i < N; i++) {
            double xi = x.data()[i];
            double d = cSkip * xi + cOut * f.data()[i];
            want[i] = xi + (xi - d) / sigma * (next - sigma);
            wantIn[i] = xi * cIn;
        }
        assertElements(want, prev, 2e-5, "EDM Euler step");
        assertElements(wantIn, scaled, 2e-5, "c_in");
    }

    /** With alpha_t = 1 and lambda = -ln sigma, DPM-Solver-1 is x' = (sigma'/sigma) x + (1 - sigma'/sigma) D(x). */
    @Test
    void dpmSolverFirstStepWithUnitAlpha() {
        EdmDpmSolverMultistepScheduler s =
                new EdmDpmSolverMultistepScheduler(sdConfig("EDMDPMSolverMultistepScheduler"));
        s.setTimesteps(4);
        double sigma = s.sigmas()[0];
        double next = s.sigmas()[1];
        Tensor x = random(4, N);
        Tensor f = random(5, N);
        Tensor prev = s.step(f, s.timesteps()[0], x, noDraws());
        double cSkip = 0.25 / (sigma * sigma + 0.25);
        double cOut = sigma * 0.5 / Math.sqrt(sigma * sigma + 0.25);
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            double xi = x.data()[i];
            double d = cSkip * xi + cOut * f.data()[i];
            want[i] = next / sigma * xi + (1 - next / sigma) * d;
        }
        assertElements(want, prev, 2e-5, "EDM DPM-Solver-1");
        Tensor noisy = s.addNoise(x, f, s.timesteps()[0]);
        double[] wantNoisy = new double[N];
        for (int i = 0; i < N; i++) {
            wantNoisy[i] = x.data()[i] + sigma * f.data()[i];
        }
        assertElements(wantNoisy, noisy, 2e-5, "x + sigma noise");
    }

    @Test
    void namesAndRefusals() {
        assertInstanceOf(EdmEulerScheduler.class, Schedulers.create("edm_euler", sdConfig("PNDMScheduler")));
        assertInstanceOf(
                EdmDpmSolverMultistepScheduler.class, Schedulers.create("edm_dpmpp_2m", sdConfig("PNDMScheduler")));
        assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(sdConfig("EDMEulerScheduler", "prediction_type", "sample")));
        assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(sdConfig("EDMDPMSolverMultistepScheduler", "algorithm_type", "dpmsolver")));
        assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(sdConfig(
                        "EDMDPMSolverMultistepScheduler", "algorithm_type", "sde-dpmsolver++", "solver_order", 3)));
        Scheduler s = Schedulers.create("edm_euler", sdConfig("PNDMScheduler"));
        assertThrows(IllegalArgumentException.class, () -> s.setSigmas(new double[] {1, 0.5, 0}));
    }
}

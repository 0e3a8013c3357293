package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.assertElements;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.constant;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.noDraws;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.numInferenceSteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.random;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.recordedTimesteps;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.runLoop;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.schedulerConfig;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdAlphasCumprod;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparkdiffusion.scheduler.SchedulerTestSupport.CountingNoise;
import io.sparkdiffusion.tensor.Tensor;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * TCD (arXiv:2402.19159, Algorithm 4) and iPNDM (arXiv:2204.13902) from their definitions in double, and their
 * recorded runs.
 */
class TcdAndIpndmSchedulerTest {
    private static final int N = 16;
    private static final long[] SHAPE = {1, 1, 1, N};

    @ParameterizedTest
    @CsvSource({"txt2img_tcd,TcdScheduler", "txt2img_ipndm,IpndmScheduler"})
    void timestepsMatchTheRecordedRun(String caseName, String javaClass) {
        Path dir = caseDir("sd-tiny", caseName);
        Scheduler s = Schedulers.create(schedulerConfig(dir));
        assertEquals(javaClass, s.getClass().getSimpleName());
        s.setTimesteps(numInferenceSteps(dir));
        assertArrayEquals(recordedTimesteps(dir), s.timesteps(), 1e-6);
    }

    /**
     * gamma = eta: x_s = sqrt(abar_s) x0 + sqrt(1 - abar_s) eps at s = floor((1 - gamma) t_prev), then
     * x_prev = sqrt(abar_prev / abar_s) x_s + sqrt(1 - abar_prev / abar_s) z; gamma = 0 is DDIM, without a draw.
     */
    @Test
    void tcdMovesToTheIntermediateTimestepThenRenoises() {
        double[] abar = sdAlphasCumprod();
        TcdScheduler s = new TcdScheduler(sdConfig("TCDScheduler"));
        s.setTimesteps(4);
        double[] ts = s.timesteps();
        int t = (int) ts[1];
        int prev = (int) ts[2];
        Tensor x = random(1, N);
        Tensor eps = random(2, N);
        Tensor z = random(3, N);
        s.step(eps, ts[0], x, noDraws());
        Tensor ddim = s.step(eps, ts[1], x, noDraws());
        TcdScheduler g = new TcdScheduler(sdConfig("TCDScheduler")).eta(0.3);
        g.setTimesteps(4);
        g.step(eps, ts[0], x, constant(z));
        Tensor stochastic = g.step(eps, ts[1], x, constant(z));
        int sIdx = (int) Math.floor(0.7 * prev);
        double[] wantDdim = new double[N];
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            double x0 = (x.data()[i] - Math.sqrt(1 - abar[t]) * eps.data()[i]) / Math.sqrt(abar[t]);
            wantDdim[i] = Math.sqrt(abar[prev]) * x0 + Math.sqrt(1 - abar[prev]) * eps.data()[i];
            double xs = Math.sqrt(abar[sIdx]) * x0 + Math.sqrt(1 - abar[sIdx]) * eps.data()[i];
            want[i] = Math.sqrt(abar[prev] / abar[sIdx]) * xs + Math.sqrt(1 - abar[prev] / abar[sIdx]) * z.data()[i];
        }
        assertElements(wantDdim, ddim, 1e-4, "gamma 0");
        assertElements(want, stochastic, 1e-4, "gamma 0.3");
        CountingNoise counting = new CountingNoise();
        TcdScheduler loop = new TcdScheduler(sdConfig("TCDScheduler")).eta(0.3);
        loop.setTimesteps(4);
        runLoop(loop, SHAPE, 0, counting);
        assertEquals(3, counting.draws, "no draw on the last step");
        assertThrows(IllegalArgumentException.class, () -> loop.eta(1.5));
        assertInstanceOf(TcdScheduler.class, Schedulers.create("tcd", sdConfig("LCMScheduler")));
    }

    /** beta_i = sin(pi/2 s_i)^2, alpha_i = sqrt(1 - beta_i^2), t_i = atan2(beta_i, alpha_i) 2/pi, s = 1 - i/n. */
    @Test
    void ipndmScheduleAndFirstStep() {
        IpndmScheduler s = new IpndmScheduler(sdConfig("IPNDMScheduler"));
        s.setTimesteps(4);
        double[] beta = new double[5];
        double[] alpha = new double[5];
        for (int i = 0; i <= 4; i++) {
            double sin = Math.sin(Math.PI / 2 * (1 - i / 4.0));
            beta[i] = sin * sin;
            alpha[i] = Math.sqrt(1 - beta[i] * beta[i]);
            if (i < 4) {
                assertEquals(Math.atan2(beta[i], alpha[i]) * 2 / Math.PI, s.timesteps()[i], 1e-6, "timestep " + i);
            }
        }
        Tensor x = random(4, N);
        Tensor out = random(5, N);
        Tensor prev = s.step(out, s.timesteps()[0], x, noDraws());
        double[] want = new double[N];
        for (int i = 0; i < N; i++) {
            double e = x.data()[i] * beta[0] + out.data()[i] * alpha[0];
            double pred = (x.data()[i] - beta[0] * e) / Math.max(alpha[0], 1e-8);
            want[i] = alpha[1] * pred + e * beta[1];
        }
        assertElements(want, prev, 1e-4, "iPNDM first step");
        assertThrows(IllegalArgumentException.class, () -> s.addNoise(x, out, s.timesteps()[0]));
        assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(sdConfig("IPNDMScheduler", "trained_betas", new double[] {0.1, 0.2})));
        assertInstanceOf(IpndmScheduler.class, Schedulers.create("ipndm", sdConfig("PNDMScheduler")));
    }
}

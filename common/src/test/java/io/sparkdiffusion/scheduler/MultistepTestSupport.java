package io.sparkdiffusion.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;
import java.util.Random;

/**
 * Shared by the DPM-Solver and UniPC tests: the recorded sd-tiny cases, SD's noise schedule recomputed in double
 * from its definition, the VP quantities of a sigma written out from the paper's definitions, and small tensors.
 */
final class MultistepTestSupport {
    private MultistepTestSupport() {
    }

    static Path caseDir(String caseName) {
        return Fixtures.fixture("sd-tiny/cases/" + caseName);
    }

    static JsonConfig caseJson(String caseName) {
        return JsonConfig.read(caseDir(caseName).resolve("case.json"));
    }

    /** The case's full scheduler config (with {@code _class_name}). */
    static JsonConfig schedulerConfig(String caseName) {
        return caseJson(caseName).getObject("scheduler");
    }

    static double[] recordedTimesteps(String caseName) {
        float[] d = Fixtures.npy(caseDir(caseName).resolve("timesteps.npy")).data();
        double[] out = new double[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = d[i];
        }
        return out;
    }

    /** A Stable Diffusion style scheduler config (scaled_linear 0.00085..0.012, 1000 steps) plus overrides. */
    static JsonConfig sdConfig(String className, Object... keyValues) {
        JsonConfig c = JsonConfig.parse("{\"_class_name\":\"" + className + "\",\"num_train_timesteps\":1000,"
                + "\"beta_start\":0.00085,\"beta_end\":0.012,\"beta_schedule\":\"scaled_linear\",\"steps_offset\":1}",
                "test");
        for (int i = 0; i < keyValues.length; i += 2) {
            c = c.with((String) keyValues[i], keyValues[i + 1]);
        }
        return c;
    }

    /** {@code abar_t} of SD's scaled_linear schedule, in double: betas = linspace(sqrt(b0), sqrt(b1), T)^2. */
    static double[] sdAlphasCumprod() {
        int n = 1000;
        double lo = Math.sqrt(0.00085);
        double hi = Math.sqrt(0.012);
        double[] abar = new double[n];
        double prod = 1;
        for (int i = 0; i < n; i++) {
            double b = lo + (hi - lo) * i / (n - 1);
            prod *= 1 - b * b;
            abar[i] = prod;
        }
        return abar;
    }

    /** VP: {@code alpha = 1/sqrt(1+sigma^2)}, {@code sigma_t = sigma alpha}, {@code lambda = log(alpha/sigma_t)}. */
    record Vp(double alpha, double sigma, double lambda) {
        static Vp of(double kSigma) {
            double a = 1 / Math.sqrt(1 + kSigma * kSigma);
            double s = kSigma * a;
            return new Vp(a, s, Math.log(a / s));
        }
    }

    static Tensor random(long seed, int n) {
        Random r = new Random(seed);
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = (float) r.nextGaussian();
        }
        return new Tensor(new long[] {1, 1, 1, n}, d);
    }

    /** Asserts every element against an expected value computed in double, within a relative tolerance. */
    static void assertElements(double[] expected, Tensor actual, double relTol, String what) {
        float[] a = actual.data();
        assertEquals(expected.length, a.length, what + ": size");
        for (int i = 0; i < a.length; i++) {
            assertEquals(expected[i], a[i], relTol * Math.max(1, Math.abs(expected[i])), what + " [" + i + "]");
        }
    }
}

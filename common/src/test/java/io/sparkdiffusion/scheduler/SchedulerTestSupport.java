package io.sparkdiffusion.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * Shared by the scheduler tests: the recorded cases under {@code testdata/fixtures/<model>/cases/} (located through
 * {@link Fixtures}), Stable Diffusion style configs, the training schedule (alphas_cumprod, sigmas) recomputed
 * independently in double from its definition for hand checks, the VP quantities of a sigma, deterministic tensors
 * and noise sources.
 */
final class SchedulerTestSupport {
    private SchedulerTestSupport() {}

    // ---- recorded cases ----

    /** {@code testdata/fixtures/<model>/cases/<caseName>}; {@code model} may be nested ({@code digits/digits-ddpm}). */
    static Path caseDir(String model, String caseName) {
        return Fixtures.fixture(model).resolve("cases").resolve(caseName);
    }

    static JsonConfig caseJson(Path caseDir) {
        return JsonConfig.read(caseDir.resolve("case.json"));
    }

    /** The case's full scheduler config (with {@code _class_name}). */
    static JsonConfig schedulerConfig(Path caseDir) {
        return caseJson(caseDir).getObject("scheduler");
    }

    static int numInferenceSteps(Path caseDir) {
        return caseJson(caseDir).node().get("num_inference_steps").asInt();
    }

    /** Shapes of every recorded Gaussian draw, in order. */
    static long[][] noiseDraws(Path caseDir) {
        JsonNode draws = caseJson(caseDir).node().get("noise_draws");
        long[][] out = new long[draws.size()][];
        for (int i = 0; i < out.length; i++) {
            JsonNode s = draws.get(i);
            out[i] = new long[s.size()];
            for (int k = 0; k < s.size(); k++) {
                out[i][k] = s.get(k).asLong();
            }
        }
        return out;
    }

    static Tensor npy(Path caseDir, String name) {
        return Fixtures.npy(caseDir.resolve(name));
    }

    /** The case's recorded {@code timesteps.npy}, widened to double. */
    static double[] recordedTimesteps(Path caseDir) {
        return asDoubles(npy(caseDir, "timesteps.npy"));
    }

    static double[] asDoubles(Tensor t) {
        float[] d = t.data();
        double[] out = new double[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = d[i];
        }
        return out;
    }

    // ---- configs ----

    /**
     * A Stable Diffusion style scheduler config (scaled_linear 0.00085..0.012 over 1000 steps, epsilon prediction,
     * steps_offset 1) plus {@code key, value} overrides, e.g. {@code "timestep_spacing", "leading"}.
     */
    static JsonConfig sdConfig(String className, Object... keyValues) {
        if (keyValues.length % 2 != 0) {
            throw new IllegalArgumentException("overrides come in key, value pairs: " + Arrays.toString(keyValues));
        }
        JsonConfig c = JsonConfig.parse(
                "{\"_class_name\":\"" + className + "\",\"num_train_timesteps\":1000,"
                        + "\"beta_start\":0.00085,\"beta_end\":0.012,\"beta_schedule\":\"scaled_linear\","
                        + "\"prediction_type\":\"epsilon\",\"steps_offset\":1}",
                "test config");
        for (int i = 0; i < keyValues.length; i += 2) {
            c = c.with((String) keyValues[i], keyValues[i + 1]);
        }
        return c;
    }

    /**
     * A recorded config with {@code key, value} overrides passed as diffusers' {@code from_config} keyword arguments
     * do: they win over the config's {@code _use_default_values} (a plain {@link JsonConfig#with} of a key listed
     * there is dropped, as diffusers drops it).
     */
    static JsonConfig override(JsonConfig config, Object... keyValues) {
        JsonConfig c = config;
        for (int i = 0; i < keyValues.length; i += 2) {
            c = SchedulerConfig.override(c, (String) keyValues[i], keyValues[i + 1]);
        }
        return c;
    }

    // ---- the training schedule, in double ----

    /**
     * {@code abar_t = prod_{s<=t}(1 - beta_s)} for t = 0..n-1, in double, from the definition: {@code linear} betas =
     * linspace(start, end, n), {@code scaled_linear} betas = linspace(sqrt(start), sqrt(end), n)^2. An independent
     * reference: the schedulers' float32 rounding makes them differ by ~1e-6 relative.
     */
    static double[] alphasCumprod(String betaSchedule, double betaStart, double betaEnd, int n) {
        double[] betas = switch (betaSchedule) {
            case "linear" -> linspace(betaStart, betaEnd, n);
            case "scaled_linear" -> {
                double[] r = linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), n);
                for (int i = 0; i < n; i++) {
                    r[i] *= r[i];
                }
                yield r;
            }
            default -> throw new IllegalArgumentException(betaSchedule);
        };
        double[] out = new double[n];
        double prod = 1;
        for (int i = 0; i < n; i++) {
            prod *= 1 - betas[i];
            out[i] = prod;
        }
        return out;
    }

    /** numpy's {@code linspace(lo, hi, n)}: {@code lo + i * step}, the last point exactly {@code hi}. */
    private static double[] linspace(double lo, double hi, int n) {
        double[] out = new double[n];
        double step = (hi - lo) / (n - 1);
        for (int i = 0; i < n; i++) {
            out[i] = lo + i * step;
        }
        out[n - 1] = hi;
        return out;
    }

    /** The Stable Diffusion schedule (scaled_linear 0.00085..0.012, 1000 steps). */
    static double[] sdAlphasCumprod() {
        return alphasCumprod("scaled_linear", 0.00085, 0.012, 1000);
    }

    /** The DDPM default schedule (linear 0.0001..0.02, 1000 steps). */
    static double[] ddpmAlphasCumprod() {
        return alphasCumprod("linear", 0.0001, 0.02, 1000);
    }

    /** Training sigmas {@code sqrt((1 - abar_t) / abar_t)} of a scaled_linear schedule, from {@link #alphasCumprod}. */
    static double[] scaledLinearSigmas(double start, double end, int n) {
        double[] abar = alphasCumprod("scaled_linear", start, end, n);
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = Math.sqrt((1 - abar[i]) / abar[i]);
        }
        return s;
    }

    /** Linear interpolation of training sigmas at a fractional timestep. */
    static double sigmaAt(double[] train, double t) {
        int lo = (int) Math.floor(t);
        if (lo >= train.length - 1) {
            return train[train.length - 1];
        }
        return train[lo] + (t - lo) * (train[lo + 1] - train[lo]);
    }

    /** VP: {@code alpha = 1/sqrt(1+sigma^2)}, {@code sigma_t = sigma alpha}, {@code lambda = log(alpha/sigma_t)}. */
    record Vp(double alpha, double sigma, double lambda) {
        static Vp of(double kSigma) {
            double a = 1 / Math.sqrt(1 + kSigma * kSigma);
            double s = kSigma * a;
            return new Vp(a, s, Math.log(a / s));
        }
    }

    // ---- tensors ----

    /** A tensor of this shape filled with a smooth deterministic pattern in roughly [-1.5, 1.5]. */
    static Tensor pattern(long[] shape, double phase) {
        float[] d = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (1.5 * Math.sin(0.37 * i + phase));
        }
        return new Tensor(shape, d);
    }

    /** {@code n} seeded standard normals, shaped {@code [1, 1, 1, n]}. */
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

    // ---- noise sources ----

    /** A noise source that fails the test when asked: the step under test must not draw. */
    static NoiseSource noDraws() {
        return shape -> {
            throw new AssertionError("unexpected noise draw");
        };
    }

    /** A noise source that always returns (a copy of) {@code z}. */
    static NoiseSource constant(Tensor z) {
        return shape -> z.copy();
    }

    /** Counts the draws and returns a deterministic pattern of the asked shape. */
    static final class CountingNoise implements NoiseSource {
        int draws;
        long[] lastShape;

        @Override
        public Tensor next(long... shape) {
            draws++;
            lastShape = shape.clone();
            return pattern(shape, 100 + draws);
        }

        @Override
        public String toString() {
            return draws + " draws, last " + Arrays.toString(lastShape);
        }
    }

    /**
     * Runs the scheduler's whole loop (scale, a synthetic model output, step) from {@code beginIndex} with the
     * given noise source, and returns the final sample.
     */
    static Tensor runLoop(Scheduler s, long[] shape, int beginIndex, NoiseSource noise) {
        double[] ts = s.timesteps();
        Tensor x = pattern(shape, 0);
        for (int i = beginIndex; i < ts.length; i++) {
            Tensor in = s.scaleModelInput(x, ts[i]);
            Tensor eps = pattern(shape, 1 + i);
            assert in.size() == eps.size();
            x = s.step(eps, ts[i], x, noise);
        }
        return x;
    }
}

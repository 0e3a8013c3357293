package io.sparkdiffusion.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Npy;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;

/**
 * Test support for the sigma-space scheduler tests (Euler, Euler ancestral, LMS): locates
 * {@code testdata/fixtures} (system property {@code project.root}, else the first parent of the working directory
 * holding {@code testdata/}), reads a case's scheduler config and recordings, and recomputes the training sigmas
 * independently (in double, straight from the beta schedule) for hand checks.
 */
final class SigmaSchedulerFixtures {
    private SigmaSchedulerFixtures() {
    }

    static Path root() {
        String prop = System.getProperty("project.root");
        if (prop != null && !prop.isBlank() && Files.isDirectory(Paths.get(prop, "testdata"))) {
            return Paths.get(prop);
        }
        for (Path p = Paths.get("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("testdata"))) {
                return p;
            }
        }
        throw new IllegalStateException("no testdata/ folder above " + Paths.get("").toAbsolutePath());
    }

    static Path caseDir(String model, String caseName) {
        return root().resolve("testdata/fixtures").resolve(model).resolve("cases").resolve(caseName);
    }

    static JsonNode caseJson(Path caseDir) {
        try {
            return JsonConfig.MAPPER.readTree(caseDir.resolve("case.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonConfig schedulerConfig(Path caseDir) {
        return new JsonConfig((ObjectNode) caseJson(caseDir).get("scheduler").deepCopy(), caseDir + "/case.json#scheduler");
    }

    static int numInferenceSteps(Path caseDir) {
        return caseJson(caseDir).get("num_inference_steps").asInt();
    }

    /** Shapes of every recorded Gaussian draw, in order. */
    static long[][] noiseDraws(Path caseDir) {
        JsonNode draws = caseJson(caseDir).get("noise_draws");
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
        try {
            return Npy.read(caseDir.resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static double[] asDoubles(Tensor t) {
        float[] d = t.data();
        double[] out = new double[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = d[i];
        }
        return out;
    }

    static JsonConfig config(String json) {
        return JsonConfig.parse(json, "test config");
    }

    /** SD's scheduled config: scaled_linear 0.00085 .. 0.012 over 1000 steps. */
    static JsonConfig sdConfig(String className, String spacing) {
        return config("{\"_class_name\":\"" + className + "\",\"num_train_timesteps\":1000,\"beta_start\":0.00085,"
                + "\"beta_end\":0.012,\"beta_schedule\":\"scaled_linear\",\"prediction_type\":\"epsilon\","
                + "\"timestep_spacing\":\"" + spacing + "\",\"steps_offset\":1}");
    }

    /**
     * {@code sqrt((1 - abar_t) / abar_t)} for t = 0..T-1 of a scaled_linear schedule, computed in double from the
     * definition (betas = linspace(sqrt(start), sqrt(end))^2, abar = prod(1 - beta)): an independent reference
     * (float32 rounding in the scheduler makes it differ by ~1e-6 relative).
     */
    static double[] scaledLinearSigmas(double start, double end, int n) {
        double[] s = new double[n];
        double a = Math.sqrt(start);
        double b = Math.sqrt(end);
        double prod = 1;
        for (int i = 0; i < n; i++) {
            double sq = a + (b - a) * i / (n - 1);
            prod *= 1 - sq * sq;
            s[i] = Math.sqrt((1 - prod) / prod);
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

    /** A tensor of this shape filled with a smooth deterministic pattern in roughly [-1.5, 1.5]. */
    static Tensor pattern(long[] shape, double phase) {
        float[] d = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (1.5 * Math.sin(0.37 * i + phase));
        }
        return new Tensor(shape, d);
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

    /** A noise source that fails the test when asked: the step under test must not draw. */
    static NoiseSource noDraws() {
        return shape -> {
            throw new AssertionError("unexpected noise draw");
        };
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

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

/**
 * Test support for the DDPM / PNDM / LCM scheduler tests: locates {@code testdata/fixtures} (system property
 * {@code project.root}, else the first parent of the working directory holding {@code testdata/}), reads a case's
 * scheduler config and recordings, and computes the training schedule independently, in double, for hand checks.
 */
final class DdpmPndmLcmFixtures {
    private DdpmPndmLcmFixtures() {
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
        return new JsonConfig((ObjectNode) caseJson(caseDir).get("scheduler"), caseDir + "/case.json#scheduler");
    }

    static int numInferenceSteps(Path caseDir) {
        return caseJson(caseDir).get("num_inference_steps").asInt();
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

    /** A noise source that fails the test when asked: the step under test must not draw. */
    static NoiseSource noDraws() {
        return shape -> {
            throw new AssertionError("unexpected noise draw");
        };
    }

    /** A noise source that always returns {@code z}. */
    static NoiseSource constant(Tensor z) {
        return shape -> z.copy();
    }

    /** alphas_cumprod in double: linear or scaled_linear betas, cumulative product. */
    static double[] alphasCumprod(String betaSchedule, double betaStart, double betaEnd, int n) {
        double[] out = new double[n];
        double prod = 1;
        for (int i = 0; i < n; i++) {
            double frac = (double) i / (n - 1);
            double beta = switch (betaSchedule) {
                case "linear" -> betaStart + frac * (betaEnd - betaStart);
                case "scaled_linear" -> {
                    double s = Math.sqrt(betaStart) + frac * (Math.sqrt(betaEnd) - Math.sqrt(betaStart));
                    yield s * s;
                }
                default -> throw new IllegalArgumentException(betaSchedule);
            };
            prod *= 1 - beta;
            out[i] = prod;
        }
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
}

package io.sparkdiffusion.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.noise.ReplayNoise;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.JsonConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Replays the scheduler-only diffusers runs of {@code testdata/fixtures/schedulers} (recorded by
 * {@code tools/export/export_onnx.py --scheduler-traces}): what a pipeline case cannot carry, custom timesteps and
 * sigmas ({@link Schedulers#retrieveTimesteps}), TCD's eta, learned variances, thresholding of the noise-prediction
 * solvers, the EDM variants. The same synthetic model, {@code x_in (0.9 - 0.0002 t) + pattern}, the recorded draws;
 * every step's sample within the fixtures' latent tolerance.
 */
class SchedulerTraceTest {
    private static final double LATENT_TOL = 1e-3;

    static Stream<String> traces() throws IOException {
        try (Stream<Path> dirs = Files.list(Fixtures.fixture("schedulers"))) {
            List<String> names = dirs.filter(d -> Files.isRegularFile(d.resolve("trace.json")))
                    .map(d -> d.getFileName().toString())
                    .sorted()
                    .toList();
            assertTrue(names.size() >= 15, "traces: " + names);
            return names.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("traces")
    void replaysDiffusers(String name) throws IOException {
        Path dir = Fixtures.fixture("schedulers").resolve(name);
        JsonConfig trace = JsonConfig.read(dir.resolve("trace.json"));
        Scheduler s = Schedulers.create(trace.getObject("scheduler"));
        JsonConfig call = trace.getObject("set_timesteps");
        int steps = Schedulers.retrieveTimesteps(
                s,
                call.getInt("num_inference_steps", 0),
                call.getDoubleArray("timesteps"),
                call.getDoubleArray("sigmas"));
        JsonConfig stepArgs = trace.getObject("step");
        if (stepArgs.has("eta")) {
            ((TcdScheduler) s).eta(stepArgs.getDouble("eta", 0));
        }
        double[] expected = trace.getDoubleArray("timesteps");
        double[] actual = s.timesteps();
        assertEquals(expected.length, actual.length, name + ": timesteps " + Arrays.toString(actual));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-4 * Math.max(1, Math.abs(expected[i])), name + ": timestep " + i);
        }
        assertTrue(steps > 0);
        double init = trace.getDouble("init_noise_sigma", 0);
        assertEquals(init, s.initNoiseSigma(), 1e-5 * Math.max(1, init), name + ": init_noise_sigma");

        Tensor pattern = Fixtures.npy(dir.resolve("pattern.npy"));
        Path varianceFile = dir.resolve("variance.npy");
        Tensor variance = Files.isRegularFile(varianceFile) ? Fixtures.npy(varianceFile) : null;
        Tensor samples = Fixtures.npy(dir.resolve("samples.npy"));
        ReplayNoise noise = ReplayNoise.fromCaseDir(dir);
        Tensor x = Fixtures.npy(dir.resolve("sample_000.npy"));
        for (int i = 0; i < actual.length; i++) {
            double t = actual[i];
            Tensor in = s.scaleModelInput(x, t);
            Tensor out = model(in, t, pattern, variance);
            x = s.step(out, t, x, noise);
            Tensor want = Tensors.sliceBatch(samples, i, i + 1).reshape(x.shape());
            double d = Tensors.maxAbsDiff(x, want);
            assertTrue(d <= LATENT_TOL, name + ": step " + i + " differs by " + d);
        }
        assertEquals(noise.recorded(), noise.consumed(), name + ": noise draws");
        JsonNode draws = trace.node().get("noise_draws");
        assertEquals(draws.size(), noise.recorded());
    }

    /** The traces' synthetic model: {@code x_in (0.9 - 0.0002 t) + pattern}, then the variance channels if any. */
    private static Tensor model(Tensor in, double t, Tensor pattern, Tensor variance) {
        float c = (float) (0.9 - 0.0002 * t);
        float[] x = in.data();
        float[] p = pattern.data();
        float[] out = new float[x.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = x[i] * c + p[i];
        }
        Tensor eps = new Tensor(in.shape(), out);
        return variance == null ? eps : Tensors.concatChannels(eps, variance);
    }
}

package io.sparkdiffusion.cli;

import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.pipeline.ImagePipeline;
import io.sparkdiffusion.pipeline.ImageRequest;
import io.sparkdiffusion.pipeline.Pipelines;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bench}: a harness that prints figures (no assertions). Splits the wall time of generation into ONNX
 * Runtime {@code run()} time per component and everything else (scheduler, tokenizer, tensor copies, PNG-free),
 * and prints the ratio total / sum(run): 1.00 means the Java side costs nothing.
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Measures images/s and where the time goes (ONNX Runtime run() per component vs the rest).")
final class BenchCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Model folder. Default: models/digits-t2i.")
    Path model;

    @Option(
            names = "--steps",
            paramLabel = "N",
            defaultValue = "20",
            description = "Denoising steps. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(
            names = "--batch",
            paramLabel = "B",
            defaultValue = "8",
            description = "Rows per batch. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(
            names = "--guidance",
            paramLabel = "G",
            defaultValue = "3",
            description = "Guidance scale. Default: ${DEFAULT-VALUE}.")
    double guidance;

    @Option(
            names = "--iterations",
            paramLabel = "N",
            defaultValue = "5",
            description = "Timed batches. Default: ${DEFAULT-VALUE}.")
    int iterations;

    @Option(
            names = "--warmup",
            paramLabel = "N",
            defaultValue = "2",
            description = "Untimed batches first. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(
            names = "--prompt",
            paramLabel = "TEXT",
            defaultValue = "a handwritten digit three",
            description = "Prompt for text models. Default: ${DEFAULT-VALUE}.")
    String prompt;

    @Mixin
    RuntimeMixin runtime;

    @Override
    public Integer call() {
        if (steps <= 0 || batch <= 0 || iterations <= 0 || warmup < 0) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--steps, --batch and --iterations must be positive, --warmup >= 0");
        }
        PrintWriter out = spec.commandLine().getOut();
        Path modelDir = model != null ? model : ProjectHome.defaultModel();
        try (ImagePipeline pipeline = Pipelines.openImage(modelDir, runtime.options(spec.commandLine()))) {
            long seed = 0;
            for (int i = 0; i < warmup; i++) {
                runBatch(pipeline, seed);
                seed += batch;
            }
            Map<String, OnnxModel.RunStats> before = pipeline.runStats();
            long t0 = System.nanoTime();
            for (int i = 0; i < iterations; i++) {
                runBatch(pipeline, seed);
                seed += batch;
            }
            long total = System.nanoTime() - t0;
            long runSum = 0;
            Map<String, long[]> byComponent = new TreeMap<>();
            for (Map.Entry<String, OnnxModel.RunStats> e : pipeline.runStats().entrySet()) {
                OnnxModel.RunStats timed =
                        e.getValue().since(before.getOrDefault(e.getKey(), new OnnxModel.RunStats(0, 0)));
                byComponent.put(e.getKey(), new long[] {timed.nanos(), timed.calls()});
                runSum += timed.nanos();
            }
            int images = iterations * batch;
            out.printf("model        %s (%s)%n", modelDir, pipeline.info().pipelineClass());
            out.printf(
                    "settings     %d steps, batch %d, guidance %s, %d timed batches, runtime %s%n",
                    steps, batch, guidance, iterations, runtime.options(spec.commandLine()));
            out.printf("images/s     %.2f%n", images / (total / 1e9));
            out.printf("total        %10.1f ms%n", total / 1e6);
            for (Map.Entry<String, long[]> e : byComponent.entrySet()) {
                out.printf(
                        "  run %-14s %10.1f ms  (%d calls, %.2f ms/call)%n",
                        e.getKey(),
                        e.getValue()[0] / 1e6,
                        e.getValue()[1],
                        e.getValue()[1] == 0 ? 0 : e.getValue()[0] / 1e6 / e.getValue()[1]);
            }
            out.printf("  other          %10.1f ms%n", (total - runSum) / 1e6);
            out.printf("ratio total / sum(run) = %.3f%n", (double) total / runSum);
        }
        return 0;
    }

    private void runBatch(ImagePipeline pipeline, long firstSeed) {
        ImageRequest.Builder b = ImageRequest.builder().steps(steps).guidanceScale(guidance);
        if (pipeline.info().takesPrompt()) {
            b.prompts(Collections.nCopies(batch, prompt));
        } else {
            b.rows(batch);
        }
        long[] seeds = new long[batch];
        for (int i = 0; i < batch; i++) {
            seeds[i] = firstSeed + i;
        }
        pipeline.generate(b.build(), new SeededNoise(seeds));
    }
}

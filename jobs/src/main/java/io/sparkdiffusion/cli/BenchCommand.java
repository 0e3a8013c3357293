package io.sparkdiffusion.cli;

import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.pipeline.ImagePipeline;
import io.sparkdiffusion.pipeline.ImageRequest;
import io.sparkdiffusion.pipeline.Pipelines;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bench}: a harness that prints figures (no assertions): the pipeline's load time, the process's peak
 * resident memory, images/s, ONNX Runtime {@code run()} calls per image and time per component against everything
 * else (scheduler, tokenizer, tensor copies; no PNG encoding), and the ratio total / sum(run): 1.00 means the Java
 * side costs nothing. The same figures on CPU and CUDA ({@code --provider cuda}).
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
            description = "Untimed batches first. Default: ${DEFAULT-VALUE}. For the steady state of a long-running"
                    + " executor, warm up until the JVM's heap has grown: its first use of each new page costs a"
                    + " page fault (sd-tiny: about 2000 images; docs/performance.md).")
    int warmup;

    @Option(
            names = "--prompt",
            paramLabel = "TEXT",
            defaultValue = "a handwritten digit three",
            description = "Prompt for text models. Default: ${DEFAULT-VALUE}.")
    String prompt;

    @Option(
            names = "--distinct-prompts",
            description = "A different prompt per row (the prompt and the row's seed), so that no call finds its"
                    + " prompts in the pipeline's embedding cache.")
    boolean distinctPrompts;

    @Option(
            names = "--scheduler",
            paramLabel = "NAME",
            description = "Scheduler (euler_a, lms, ...). Default: the model's.")
    String scheduler;

    @Option(names = "--size", paramLabel = "PX", description = "Width and height. Default: the model's.")
    Integer size;

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
        RuntimeOptions options = runtime.options(spec.commandLine());
        long t0 = System.nanoTime();
        try (ImagePipeline pipeline = Pipelines.openImage(modelDir, options)) {
            double load = (System.nanoTime() - t0) / 1e9;
            long seed = 0;
            long w0 = System.nanoTime();
            for (int i = 0; i < warmup; i++) {
                runBatch(pipeline, seed);
                seed += batch;
            }
            double firstBatches = (System.nanoTime() - w0) / 1e9;
            Map<String, OnnxModel.RunStats> before = pipeline.runStats();
            long allocated0 = allocatedBytes();
            long t1 = System.nanoTime();
            for (int i = 0; i < iterations; i++) {
                runBatch(pipeline, seed);
                seed += batch;
            }
            long total = System.nanoTime() - t1;
            long allocated = allocatedBytes() - allocated0;
            long runSum = 0;
            Map<String, OnnxModel.RunStats> timed = new TreeMap<>();
            for (Map.Entry<String, OnnxModel.RunStats> e : pipeline.runStats().entrySet()) {
                OnnxModel.RunStats s =
                        e.getValue().since(before.getOrDefault(e.getKey(), new OnnxModel.RunStats(0, 0)));
                timed.put(e.getKey(), s);
                runSum += s.nanos();
            }
            int images = iterations * batch;
            out.printf(
                    Locale.ROOT,
                    "model        %s (%s)%n",
                    modelDir,
                    pipeline.info().pipelineClass());
            out.printf(
                    Locale.ROOT,
                    "settings     %d steps, batch %d, guidance %s, scheduler %s, %d timed batches, runtime %s%n",
                    steps,
                    batch,
                    guidance,
                    scheduler != null ? scheduler : "the model's",
                    iterations,
                    options);
            out.printf(
                    Locale.ROOT,
                    "load         %.2f s (pipeline open); %d warm-up batches %.2f s; process up %.2f s%n",
                    load,
                    warmup,
                    firstBatches,
                    ManagementFactory.getRuntimeMXBean().getUptime() / 1e3);
            out.printf(Locale.ROOT, "peak memory  %s%n", peakMemory());
            out.printf(Locale.ROOT, "images/s     %.2f%n", images / (total / 1e9));
            out.printf(
                    Locale.ROOT,
                    "allocated    %s%n",
                    allocated0 < 0
                            ? "n/a"
                            : String.format(
                                    Locale.ROOT,
                                    "%.1f KB of Java heap per image on this thread",
                                    allocated / 1024.0 / images));
            out.printf(Locale.ROOT, "total        %10.1f ms%n", total / 1e6);
            for (Map.Entry<String, OnnxModel.RunStats> e : timed.entrySet()) {
                OnnxModel.RunStats s = e.getValue();
                out.printf(
                        Locale.ROOT,
                        "  run %-14s %10.1f ms  (%.2f calls per image, %.2f ms/call)%n",
                        e.getKey(),
                        s.nanos() / 1e6,
                        s.calls() / (double) images,
                        s.calls() == 0 ? 0 : s.nanos() / 1e6 / s.calls());
            }
            out.printf(Locale.ROOT, "  other          %10.1f ms%n", (total - runSum) / 1e6);
            out.printf(Locale.ROOT, "ratio total / sum(run) = %.3f%n", (double) total / runSum);
        }
        return 0;
    }

    /**
     * Bytes this thread has allocated on the Java heap so far, or -1 where the JVM cannot tell: a figure that, unlike
     * time, does not depend on the machine's load (each new page of a growing heap also costs a page fault).
     */
    private static long allocatedBytes() {
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
                && t.isThreadAllocatedMemorySupported()
                && t.isThreadAllocatedMemoryEnabled()) {
            return t.getCurrentThreadAllocatedBytes();
        }
        return -1;
    }

    /** The process's peak resident set (VmHWM, Linux), with the Java heap's share; "n/a" elsewhere. */
    private static String peakMemory() {
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        String java = String.format(Locale.ROOT, "(Java heap used %.0f MiB)", heap.getUsed() / 1048576.0);
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    long kib = Long.parseLong(line.replaceAll("\\D", ""));
                    return String.format(Locale.ROOT, "%.0f MiB resident %s", kib / 1024.0, java);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: only the heap
        }
        return "n/a " + java;
    }

    private void runBatch(ImagePipeline pipeline, long firstSeed) {
        ImageRequest.Builder b = ImageRequest.builder()
                .steps(steps)
                .guidanceScale(guidance)
                .scheduler(scheduler)
                .size(size, size);
        if (pipeline.info().takesPrompt()) {
            List<String> prompts = new ArrayList<>(Collections.nCopies(batch, prompt));
            if (distinctPrompts) {
                for (int i = 0; i < batch; i++) {
                    prompts.set(i, prompt + " " + (firstSeed + i));
                }
            }
            b.prompts(prompts);
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

package io.sparkdiffusion.cli;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.pipeline.ImagePipeline;
import io.sparkdiffusion.pipeline.ImageRequest;
import io.sparkdiffusion.pipeline.Pipelines;
import io.sparkdiffusion.pipeline.RequestRules;
import io.sparkdiffusion.scheduler.Schedulers;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.InvalidRequestException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code generate}: one PNG per seed, locally, without Spark. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = {
            "Generates one PNG per seed with a model folder (default: the bundled digits model).",
            "Example: generate --prompt \"a handwritten digit seven\" --seeds 1,2,3 --steps 20 --guidance 3 --out out/"
        })
final class GenerateCommand implements Callable<Integer> {
    /** The option that sets each request field, for messages. */
    private static final Map<String, String> OPTION_OF = Map.of(
            "num_inference_steps", "--steps", "guidance_scale", "--guidance", "width", "--width", "height", "--height");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--model",
            paramLabel = "DIR",
            description = "Model folder (Optimum ONNX layout). Default: models/digits-t2i.")
    Path model;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "The prompt (not needed for unconditional models).")
    String prompt;

    @Option(
            names = "--negative-prompt",
            paramLabel = "TEXT",
            description = "What to steer away from (with guidance > 1).")
    String negativePrompt;

    @Option(
            names = "--seeds",
            paramLabel = "S1,S2,...",
            split = ",",
            required = true,
            description = "One image per seed; a seed alone fixes its image.")
    List<Long> seeds;

    @Option(
            names = "--steps",
            paramLabel = "N",
            defaultValue = "20",
            description = "Denoising steps. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(
            names = "--guidance",
            paramLabel = "G",
            defaultValue = "7.5",
            description = "Classifier-free guidance scale (<= 1 disables it). Default: ${DEFAULT-VALUE}.")
    double guidance;

    @Option(
            names = "--scheduler",
            paramLabel = "NAME",
            description = "Scheduler instead of the model's, e.g. ddim, euler_a, dpmpp_2m_karras, unipc, lcm.")
    String scheduler;

    @Option(
            names = "--width",
            paramLabel = "W",
            description = "Width in pixels, a multiple of the VAE factor. Default: the model's.")
    Integer width;

    @Option(names = "--height", paramLabel = "H", description = "Height in pixels. Default: the model's.")
    Integer height;

    @Option(
            names = "--batch-size",
            paramLabel = "B",
            defaultValue = "4",
            description = "Seeds per engine batch. Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(
            names = "--out",
            paramLabel = "DIR",
            required = true,
            description = "Output folder; files are named seed-<seed>.png.")
    Path out;

    @Mixin
    RuntimeMixin runtime;

    @Override
    public Integer call() throws Exception {
        validate();
        var options = runtime.options(spec.commandLine());
        PrintWriter console = spec.commandLine().getOut();
        Path modelDir = model != null ? model : ProjectHome.defaultModel();
        Files.createDirectories(out);
        try (ImagePipeline pipeline = Pipelines.openImage(modelDir, options)) {
            if (pipeline.info().takesPrompt() && prompt == null) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(),
                        "--prompt is required: " + modelDir.getFileName() + " is a text-to-image model");
            }
            console.printf(
                    "model %s (%s), %d seed(s), %d steps, guidance %s%n",
                    modelDir, pipeline.info().pipelineClass(), seeds.size(), steps, guidance);
            console.flush();
            int done = 0;
            for (int from = 0; from < seeds.size(); from += batchSize) {
                List<Long> batch = seeds.subList(from, Math.min(seeds.size(), from + batchSize));
                ImageRequest.Builder b = ImageRequest.builder()
                        .steps(steps)
                        .guidanceScale(guidance)
                        .scheduler(scheduler)
                        .size(width, height);
                if (pipeline.info().takesPrompt()) {
                    b.prompts(Collections.nCopies(batch.size(), prompt));
                    if (negativePrompt != null) {
                        b.negativePrompts(Collections.nCopies(batch.size(), negativePrompt));
                    }
                } else {
                    b.rows(batch.size());
                }
                long t0 = System.nanoTime();
                Tensor images = pipeline.generate(
                        b.build(),
                        new SeededNoise(
                                batch.stream().mapToLong(Long::longValue).toArray()));
                double perImage = (System.nanoTime() - t0) / 1e6 / batch.size();
                for (int r = 0; r < batch.size(); r++) {
                    Path file = out.resolve("seed-" + batch.get(r) + ".png");
                    Path tmp = out.resolve(".seed-" + batch.get(r) + ".png.tmp");
                    Files.write(tmp, Images.toPng(images, r));
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                    done++;
                    console.printf("[%d/%d] %s  %.1f ms/image%n", done, seeds.size(), file, perImage);
                }
                console.flush();
            }
        }
        return 0;
    }

    private void validate() {
        CommandLine cl = spec.commandLine();
        // the engine's own rules (RequestRules), so the CLI refuses exactly what a request would
        try {
            RequestRules.positive("num_inference_steps", steps);
            RequestRules.finite("guidance_scale", guidance);
            if (width != null) {
                RequestRules.positive("width", width);
            }
            if (height != null) {
                RequestRules.positive("height", height);
            }
        } catch (InvalidRequestException e) {
            throw new CommandLine.ParameterException(
                    cl, OPTION_OF.getOrDefault(e.field(), e.field()) + ": " + e.getMessage());
        }
        if (batchSize <= 0) {
            throw new CommandLine.ParameterException(cl, "--batch-size must be positive, got " + batchSize);
        }
        if (scheduler != null && !Schedulers.isKnown(scheduler)) {
            throw new CommandLine.ParameterException(
                    cl, "--scheduler: unknown scheduler '" + scheduler + "'; known: " + Schedulers.knownNames());
        }
        if (seeds.isEmpty() || new ArrayList<>(seeds).contains(null)) {
            throw new CommandLine.ParameterException(cl, "--seeds needs at least one integer seed");
        }
    }
}

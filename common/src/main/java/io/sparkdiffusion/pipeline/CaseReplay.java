package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.PipelineFamily;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.noise.ReplayNoise;
import io.sparkdiffusion.tensor.Npy;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Replays a recorded diffusers run (a case folder: {@code case.json} + {@code noise_NNN.npy}) on a model folder:
 * the same call arguments, the same scheduler config and the same Gaussian draws, so the output must match the
 * case's {@code image.npy}. A user runs this to check that the engine reproduces diffusers on their own export.
 */
public final class CaseReplay implements AutoCloseable {
    private final JsonConfig caseJson;
    private final Path caseDir;
    private final Pipeline pipeline;
    private final JsonConfig schedulerConfig;

    /**
     * Opens the model for the case's pipeline class: its family must be the model's, and the class names the task
     * ({@code StableDiffusionImg2ImgPipeline}: image-to-image on an SD folder).
     */
    public CaseReplay(Path modelDir, Path caseDir, RuntimeOptions options) {
        this.caseDir = caseDir;
        this.caseJson = KandinskyReplay.callArguments(JsonConfig.read(caseDir.resolve("case.json")));
        String kind = caseJson.getString("pipeline", null);
        PipelineFamily.Resolved resolved =
                kind == null ? null : PipelineFamily.resolve(kind).orElse(null);
        if (resolved == null || !resolved.family().runnable()) {
            throw new IllegalArgumentException(caseDir + ": case pipeline '" + kind
                    + "' is not supported by replay; supported: the pipeline classes "
                    + PipelineFamily.supportedClasses()
                    + " (a Kandinsky 2.2 case names its prior and decoder classes, \"A + B\")");
        }
        PipelineFamily modelFamily = PipelineFamily.of(modelDir);
        if (!sameModels(resolved.family(), modelFamily)) {
            throw new IllegalArgumentException(
                    caseDir + " was recorded with a " + resolved.family().description() + " pipeline, but " + modelDir
                            + " is a " + modelFamily.description() + " model");
        }
        this.pipeline = Pipelines.open(modelDir, options, resolved.task());
        this.schedulerConfig = caseJson.getObject(KandinskyReplay.decoderSchedulerKey(caseJson));
    }

    /** LCM-distilled folders are SD folders: a case of either replays on the other. */
    private static boolean sameModels(PipelineFamily a, PipelineFamily b) {
        Set<PipelineFamily> sd = EnumSet.of(PipelineFamily.STABLE_DIFFUSION, PipelineFamily.LATENT_CONSISTENCY);
        return a == b || (sd.contains(a) && sd.contains(b));
    }

    public Pipeline pipeline() {
        return pipeline;
    }

    public JsonConfig caseJson() {
        return caseJson;
    }

    /**
     * The prompt conditioning the replayed call encodes (SD and SDXL pictures: the feeds the recorded
     * {@code prompt_embeds} are compared with); null for pipelines without such a text encoder.
     */
    public Conditioning promptConditioning() {
        return pipeline instanceof TextToImagePipeline t2i ? t2i.encodePrompt(request()) : null;
    }

    /** The call's arguments as an engine request. */
    public ImageRequest request() {
        ImageRequest.Builder b = ImageRequest.builder()
                .steps(caseJson.getInt("num_inference_steps", ImageRequest.DEFAULT_STEPS))
                .guidanceScale(caseJson.getDouble("guidance_scale", ImageRequest.DEFAULT_GUIDANCE_SCALE))
                .schedulerConfig(schedulerConfig);
        KandinskyReplay.prior(caseJson, b);
        if (caseJson.has("height") || caseJson.has("width")) {
            b.size(
                    caseJson.has("width") ? caseJson.getInt("width", 0) : null,
                    caseJson.has("height") ? caseJson.getInt("height", 0) : null);
        }
        int rows;
        if (pipeline.info().takesPrompt()) {
            List<String> prompts = caseJson.getStringList("prompt");
            rows = prompts.size();
            b.prompts(prompts);
            List<String> negatives = negativePrompts(caseJson, rows);
            if (negatives != null) {
                b.negativePrompts(negatives);
            }
        } else {
            rows = caseJson.getInt("batch_size", 1);
            b.rows(rows);
        }
        // img2img / inpainting inputs: input_image.npy (H, W, C) and mask.npy (H, W), one per row as diffusers repeats
        // them
        Tensor image = caseInput("input_image.npy", 3, rows);
        if (image != null) {
            b.image(image);
        }
        Tensor mask = caseInput("mask.npy", 2, rows);
        if (mask != null) {
            b.mask(mask);
        }
        if (caseJson.has("strength")) {
            b.strength(caseJson.getDouble("strength", 1.0));
        }
        return b.build();
    }

    /** A recorded input of one row ({@code rank} axes) or of every row, as {@code rows} rows; null when absent. */
    private Tensor caseInput(String file, int rank, int rows) {
        Path f = caseDir.resolve(file);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        Tensor t;
        try {
            t = Npy.read(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (t.rank() == rank + 1) {
            return t;
        }
        if (t.rank() != rank) {
            throw new IllegalArgumentException(f + " has shape " + t + ", expected " + rank + " axes");
        }
        long[] shape = new long[rank + 1];
        shape[0] = 1;
        System.arraycopy(t.shape(), 0, shape, 1, rank);
        List<Tensor> copies = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            copies.add(t.reshape(shape));
        }
        return Tensors.concatBatch(copies);
    }

    /** The call's arguments as a video request (video cases: {@link VideoReplay}). */
    public VideoRequest videoRequest() {
        return VideoReplay.request(
                caseJson, pipeline.info().takesPrompt() ? null : caseInput("input_image.npy", 3, 1), schedulerConfig);
    }

    /**
     * Runs the case; the result is the final image batch {@code (B, H, W, C)} in [0, 1], or for a video case the
     * frames {@code (B, F, H, W, C)}, as the case's {@code frames.npy}.
     */
    public Tensor run(StepListener listener) throws IOException {
        ReplayNoise noise = ReplayNoise.fromCaseDir(caseDir);
        Tensor image = switch (pipeline.family().output()) {
            case VIDEO -> ((VideoPipeline) pipeline).generate(videoRequest(), noise, listener);
            case IMAGE -> ((ImagePipeline) pipeline).generate(request(), noise, listener);
        };
        if (noise.consumed() != noise.recorded()) {
            throw new IllegalStateException("the run used " + noise.consumed() + " noise draws but " + caseDir
                    + " recorded " + noise.recorded() + ": the draw order departs from diffusers");
        }
        return image;
    }

    public static boolean hasCase(Path dir) {
        return Files.isRegularFile(dir.resolve("case.json"));
    }

    /**
     * The case's {@code negative_prompt} for {@code rows} prompts (one string stands for every row, as diffusers
     * repeats it); null when the call had none.
     */
    static List<String> negativePrompts(JsonConfig caseJson, int rows) {
        List<String> negatives = caseJson.getStringList("negative_prompt");
        if (negatives.isEmpty()) {
            return null;
        }
        return negatives.size() == 1 && rows > 1 ? Collections.nCopies(rows, negatives.get(0)) : negatives;
    }

    @Override
    public void close() {
        pipeline.close();
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.RuntimeOptions;
import java.nio.file.Path;
import java.util.List;

/** Picks the pipeline for a model folder from {@code model_index.json}'s {@code _class_name}, as diffusers does. */
public final class Pipelines {
    private static final List<String> TEXT_TO_IMAGE = List.of("StableDiffusionPipeline", "OnnxStableDiffusionPipeline",
            "ORTStableDiffusionPipeline", "LatentConsistencyModelPipeline");
    private static final List<String> SDXL = List.of("StableDiffusionXLPipeline", "ORTStableDiffusionXLPipeline");
    private static final List<String> UNCONDITIONAL = List.of("DDPMPipeline", "DDIMPipeline");

    private Pipelines() {
    }

    public static DiffusionPipeline open(Path folder, RuntimeOptions options) {
        ModelFolder model = new ModelFolder(folder, options);
        try {
            return forClass(model.pipelineClass(), model);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** The pipeline for a diffusers pipeline class name on this model folder. */
    public static DiffusionPipeline forClass(String className, ModelFolder model) {
        if (TEXT_TO_IMAGE.contains(className)) {
            return new StableDiffusionPipeline(model);
        }
        if (SDXL.contains(className)) {
            return new StableDiffusionXLPipeline(model);
        }
        if (UNCONDITIONAL.contains(className)) {
            return new UnconditionalPipeline(model);
        }
        throw new IllegalArgumentException(model.root() + ": pipeline class '" + className
                + "' is not supported yet; supported: " + String.join(", ", supported()));
    }

    public static List<String> supported() {
        List<String> all = new java.util.ArrayList<>(TEXT_TO_IMAGE);
        all.addAll(SDXL);
        all.addAll(UNCONDITIONAL);
        return all;
    }
}

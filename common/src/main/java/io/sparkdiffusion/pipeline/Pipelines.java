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
        return open(folder, options, Task.TEXT_TO_IMAGE);
    }

    /** The pipeline doing {@code task} with the model in {@code folder}. */
    public static DiffusionPipeline open(Path folder, RuntimeOptions options, Task task) {
        ModelFolder model = new ModelFolder(folder, options);
        try {
            return forTask(model, task);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** The pipeline class diffusers would use for {@code task} with this folder's components. */
    static DiffusionPipeline forTask(ModelFolder model, Task task) {
        if (task == Task.TEXT_TO_IMAGE) {
            return forClass(model.pipelineClass(), model);
        }
        throw new IllegalArgumentException(model.root() + ": task " + task + " is not supported for pipeline class '"
                + model.pipelineClass() + "'");
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

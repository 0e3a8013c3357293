package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.KandinskyFolders;
import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.RuntimeOptions;
import java.nio.file.Path;
import java.util.List;

/** Picks the pipeline for a model folder from {@code model_index.json}'s {@code _class_name}, as diffusers does. */
public final class Pipelines {
    private static final List<String> TEXT_TO_IMAGE = List.of(
            "StableDiffusionPipeline",
            "OnnxStableDiffusionPipeline",
            "ORTStableDiffusionPipeline",
            "LatentConsistencyModelPipeline");
    private static final List<String> SDXL = List.of("StableDiffusionXLPipeline", "ORTStableDiffusionXLPipeline");
    private static final List<String> UNCONDITIONAL = List.of("DDPMPipeline", "DDIMPipeline");
    private static final List<String> SD_IMG2IMG = List.of(
            "StableDiffusionImg2ImgPipeline",
            "OnnxStableDiffusionImg2ImgPipeline",
            "ORTStableDiffusionImg2ImgPipeline");
    private static final List<String> SD_INPAINT = List.of(
            "StableDiffusionInpaintPipeline",
            "OnnxStableDiffusionInpaintPipeline",
            "ORTStableDiffusionInpaintPipeline");
    private static final List<String> SDXL_IMG2IMG =
            List.of("StableDiffusionXLImg2ImgPipeline", "ORTStableDiffusionXLImg2ImgPipeline");
    private static final List<String> SDXL_INPAINT =
            List.of("StableDiffusionXLInpaintPipeline", "ORTStableDiffusionXLInpaintPipeline");
    /** Video pipelines ({@link VideoPipeline}), opened with {@link Task#VIDEO}. */
    private static final List<String> TEXT_TO_VIDEO = List.of("TextToVideoSDPipeline");

    private static final List<String> IMAGE_TO_VIDEO = List.of("StableVideoDiffusionPipeline");

    private Pipelines() {}

    public static DiffusionPipeline open(Path folder, RuntimeOptions options) {
        return open(folder, options, Task.TEXT_TO_IMAGE);
    }

    /**
     * The pipeline doing {@code task} with the model in {@code folder}: a model folder, or a Kandinsky 2.2 root
     * holding {@code prior/} and {@code decoder/} ({@link KandinskyV22Pipeline}).
     */
    public static DiffusionPipeline open(Path folder, RuntimeOptions options, Task task) {
        if (task == Task.VIDEO && KandinskyFolders.isLayout(folder)) {
            throw new IllegalArgumentException(folder + ": Kandinsky 2.2 makes no videos (task " + task + ")");
        }
        if (KandinskyFolders.isLayout(folder)) {
            return KandinskyV22Pipeline.open(folder, options, task);
        }
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
        String className = model.pipelineClass();
        if (isVideo(className) != (task == Task.VIDEO)) {
            throw new IllegalArgumentException(
                    model.root() + ": task " + task + " is not supported for pipeline class '" + className + "'"
                            + (isVideo(className) ? "; a video model serves Task.VIDEO" : ""));
        }
        if (task == Task.TEXT_TO_IMAGE || task == Task.VIDEO) {
            return forClass(className, model);
        }
        // an SD or SDXL export serves all three tasks; inpainting picks 9-channel or blending from the UNet
        boolean sd = isSd(className);
        boolean sdxl = SDXL.contains(className) || SDXL_IMG2IMG.contains(className) || SDXL_INPAINT.contains(className);
        if (sd && task == Task.IMAGE_TO_IMAGE) {
            return new StableDiffusionImg2ImgPipeline(model);
        }
        if (sd && task == Task.INPAINT) {
            return new StableDiffusionInpaintPipeline(model);
        }
        if (sdxl && task == Task.IMAGE_TO_IMAGE) {
            return new StableDiffusionXLImg2ImgPipeline(model);
        }
        if (sdxl && task == Task.INPAINT) {
            return new StableDiffusionXLInpaintPipeline(model);
        }
        throw new IllegalArgumentException(model.root() + ": task " + task + " is not supported for pipeline class '"
                + model.pipelineClass() + "'");
    }

    /** Video pipeline classes: text-to-video and image-to-video. */
    public static boolean isVideo(String className) {
        return TEXT_TO_VIDEO.contains(className) || IMAGE_TO_VIDEO.contains(className);
    }

    /** Stable Diffusion (1.x/2.x) exports; LCM is left out: its img2img schedules strength differently. */
    private static boolean isSd(String className) {
        return (TEXT_TO_IMAGE.contains(className) && !className.equals("LatentConsistencyModelPipeline"))
                || SD_IMG2IMG.contains(className)
                || SD_INPAINT.contains(className);
    }

    /** The pipeline for a diffusers pipeline class name on this model folder. */
    public static DiffusionPipeline forClass(String className, ModelFolder model) {
        if (SD_IMG2IMG.contains(className)) {
            return new StableDiffusionImg2ImgPipeline(model);
        }
        if (SD_INPAINT.contains(className)) {
            return new StableDiffusionInpaintPipeline(model);
        }
        if (SDXL_IMG2IMG.contains(className)) {
            return new StableDiffusionXLImg2ImgPipeline(model);
        }
        if (SDXL_INPAINT.contains(className)) {
            return new StableDiffusionXLInpaintPipeline(model);
        }
        if (TEXT_TO_IMAGE.contains(className)) {
            return new StableDiffusionPipeline(model);
        }
        if (SDXL.contains(className)) {
            return new StableDiffusionXLPipeline(model);
        }
        if (UNCONDITIONAL.contains(className)) {
            return new UnconditionalPipeline(model);
        }
        if (TEXT_TO_VIDEO.contains(className)) {
            return new TextToVideoSDPipeline(model);
        }
        if (IMAGE_TO_VIDEO.contains(className)) {
            return new StableVideoDiffusionPipeline(model);
        }
        throw new IllegalArgumentException(model.root() + ": pipeline class '" + className
                + "' is not supported yet; supported: " + String.join(", ", supported()));
    }

    public static List<String> supported() {
        List<String> all = new java.util.ArrayList<>(TEXT_TO_IMAGE);
        all.addAll(SDXL);
        all.addAll(UNCONDITIONAL);
        all.addAll(SD_IMG2IMG);
        all.addAll(SD_INPAINT);
        all.addAll(SDXL_IMG2IMG);
        all.addAll(SDXL_INPAINT);
        all.addAll(TEXT_TO_VIDEO);
        all.addAll(IMAGE_TO_VIDEO);
        return all;
    }
}

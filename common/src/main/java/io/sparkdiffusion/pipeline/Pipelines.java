package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ComponentContract;
import io.sparkdiffusion.model.KandinskyFolders;
import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OrtRuntime;
import io.sparkdiffusion.model.PipelineFamily;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens the pipeline for a model and a task: the family comes from the pipeline registry ({@link PipelineFamily}:
 * {@code model_index.json}'s {@code _class_name}, or a Kandinsky 2.2 root), the class from the family and the task, as
 * diffusers' auto pipelines pick them. This is the one place that maps families to pipeline classes.
 */
public final class Pipelines {
    private Pipelines() {}

    /** The pipeline doing what the folder's class names (an {@code ...Img2ImgPipeline} folder: image-to-image). */
    public static Pipeline open(Path folder, RuntimeOptions options) {
        return open(folder, options, defaultTask(folder));
    }

    /**
     * The pipeline doing {@code task} with the model at {@code folder}: a model folder, or a Kandinsky 2.2 root holding
     * {@code prior/} and {@code decoder/}.
     *
     * @throws IllegalArgumentException when the model's family does not serve the task
     * @throws ModelLoadException when the model cannot be opened
     */
    public static Pipeline open(Path folder, RuntimeOptions options, Task task) {
        OrtRuntime.preload(); // while the configs and tokenizers are read
        PipelineFamily family = PipelineFamily.of(folder);
        family.checkServes(task, folder);
        if (family == PipelineFamily.KANDINSKY_22) {
            return KandinskyV22Pipeline.open(folder, options, task);
        }
        ModelFolder model = new ModelFolder(folder, options);
        try {
            // the sessions load in the background while the pipeline's constructor builds the tokenizers
            model.prefetch(sessions(family, task, model));
            return create(family, task, model);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** {@link #open} for a model that makes pictures; fails for a video model. */
    public static ImagePipeline openImage(Path folder, RuntimeOptions options, Task task) {
        return (ImagePipeline) checked(open(folder, options, task), ImagePipeline.class, folder);
    }

    /** The picture pipeline the folder's class names. */
    public static ImagePipeline openImage(Path folder, RuntimeOptions options) {
        return openImage(folder, options, defaultTask(folder));
    }

    /** The video pipeline of a video model (text-to-video or image-to-video). */
    public static VideoPipeline openVideo(Path folder, RuntimeOptions options) {
        return (VideoPipeline) checked(open(folder, options, Task.VIDEO), VideoPipeline.class, folder);
    }

    /** The task a model folder's own class implies (text-to-image for a Kandinsky 2.2 root without a decoder class). */
    public static Task defaultTask(Path folder) {
        PipelineFamily family = PipelineFamily.of(folder);
        Path classFolder = family == PipelineFamily.KANDINSKY_22 ? folder.resolve(KandinskyFolders.DECODER) : folder;
        try (ModelFolder m = new ModelFolder(classFolder, RuntimeOptions.DEFAULT)) {
            return PipelineFamily.resolve(m.pipelineClass()).orElseThrow().task();
        }
    }

    private static Pipeline checked(Pipeline p, Class<? extends Pipeline> kind, Path folder) {
        if (!kind.isInstance(p)) {
            p.close();
            throw new IllegalArgumentException(folder + ": a " + p.family().description() + " model is not a "
                    + (kind == ImagePipeline.class ? "picture" : "video") + " model");
        }
        return p;
    }

    /**
     * The components whose sessions a pipeline of {@code family} opens for {@code task}: those the family cannot run
     * without, the VAE encoder exactly when the task takes an init image.
     */
    private static List<String> sessions(PipelineFamily family, Task task, ModelFolder model) {
        boolean image = family.inputs(task).image();
        List<String> out = new ArrayList<>();
        for (ComponentContract.Component c : family.components(model.pipelineClass())) {
            boolean encoder = c.name().equals(LatentEncoder.COMPONENT);
            if (encoder ? image : c.ifMissing() == null) {
                out.add(c.name());
            }
        }
        return out;
    }

    /** The one map from (family, task) to a pipeline class. */
    private static Pipeline create(PipelineFamily family, Task task, ModelFolder model) {
        return switch (family) {
            case STABLE_DIFFUSION ->
                switch (task) {
                    case IMAGE_TO_IMAGE -> new StableDiffusionImg2ImgPipeline(model);
                    case INPAINT -> new StableDiffusionInpaintPipeline(model);
                    default -> new StableDiffusionPipeline(model);
                };
            case LATENT_CONSISTENCY -> new StableDiffusionPipeline(model);
            case STABLE_DIFFUSION_XL ->
                switch (task) {
                    case IMAGE_TO_IMAGE -> new StableDiffusionXLImg2ImgPipeline(model);
                    case INPAINT -> new StableDiffusionXLInpaintPipeline(model);
                    default -> new StableDiffusionXLPipeline(model);
                };
            case UNCONDITIONAL -> new UnconditionalPipeline(model);
            case TEXT_TO_VIDEO -> new TextToVideoSDPipeline(model);
            case IMAGE_TO_VIDEO -> new StableVideoDiffusionPipeline(model);
            case KANDINSKY_22, KANDINSKY_22_PRIOR ->
                throw new ModelLoadException(model.root() + ": a " + family.description()
                        + " is opened from its root (prior/ and decoder/), not as one folder");
        };
    }
}

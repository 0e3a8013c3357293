package io.sparkdiffusion.model;

import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The registry of pipeline families the engine runs: for each, the diffusers pipeline class names that select it
 * (from {@code model_index.json}'s {@code _class_name}, as diffusers' {@code from_pretrained} does) and the task each
 * class implies, the tasks the family serves, whether it makes images or videos, what a request must carry (prompt,
 * init image, mask), and its components ({@link ComponentContract}). Everything that needs to know which models exist
 * asks here: opening pipelines, model geometry, validation, case replay, the job's row rules.
 */
public enum PipelineFamily {
    STABLE_DIFFUSION(
            "Stable Diffusion 1.x/2.x (text-to-image, image-to-image, inpainting)",
            Output.IMAGE,
            Layout.FOLDER,
            classes(
                    Task.TEXT_TO_IMAGE,
                    "StableDiffusionPipeline",
                    "OnnxStableDiffusionPipeline",
                    "ORTStableDiffusionPipeline"),
            classes(
                    Task.IMAGE_TO_IMAGE,
                    "StableDiffusionImg2ImgPipeline",
                    "OnnxStableDiffusionImg2ImgPipeline",
                    "ORTStableDiffusionImg2ImgPipeline"),
            classes(
                    Task.INPAINT,
                    "StableDiffusionInpaintPipeline",
                    "OnnxStableDiffusionInpaintPipeline",
                    "ORTStableDiffusionInpaintPipeline")),
    /** LCM-distilled SD UNets: text-to-image only (LCM's image-to-image schedules strength differently). */
    LATENT_CONSISTENCY(
            "Latent Consistency Model (LCM-distilled Stable Diffusion; text-to-image)",
            Output.IMAGE,
            Layout.FOLDER,
            classes(Task.TEXT_TO_IMAGE, "LatentConsistencyModelPipeline")),
    STABLE_DIFFUSION_XL(
            "Stable Diffusion XL (text-to-image, image-to-image, inpainting)",
            Output.IMAGE,
            Layout.FOLDER,
            classes(Task.TEXT_TO_IMAGE, "StableDiffusionXLPipeline", "ORTStableDiffusionXLPipeline"),
            classes(Task.IMAGE_TO_IMAGE, "StableDiffusionXLImg2ImgPipeline", "ORTStableDiffusionXLImg2ImgPipeline"),
            classes(Task.INPAINT, "StableDiffusionXLInpaintPipeline", "ORTStableDiffusionXLInpaintPipeline")),
    /** Pixel-space {@code UNet2DModel}s, no prompt. */
    UNCONDITIONAL(
            "unconditional UNet2DModel (DDPM / DDIM)",
            Output.IMAGE,
            Layout.FOLDER,
            classes(Task.TEXT_TO_IMAGE, "DDPMPipeline", "DDIMPipeline")),
    TEXT_TO_VIDEO(
            "text-to-video (UNet3D, ModelScope layout)",
            Output.VIDEO,
            Layout.FOLDER,
            classes(Task.VIDEO, "TextToVideoSDPipeline")),
    IMAGE_TO_VIDEO(
            "Stable Video Diffusion (image-to-video)",
            Output.VIDEO,
            Layout.FOLDER,
            classes(Task.VIDEO, "StableVideoDiffusionPipeline")),
    /**
     * A root holding {@code prior/} and {@code decoder/} ({@link KandinskyFolders}); the decoder's class names the task.
     */
    KANDINSKY_22(
            "Kandinsky 2.2 (prior + decoder: text-to-image, sketch-to-image)",
            Output.IMAGE,
            Layout.PRIOR_AND_DECODER,
            classes(Task.TEXT_TO_IMAGE, "KandinskyV22Pipeline"),
            classes(Task.IMAGE_TO_IMAGE, "KandinskyV22Img2ImgPipeline")),
    /** The {@code prior/} half of a Kandinsky 2.2 root: validated on its own, run only as part of the root. */
    KANDINSKY_22_PRIOR(
            "Kandinsky 2.2 prior (the prior/ half of a Kandinsky 2.2 root)",
            Output.IMAGE,
            Layout.PART,
            classes(Task.TEXT_TO_IMAGE, "KandinskyV22PriorPipeline"));

    /** What the pipelines of a family make. */
    public enum Output {
        IMAGE,
        VIDEO
    }

    /** How a family's model is laid out on disk. */
    public enum Layout {
        /** One model folder with {@code model_index.json} ({@link ModelFolder}). */
        FOLDER,
        /** A root with {@code prior/} and {@code decoder/} model folders and no {@code model_index.json} of its own. */
        PRIOR_AND_DECODER,
        /** A model folder that is one half of another family's layout; not opened on its own. */
        PART
    }

    /** What a request must carry for a task: prompts, init images, masks. */
    public record Inputs(boolean prompt, boolean image, boolean mask) {}

    /** A pipeline class name resolved: its family and the task the class implies. */
    public record Resolved(PipelineFamily family, Task task) {}

    private final String description;
    private final Output output;
    private final Layout layout;
    /** class name -> the task that class implies, in declaration order. */
    @SuppressWarnings("ImmutableEnumChecker") // an unmodifiable map built once in the constructor
    private final Map<String, Task> classes;

    PipelineFamily(String description, Output output, Layout layout, ClassGroup... groups) {
        this.description = description;
        this.output = output;
        this.layout = layout;
        Map<String, Task> byName = new LinkedHashMap<>();
        for (ClassGroup g : groups) {
            for (String name : g.names()) {
                byName.put(name, g.task());
            }
        }
        this.classes = Collections.unmodifiableMap(byName);
    }

    private record ClassGroup(Task task, List<String> names) {}

    private static ClassGroup classes(Task task, String... names) {
        return new ClassGroup(task, List.of(names));
    }

    public String description() {
        return description;
    }

    public Output output() {
        return output;
    }

    public Layout layout() {
        return layout;
    }

    /** Whether a model of this family can be opened and run on its own. */
    public boolean runnable() {
        return layout != Layout.PART;
    }

    /** The diffusers pipeline class names of this family. */
    public Set<String> classNames() {
        return classes.keySet();
    }

    /** The tasks this family serves. */
    public Set<Task> tasks() {
        if (!runnable()) {
            return EnumSet.noneOf(Task.class);
        }
        EnumSet<Task> tasks = EnumSet.noneOf(Task.class);
        tasks.addAll(classes.values());
        return tasks;
    }

    public boolean serves(Task task) {
        return tasks().contains(task);
    }

    /** What a request of {@code task} must carry with a model of this family. */
    public Inputs inputs(Task task) {
        boolean prompt = this != UNCONDITIONAL && this != IMAGE_TO_VIDEO;
        boolean image = task == Task.IMAGE_TO_IMAGE || task == Task.INPAINT || this == IMAGE_TO_VIDEO;
        return new Inputs(prompt, image, task == Task.INPAINT);
    }

    /**
     * Fails with a message naming the model, the family and the tasks it serves when it does not serve {@code task}.
     */
    public void checkServes(Task task, Path model) {
        if (!serves(task)) {
            throw new IllegalArgumentException(model + ": a " + description + " model does not serve task " + task
                    + "; it serves " + tasks()
                    + (output == Output.VIDEO ? " (a video model)" : task == Task.VIDEO ? " (no videos)" : ""));
        }
    }

    /** The components of this family as a model of class {@code className} uses them. */
    public List<ComponentContract.Component> components(String className) {
        return ComponentContract.components(this, className);
    }

    /** The tokenizer folders, each paired with the text encoder that reads its ids. */
    public List<String[]> tokenizers() {
        return ComponentContract.tokenizers(this);
    }

    /** The family of a folder's pipeline class name ({@code model_index.json}'s {@code _class_name}), if known. */
    public static Optional<PipelineFamily> ofClass(String className) {
        for (PipelineFamily f : values()) {
            if (f.classes.containsKey(className)) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }

    /**
     * A pipeline class name, or a Kandinsky 2.2 pair {@code "<prior class> + <decoder class>"} as reference cases
     * record it, with the task the class implies ({@code StableDiffusionImg2ImgPipeline}: image-to-image).
     */
    public static Optional<Resolved> resolve(String pipelineName) {
        int plus = pipelineName.indexOf(" + ");
        if (plus >= 0) {
            String prior = pipelineName.substring(0, plus).trim();
            String decoder = pipelineName.substring(plus + 3).trim();
            Task task = KANDINSKY_22.classes.get(decoder);
            return KANDINSKY_22_PRIOR.classes.containsKey(prior) && task != null
                    ? Optional.of(new Resolved(KANDINSKY_22, task))
                    : Optional.empty();
        }
        return ofClass(pipelineName).map(f -> new Resolved(f, f.classes.get(pipelineName)));
    }

    /**
     * The family of the model at {@code root}: a Kandinsky 2.2 root, or a model folder by its class name.
     *
     * @throws ModelLoadException when it is neither, or its class is not one the engine runs (listing those)
     */
    public static PipelineFamily of(Path root) {
        if (KandinskyFolders.isLayout(root)) {
            return KANDINSKY_22;
        }
        Path index = root.resolve("model_index.json");
        if (!Files.isRegularFile(index)) {
            throw new ModelLoadException("model folder " + root + " has no model_index.json (nor prior/ and decoder/"
                    + " folders of a Kandinsky 2.2 root): not a diffusers/Optimum ONNX export");
        }
        return ofFolder(root, JsonConfig.read(index).getString("_class_name", null));
    }

    /** The family of a model folder whose {@code model_index.json} names {@code className}. */
    static PipelineFamily ofFolder(Path root, String className) {
        if (className == null) {
            throw new ModelLoadException(root.resolve("model_index.json") + " has no _class_name");
        }
        return ofClass(className)
                .orElseThrow(() -> new ModelLoadException(root + ": pipeline class '" + className
                        + "' is not supported; supported: " + String.join(", ", supportedClasses())));
    }

    /** Every class name the engine knows, family by family. */
    public static List<String> supportedClasses() {
        List<String> all = new ArrayList<>();
        for (PipelineFamily f : values()) {
            all.addAll(f.classNames());
        }
        return all;
    }
}

package io.sparkdiffusion.validate;

import io.sparkdiffusion.model.KandinskyFolders;
import io.sparkdiffusion.model.PipelineFamily;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The layout of a model root: one model folder ({@code model_index.json}), or a Kandinsky 2.2 root ({@code prior/} +
 * {@code decoder/}); each folder's {@code model_index.json} and the files a family needs beyond its components.
 */
final class LayoutCheck {
    private LayoutCheck() {}

    /**
     * A model folder of the root: where it is, the prefix of its subjects ({@code "prior/"}), and the family a Kandinsky
     * root half must have (null: any).
     */
    record Folder(Path dir, String prefix, PipelineFamily expected) {
        String subject(String name) {
            return prefix + name;
        }
    }

    /** The model folders of a root; none when the root is not a model. */
    record Layout(List<Check> checks, List<Folder> folders) {}

    /** A folder's pipeline class and family; a null family stops the folder's checks. */
    record Index(List<Check> checks, String className, PipelineFamily family, boolean runnable) {
        static Index unusable(Check check) {
            return new Index(List.of(check), null, null, false);
        }
    }

    static Layout of(Path root) {
        if (!Files.isDirectory(root)) {
            return new Layout(List.of(Check.fail("model", root + " does not exist or is not a directory")), List.of());
        }
        if (KandinskyFolders.isLayout(root)) {
            return new Layout(
                    List.of(Check.ok("layout", "Kandinsky 2.2 root: prior/ (KandinskyV22PriorPipeline) + decoder/")),
                    List.of(
                            new Folder(
                                    root.resolve(KandinskyFolders.PRIOR),
                                    KandinskyFolders.PRIOR + "/",
                                    PipelineFamily.KANDINSKY_22_PRIOR),
                            new Folder(
                                    root.resolve(KandinskyFolders.DECODER),
                                    KandinskyFolders.DECODER + "/",
                                    PipelineFamily.KANDINSKY_22)));
        }
        if (Files.isRegularFile(root.resolve("model_index.json"))) {
            return new Layout(List.of(), List.of(new Folder(root, "", null)));
        }
        boolean prior = Files.isRegularFile(root.resolve("prior/model_index.json"));
        boolean decoder = Files.isRegularFile(root.resolve("decoder/model_index.json"));
        Check missing = prior || decoder
                ? Check.fail(
                        "layout",
                        "a Kandinsky 2.2 root needs both prior/ and decoder/ with a model_index.json each; "
                                + (prior ? "decoder/" : "prior/") + " is missing")
                : Check.fail(
                        "layout",
                        "no model_index.json: not a diffusers/Optimum ONNX export folder (expected "
                                + "model_index.json, scheduler/, and one folder per component with model.onnx)");
        return new Layout(List.of(missing), List.of());
    }

    /**
     * The folder's {@code model_index.json}: a pipeline class of a family the engine knows, the one a Kandinsky root
     * half must have. Not runnable: a Kandinsky half on its own (its components are still checked).
     */
    static Index index(Folder folder) {
        String subject = folder.subject("model_index.json");
        JsonConfig index;
        try {
            index = JsonConfig.read(folder.dir().resolve("model_index.json"));
        } catch (RuntimeException e) {
            return Index.unusable(Check.fail(subject, "cannot be read: " + CheckText.oneLine(e)));
        }
        String className = index.getString("_class_name", null);
        if (className == null) {
            return Index.unusable(Check.fail(subject, "has no _class_name (the diffusers pipeline class)"));
        }
        PipelineFamily family = PipelineFamily.ofClass(className).orElse(null);
        if (family == null) {
            return Index.unusable(Check.fail(
                    subject,
                    "pipeline class '" + className + "' is not supported by the engine; " + "supported: "
                            + String.join(", ", PipelineFamily.supportedClasses())));
        }
        PipelineFamily expected = folder.expected();
        if (expected != null && family != expected) {
            return Index.unusable(Check.fail(
                    subject,
                    "pipeline class '" + className + "' in " + folder.prefix() + " but a Kandinsky 2.2 root needs a "
                            + expected.description() + " there"));
        }
        if (expected == null
                && (family == PipelineFamily.KANDINSKY_22_PRIOR || family == PipelineFamily.KANDINSKY_22)) {
            return new Index(
                    List.of(Check.fail(
                            "layout",
                            className + " is one half of Kandinsky 2.2: the engine runs the folder holding prior/ and "
                                    + "decoder/ (point --model at it)")),
                    className,
                    family,
                    false);
        }
        String description = className.equals("LatentConsistencyModelPipeline")
                ? "Latent Consistency Model (text-to-image; LCM image-to-image and inpainting are not supported)"
                : family.description();
        return new Index(List.of(Check.ok(subject, className + ": " + description)), className, family, true);
    }

    /** Files a family reads beyond its components: Stable Video Diffusion's image preprocessing. */
    static List<Check> extraFiles(Folder folder, PipelineFamily family) {
        if (family == PipelineFamily.IMAGE_TO_VIDEO
                && !Files.isRegularFile(folder.dir().resolve("feature_extractor/preprocessor_config.json"))) {
            return List.of(Check.warn(
                    folder.subject("feature_extractor"),
                    "no preprocessor_config.json: the image encoder's input is normalised "
                            + "with CLIP's default mean and std"));
        }
        return List.of();
    }
}

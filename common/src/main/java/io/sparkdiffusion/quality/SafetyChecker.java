package io.sparkdiffusion.quality;

import io.sparkdiffusion.image.ImageProcessor;
import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * diffusers' {@code StableDiffusionSafetyChecker} on generated pictures, as {@code StableDiffusionPipeline}'s
 * {@code run_safety_checker} runs it: the pictures as 8-bit PIL images ({@code numpy_to_pil}), the feature
 * extractor's CLIP preprocessing ({@code feature_extractor/preprocessor_config.json}, {@link ImageProcessor}), the
 * checker's CLIP vision model and projection, then per picture the thresholds of {@code forward}:
 *
 * <pre>
 *   adjustment = 0
 *   for each special-care concept k: special[k] = round(cos(e, special_k) - w_special[k] + adjustment, 3)
 *                                    if special[k] &gt; 0: adjustment = 0.01
 *   for each concept k:              concept[k] = round(cos(e, concept_k) - w_concept[k] + adjustment, 3)
 *   nsfw = any(concept[k] &gt; 0)
 * </pre>
 *
 * in float32 as diffusers computes them with numpy. Two exports of {@code safety_checker/model.onnx} are read:
 *
 * <ul>
 *   <li>the scores graph ({@code tools/quality/export_quality_models.py safety-checker}): {@code clip_input} to
 *       {@code concept_scores} and {@code special_scores}, the cosines minus the thresholds; the rule above runs here,
 *       so the result has the scores;
 *   <li>diffusers' own ONNX export ({@code scripts/convert_stable_diffusion_checkpoint_to_onnx.py}, the graph of
 *       {@code forward_onnx}, used by {@code OnnxStableDiffusionPipeline}): {@code clip_input} and {@code images} to
 *       {@code has_nsfw_concepts}; the graph decides, without the rounding to 3 decimals (a concept score in
 *       (0, 0.0005) is flagged there and not by {@code forward}), and gives no scores. Its black-out of the
 *       {@code images} input was traced at batch size 1 and fails on larger batches, so that pipeline (and this
 *       class) calls it picture by picture; the black-out is {@link #blackOut}'s here, so {@code images} gets a
 *       1 x 1 placeholder.
 * </ul>
 *
 * Optimum's ONNX exports keep the safety checker as PyTorch weights (no {@code model.onnx}): export it with the tool
 * above. Immutable; one session, thread-safe.
 */
public final class SafetyChecker implements Scorer {
    public static final String COMPONENT = "safety_checker";
    public static final String FEATURE_EXTRACTOR = "feature_extractor";
    public static final String NSFW = "nsfw";
    public static final String NSFW_SCORE = "nsfw_score";
    public static final String NSFW_SPECIAL_SCORE = "nsfw_special_score";
    /** diffusers' special-care adjustment ({@code adjustment = 0.01}). */
    private static final float SPECIAL_CARE_ADJUSTMENT = 0.01f;

    private static final List<ScoreField> FIELDS = List.of(
            new ScoreField(NSFW, ScoreField.Type.BOOLEAN, "flagged by the safety checker"),
            new ScoreField(
                    NSFW_SCORE,
                    ScoreField.Type.DOUBLE,
                    "the highest concept score (cosine - threshold [+ 0.01], 3 decimals); above 0 is flagged;"
                            + " null from a flags-only export"),
            new ScoreField(
                    NSFW_SPECIAL_SCORE,
                    ScoreField.Type.DOUBLE,
                    "the highest special-care score; above 0 adds 0.01 to the concept scores;"
                            + " null from a flags-only export"));

    private final OnnxModel model;
    private final ImageProcessor processor;
    private final boolean flagsInGraph;
    private final String input;

    private SafetyChecker(Path modelFolder, RuntimeOptions options) {
        Presence p = presence(modelFolder);
        if (!p.usable()) {
            throw new ModelLoadException(p.detail());
        }
        this.processor = ImageProcessor.read(preprocessorConfig(modelFolder));
        this.model = OnnxModel.load(modelFolder.resolve(COMPONENT).resolve(ModelFolder.MODEL_FILE), options);
        this.flagsInGraph = model.hasOutput("has_nsfw_concepts");
        this.input = model.inputOr("clip_input");
        if (!flagsInGraph && !(model.hasOutput("concept_scores") && model.hasOutput("special_scores"))) {
            model.close();
            throw new ModelLoadException(modelFolder.resolve(COMPONENT) + "/model.onnx outputs " + model.outputNames()
                    + ": a safety checker export gives has_nsfw_concepts (diffusers' forward_onnx) or concept_scores"
                    + " and special_scores (tools/quality/export_quality_models.py)");
        }
    }

    /** Whether a model folder has a safety checker the engine can run, and where, or why not. */
    public record Presence(boolean usable, String detail) {}

    /**
     * Looks for {@code safety_checker/model.onnx} and {@code feature_extractor/preprocessor_config.json} in a model
     * folder without opening anything.
     */
    public static Presence presence(Path modelFolder) {
        Path dir = modelFolder.resolve(COMPONENT);
        Path onnx = dir.resolve(ModelFolder.MODEL_FILE);
        if (!Files.isDirectory(dir)) {
            return new Presence(false, "model folder " + modelFolder + " has no " + COMPONENT + "/");
        }
        if (!Files.isRegularFile(onnx)) {
            boolean torch = Files.isRegularFile(dir.resolve("model.safetensors"))
                    || Files.isRegularFile(dir.resolve("pytorch_model.bin"));
            return new Presence(
                    false,
                    "model folder " + modelFolder + ": " + COMPONENT + "/ has no " + ModelFolder.MODEL_FILE
                            + (torch ? " (only PyTorch weights, as Optimum leaves it)" : "")
                            + "; export it with tools/quality/export_quality_models.py safety-checker");
        }
        if (!Files.isRegularFile(preprocessorConfig(modelFolder))) {
            return new Presence(
                    false,
                    "model folder " + modelFolder + " has " + COMPONENT + "/" + ModelFolder.MODEL_FILE + " but no "
                            + FEATURE_EXTRACTOR + "/preprocessor_config.json (the checker's image preprocessing)");
        }
        return new Presence(true, onnx.toString());
    }

    private static Path preprocessorConfig(Path modelFolder) {
        return modelFolder.resolve(FEATURE_EXTRACTOR).resolve("preprocessor_config.json");
    }

    /** Opens a model folder's safety checker on the given device; a folder without a usable one is an error. */
    public static SafetyChecker open(Path modelFolder, RuntimeOptions options) {
        return new SafetyChecker(modelFolder, options);
    }

    /** False for diffusers' flags-only export (results without scores). */
    public boolean givesScores() {
        return !flagsInGraph;
    }

    /** The verdict on each picture of {@code (B, H, W, C)} in [0, 1], in one model call. */
    public List<SafetyResult> check(Tensor images) {
        Tensor pixels = processor.apply(images);
        List<SafetyResult> out = new ArrayList<>();
        if (flagsInGraph) {
            // picture by picture, as OnnxStableDiffusionPipeline calls it: the graph's black-out only runs at batch 1
            Tensor placeholder = Tensor.zeros(1, 1, 1, 3);
            for (int b = 0; b < pixels.dim(0); b++) {
                Tensor one = Tensors.sliceBatch(pixels, b, b + 1);
                Tensor flag = model.run1(Map.of(input, one, "images", placeholder), "has_nsfw_concepts");
                out.add(new SafetyResult(flag.data()[0] != 0f, null, null));
            }
            return out;
        }
        Map<String, Tensor> scores = rawScores(pixels);
        Tensor concept = scores.get("concept_scores");
        Tensor special = scores.get("special_scores");
        for (int b = 0; b < concept.dim(0); b++) {
            out.add(decide(row(concept, b), row(special, b)));
        }
        return out;
    }

    /** The graph's {@code concept_scores} and {@code special_scores} (cosine minus threshold) of pixel values. */
    Map<String, Tensor> rawScores(Tensor pixels) {
        return BatchRuns.run(model, Map.of(input, pixels), "concept_scores", "special_scores");
    }

    private static float[] row(Tensor t, int b) {
        int n = t.rowSize();
        float[] r = new float[n];
        System.arraycopy(t.data(), b * n, r, 0, n);
        return r;
    }

    /** {@code StableDiffusionSafetyChecker.forward}'s thresholds on one picture's scores (see the class comment). */
    static SafetyResult decide(float[] conceptMinusThreshold, float[] specialMinusThreshold) {
        float adjustment = 0f;
        float[] special = new float[specialMinusThreshold.length];
        for (int k = 0; k < special.length; k++) {
            special[k] = round3(specialMinusThreshold[k] + adjustment);
            if (special[k] > 0) {
                adjustment = SPECIAL_CARE_ADJUSTMENT;
            }
        }
        float[] concept = new float[conceptMinusThreshold.length];
        boolean nsfw = false;
        for (int k = 0; k < concept.length; k++) {
            concept[k] = round3(conceptMinusThreshold[k] + adjustment);
            nsfw |= concept[k] > 0;
        }
        return new SafetyResult(nsfw, concept, special);
    }

    /** numpy's {@code round(x, 3)} of a float32: {@code rint(x * 1000) / 1000}, each step in float32. */
    static float round3(float x) {
        return (float) Math.rint(x * 1000f) / 1000f;
    }

    /**
     * The pictures with every flagged one replaced by black (zeros), as diffusers returns them; a copy when any is
     * flagged, the same tensor otherwise.
     */
    public static Tensor blackOut(Tensor images, List<SafetyResult> results) {
        if (results.size() != images.dim(0)) {
            throw new IllegalArgumentException(images.dim(0) + " pictures but " + results.size() + " verdicts");
        }
        if (results.stream().noneMatch(SafetyResult::nsfw)) {
            return images;
        }
        Tensor out = images.copy();
        int row = images.rowSize();
        for (int b = 0; b < results.size(); b++) {
            if (results.get(b).nsfw()) {
                Arrays.fill(out.data(), b * row, (b + 1) * row, 0f);
            }
        }
        return out;
    }

    @Override
    public String name() {
        return COMPONENT;
    }

    @Override
    public List<ScoreField> fields() {
        return FIELDS;
    }

    @Override
    public List<Map<String, Object>> score(ScoringBatch batch) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (SafetyResult r : check(batch.images())) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put(NSFW, r.nsfw());
            row.put(NSFW_SCORE, r.hasScores() ? r.nsfwScore().getAsDouble() : null);
            row.put(NSFW_SPECIAL_SCORE, r.hasScores() ? r.specialCareScore().getAsDouble() : null);
            rows.add(Collections.unmodifiableMap(row));
        }
        return Collections.unmodifiableList(rows);
    }

    @Override
    public void close() {
        model.close();
    }
}

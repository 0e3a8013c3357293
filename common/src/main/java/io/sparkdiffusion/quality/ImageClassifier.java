package io.sparkdiffusion.quality;

import io.sparkdiffusion.image.ImageProcessor;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
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
 * Any ONNX image classifier with a label list, as a scorer: each picture's most probable class ({@code label}), its
 * softmax probability ({@code label_score}) and whether it is the expected label ({@code label_matches}).
 *
 * <p>The folder: {@code model.onnx} (one picture input, {@code pixel_values} or its first input, {@code (B, C, H, W)};
 * output {@code logits} or its first output, {@code (B, classes)}), the labels ({@link Labels}: {@code labels.txt}
 * or {@code config.json}'s {@code id2label}) and optionally {@code preprocessor_config.json} (a transformers image
 * processor, {@link ImageProcessor}), which is what Optimum writes for an image-classification export. Without it a
 * picture goes in as written to PNG: rounded to 8 bits, divided by 255, not resized (a grayscale picture repeated to
 * three channels when the model takes three): the bundled {@code models/digits-classifier} is such a folder.
 *
 * <p>The expected label of a picture is its batch entry, else the label its prompt names ({@link Labels#find}).
 */
public final class ImageClassifier implements Scorer {
    public static final String LABEL = "label";
    public static final String LABEL_SCORE = "label_score";
    public static final String LABEL_MATCHES = "label_matches";
    private static final List<ScoreField> FIELDS = List.of(
            new ScoreField(LABEL, ScoreField.Type.STRING, "the classifier's most probable label"),
            new ScoreField(LABEL_SCORE, ScoreField.Type.DOUBLE, "its softmax probability, in [0, 1]"),
            new ScoreField(
                    LABEL_MATCHES,
                    ScoreField.Type.BOOLEAN,
                    "whether the label is the expected one (null when no label is expected)"));

    private final OnnxModel model;
    private final Labels labels;
    private final ImageProcessor processor;
    private final String input;
    private final String output;

    private ImageClassifier(Path folder, RuntimeOptions options) {
        this.labels = Labels.read(folder);
        this.model = OnnxModel.load(folder.resolve("model.onnx"), options);
        try {
            this.input = model.inputOr("pixel_values");
            this.output = model.outputOr("logits");
            long[] in = model.inputShape(input);
            if (in.length != 4) {
                throw new ModelLoadException(
                        folder + "/model.onnx: input '" + input + "' must be (B, C, H, W), not " + Arrays.toString(in));
            }
            long[] out = model.outputShape(output);
            if (out.length != 2 || (out[1] > 0 && out[1] != labels.size())) {
                throw new ModelLoadException(folder + "/model.onnx: output '" + output + "' " + Arrays.toString(out)
                        + " does not give one logit for each of the " + labels.size() + " labels");
            }
            Path config = folder.resolve("preprocessor_config.json");
            this.processor = Files.isRegularFile(config)
                    ? ImageProcessor.read(config)
                    : ImageProcessor.of(JsonConfig.parse(
                            "{\"do_resize\": false, \"do_center_crop\": false, \"do_normalize\": false,"
                                    + " \"do_rescale\": true, \"do_convert_rgb\": " + (in[1] == 3) + "}",
                            folder + " (no preprocessor_config.json: 8-bit pictures / 255)"));
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Opens a classifier folder on the given device. */
    public static ImageClassifier open(Path folder, RuntimeOptions options) {
        return new ImageClassifier(folder, options);
    }

    public Labels labels() {
        return labels;
    }

    /** A picture's class: its index, label and softmax probability. */
    public record Classification(int index, String label, double score) {}

    /** The most probable class of each picture of {@code (B, H, W, C)} in [0, 1], in one model call. */
    public List<Classification> classify(Tensor images) {
        Tensor pixels = processor.apply(images);
        long[] declared = model.inputShape(input);
        for (int axis = 1; axis < 4; axis++) {
            if (declared[axis] > 0 && declared[axis] != pixels.dim(axis)) {
                throw new IllegalArgumentException("classifier '" + model.name() + "' takes (B, C, H, W) = "
                        + Arrays.toString(declared) + " but the pictures make " + Arrays.toString(pixels.shape())
                        + (axis == 1 ? "" : "; give the classifier a preprocessor_config.json that resizes"));
            }
        }
        Tensor logits = BatchRuns.run(model, Map.of(input, pixels), output).get(output);
        int classes = (int) logits.dim(1);
        float[] z = logits.data();
        List<Classification> out = new ArrayList<>();
        for (int b = 0; b < logits.dim(0); b++) {
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (z[b * classes + c] > z[b * classes + best]) {
                    best = c;
                }
            }
            // softmax probability of the best class: exp(z_best - max) / sum exp(z - max), max = z_best
            double sum = 0;
            for (int c = 0; c < classes; c++) {
                sum += Math.exp((double) z[b * classes + c] - z[b * classes + best]);
            }
            out.add(new Classification(best, labels.label(best), 1.0 / sum));
        }
        return out;
    }

    @Override
    public String name() {
        return "classifier";
    }

    @Override
    public List<ScoreField> fields() {
        return FIELDS;
    }

    @Override
    public List<Map<String, Object>> score(ScoringBatch batch) {
        List<Classification> classes = classify(batch.images());
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < classes.size(); i++) {
            Classification c = classes.get(i);
            String expected = batch.expectedLabels().get(i);
            if (expected == null) {
                expected = labels.find(batch.prompts().get(i)).orElse(null);
            }
            Map<String, Object> row = new LinkedHashMap<>();
            row.put(LABEL, c.label());
            row.put(LABEL_SCORE, c.score());
            row.put(LABEL_MATCHES, expected == null ? null : labels.matches(c.index(), expected));
            rows.add(Collections.unmodifiableMap(row));
        }
        return Collections.unmodifiableList(rows);
    }

    @Override
    public void close() {
        model.close();
    }
}

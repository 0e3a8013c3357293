package io.sparkdiffusion.quality;

import io.sparkdiffusion.image.ImageProcessor;
import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.text.ClipTokenizer;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The CLIP score of each picture against its prompt, as torchmetrics' {@code CLIPScore} defines it
 * ({@code _clip_score_update}): {@code max(100 * cos(E_image, E_text), 0)}, the cosine of CLIP's projected image and
 * text embeddings. Higher means the picture agrees better with its prompt; the values of different CLIP models are
 * not comparable (docs/quality.md).
 *
 * <p>The scorer folder ({@code tools/quality/export_quality_models.py clip}):
 *
 * <pre>
 *   text_model/model.onnx      input_ids (B, L) -&gt; text_embeds (B, D)       (CLIPTextModelWithProjection)
 *   vision_model/model.onnx    pixel_values (B, 3, S, S) -&gt; image_embeds (B, D) (CLIPVisionModelWithProjection)
 *   tokenizer/                 the CLIP tokenizer (tokenizer.json, or vocab.json + merges.txt)
 *   preprocessor_config.json   the CLIPImageProcessor settings
 * </pre>
 *
 * Pictures go through the image processor as 8-bit pictures ({@link ImageProcessor}), as torchmetrics gets them;
 * prompts through the CLIP tokenizer padded to its {@code model_max_length} (77). A prompt longer than 75 tokens is cut
 * keeping its end-of-text token, as diffusers encodes prompts; torchmetrics cuts after tokenizing and so drops that
 * token (its text embedding is then the first token's). Immutable; thread-safe.
 */
public final class ClipScorer implements Scorer {
    public static final String CLIP_SCORE = "clip_score";
    private static final List<ScoreField> FIELDS = List.of(new ScoreField(
            CLIP_SCORE,
            ScoreField.Type.DOUBLE,
            "100 x the cosine of the CLIP image and prompt embeddings, floored at 0 (torchmetrics CLIPScore)"));

    private final OnnxModel text;
    private final OnnxModel vision;
    private final ClipTokenizer tokenizer;
    private final ImageProcessor processor;

    private ClipScorer(Path folder, RuntimeOptions options) {
        this.processor = ImageProcessor.read(folder.resolve("preprocessor_config.json"));
        this.tokenizer = ClipTokenizer.load(folder.resolve("tokenizer"));
        OnnxModel t = null;
        try {
            t = OnnxModel.load(folder.resolve("text_model").resolve(ModelFolder.MODEL_FILE), options);
            this.vision = OnnxModel.load(folder.resolve("vision_model").resolve(ModelFolder.MODEL_FILE), options);
            this.text = t;
        } catch (RuntimeException e) {
            if (t != null) {
                t.close();
            }
            tokenizer.close();
            throw e;
        }
        if (!text.hasOutput("text_embeds") || !vision.hasOutput("image_embeds")) {
            close();
            throw new ModelLoadException(folder + ": a CLIP scorer needs text_model/model.onnx with output text_embeds"
                    + " and vision_model/model.onnx with output image_embeds (projected embeddings); they have "
                    + text.outputNames() + " and " + vision.outputNames());
        }
    }

    /** Opens a CLIP scorer folder on the given device. */
    public static ClipScorer open(Path folder, RuntimeOptions options) {
        return new ClipScorer(folder, options);
    }

    /** The projected text embeddings {@code (B, D)} of the prompts (not normalised). */
    public Tensor textEmbeds(List<String> prompts) {
        Tensor ids = tokenizer.encodeBatch(prompts);
        return BatchRuns.run(text, Map.of(text.inputOr("input_ids"), ids), "text_embeds")
                .get("text_embeds");
    }

    /** The projected image embeddings {@code (B, D)} of pictures {@code (B, H, W, C)} in [0, 1] (not normalised). */
    public Tensor imageEmbeds(Tensor images) {
        Tensor pixels = processor.apply(images);
        return BatchRuns.run(vision, Map.of(vision.inputOr("pixel_values"), pixels), "image_embeds")
                .get("image_embeds");
    }

    /** The CLIP score of each picture against its prompt. */
    public double[] clipScores(Tensor images, List<String> prompts) {
        if (prompts.size() != images.dim(0)) {
            throw new IllegalArgumentException(images.dim(0) + " pictures but " + prompts.size() + " prompts");
        }
        List<String> texts = new ArrayList<>();
        for (String p : prompts) {
            texts.add(p == null ? "" : p);
        }
        Tensor img = imageEmbeds(images);
        Tensor txt = textEmbeds(texts);
        int d = img.rowSize();
        if (txt.rowSize() != d) {
            throw new ModelLoadException("CLIP scorer: image embeddings have " + d + " values, text embeddings "
                    + txt.rowSize() + ": the two models do not belong together");
        }
        double[] out = new double[prompts.size()];
        for (int b = 0; b < out.length; b++) {
            out[b] = clipScore(img.data(), txt.data(), b * d, d);
        }
        return out;
    }

    /** {@code max(100 * a.b / (|a| |b|), 0)} of two embeddings at {@code offset} in their arrays. */
    static double clipScore(float[] a, float[] b, int offset, int d) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = offset; i < offset + d; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return Math.max(100 * dot / Math.sqrt(na * nb), 0);
    }

    @Override
    public String name() {
        return CLIP_SCORE;
    }

    @Override
    public List<ScoreField> fields() {
        return FIELDS;
    }

    @Override
    public List<Map<String, Object>> score(ScoringBatch batch) {
        double[] scores = clipScores(batch.images(), batch.prompts());
        List<Map<String, Object>> rows = new ArrayList<>();
        for (double s : scores) {
            rows.add(Map.of(CLIP_SCORE, s));
        }
        return Collections.unmodifiableList(rows);
    }

    @Override
    public void close() {
        text.close();
        vision.close();
        tokenizer.close();
    }
}

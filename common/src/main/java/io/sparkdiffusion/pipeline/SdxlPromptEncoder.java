package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.text.ClipTokenizer;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * SDXL's prompt encoding (diffusers' {@code StableDiffusionXLPipeline.encode_prompt}): the penultimate hidden states
 * of both CLIP encoders concatenated on the feature axis, the second encoder's projected {@code text_embeds} as the
 * pooled embedding, and {@code time_ids = (H, W, 0, 0, H, W)} (original size, crop top-left, target size). With
 * guidance, a row without a negative prompt gets zero negative embeddings when the model sets
 * {@code force_zeros_for_empty_prompt} (the default). Prompts and negative prompts go through each encoder in one
 * run, each distinct text once ({@link TextEmbeddings}).
 */
final class SdxlPromptEncoder implements PromptEncoder {
    private final Path root;
    private final ClipTokenizer tokenizer;
    private final ClipTokenizer tokenizer2;
    private final OnnxModel textEncoder;
    private final OnnxModel textEncoder2;
    private final boolean forceZerosForEmptyPrompt;
    private final TextEmbeddings embeddings;

    SdxlPromptEncoder(ModelFolder model) {
        this.root = model.root();
        this.tokenizer = ClipTokenizer.load(model.componentDir("tokenizer"));
        this.tokenizer2 = ClipTokenizer.load(model.componentDir("tokenizer_2"));
        this.textEncoder = model.session("text_encoder");
        this.textEncoder2 = model.session("text_encoder_2");
        this.forceZerosForEmptyPrompt = model.modelIndex().getBoolean("force_zeros_for_empty_prompt", true);
        this.embeddings = new TextEmbeddings(this::encodeDistinct, TextEmbeddings.DEFAULT_MAX_BYTES);
    }

    @Override
    public Conditioning encode(
            List<String> prompts, List<String> negativePrompts, boolean guided, int height, int width) {
        List<String> texts = new ArrayList<>();
        if (guided) {
            // a row without a negative prompt: zeros where the model forces them (no encoder run), else ""
            negativePrompts.forEach(n -> texts.add(n == null && !forceZerosForEmptyPrompt ? "" : n));
        }
        prompts.forEach(p -> texts.add(p == null ? "" : p));
        List<Tensor> rows = embeddings.rows(texts);
        Map<String, Tensor> feeds = Map.of(
                "encoder_hidden_states",
                rows.get(0),
                "text_embeds",
                rows.get(1),
                "time_ids",
                timeIds(texts.size(), height, width));
        return guided ? Conditioning.guided(feeds) : Conditioning.unguided(feeds);
    }

    /** Per text: both encoders' penultimate hidden states on the feature axis, and the pooled embedding. */
    private List<Tensor> encodeDistinct(List<String> texts) {
        Tensor h1 = textEncoder.run1(Map.of("input_ids", tokenizer.encodeBatch(texts)), penultimate(textEncoder));
        Map<String, Tensor> out2 = textEncoder2.run(
                Map.of("input_ids", tokenizer2.encodeBatch(texts)),
                penultimate(textEncoder2),
                textEncoder2.outputOr("text_embeds"));
        Tensor h2 = out2.get(penultimate(textEncoder2));
        Tensor pooled = out2.get(textEncoder2.outputOr("text_embeds"));
        if (pooled.rank() != 2) {
            throw new ModelLoadException(
                    root + ": text_encoder_2 has no pooled 'text_embeds' output (rank 2); outputs: "
                            + textEncoder2.outputNames());
        }
        return List.of(Tensors.concatLastAxis(h1, h2), pooled);
    }

    /** The name of the second-to-last {@code hidden_states.N} output (diffusers' {@code hidden_states[-2]}). */
    private String penultimate(OnnxModel encoder) {
        int count = 0;
        for (String n : encoder.outputNames()) {
            if (n.startsWith("hidden_states.")) {
                count++;
            }
        }
        if (count < 2) {
            throw new ModelLoadException(
                    root + ": " + encoder.name()
                            + " exports no hidden_states.* outputs; SDXL needs the penultimate layer (re-export with output_hidden_states)");
        }
        return "hidden_states." + (count - 2);
    }

    /** {@code [original_h, original_w, crop_top, crop_left, target_h, target_w]} per row. */
    private static Tensor timeIds(int rows, int height, int width) {
        float[] one = {height, width, 0, 0, height, width};
        float[] d = new float[rows * one.length];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(one, 0, d, r * one.length, one.length);
        }
        return new Tensor(new long[] {rows, one.length}, d);
    }

    @Override
    public void close() {
        tokenizer.close();
        tokenizer2.close();
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.text.ClipTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Stable Diffusion's prompt encoding (diffusers' {@code StableDiffusionPipeline.encode_prompt}, reused by
 * {@code TextToVideoSDPipeline}): one CLIP text encoder whose {@code last_hidden_state} conditions the UNet as
 * {@code encoder_hidden_states}; a missing negative prompt is encoded as "". Prompts and negative prompts go through
 * the encoder in one run, each distinct text once ({@link TextEmbeddings}).
 */
final class ClipPromptEncoder implements PromptEncoder {
    private final ClipTokenizer tokenizer;
    private final OnnxModel textEncoder;
    private final TextEmbeddings embeddings;

    ClipPromptEncoder(ModelFolder model) {
        this.tokenizer = ClipTokenizer.load(model.componentDir("tokenizer"));
        this.textEncoder = model.session("text_encoder");
        this.embeddings = new TextEmbeddings(this::encodeDistinct, TextEmbeddings.DEFAULT_MAX_BYTES);
    }

    @Override
    public Conditioning encode(
            List<String> prompts, List<String> negativePrompts, boolean guided, int height, int width) {
        List<String> texts = new ArrayList<>();
        if (guided) {
            negativePrompts.forEach(n -> texts.add(n == null ? "" : n));
        }
        prompts.forEach(p -> texts.add(p == null ? "" : p));
        Map<String, Tensor> feeds =
                Map.of("encoder_hidden_states", embeddings.rows(texts).get(0));
        return guided ? Conditioning.guided(feeds) : Conditioning.unguided(feeds);
    }

    private List<Tensor> encodeDistinct(List<String> texts) {
        Tensor ids = tokenizer.encodeBatch(texts);
        return List.of(textEncoder.run1(Map.of("input_ids", ids), textEncoder.outputOr("last_hidden_state")));
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}

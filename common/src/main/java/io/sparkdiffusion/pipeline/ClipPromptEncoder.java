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
 * {@code encoder_hidden_states}; a missing negative prompt is encoded as "".
 */
final class ClipPromptEncoder implements PromptEncoder {
    private final ClipTokenizer tokenizer;
    private final OnnxModel textEncoder;

    ClipPromptEncoder(ModelFolder model) {
        this.tokenizer = ClipTokenizer.load(model.componentDir("tokenizer"));
        this.textEncoder = model.session("text_encoder");
    }

    @Override
    public Conditioning encode(
            List<String> prompts, List<String> negativePrompts, boolean guided, int height, int width) {
        Map<String, Tensor> positive = Map.of("encoder_hidden_states", encode(prompts));
        if (!guided) {
            return Conditioning.unguided(positive);
        }
        List<String> negatives = new ArrayList<>();
        for (String n : negativePrompts) {
            negatives.add(n == null ? "" : n);
        }
        return Conditioning.guided(Map.of("encoder_hidden_states", encode(negatives)), positive);
    }

    private Tensor encode(List<String> texts) {
        Tensor ids = tokenizer.encodeBatch(texts);
        return textEncoder.run1(Map.of("input_ids", ids), textEncoder.outputOr("last_hidden_state"));
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}

package io.sparkdiffusion.pipeline;

import java.util.List;

/**
 * Encodes a batch's prompts into the UNet's text conditioning: the part in which SD ({@link ClipPromptEncoder},
 * also ModelScope text-to-video) and SDXL ({@link SdxlPromptEncoder}) differ, as their {@code encode_prompt} does.
 */
interface PromptEncoder extends AutoCloseable {
    /**
     * The conditioning of {@code prompts}; with {@code guided}, also of the negative prompts (a null entry: no negative
     * prompt for that row). {@code height} and {@code width} are the picture's (SDXL's time ids carry them).
     */
    Conditioning encode(List<String> prompts, List<String> negativePrompts, boolean guided, int height, int width);

    /** Releases the tokenizers (the sessions belong to the model folder). */
    @Override
    void close();
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;

/**
 * A pipeline that makes pictures: text-to-image, image-to-image, inpainting, unconditional generation, Kandinsky 2.2
 * sketch-to-image. Pictures come back as {@code (B, H, W, C)} in [0, 1], diffusers' {@code output_type="np"}.
 */
public interface ImagePipeline extends Pipeline {
    /**
     * Generates one batch.
     *
     * @throws io.sparkdiffusion.util.InvalidRequestException when the request does not fit the model (this batch's
     *     fault)
     * @throws io.sparkdiffusion.util.EngineException when the model or its sessions fail (every batch would)
     */
    Tensor generate(ImageRequest request, NoiseSource noise, StepListener listener);

    default Tensor generate(ImageRequest request, NoiseSource noise) {
        return generate(request, noise, StepListener.NONE);
    }

    /** Channels of the pictures (1 for grayscale models). */
    int imageChannels();
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;

/**
 * diffusers' {@code StableDiffusionImg2ImgPipeline}: Stable Diffusion's prompt encoding with the
 * {@link ImageToImage} flow; strength 0.8 unless the request sets one.
 */
final class StableDiffusionImg2ImgPipeline extends StableDiffusionPipeline {
    /** diffusers' default {@code strength} for this pipeline. */
    public static final double DEFAULT_STRENGTH = 0.8;

    private final ImageToImage flow;

    StableDiffusionImg2ImgPipeline(ModelFolder model) {
        super(model, Task.IMAGE_TO_IMAGE);
        this.flow = new ImageToImage(this, DEFAULT_STRENGTH);
    }

    @Override
    public Tensor generate(ImageRequest request, NoiseSource noise, StepListener listener) {
        return flow.generate(request, noise, listener);
    }
}

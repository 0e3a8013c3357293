package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;

/**
 * diffusers' {@code StableDiffusionImg2ImgPipeline}: Stable Diffusion's prompt encoding with the
 * {@link ImageToImage} flow; strength 0.8 unless the request sets one.
 */
public class StableDiffusionImg2ImgPipeline extends StableDiffusionPipeline {
    /** diffusers' default {@code strength} for this pipeline. */
    public static final double DEFAULT_STRENGTH = 0.8;

    private final ImageToImage flow;

    public StableDiffusionImg2ImgPipeline(ModelFolder model) {
        super(model);
        this.flow = new ImageToImage(this, DEFAULT_STRENGTH);
    }

    @Override
    public Tensor generate(GenerationRequest request, NoiseSource noise, StepListener listener) {
        return flow.generate(request, noise, listener);
    }
}

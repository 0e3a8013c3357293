package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;

/**
 * diffusers' {@code StableDiffusionInpaintPipeline}: Stable Diffusion's prompt encoding with the {@link Inpainting}
 * flow, for 9-channel inpainting UNets and, by latent blending, plain 4-channel ones; strength 1.0 unless the
 * request sets one.
 */
final class StableDiffusionInpaintPipeline extends StableDiffusionPipeline {
    /** diffusers' default {@code strength} for this pipeline. */
    public static final double DEFAULT_STRENGTH = 1.0;

    private final Inpainting flow;

    StableDiffusionInpaintPipeline(ModelFolder model) {
        super(model, Task.INPAINT);
        this.flow = new Inpainting(this, DEFAULT_STRENGTH);
    }

    /** True for a 9-channel inpainting UNet, false for latent blending on a plain UNet. */
    public boolean usesMaskChannels() {
        return flow.maskChannels();
    }

    @Override
    public Tensor generate(ImageRequest request, NoiseSource noise, StepListener listener) {
        return flow.generate(request, noise, listener);
    }
}

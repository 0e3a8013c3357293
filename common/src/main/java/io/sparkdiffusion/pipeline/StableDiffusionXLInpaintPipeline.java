package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.ModelLoadException;

/**
 * diffusers' {@code StableDiffusionXLInpaintPipeline}: SDXL's prompt encoding (time ids {@code (H, W, 0, 0, H, W)})
 * with the {@link Inpainting} flow, for 9-channel inpainting UNets and, by latent blending, plain 4-channel ones;
 * strength 0.9999 unless the request sets one (diffusers' default).
 */
final class StableDiffusionXLInpaintPipeline extends StableDiffusionXLPipeline {
    /** diffusers' default {@code strength} for this pipeline. */
    public static final double DEFAULT_STRENGTH = 0.9999;

    private final Inpainting flow;

    StableDiffusionXLInpaintPipeline(ModelFolder model) {
        super(model, Task.INPAINT);
        if (model.modelIndex().getBoolean("requires_aesthetics_score", false)) {
            throw new ModelLoadException(
                    model.root() + ": requires_aesthetics_score (aesthetic-score time ids) is not" + " supported");
        }
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

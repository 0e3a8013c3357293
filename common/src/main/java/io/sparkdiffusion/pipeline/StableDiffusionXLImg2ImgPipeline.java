package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.ModelLoadException;

/**
 * diffusers' {@code StableDiffusionXLImg2ImgPipeline} (e.g. SDXL-Turbo img2img): SDXL's prompt encoding with the
 * {@link ImageToImage} flow; strength 0.3 unless the request sets one. The time ids are those of text-to-image,
 * {@code (H, W, 0, 0, H, W)} from the init image's size ({@code requires_aesthetics_score} false); models that
 * condition on an aesthetic score instead (the SDXL refiner) are refused.
 */
final class StableDiffusionXLImg2ImgPipeline extends StableDiffusionXLPipeline {
    /** diffusers' default {@code strength} for this pipeline. */
    public static final double DEFAULT_STRENGTH = 0.3;

    private final ImageToImage flow;

    StableDiffusionXLImg2ImgPipeline(ModelFolder model) {
        super(model, Task.IMAGE_TO_IMAGE);
        if (model.modelIndex().getBoolean("requires_aesthetics_score", false)) {
            throw new ModelLoadException(model.root() + ": requires_aesthetics_score (aesthetic-score time ids, the"
                    + " SDXL refiner) is not supported");
        }
        this.flow = new ImageToImage(this, DEFAULT_STRENGTH);
    }

    @Override
    public Tensor generate(ImageRequest request, NoiseSource noise, StepListener listener) {
        return flow.generate(request, noise, listener);
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.Task;

/**
 * diffusers' {@code StableDiffusionXLPipeline} (SDXL, SDXL-Turbo, Playground v2): {@link SdxlPromptEncoder}'s
 * conditioning, the text-to-image flow. Guidance 0 (Turbo) runs one UNet pass per step.
 */
class StableDiffusionXLPipeline extends TextToImagePipeline {
    StableDiffusionXLPipeline(ModelFolder model) {
        this(model, Task.TEXT_TO_IMAGE);
    }

    StableDiffusionXLPipeline(ModelFolder model, Task task) {
        super(model, task, new SdxlPromptEncoder(model));
    }
}

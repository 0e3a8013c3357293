package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.Task;

/**
 * diffusers' {@code StableDiffusionPipeline} (SD 1.x/2.x, SD-Turbo, LCM-distilled UNets, the pixel-space digits
 * model): {@link ClipPromptEncoder}'s conditioning, the text-to-image flow.
 */
class StableDiffusionPipeline extends TextToImagePipeline {
    StableDiffusionPipeline(ModelFolder model) {
        this(model, Task.TEXT_TO_IMAGE);
    }

    StableDiffusionPipeline(ModelFolder model, Task task) {
        super(model, task, new ClipPromptEncoder(model));
    }
}

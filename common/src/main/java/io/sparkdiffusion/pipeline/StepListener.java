package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.tensor.Tensor;

/** Sees the latents after every denoising step (diffusers' {@code callback_on_step_end}); for parity checks and progress. */
@FunctionalInterface
public interface StepListener {
    StepListener NONE = (step, timestep, latents) -> {};

    void onStep(int step, double timestep, Tensor latents);
}

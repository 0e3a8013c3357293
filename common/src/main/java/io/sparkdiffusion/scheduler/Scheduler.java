package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;

/**
 * A diffusion sampler, the Java counterpart of a diffusers {@code SchedulerMixin}: built from a
 * {@code scheduler_config.json}, then {@link #setTimesteps}, and for each timestep {@link #scaleModelInput} before
 * the UNet and {@link #step} after it. Instances are stateful (multistep history, step index): one per generation
 * call, made by {@link Schedulers#create}.
 */
public interface Scheduler {
    /** Fixes the inference timesteps (diffusers {@code set_timesteps}). */
    void setTimesteps(int numInferenceSteps);

    /** The timesteps the UNet sees, in the order the loop visits them (may be fractional, e.g. Euler linspace). */
    double[] timesteps();

    /** Standard deviation of the initial noise (diffusers {@code init_noise_sigma}). */
    double initNoiseSigma();

    /** Scales the denoising model input for this timestep (identity for DDPM/DDIM, {@code 1/sqrt(sigma^2+1)} for Euler). */
    Tensor scaleModelInput(Tensor sample, double timestep);

    /**
     * One reverse step: from the model output at {@code timestep} and the current sample, the previous sample.
     * Stochastic samplers draw their noise from {@code noise} with the sample's shape.
     */
    Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise);

    /** The forward process {@code q(x_t | x_0)} at {@code timestep} (img2img, inpainting). */
    Tensor addNoise(Tensor originalSamples, Tensor noise, double timestep);

    /** Where the loop starts within {@link #timesteps()} (diffusers {@code set_begin_index}), for img2img. */
    void setBeginIndex(int beginIndex);

    /** Number of model evaluations per "step" of the underlying solver (diffusers {@code order}). */
    default int order() {
        return 1;
    }
}

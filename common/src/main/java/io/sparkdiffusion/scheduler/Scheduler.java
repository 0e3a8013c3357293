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

    /**
     * Explicit timesteps instead of a count (diffusers {@code set_timesteps(timesteps=...)}, the {@code timesteps}
     * argument of diffusers' pipelines), in the order the loop visits them. Only the schedulers whose diffusers
     * class takes them accept them ({@link #acceptsCustomTimesteps}); the others refuse, naming the class.
     * Pipelines call {@link Schedulers#retrieveTimesteps} rather than this.
     */
    default void setTimesteps(double[] timesteps) {
        throw new IllegalArgumentException(getClass().getSimpleName()
                + " does not take custom timesteps (its diffusers set_timesteps has no timesteps argument)");
    }

    /**
     * Explicit sigmas, the final one included (diffusers {@code set_timesteps(sigmas=...)}); only where the
     * diffusers class takes them ({@link #acceptsCustomSigmas}), refused by the others.
     */
    default void setSigmas(double[] sigmas) {
        throw new IllegalArgumentException(getClass().getSimpleName()
                + " does not take custom sigmas (its diffusers set_timesteps has no sigmas argument)");
    }

    /** Whether {@link #setTimesteps(double[])} is supported. */
    default boolean acceptsCustomTimesteps() {
        return false;
    }

    /** Whether {@link #setSigmas} is supported. */
    default boolean acceptsCustomSigmas() {
        return false;
    }

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

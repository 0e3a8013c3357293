package io.sparkdiffusion.noise;

import io.sparkdiffusion.tensor.Tensor;

/**
 * Where a pipeline gets its Gaussian draws. Every draw a pipeline makes (initial latents, the VAE posterior sample,
 * forward noise for {@code add_noise}, each ancestral/DDPM/LCM step's noise) goes through {@link #next}, in the same
 * order as diffusers' {@code randn_tensor} calls, so a recorded diffusers run can be replayed exactly.
 *
 * <p>Batch contract: axis 0 of {@code shape} is the batch of rows; row r of the returned tensor is row r's next
 * draw. A production source therefore keeps one independent stream per row, so a row's seed alone fixes its output
 * whatever the batching.
 */
public interface NoiseSource {
    /** The next standard-normal draw, of exactly this shape ({@code shape[0]} = rows of the batch). */
    Tensor next(long... shape);
}

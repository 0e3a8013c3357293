/**
 * Gaussian draws. API: {@link io.sparkdiffusion.noise.SeededNoise} (one generator per row: a row's seed alone fixes its
 * draws, whatever the batching) and its interface {@link io.sparkdiffusion.noise.NoiseSource}.
 * {@link io.sparkdiffusion.noise.ReplayNoise} replays the draws a reference case recorded.
 */
package io.sparkdiffusion.noise;

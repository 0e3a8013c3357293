/**
 * Dense float tensors. API: {@link io.sparkdiffusion.tensor.Tensor}, the engine's one array type (outputs are
 * {@code (B, H, W, C)} or {@code (B, F, H, W, C)} in [0, 1]). Engine internals: {@link io.sparkdiffusion.tensor.Tensors}
 * (batch and axis helpers), {@link io.sparkdiffusion.tensor.VideoTensors}, {@link io.sparkdiffusion.tensor.Npy},
 * {@link io.sparkdiffusion.tensor.Float16}.
 */
package io.sparkdiffusion.tensor;

/**
 * The pipelines, diffusers' pipeline classes in Java, and the API an embedder calls.
 *
 * <p>API: {@link io.sparkdiffusion.pipeline.Pipelines} opens a model folder for a task and returns an
 * {@link io.sparkdiffusion.pipeline.ImagePipeline} or a {@link io.sparkdiffusion.pipeline.VideoPipeline} (both
 * {@link io.sparkdiffusion.pipeline.Pipeline}); a call takes an {@link io.sparkdiffusion.pipeline.ImageRequest} or a
 * {@link io.sparkdiffusion.pipeline.VideoRequest} (common fields in {@link io.sparkdiffusion.pipeline.GenerationRequest},
 * each value checked by {@link io.sparkdiffusion.pipeline.RequestRules}) and a noise source
 * ({@link io.sparkdiffusion.noise.SeededNoise}: one seed per row), and returns pixels in [0, 1]; a
 * {@link io.sparkdiffusion.pipeline.StepListener} sees the latents after each step. A pipeline is immutable once open
 * and serves concurrent calls. {@link io.sparkdiffusion.pipeline.CaseReplay} replays a recorded diffusers run.
 *
 * <p>Everything else here is package-private: the pipeline classes themselves, the shared denoising loop
 * ({@code DiffusionPipeline.denoise}), prompt encoders, the conditioned UNet, the image-to-image and inpainting flows,
 * the VAE halves. {@link io.sparkdiffusion.pipeline.Conditioning} is public for the parity comparison only.
 */
package io.sparkdiffusion.pipeline;

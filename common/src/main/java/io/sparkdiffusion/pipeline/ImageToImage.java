package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.InvalidRequestException;
import io.sparkdiffusion.util.ModelLoadException;

/**
 * The image-to-image flow of diffusers' {@code StableDiffusionImg2ImgPipeline} and
 * {@code StableDiffusionXLImg2ImgPipeline}, run on the prompt encoding and UNet of an SD-family pipeline: encode
 * the init image with the VAE (draw 1: the posterior sample), noise it to the first kept timestep with
 * {@code add_noise} (draw 2), then denoise the {@code int(steps * strength)} remaining steps and decode
 * ({@code prepare_latents} and {@code get_timesteps} in {@code pipeline_stable_diffusion_img2img.py}).
 */
final class ImageToImage {
    private final TextToImagePipeline pipeline;
    private final LatentEncoder encoder;
    private final double defaultStrength;

    ImageToImage(TextToImagePipeline pipeline, double defaultStrength) {
        this.pipeline = pipeline;
        this.encoder = new LatentEncoder(pipeline.model);
        this.defaultStrength = defaultStrength;
        int channels = pipeline.unet.inChannels();
        if (channels != pipeline.decoder.latentChannels()) {
            throw new ModelLoadException(pipeline.model.root() + ": the UNet takes " + channels
                    + " input channels (an inpainting model); image-to-image needs a plain "
                    + pipeline.decoder.latentChannels() + "-channel UNet");
        }
    }

    Tensor generate(ImageRequest request, NoiseSource noise, StepListener listener) {
        if (request.image() == null) {
            throw new InvalidRequestException("image", "image-to-image needs an init image for every row");
        }
        if (request.mask() != null) {
            throw new InvalidRequestException("mask", "image-to-image takes no mask; inpainting (Task.INPAINT) does");
        }
        try (ConditionedUnet.Call call = pipeline.begin(request)) {
            Scheduler scheduler = pipeline.schedulerFor(request);
            double strength = request.strength() != null ? request.strength() : defaultStrength;
            int steps = DiffusionPipeline.setSchedule(scheduler, request, ImageRequest.DEFAULT_STEPS);
            StrengthSchedule schedule = StrengthSchedule.apply(scheduler, steps, strength);
            Tensor imageLatents = encoder.encode(LatentEncoder.pixels(request.image()), noise);
            Tensor latents = scheduler.addNoise(imageLatents, noise.next(imageLatents.shape()), schedule.first());
            Tensor result = DiffusionPipeline.denoise(
                    scheduler,
                    schedule.begin(),
                    latents,
                    (x, t) -> pipeline.unet.predict(call, x, t, null),
                    DiffusionPipeline.AfterStep.NONE,
                    noise,
                    listener);
            return pipeline.decoder.decode(result);
        }
    }
}

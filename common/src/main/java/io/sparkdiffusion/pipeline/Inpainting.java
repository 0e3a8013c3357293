package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.InvalidRequestException;
import io.sparkdiffusion.util.ModelLoadException;

/**
 * The inpainting flow of diffusers' {@code StableDiffusionInpaintPipeline} and
 * {@code StableDiffusionXLInpaintPipeline}, run on the prompt encoding and UNet of an SD-family pipeline.
 *
 * <p>A 9-channel inpainting UNet sees {@code cat[latents, mask, masked_image_latents]} on the channel axis; a plain
 * 4-channel UNet repaints by blending after every step: {@code (1 - mask) * add_noise(image_latents, noise, t_next)
 * + mask * latents}, with the clean image latents after the last step. Strength 1 starts from pure noise times
 * {@code init_noise_sigma}, lower strengths from the image latents noised to the first kept timestep.
 *
 * <p>Gaussian draws, in diffusers' order ({@code prepare_latents}, then {@code prepare_mask_latents}): the init
 * image's posterior sample (only for a 4-channel UNet or strength below 1), the initial noise, the masked image's
 * posterior sample, then the scheduler's own draws.
 */
final class Inpainting {
    private final TextToImagePipeline pipeline;
    private final LatentEncoder encoder;
    private final double defaultStrength;
    /** Whether the UNet takes the mask and masked-image latents as extra input channels. */
    private final boolean maskChannels;

    Inpainting(TextToImagePipeline pipeline, double defaultStrength) {
        this.pipeline = pipeline;
        this.encoder = new LatentEncoder(pipeline.model);
        this.defaultStrength = defaultStrength;
        int channels = pipeline.unet.inChannels();
        int latent = pipeline.decoder.latentChannels();
        if (channels == 2 * latent + 1) {
            this.maskChannels = true;
        } else if (channels == latent) {
            this.maskChannels = false;
        } else {
            throw new ModelLoadException(pipeline.model.root() + ": an inpainting UNet takes " + latent + " or "
                    + (2 * latent + 1) + " input channels, this one " + channels);
        }
    }

    /** Whether this pipeline feeds a 9-channel inpainting UNet (false: latent blending on a plain UNet). */
    boolean maskChannels() {
        return maskChannels;
    }

    Tensor generate(ImageRequest request, NoiseSource noise, StepListener listener) {
        if (request.image() == null || request.mask() == null) {
            throw new InvalidRequestException(
                    request.image() == null ? "image" : "mask",
                    "inpainting needs an init image and a mask for every row");
        }
        try (ConditionedUnet.Call call = pipeline.begin(request)) {
            Scheduler scheduler = pipeline.schedulerFor(request);
            double strength = request.strength() != null ? request.strength() : defaultStrength;
            int steps = DiffusionPipeline.setSchedule(scheduler, request, ImageRequest.DEFAULT_STEPS);
            StrengthSchedule schedule = StrengthSchedule.apply(scheduler, steps, strength);
            boolean fromNoise = strength == 1.0;
            int f = pipeline.decoder.scaleFactor();
            InpaintMask mask = InpaintMask.of(request.mask(), call.height() / f, call.width() / f);
            Tensor pixels = LatentEncoder.pixels(request.image());

            // draws in diffusers' order (pipeline_stable_diffusion_inpaint.py, prepare_latents then
            // prepare_mask_latents);
            // the masked image is encoded, and its posterior sampled, even when a 4-channel UNet never uses it
            Tensor imageLatents = !maskChannels || !fromNoise ? encoder.encode(pixels, noise) : null;
            Tensor initialNoise =
                    noise.next(call.rows(), pipeline.decoder.latentChannels(), call.height() / f, call.width() / f);
            Tensor latents = fromNoise
                    ? Tensors.scale(initialNoise, scheduler.initNoiseSigma())
                    : scheduler.addNoise(imageLatents, initialNoise, schedule.first());
            Tensor maskedImageLatents = encoder.encode(mask.keepOnly(pixels), noise);

            Tensor extra = null;
            DiffusionPipeline.AfterStep after = DiffusionPipeline.AfterStep.NONE;
            if (maskChannels) {
                extra = Tensors.concatChannels(mask.latent(), maskedImageLatents);
                extra = call.guided() ? Tensors.concatBatch(extra, extra) : extra;
            } else {
                double[] timesteps = schedule.timesteps();
                after = (i, x) -> {
                    // the known region re-noised to the next timestep, or clean after the last step
                    Tensor known = i < timesteps.length - 1
                            ? scheduler.addNoise(imageLatents, initialNoise, timesteps[i + 1])
                            : imageLatents;
                    return mask.blend(known, x);
                };
            }
            Tensor unetExtra = extra;
            Tensor result = DiffusionPipeline.denoise(
                    scheduler,
                    schedule.begin(),
                    latents,
                    (x, t) -> pipeline.unet.predict(call, x, t, unetExtra),
                    after,
                    noise,
                    listener);
            Tensor image = pipeline.decoder.decode(result);
            return request.keepUnmasked() ? mask.keepUnmasked(request.image(), image) : image;
        }
    }
}

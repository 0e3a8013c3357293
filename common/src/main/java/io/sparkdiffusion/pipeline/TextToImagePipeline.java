package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.InvalidRequestException;

/**
 * The picture flow shared by Stable Diffusion and SDXL: the text-conditioned UNet ({@link ConditionedUnet} with the
 * family's {@link PromptEncoder}) and the VAE decoder, and the text-to-image flow itself: draw the initial latents
 * scaled by {@code init_noise_sigma}, run the loop, decode with {@code z / scaling_factor + shift_factor}. The
 * image-to-image and inpainting classes run their own flows ({@link ImageToImage}, {@link Inpainting}) on the same
 * parts.
 */
abstract class TextToImagePipeline extends DiffusionPipeline implements ImagePipeline {
    protected final ConditionedUnet unet;
    protected final LatentDecoder decoder;
    private final ModelInfo info;

    protected TextToImagePipeline(ModelFolder model, Task task, PromptEncoder prompts) {
        super(model, task);
        this.decoder = new LatentDecoder(model);
        this.unet = new ConditionedUnet(model, prompts, decoder.scaleFactor());
        this.info = ModelInfo.of(model);
    }

    @Override
    public Tensor generate(ImageRequest request, NoiseSource noise, StepListener listener) {
        try (ConditionedUnet.Call call = begin(request)) {
            Scheduler scheduler = schedulerFor(request);
            setSchedule(scheduler, request, ImageRequest.DEFAULT_STEPS);
            int f = decoder.scaleFactor();
            Tensor latents = noise.next(call.rows(), decoder.latentChannels(), call.height() / f, call.width() / f);
            latents = Tensors.scale(latents, scheduler.initNoiseSigma());
            Tensor result = denoise(scheduler, latents, (x, t) -> unet.predict(call, x, t, null), noise, listener);
            return decoder.decode(result);
        }
    }

    /** The prompt conditioning of a request, encoded as {@link #generate} encodes it (parity checks compare it). */
    public Conditioning encodePrompt(ImageRequest request) {
        try (ConditionedUnet.Call call = begin(request)) {
            return call.cond();
        }
    }

    /**
     * Checks the size and encodes the prompts. The size is the request's, else the init image's (img2img,
     * inpainting: the image must then have the requested size), else the model's default.
     */
    ConditionedUnet.Call begin(ImageRequest request) {
        int[] size = size(request);
        checkSize(info, "height", size[0]);
        checkSize(info, "width", size[1]);
        return unet.begin(request, size[0], size[1]);
    }

    private int[] size(ImageRequest request) {
        Tensor image = request.image();
        if (image == null) {
            return new int[] {
                request.height() != null ? request.height() : info.defaultSize()[0],
                request.width() != null ? request.width() : info.defaultSize()[1]
            };
        }
        int h = (int) image.dim(1);
        int w = (int) image.dim(2);
        if ((request.height() != null && request.height() != h) || (request.width() != null && request.width() != w)) {
            throw new InvalidRequestException(
                    "image",
                    "the init image is " + w + "x" + h + " but the request asks for " + request.width() + "x"
                            + request.height() + "; resize the image to the output size");
        }
        return new int[] {h, w};
    }

    @Override
    public int imageChannels() {
        return decoder.outChannels();
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public void close() {
        unet.close();
        super.close();
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.tensor.VideoTensors;

/**
 * diffusers' {@code TextToVideoSDPipeline} (ModelScope text-to-video, zeroscope): Stable Diffusion's CLIP prompt
 * encoding and classifier-free guidance, a {@code UNet3DConditionModel} over latents {@code (B, C, F, h, w)} with the
 * 2D UNet's input names, the scheduler stepped on the per-frame reshape {@code (B*F, C, h, w)}
 * ({@link FramewiseScheduler}), and the 2D VAE decoding every frame (pipeline_text_to_video_synth.py). Frames come
 * back as {@code (B, F, H, W, C)} in [0, 1].
 */
public class TextToVideoSDPipeline extends StableDiffusionPipeline implements VideoPipeline {
    /** diffusers' call defaults. */
    public static final int DEFAULT_FRAMES = 16;

    public static final int DEFAULT_STEPS = 50;
    private final VideoDecoder frameDecoder;
    private final int latentChannels;

    public TextToVideoSDPipeline(ModelFolder model) {
        super(model);
        this.frameDecoder = new VideoDecoder(model);
        this.latentChannels = model.componentConfig("unet").getInt("in_channels", decoder.latentChannels());
    }

    @Override
    public int defaultFrames() {
        return DEFAULT_FRAMES;
    }

    @Override
    public Tensor generateVideo(VideoRequest request, NoiseSource noise, StepListener listener) {
        if (request.prompts() == null) {
            throw new IllegalArgumentException(model.name() + " is a text-to-video model: every row needs a prompt");
        }
        if (request.image() != null) {
            throw new IllegalArgumentException(model.name() + " is a text-to-video model: it takes no image");
        }
        int steps = request.steps() != null ? request.steps() : DEFAULT_STEPS;
        GenerationRequest asImages = GenerationRequest.builder()
                .prompts(request.prompts())
                .negativePrompts(request.negativePrompts())
                .steps(steps)
                .guidanceScale(request.guidanceScale())
                .size(request.width(), request.height())
                .scheduler(request.scheduler())
                .build();
        Call call = begin(asImages);
        int frames = request.numFrames() != null ? request.numFrames() : DEFAULT_FRAMES;
        Scheduler scheduler = new FramewiseScheduler(schedulerFor(asImages), call.rows());
        scheduler.setTimesteps(steps);
        int f = decoder.scaleFactor();
        // prepare_latents: one draw (B, C, F, h, w), times init_noise_sigma
        Tensor latents = noise.next(call.rows(), latentChannels, frames, call.height() / f, call.width() / f);
        latents = Tensors.scale(latents, scheduler.initNoiseSigma());
        Tensor result = denoise(scheduler, latents, (x, t) -> predict(call, x, t, null), noise, listener);
        int chunk = request.decodeChunkSize() != null ? request.decodeChunkSize() : call.rows() * frames;
        Tensor pixels = frameDecoder.decode(VideoTensors.channelsFirstToFrames(result), chunk);
        return pixels.reshape(call.rows(), frames, pixels.dim(1), pixels.dim(2), pixels.dim(3));
    }

    /** Not an image model: videos come from {@link #generateVideo} ({@link Task#VIDEO}). */
    @Override
    public Tensor generate(GenerationRequest request, NoiseSource noise, StepListener listener) {
        throw new UnsupportedOperationException(model.name() + " is a text-to-video model (" + model.pipelineClass()
                + "): use generateVideo / Task.VIDEO");
    }
}

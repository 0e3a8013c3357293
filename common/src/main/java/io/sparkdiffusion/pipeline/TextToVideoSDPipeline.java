package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.tensor.VideoTensors;
import io.sparkdiffusion.util.InvalidRequestException;

/**
 * diffusers' {@code TextToVideoSDPipeline} (ModelScope text-to-video, zeroscope): Stable Diffusion's CLIP prompt
 * encoding and classifier-free guidance ({@link ConditionedUnet} with {@link ClipPromptEncoder}), a
 * {@code UNet3DConditionModel} over latents {@code (B, C, F, h, w)} with the 2D UNet's input names, the scheduler
 * stepped on the per-frame reshape {@code (B*F, C, h, w)} ({@link FramewiseScheduler}), and the 2D VAE decoding every
 * frame (pipeline_text_to_video_synth.py). Frames come back as {@code (B, F, H, W, C)} in [0, 1].
 */
final class TextToVideoSDPipeline extends DiffusionPipeline implements VideoPipeline {
    /** diffusers' call defaults. */
    static final int DEFAULT_FRAMES = 16;

    static final int DEFAULT_STEPS = 50;

    private final ConditionedUnet unet;
    private final LatentDecoder decoder;
    private final VideoDecoder frameDecoder;
    private final ModelInfo info;
    private final int latentChannels;

    TextToVideoSDPipeline(ModelFolder model) {
        super(model, Task.VIDEO);
        this.decoder = new LatentDecoder(model);
        this.unet = new ConditionedUnet(model, new ClipPromptEncoder(model), decoder.scaleFactor());
        this.frameDecoder = new VideoDecoder(model);
        this.info = ModelInfo.of(model);
        this.latentChannels = model.componentConfig("unet").getInt("in_channels", decoder.latentChannels());
    }

    @Override
    public int defaultFrames() {
        return DEFAULT_FRAMES;
    }

    @Override
    public Tensor generate(VideoRequest request, NoiseSource noise, StepListener listener) {
        if (request.image() != null) {
            throw new InvalidRequestException("image", model.name() + " is a text-to-video model: it takes no image");
        }
        int height = request.height() != null ? request.height() : info.defaultSize()[0];
        int width = request.width() != null ? request.width() : info.defaultSize()[1];
        checkSize(info, "height", height);
        checkSize(info, "width", width);
        int frames = request.numFrames() != null ? request.numFrames() : DEFAULT_FRAMES;
        try (ConditionedUnet.Call call = unet.begin(request, height, width, frames)) {
            Scheduler scheduler = new FramewiseScheduler(schedulerFor(request), call.rows());
            setSchedule(scheduler, request, DEFAULT_STEPS);
            int f = decoder.scaleFactor();
            // prepare_latents: one draw (B, C, F, h, w), times init_noise_sigma
            Tensor latents = noise.next(call.rows(), latentChannels, frames, height / f, width / f);
            latents = Tensors.scale(latents, scheduler.initNoiseSigma());
            Tensor result = denoise(scheduler, latents, (x, t) -> unet.predict(call, x, t, null), noise, listener);
            int chunk = request.decodeChunkSize() != null ? request.decodeChunkSize() : call.rows() * frames;
            Tensor pixels = frameDecoder.decode(VideoTensors.channelsFirstToFrames(result), chunk);
            return pixels.reshape(call.rows(), frames, pixels.dim(1), pixels.dim(2), pixels.dim(3));
        }
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

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;

/**
 * A pipeline that makes videos ({@link io.sparkdiffusion.model.Task#VIDEO}): diffusers' {@code TextToVideoSDPipeline}
 * and {@code StableVideoDiffusionPipeline}. Frames come back as {@code (B, F, H, W, C)} in [0, 1], the layout of
 * diffusers' {@code output_type="np"} frames.
 */
public interface VideoPipeline extends Pipeline {
    /**
     * Generates one batch of videos: frames {@code (B, F, H, W, C)} in [0, 1].
     *
     * @throws io.sparkdiffusion.util.InvalidRequestException when the request does not fit the model
     * @throws io.sparkdiffusion.util.EngineException when the model or its sessions fail
     */
    Tensor generate(VideoRequest request, NoiseSource noise, StepListener listener);

    default Tensor generate(VideoRequest request, NoiseSource noise) {
        return generate(request, noise, StepListener.NONE);
    }

    /** Frames per video when a request leaves {@code num_frames} unset. */
    int defaultFrames();
}

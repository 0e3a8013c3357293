package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;

/**
 * A pipeline that makes videos ({@link Task#VIDEO}): diffusers' {@code TextToVideoSDPipeline} and
 * {@code StableVideoDiffusionPipeline}. Frames come back as {@code (B, F, H, W, C)} in [0, 1], the layout of
 * diffusers' {@code output_type="np"} frames.
 */
public interface VideoPipeline {
    /** Generates one batch of videos: frames {@code (B, F, H, W, C)} in [0, 1]. */
    Tensor generateVideo(VideoRequest request, NoiseSource noise, StepListener listener);

    default Tensor generateVideo(VideoRequest request, NoiseSource noise) {
        return generateVideo(request, noise, StepListener.NONE);
    }

    /** Frames per video when a request leaves {@code num_frames} unset. */
    int defaultFrames();
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.util.List;

/**
 * {@link CaseReplay} support for video cases ({@code t2v-tiny/cases/t2v}: {@code TextToVideoSDPipeline};
 * {@code svd-tiny/cases/img2vid}: {@code StableVideoDiffusionPipeline}): the recorded call arguments as a
 * {@link VideoRequest}. Keys are diffusers' argument names.
 */
final class VideoReplay {
    private VideoReplay() {}

    /**
     * The case's video request.
     *
     * @param image the conditioning images {@code (B, H, W, C)} of an image-to-video case, else null
     * @param schedulerConfig the case's scheduler config, or null for the model's
     */
    static VideoRequest request(JsonConfig c, Tensor image, JsonConfig schedulerConfig) {
        VideoRequest.Builder b = VideoRequest.builder().schedulerConfig(schedulerConfig);
        if (image != null) {
            b.image(image);
        } else {
            List<String> prompts = c.getStringList("prompt");
            b.prompts(prompts);
            List<String> negatives = CaseReplay.negativePrompts(c, prompts.size());
            if (negatives != null) {
                b.negativePrompts(negatives);
            }
        }
        if (c.has("height") || c.has("width")) {
            b.size(c.has("width") ? c.getInt("width", 0) : null, c.has("height") ? c.getInt("height", 0) : null);
        }
        if (c.has("num_frames")) {
            b.numFrames(c.getInt("num_frames", 0));
        }
        if (c.has("num_inference_steps")) {
            b.steps(c.getInt("num_inference_steps", 0));
        }
        if (c.has("decode_chunk_size")) {
            b.decodeChunkSize(c.getInt("decode_chunk_size", 0));
        }
        b.guidanceScale(c.getDouble("guidance_scale", 9.0))
                .guidanceRange(c.getDouble("min_guidance_scale", 1.0), c.getDouble("max_guidance_scale", 3.0))
                .fps(c.getInt("fps", 7))
                .motionBucketId(c.getInt("motion_bucket_id", 127))
                .noiseAugStrength(c.getDouble("noise_aug_strength", 0.02));
        return b.build();
    }
}

package io.sparkdiffusion.pipeline;

/**
 * One engine batch of videos ({@link VideoPipeline}): the common fields of {@link GenerationRequest} (text-to-video
 * rows carry prompts, image-to-video rows one conditioning image each), plus frames, the image-to-video guidance
 * range and micro-conditioning, and the VAE decode chunk. Unset values (null) take the pipeline's default, as diffusers' call defaults do: frames
 * 16 (text-to-video) or the UNet's {@code num_frames} (SVD), steps 50 or 25, size the model's default or the image's.
 */
public final class VideoRequest extends GenerationRequest {
    /** Text-to-video guidance when a request sets none (diffusers' {@code TextToVideoSDPipeline} default). */
    public static final double DEFAULT_GUIDANCE_SCALE = 9.0;

    private final Integer numFrames;
    private final double minGuidanceScale;
    private final double maxGuidanceScale;
    private final int fps;
    private final int motionBucketId;
    private final double noiseAugStrength;
    private final Integer decodeChunkSize;

    private VideoRequest(Builder b) {
        super(b);
        this.numFrames = b.numFrames;
        this.minGuidanceScale = b.minGuidanceScale;
        this.maxGuidanceScale = b.maxGuidanceScale;
        this.fps = b.fps;
        this.motionBucketId = b.motionBucketId;
        this.noiseAugStrength = b.noiseAugStrength;
        this.decodeChunkSize = b.decodeChunkSize;
        if (numFrames != null) {
            RequestRules.positive("num_frames", numFrames);
        }
        if (decodeChunkSize != null) {
            RequestRules.positive("decode_chunk_size", decodeChunkSize);
        }
        RequestRules.finite("min_guidance_scale", minGuidanceScale);
        RequestRules.finite("max_guidance_scale", maxGuidanceScale);
        RequestRules.noiseAugStrength(noiseAugStrength);
        RequestRules.fps(fps);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Frames per video, or null for the pipeline's default. */
    public Integer numFrames() {
        return numFrames;
    }

    /** Image-to-video: guidance of the first frame, rising linearly to {@link #maxGuidanceScale} at the last. */
    public double minGuidanceScale() {
        return minGuidanceScale;
    }

    public double maxGuidanceScale() {
        return maxGuidanceScale;
    }

    /** Image-to-video micro-conditioning: frames per second (the UNet sees {@code fps - 1}). */
    public int fps() {
        return fps;
    }

    /** Image-to-video micro-conditioning: amount of motion. */
    public int motionBucketId() {
        return motionBucketId;
    }

    /** Image-to-video: noise added to the conditioning image before the VAE encoder. */
    public double noiseAugStrength() {
        return noiseAugStrength;
    }

    /** Frames the VAE decodes per call, or null for all at once. */
    public Integer decodeChunkSize() {
        return decodeChunkSize;
    }

    public static final class Builder extends GenerationRequest.Builder<VideoRequest, Builder> {
        private Integer numFrames;
        private double minGuidanceScale = 1.0;
        private double maxGuidanceScale = 3.0;
        private int fps = 7;
        private int motionBucketId = 127;
        private double noiseAugStrength = 0.02;
        private Integer decodeChunkSize;

        Builder() {
            super(null, DEFAULT_GUIDANCE_SCALE);
        }

        @Override
        protected Builder self() {
            return this;
        }

        public Builder numFrames(Integer f) {
            this.numFrames = f;
            return this;
        }

        public Builder guidanceRange(double min, double max) {
            this.minGuidanceScale = min;
            this.maxGuidanceScale = max;
            return this;
        }

        public Builder fps(int f) {
            this.fps = f;
            return this;
        }

        public Builder motionBucketId(int m) {
            this.motionBucketId = m;
            return this;
        }

        public Builder noiseAugStrength(double s) {
            this.noiseAugStrength = s;
            return this;
        }

        public Builder decodeChunkSize(Integer c) {
            this.decodeChunkSize = c;
            return this;
        }

        @Override
        public VideoRequest build() {
            return new VideoRequest(this);
        }
    }
}

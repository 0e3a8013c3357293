package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One engine batch of videos: rows that share size, frame count, steps, guidance and scheduler. Text-to-video rows
 * carry prompts (and optional negative prompts, a null entry meaning none); image-to-video rows carry one
 * conditioning image each. Unset values (null) take the pipeline's default, as diffusers' call defaults do: frames
 * 16 (text-to-video) or the UNet's {@code num_frames} (SVD), steps 50 or 25, size the model's default or the image's.
 */
public final class VideoRequest {
    private final int rows;
    private final List<String> prompts;
    private final List<String> negativePrompts;
    private final Tensor image;
    private final Integer numFrames;
    private final Integer steps;
    private final double guidanceScale;
    private final double minGuidanceScale;
    private final double maxGuidanceScale;
    private final int fps;
    private final int motionBucketId;
    private final double noiseAugStrength;
    private final Integer decodeChunkSize;
    private final Integer width;
    private final Integer height;
    private final String scheduler;

    private VideoRequest(Builder b) {
        this.rows = b.rows;
        this.prompts = b.prompts == null ? null : Collections.unmodifiableList(new ArrayList<>(b.prompts));
        this.negativePrompts =
                b.negativePrompts == null ? null : Collections.unmodifiableList(new ArrayList<>(b.negativePrompts));
        this.image = b.image;
        this.numFrames = b.numFrames;
        this.steps = b.steps;
        this.guidanceScale = b.guidanceScale;
        this.minGuidanceScale = b.minGuidanceScale;
        this.maxGuidanceScale = b.maxGuidanceScale;
        this.fps = b.fps;
        this.motionBucketId = b.motionBucketId;
        this.noiseAugStrength = b.noiseAugStrength;
        this.decodeChunkSize = b.decodeChunkSize;
        this.width = b.width;
        this.height = b.height;
        this.scheduler = b.scheduler;
        if (rows <= 0) {
            throw new IllegalArgumentException("a batch needs at least one row");
        }
        if (prompts != null && prompts.size() != rows) {
            throw new IllegalArgumentException(prompts.size() + " prompts for " + rows + " rows");
        }
        if (negativePrompts != null && negativePrompts.size() != rows) {
            throw new IllegalArgumentException(negativePrompts.size() + " negative prompts for " + rows + " rows");
        }
        if (image != null && (image.rank() != 4 || image.dim(0) != rows)) {
            throw new IllegalArgumentException("image must be (rows, H, W, C) for " + rows + " rows, got " + image);
        }
        positive("num_frames", numFrames);
        positive("num_inference_steps", steps);
        positive("decode_chunk_size", decodeChunkSize);
        positive("width", width);
        positive("height", height);
        for (double g : new double[] {guidanceScale, minGuidanceScale, maxGuidanceScale, noiseAugStrength}) {
            if (!Double.isFinite(g)) {
                throw new IllegalArgumentException("guidance scales and noise_aug_strength must be finite, got " + g);
            }
        }
        if (noiseAugStrength < 0) {
            throw new IllegalArgumentException("noise_aug_strength must be >= 0, got " + noiseAugStrength);
        }
        if (fps < 1) {
            throw new IllegalArgumentException("fps must be >= 1 (the UNet is conditioned on fps - 1), got " + fps);
        }
    }

    private static void positive(String what, Integer v) {
        if (v != null && v <= 0) {
            throw new IllegalArgumentException(what + " must be positive, got " + v);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public int rows() {
        return rows;
    }

    /** Prompts, one per row (text-to-video); null for image-to-video. */
    public List<String> prompts() {
        return prompts;
    }

    /** Negative prompts, one per row (entries may be null); null when none were given. */
    public List<String> negativePrompts() {
        return negativePrompts;
    }

    /** Conditioning images {@code (B, H, W, C)} in [0, 1] (image-to-video); null otherwise. */
    public Tensor image() {
        return image;
    }

    /** Frames per video, or null for the pipeline's default. */
    public Integer numFrames() {
        return numFrames;
    }

    /** Denoising steps, or null for the pipeline's default. */
    public Integer steps() {
        return steps;
    }

    /** Text-to-video classifier-free guidance scale (guided when above 1). */
    public double guidanceScale() {
        return guidanceScale;
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

    public Integer width() {
        return width;
    }

    public Integer height() {
        return height;
    }

    /** Scheduler name or alias overriding the model's, or null. */
    public String scheduler() {
        return scheduler;
    }

    public static final class Builder {
        private int rows = -1;
        private List<String> prompts;
        private List<String> negativePrompts;
        private Tensor image;
        private Integer numFrames;
        private Integer steps;
        private double guidanceScale = 9.0;
        private double minGuidanceScale = 1.0;
        private double maxGuidanceScale = 3.0;
        private int fps = 7;
        private int motionBucketId = 127;
        private double noiseAugStrength = 0.02;
        private Integer decodeChunkSize;
        private Integer width;
        private Integer height;
        private String scheduler;

        public Builder prompts(List<String> p) {
            this.prompts = p;
            if (rows < 0) {
                rows = p.size();
            }
            return this;
        }

        public Builder negativePrompts(List<String> n) {
            this.negativePrompts = n;
            return this;
        }

        /** Conditioning images {@code (B, H, W, C)} in [0, 1]; also sets the row count when unset. */
        public Builder image(Tensor nhwc01) {
            this.image = nhwc01;
            if (rows < 0 && nhwc01 != null) {
                rows = (int) nhwc01.dim(0);
            }
            return this;
        }

        public Builder rows(int n) {
            this.rows = n;
            return this;
        }

        public Builder numFrames(Integer f) {
            this.numFrames = f;
            return this;
        }

        public Builder steps(Integer s) {
            this.steps = s;
            return this;
        }

        public Builder guidanceScale(double g) {
            this.guidanceScale = g;
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

        public Builder size(Integer w, Integer h) {
            this.width = w;
            this.height = h;
            return this;
        }

        public Builder scheduler(String s) {
            this.scheduler = s;
            return this;
        }

        public VideoRequest build() {
            return new VideoRequest(this);
        }
    }
}

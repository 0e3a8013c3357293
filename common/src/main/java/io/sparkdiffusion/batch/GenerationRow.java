package io.sparkdiffusion.batch;

import io.sparkdiffusion.pipeline.ImageRequest;
import io.sparkdiffusion.tensor.Tensor;
import java.util.Objects;

/**
 * One row for {@link BatchGenerator}: its seed (which alone fixes its output), its prompt, and the call arguments it
 * shares with the rows it may be batched with (steps, guidance, size, scheduler, strength, video settings). Init and
 * mask images come decoded and sized: {@code (H, W, C)} and {@code (H, W)} floats in [0, 1]. Null values take the
 * pipeline's defaults, as diffusers' call defaults do.
 */
public final class GenerationRow {
    private final long seed;
    private final String prompt;
    private final String negativePrompt;
    private final Integer steps;
    private final double guidanceScale;
    private final Integer width;
    private final Integer height;
    private final String scheduler;
    private final Double strength;
    private final Tensor image;
    private final Tensor mask;
    private final Integer numFrames;
    private final int fps;
    private final int motionBucketId;
    private final double noiseAugStrength;

    private GenerationRow(Builder b) {
        this.seed = b.seed;
        this.prompt = b.prompt;
        this.negativePrompt = b.negativePrompt;
        this.steps = b.steps;
        this.guidanceScale = b.guidanceScale;
        this.width = b.width;
        this.height = b.height;
        this.scheduler = b.scheduler;
        this.strength = b.strength;
        this.image = b.image;
        this.mask = b.mask;
        this.numFrames = b.numFrames;
        this.fps = b.fps;
        this.motionBucketId = b.motionBucketId;
        this.noiseAugStrength = b.noiseAugStrength;
        if (image != null && image.rank() != 3) {
            throw new IllegalArgumentException("a row's image must be (H, W, C), got " + image);
        }
        if (mask != null && mask.rank() != 2) {
            throw new IllegalArgumentException("a row's mask must be (H, W), got " + mask);
        }
    }

    public static Builder builder(long seed) {
        return new Builder(seed);
    }

    /**
     * What rows must share to run in one engine call: everything but the seed, the prompts and the pixels. Rows with
     * and without an init image never share a batch; images share one only at the same size.
     */
    String batchKey() {
        return steps + "|" + guidanceScale + "|" + width + "x" + height + "|" + scheduler + "|" + strength + "|"
                + numFrames + "|" + fps + "|" + motionBucketId + "|" + noiseAugStrength + "|"
                + (image == null ? "-" : image.dim(0) + "x" + image.dim(1) + "x" + image.dim(2)) + "|"
                + (mask != null);
    }

    public long seed() {
        return seed;
    }

    public String prompt() {
        return prompt;
    }

    public String negativePrompt() {
        return negativePrompt;
    }

    public Integer steps() {
        return steps;
    }

    public double guidanceScale() {
        return guidanceScale;
    }

    public Integer width() {
        return width;
    }

    public Integer height() {
        return height;
    }

    public String scheduler() {
        return scheduler;
    }

    public Double strength() {
        return strength;
    }

    /** The init or conditioning image {@code (H, W, C)} in [0, 1], or null. */
    public Tensor image() {
        return image;
    }

    /** The inpainting mask {@code (H, W)} in [0, 1] (1 = repaint), or null. */
    public Tensor mask() {
        return mask;
    }

    public Integer numFrames() {
        return numFrames;
    }

    public int fps() {
        return fps;
    }

    public int motionBucketId() {
        return motionBucketId;
    }

    public double noiseAugStrength() {
        return noiseAugStrength;
    }

    public static final class Builder {
        private final long seed;
        private String prompt;
        private String negativePrompt;
        private Integer steps;
        private double guidanceScale = ImageRequest.DEFAULT_GUIDANCE_SCALE;
        private Integer width;
        private Integer height;
        private String scheduler;
        private Double strength;
        private Tensor image;
        private Tensor mask;
        private Integer numFrames;
        private int fps = 7;
        private int motionBucketId = 127;
        private double noiseAugStrength = 0.02;

        private Builder(long seed) {
            this.seed = seed;
        }

        public Builder prompt(String p) {
            this.prompt = p;
            return this;
        }

        public Builder negativePrompt(String n) {
            this.negativePrompt = n;
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

        /** The output size; null for the model's default (or the init image's). */
        public Builder size(Integer w, Integer h) {
            this.width = w;
            this.height = h;
            return this;
        }

        public Builder scheduler(String s) {
            this.scheduler = s;
            return this;
        }

        public Builder strength(Double s) {
            this.strength = s;
            return this;
        }

        /** The init or conditioning image {@code (H, W, C)} in [0, 1]. */
        public Builder image(Tensor hwc01) {
            this.image = hwc01;
            return this;
        }

        /** The inpainting mask {@code (H, W)} in [0, 1]. */
        public Builder mask(Tensor hw01) {
            this.mask = hw01;
            return this;
        }

        /** Video rows: frames (null: the pipeline's default), fps, motion bucket, noise augmentation. */
        public Builder video(Integer frames, int fps, int motionBucketId, double noiseAugStrength) {
            this.numFrames = frames;
            this.fps = fps;
            this.motionBucketId = motionBucketId;
            this.noiseAugStrength = noiseAugStrength;
            return this;
        }

        public GenerationRow build() {
            return new GenerationRow(this);
        }
    }

    @Override
    public String toString() {
        return "GenerationRow[seed=" + seed + ", " + Objects.requireNonNullElse(prompt, "(no prompt)") + ", "
                + batchKey() + "]";
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One engine batch: rows that share size, step count, guidance and scheduler. Per-row values are the prompts and
 * negative prompts (a null negative prompt means "none given", which SDXL treats differently from ""); the noise
 * source passed next to the request carries the per-row seeds.
 */
public final class GenerationRequest {
    private final List<String> prompts;
    private final List<String> negativePrompts;
    private final int rows;
    private final int steps;
    private final double guidanceScale;
    private final Integer width;
    private final Integer height;
    private final String scheduler;
    private final Tensor image;
    private final Tensor mask;
    private final Double strength;
    private final boolean keepUnmasked;

    private GenerationRequest(Builder b) {
        this.rows = b.rows;
        this.prompts = b.prompts == null ? null : Collections.unmodifiableList(new ArrayList<>(b.prompts));
        this.negativePrompts =
                b.negativePrompts == null ? null : Collections.unmodifiableList(new ArrayList<>(b.negativePrompts));
        this.steps = b.steps;
        this.guidanceScale = b.guidanceScale;
        this.width = b.width;
        this.height = b.height;
        this.scheduler = b.scheduler;
        this.image = b.image;
        this.mask = b.mask;
        this.strength = b.strength;
        this.keepUnmasked = b.keepUnmasked;
        if (rows <= 0) {
            throw new IllegalArgumentException("a batch needs at least one row");
        }
        if (prompts != null && prompts.size() != rows) {
            throw new IllegalArgumentException(prompts.size() + " prompts for " + rows + " rows");
        }
        if (negativePrompts != null && negativePrompts.size() != rows) {
            throw new IllegalArgumentException(negativePrompts.size() + " negative prompts for " + rows + " rows");
        }
        if (steps <= 0) {
            throw new IllegalArgumentException("num_inference_steps must be positive, got " + steps);
        }
        if (!Double.isFinite(guidanceScale)) {
            throw new IllegalArgumentException("guidance_scale must be finite, got " + guidanceScale);
        }
        if (image != null && (image.rank() != 4 || image.dim(0) != rows)) {
            throw new IllegalArgumentException("image must be (rows, H, W, C) for " + rows + " rows, got " + image);
        }
        if (mask != null && (mask.rank() != 3 || mask.dim(0) != rows)) {
            throw new IllegalArgumentException("mask must be (rows, H, W) for " + rows + " rows, got " + mask);
        }
        if (mask != null && image != null && (mask.dim(1) != image.dim(1) || mask.dim(2) != image.dim(2))) {
            throw new IllegalArgumentException("mask " + mask + " and image " + image + " differ in size");
        }
        if (strength != null && !(strength > 0 && strength <= 1)) {
            throw new IllegalArgumentException("strength must be in (0, 1], got " + strength);
        }
    }

    /** Init images, {@code (B, H, W, C)} floats in [0, 1] (img2img, inpainting, sketch-to-image); null otherwise. */
    public Tensor image() {
        return image;
    }

    /** Inpainting masks, {@code (B, H, W)} in [0, 1], 1 = repaint (binarised at 0.5 by the pipeline); null otherwise. */
    public Tensor mask() {
        return mask;
    }

    /** How far to re-noise the init image (diffusers {@code strength}); null for the pipeline's default. */
    public Double strength() {
        return strength;
    }

    /** Inpainting: paste the original pixels back outside the mask (off for parity with diffusers). */
    public boolean keepUnmasked() {
        return keepUnmasked;
    }

    public static Builder builder() {
        return new Builder();
    }

    public int rows() {
        return rows;
    }

    /** Prompts, one per row; null for unconditional models. */
    public List<String> prompts() {
        return prompts;
    }

    /** Negative prompts, one per row (entries may be null); null when none were given for any row. */
    public List<String> negativePrompts() {
        return negativePrompts;
    }

    public int steps() {
        return steps;
    }

    public double guidanceScale() {
        return guidanceScale;
    }

    /** Requested width in pixels, or null for the model's default. */
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
        private List<String> prompts;
        private List<String> negativePrompts;
        private int rows = -1;
        private int steps = 50;
        private double guidanceScale = 7.5;
        private Integer width;
        private Integer height;
        private String scheduler;
        private Tensor image;
        private Tensor mask;
        private Double strength;
        private boolean keepUnmasked;

        public Builder image(Tensor nhwc01) {
            this.image = nhwc01;
            return this;
        }

        public Builder mask(Tensor bhw01) {
            this.mask = bhw01;
            return this;
        }

        public Builder strength(Double s) {
            this.strength = s;
            return this;
        }

        public Builder keepUnmasked(boolean k) {
            this.keepUnmasked = k;
            return this;
        }

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

        /** Row count for unconditional models (text models take it from the prompts). */
        public Builder rows(int n) {
            this.rows = n;
            return this;
        }

        public Builder steps(int s) {
            this.steps = s;
            return this;
        }

        public Builder guidanceScale(double g) {
            this.guidanceScale = g;
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

        public GenerationRequest build() {
            return new GenerationRequest(this);
        }
    }
}

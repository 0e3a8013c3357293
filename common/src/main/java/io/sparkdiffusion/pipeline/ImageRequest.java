package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.InvalidRequestException;
import io.sparkdiffusion.util.JsonConfig;

/**
 * One engine batch of pictures ({@link ImagePipeline}): the common fields of {@link GenerationRequest}, plus the
 * inpainting mask, the img2img {@code strength}, and the Kandinsky 2.2 prior's call arguments. Defaults as the
 * builder had them before requests were split: 50 steps, guidance 7.5.
 */
public final class ImageRequest extends GenerationRequest {
    /** Steps when a request sets none. */
    public static final int DEFAULT_STEPS = 50;
    /** Guidance scale when a request sets none. */
    public static final double DEFAULT_GUIDANCE_SCALE = 7.5;

    private final Tensor mask;
    private final Double strength;
    private final boolean keepUnmasked;
    private final Integer priorSteps;
    private final Double priorGuidanceScale;
    private final JsonConfig priorSchedulerConfig;

    private ImageRequest(Builder b) {
        super(b);
        this.mask = b.mask;
        this.strength = b.strength;
        this.keepUnmasked = b.keepUnmasked;
        this.priorSteps = b.priorSteps;
        this.priorGuidanceScale = b.priorGuidanceScale;
        this.priorSchedulerConfig = b.priorSchedulerConfig;
        Tensor image = image();
        if (mask != null && (mask.rank() != 3 || mask.dim(0) != rows())) {
            throw new InvalidRequestException("mask", "mask must be (rows, H, W) for " + rows() + " rows, got " + mask);
        }
        if (mask != null && image != null && (mask.dim(1) != image.dim(1) || mask.dim(2) != image.dim(2))) {
            throw new InvalidRequestException("mask", "mask " + mask + " and image " + image + " differ in size");
        }
        if (strength != null) {
            RequestRules.strength(strength);
        }
        if (priorSteps != null) {
            RequestRules.priorSteps(priorSteps);
        }
        if (priorGuidanceScale != null) {
            RequestRules.finite("prior_guidance_scale", priorGuidanceScale);
        }
    }

    public static Builder builder() {
        return new Builder();
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

    /** Kandinsky 2.2: the prior's {@code num_inference_steps}, or null for its default (25). */
    public Integer priorSteps() {
        return priorSteps;
    }

    /** Kandinsky 2.2: the prior's guidance scale, or null for its default (4). */
    public Double priorGuidanceScale() {
        return priorGuidanceScale;
    }

    /** Kandinsky 2.2: a scheduler config for the prior instead of its own (case replay); null otherwise. */
    public JsonConfig priorSchedulerConfig() {
        return priorSchedulerConfig;
    }

    public static final class Builder extends GenerationRequest.Builder<ImageRequest, Builder> {
        private Tensor mask;
        private Double strength;
        private boolean keepUnmasked;
        private Integer priorSteps;
        private Double priorGuidanceScale;
        private JsonConfig priorSchedulerConfig;

        Builder() {
            super(DEFAULT_STEPS, DEFAULT_GUIDANCE_SCALE);
        }

        @Override
        protected Builder self() {
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

        /** Kandinsky 2.2: the prior's steps, guidance scale and (for replay) scheduler config; nulls keep defaults. */
        public Builder prior(Integer steps, Double guidanceScale, JsonConfig schedulerConfig) {
            this.priorSteps = steps;
            this.priorGuidanceScale = guidanceScale;
            this.priorSchedulerConfig = schedulerConfig;
            return this;
        }

        @Override
        public ImageRequest build() {
            return new ImageRequest(this);
        }
    }
}

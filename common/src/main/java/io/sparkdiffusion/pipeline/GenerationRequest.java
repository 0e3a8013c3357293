package io.sparkdiffusion.pipeline;

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

    private GenerationRequest(Builder b) {
        this.rows = b.rows;
        this.prompts = b.prompts == null ? null : Collections.unmodifiableList(new ArrayList<>(b.prompts));
        this.negativePrompts = b.negativePrompts == null ? null : Collections.unmodifiableList(new ArrayList<>(b.negativePrompts));
        this.steps = b.steps;
        this.guidanceScale = b.guidanceScale;
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
        if (steps <= 0) {
            throw new IllegalArgumentException("num_inference_steps must be positive, got " + steps);
        }
        if (!Double.isFinite(guidanceScale)) {
            throw new IllegalArgumentException("guidance_scale must be finite, got " + guidanceScale);
        }
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

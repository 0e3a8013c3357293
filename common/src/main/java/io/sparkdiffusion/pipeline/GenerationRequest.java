package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.InvalidRequestException;
import io.sparkdiffusion.util.JsonConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What every engine batch carries, image or video: rows that share size, step count, guidance and scheduler. Per-row
 * values are the prompts and negative prompts (a null negative prompt means "none given", which SDXL treats
 * differently from "") and the init or conditioning images; the noise source passed next to the request carries the
 * per-row seeds. Everything a call varies lives here (never in the shared pipeline), so one resident pipeline serves
 * concurrent calls. {@link ImageRequest} and {@link VideoRequest} add their own fields; the values are checked once,
 * when built, by {@link RequestRules}.
 */
public abstract class GenerationRequest {
    private final int rows;
    private final List<String> prompts;
    private final List<String> negativePrompts;
    private final Tensor image;
    private final Integer steps;
    private final double guidanceScale;
    private final Integer width;
    private final Integer height;
    private final String scheduler;
    private final JsonConfig schedulerConfig;
    private final double[] timesteps;
    private final double[] sigmas;

    protected GenerationRequest(Builder<?, ?> b) {
        this.rows = b.rows;
        this.prompts = b.prompts == null ? null : Collections.unmodifiableList(new ArrayList<>(b.prompts));
        this.negativePrompts =
                b.negativePrompts == null ? null : Collections.unmodifiableList(new ArrayList<>(b.negativePrompts));
        this.image = b.image;
        this.steps = b.steps;
        this.guidanceScale = b.guidanceScale;
        this.width = b.width;
        this.height = b.height;
        this.scheduler = b.scheduler;
        this.schedulerConfig = b.schedulerConfig;
        this.timesteps = b.timesteps == null ? null : b.timesteps.clone();
        this.sigmas = b.sigmas == null ? null : b.sigmas.clone();
        if (timesteps != null && sigmas != null) {
            throw new InvalidRequestException(
                    "timesteps", "give custom timesteps or custom sigmas, not both (diffusers' retrieve_timesteps)");
        }
        if (rows <= 0) {
            throw new InvalidRequestException(null, "a batch needs at least one row");
        }
        if (prompts != null && prompts.size() != rows) {
            throw new InvalidRequestException("prompt", prompts.size() + " prompts for " + rows + " rows");
        }
        if (prompts != null && prompts.contains(null)) {
            throw new InvalidRequestException(
                    "prompt", "row " + prompts.indexOf(null) + " has no prompt; a text-conditioned model needs one");
        }
        if (negativePrompts != null && negativePrompts.size() != rows) {
            throw new InvalidRequestException(
                    "negative_prompt", negativePrompts.size() + " negative prompts for " + rows + " rows");
        }
        if (steps != null) {
            RequestRules.positive("num_inference_steps", steps);
        }
        RequestRules.finite("guidance_scale", guidanceScale);
        if (width != null) {
            RequestRules.positive("width", width);
        }
        if (height != null) {
            RequestRules.positive("height", height);
        }
        if (image != null && (image.rank() != 4 || image.dim(0) != rows)) {
            throw new InvalidRequestException(
                    "image", "image must be (rows, H, W, C) for " + rows + " rows, got " + image);
        }
    }

    public int rows() {
        return rows;
    }

    /** Prompts, one per row; null for models without text (unconditional, image-to-video). */
    public List<String> prompts() {
        return prompts;
    }

    /** Negative prompts, one per row (entries may be null); null when none were given for any row. */
    public List<String> negativePrompts() {
        return negativePrompts;
    }

    /**
     * Init or conditioning images {@code (B, H, W, C)} in [0, 1] (image-to-image, inpainting, sketch-to-image,
     * image-to-video); null otherwise.
     */
    public Tensor image() {
        return image;
    }

    /** Denoising steps ({@code num_inference_steps}), or null for the pipeline's default. */
    public Integer steps() {
        return steps;
    }

    /** The steps, or {@code dflt} (the pipeline's default) when the request leaves them unset. */
    public int stepsOr(int dflt) {
        return steps != null ? steps : dflt;
    }

    /** Classifier-free guidance scale (guided when above 1, as in diffusers). */
    public double guidanceScale() {
        return guidanceScale;
    }

    /** Requested width in pixels, or null for the model's default (or the init image's). */
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

    /**
     * A scheduler config to use instead of the model's (replaying a reference case recorded with another scheduler);
     * null for the model's.
     */
    public JsonConfig schedulerConfig() {
        return schedulerConfig;
    }

    /** Custom timesteps instead of the scheduler's own spacing (diffusers' {@code timesteps=}); null for none. */
    public double[] timesteps() {
        return timesteps == null ? null : timesteps.clone();
    }

    /** Custom sigmas instead of the scheduler's own schedule (diffusers' {@code sigmas=}); null for none. */
    public double[] sigmas() {
        return sigmas == null ? null : sigmas.clone();
    }

    /**
     * The fields every request has, with a builder of the concrete type {@code B}; {@code R} is what it builds.
     *
     * @param <R> the request type
     * @param <B> the concrete builder (returned by every setter, so chains keep their type)
     */
    public abstract static class Builder<R extends GenerationRequest, B extends Builder<R, B>> {
        private int rows = -1;
        private List<String> prompts;
        private List<String> negativePrompts;
        private Tensor image;
        private Integer steps;
        private double guidanceScale;
        private Integer width;
        private Integer height;
        private String scheduler;
        private JsonConfig schedulerConfig;
        private double[] timesteps;
        private double[] sigmas;

        protected Builder(Integer defaultSteps, double defaultGuidanceScale) {
            this.steps = defaultSteps;
            this.guidanceScale = defaultGuidanceScale;
        }

        protected abstract B self();

        public abstract R build();

        /** Prompts, one per row; also sets the row count when unset. */
        public B prompts(List<String> p) {
            this.prompts = p;
            if (rows < 0 && p != null) {
                rows = p.size();
            }
            return self();
        }

        public B negativePrompts(List<String> n) {
            this.negativePrompts = n;
            return self();
        }

        /** Init or conditioning images {@code (B, H, W, C)} in [0, 1]; also sets the row count when unset. */
        public B image(Tensor nhwc01) {
            this.image = nhwc01;
            if (rows < 0 && nhwc01 != null) {
                rows = (int) nhwc01.dim(0);
            }
            return self();
        }

        /** Row count for requests without prompts or images (unconditional models). */
        public B rows(int n) {
            this.rows = n;
            return self();
        }

        public B steps(Integer s) {
            this.steps = s;
            return self();
        }

        public B guidanceScale(double g) {
            this.guidanceScale = g;
            return self();
        }

        public B size(Integer w, Integer h) {
            this.width = w;
            this.height = h;
            return self();
        }

        public B scheduler(String s) {
            this.scheduler = s;
            return self();
        }

        public B schedulerConfig(JsonConfig c) {
            this.schedulerConfig = c;
            return self();
        }

        /** Custom timesteps, for the schedulers whose diffusers {@code set_timesteps} takes them. */
        public B timesteps(double... t) {
            this.timesteps = t;
            return self();
        }

        /** Custom sigmas, for the schedulers whose diffusers {@code set_timesteps} takes them. */
        public B sigmas(double... s) {
            this.sigmas = s;
            return self();
        }
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.scheduler.Schedulers;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;

/**
 * Base of every pipeline: owns the model folder, builds the per-call scheduler, runs the denoising loop and the
 * VAE decode. Subclasses supply the conditioning and the UNet call. Thread-safety: one call at a time per
 * instance (ONNX Runtime sessions are thread-safe, the per-call scheduler state is local).
 */
public abstract class DiffusionPipeline implements AutoCloseable {
    protected final ModelFolder model;
    protected final JsonConfig schedulerConfig;
    /** Scheduler config a caller supplied (replay of a reference case); null means the model's. */
    private JsonConfig schedulerOverride;

    protected DiffusionPipeline(ModelFolder model) {
        this.model = model;
        this.schedulerConfig = model.schedulerConfig();
    }

    public ModelFolder model() {
        return model;
    }

    /** Generates one batch; the result holds images in [0, 1] as {@code (B, H, W, C)}. */
    public Tensor generate(GenerationRequest request, NoiseSource noise) {
        return generate(request, noise, StepListener.NONE);
    }

    public abstract Tensor generate(GenerationRequest request, NoiseSource noise, StepListener listener);

    /** Output channels of the images (1 for grayscale models). */
    public abstract int imageChannels();

    /** Size rules, default size and channels of the model. */
    public abstract ModelInfo info();

    /** Fails with the reason when a height or width does not fit the model. */
    protected void checkSize(ModelInfo info, String what, int pixels) {
        String problem = info.checkSize(what, pixels);
        if (problem != null) {
            throw new IllegalArgumentException(problem + " for " + model.name());
        }
    }

    /** Whether this pipeline conditions on text (false for unconditional models). */
    public abstract boolean takesPrompt();

    /** A fresh scheduler for one call: the model's, or the named one configured from the model's config. */
    protected Scheduler newScheduler(String name, JsonConfig override) {
        return Schedulers.create(name, override != null ? override : schedulerConfig);
    }

    /** Uses this scheduler config instead of the model's (replaying a case recorded with another scheduler). */
    public void setSchedulerConfig(JsonConfig config) {
        this.schedulerOverride = config;
    }

    /**
     * The scheduler of one call: the request's named one, else the supplied config's class, else
     * {@link #defaultSchedulerName()}, else the model config's {@code _class_name}.
     */
    protected Scheduler schedulerFor(GenerationRequest request) {
        String name = request.scheduler();
        if (name == null && schedulerOverride == null) {
            name = defaultSchedulerName();
        }
        return newScheduler(name, schedulerOverride);
    }

    /** The scheduler this pipeline class uses when none is named (null: the model's own). */
    protected String defaultSchedulerName() {
        return null;
    }

    /** The UNet's prediction for one scaled model input at one timestep (conditioning and guidance included). */
    @FunctionalInterface
    protected interface Denoiser {
        Tensor predict(Tensor latents, double timestep);
    }

    /** Runs after each scheduler step, before the listener (inpainting's latent blending); returns the new latents. */
    @FunctionalInterface
    protected interface AfterStep {
        AfterStep NONE = (step, latents) -> latents;

        Tensor apply(int step, Tensor latents);
    }

    /**
     * The shared loop of every diffusers pipeline: for each timestep, scale the input, predict, step; report the
     * latents after each step.
     */
    protected static Tensor denoise(
            Scheduler scheduler, Tensor latents, Denoiser denoiser, NoiseSource noise, StepListener listener) {
        return denoise(scheduler, 0, latents, denoiser, AfterStep.NONE, noise, listener);
    }

    /**
     * The loop over {@code scheduler.timesteps()} from {@code begin} on (img2img and inpainting skip the first
     * timesteps by strength); steps are numbered from 0 at {@code begin} for {@code after} and the listener.
     */
    protected static Tensor denoise(
            Scheduler scheduler,
            int begin,
            Tensor latents,
            Denoiser denoiser,
            AfterStep after,
            NoiseSource noise,
            StepListener listener) {
        double[] timesteps = scheduler.timesteps();
        for (int i = begin; i < timesteps.length; i++) {
            double t = timesteps[i];
            Tensor input = scheduler.scaleModelInput(latents, t);
            Tensor prediction = denoiser.predict(input, t);
            latents = after.apply(i - begin, scheduler.step(prediction, t, latents, noise));
            listener.onStep(i - begin, t, latents);
        }
        return latents;
    }

    /** Classifier-free guidance (Ho &amp; Salimans 2022): {@code uncond + g * (cond - uncond)} on a [uncond; cond] batch. */
    protected static Tensor guide(Tensor both, double guidanceScale) {
        int half = (int) both.dim(0) / 2;
        Tensor uncond = Tensors.sliceBatch(both, 0, half);
        Tensor cond = Tensors.sliceBatch(both, half, 2 * half);
        return Tensors.lincomb(1, uncond, guidanceScale, Tensors.sub(cond, uncond));
    }

    /** A per-row timestep tensor {@code [B]}; {@link io.sparkdiffusion.model.OnnxModel} adapts it to the export. */
    protected static Tensor timestepTensor(double t, int rows) {
        return Tensor.full((float) t, rows);
    }

    /** Pixel values in [-1, 1] (NCHW) to [0, 1] NHWC: {@code clamp(x / 2 + 0.5, 0, 1)} as diffusers' postprocess. */
    public static Tensor toImage01(Tensor nchw) {
        float[] in = nchw.data();
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = Math.min(1f, Math.max(0f, in[i] / 2f + 0.5f));
        }
        return Tensors.nchwToNhwc(new Tensor(nchw.shape(), out));
    }

    @Override
    public void close() {
        model.close();
    }
}

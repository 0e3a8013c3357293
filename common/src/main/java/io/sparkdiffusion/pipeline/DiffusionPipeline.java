package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.scheduler.Schedulers;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.InvalidRequestException;
import io.sparkdiffusion.util.JsonConfig;
import java.util.Map;
import java.util.TreeMap;

/**
 * Base of every pipeline: owns the model folder and its scheduler config, makes the per-call scheduler, runs the
 * denoising loop. Subclasses supply the conditioning, the UNet call and the decode, and implement
 * {@link ImagePipeline} or {@link VideoPipeline}. Immutable once constructed: the sessions are thread-safe (ONNX
 * Runtime's {@code run} may be called concurrently) and every call's state (scheduler, latents) is local to it.
 */
abstract class DiffusionPipeline implements Pipeline {
    protected final ModelFolder model;
    /** The model's {@code scheduler_config.json}. */
    protected final JsonConfig schedulerConfig;

    private final Task task;

    protected DiffusionPipeline(ModelFolder model, Task task) {
        this.model = model;
        this.schedulerConfig = model.schedulerConfig();
        this.task = task;
    }

    @Override
    public Task task() {
        return task;
    }

    /** Fails with the reason, naming the field, when a height or width does not fit the model. */
    protected void checkSize(ModelInfo info, String field, int pixels) {
        String problem = info.checkSize(field, pixels);
        if (problem != null) {
            throw new InvalidRequestException(field, problem + " for " + model.name());
        }
    }

    /**
     * The scheduler of one call, fresh: the request's named one (configured from its scheduler config or the
     * model's), else the request's scheduler config's class, else {@link #defaultSchedulerName()}, else the model
     * config's {@code _class_name}.
     */
    protected Scheduler schedulerFor(GenerationRequest request) {
        String name = request.scheduler();
        JsonConfig override = request.schedulerConfig();
        if (name == null && override == null) {
            name = defaultSchedulerName();
        }
        return Schedulers.create(name, override != null ? override : schedulerConfig);
    }

    /**
     * Sets the call's schedule, as diffusers' {@code retrieve_timesteps}: the request's custom timesteps or sigmas when
     * it gives them (refused, naming the field, by schedulers that do not take them), else {@code steps} of the
     * scheduler's own spacing.
     *
     * @return the number of inference steps the schedule has (what img2img's strength applies to)
     */
    protected static int setSchedule(Scheduler scheduler, GenerationRequest request, int defaultSteps) {
        try {
            return Schedulers.retrieveTimesteps(
                    scheduler, request.stepsOr(defaultSteps), request.timesteps(), request.sigmas());
        } catch (InvalidRequestException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(request.sigmas() != null ? "sigmas" : "timesteps", e.getMessage());
        }
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

    /**
     * Classifier-free guidance (Ho &amp; Salimans 2022): {@code uncond + g * (cond - uncond)} on a [uncond; cond]
     * batch, in one pass into one new array (the same float arithmetic as diffusers' expression).
     */
    protected static Tensor guide(Tensor both, double guidanceScale) {
        int half = both.size() / 2;
        float[] d = both.data();
        float g = (float) guidanceScale;
        float[] out = new float[half];
        for (int i = 0; i < half; i++) {
            float uncond = d[i];
            out[i] = uncond + g * (d[half + i] - uncond);
        }
        long[] shape = both.shape();
        shape[0] /= 2;
        return new Tensor(shape, out);
    }

    /** A per-row timestep tensor {@code [B]}; {@link io.sparkdiffusion.model.OnnxModel} adapts it to the export. */
    protected static Tensor timestepTensor(double t, int rows) {
        return Tensor.full((float) t, rows);
    }

    /** Pixel values in [-1, 1] (NCHW) to [0, 1] NHWC: {@code clamp(x / 2 + 0.5, 0, 1)} as diffusers' postprocess. */
    public static Tensor toImage01(Tensor nchw) {
        Tensor nhwc = Tensors.nchwToNhwc(nchw); // a new array, ours to map in place
        float[] d = nhwc.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = Math.min(1f, Math.max(0f, d[i] / 2f + 0.5f));
        }
        return nhwc;
    }

    @Override
    public void close() {
        model.close();
    }

    @Override
    public Map<String, OnnxModel.RunStats> runStats() {
        return statsOf(model, "");
    }

    /** The run statistics of a folder's open sessions, keyed by {@code prefix + component}. */
    static Map<String, OnnxModel.RunStats> statsOf(ModelFolder folder, String prefix) {
        Map<String, OnnxModel.RunStats> out = new TreeMap<>();
        folder.openSessions().forEach((name, session) -> out.put(prefix + name, session.stats()));
        return out;
    }

    /** The name a message gives the model: its folder's name. */
    protected String modelName() {
        return model.name();
    }
}

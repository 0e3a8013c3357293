package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;

/**
 * Latent consistency model multistep sampling (Luo et al. 2023, arXiv:2310.04378, Algorithm 1), as diffusers'
 * {@code LCMScheduler}. Each step predicts the clean sample with the consistency function
 * {@code f(x, t) = c_skip(t) x + c_out(t) x0(x, t)}, whose boundary conditions (Song et al. 2023, arXiv:2303.01469)
 * are {@code c_skip = sd^2 / (s^2 + sd^2)}, {@code c_out = s / sqrt(s^2 + sd^2)} with {@code s = t * timestep_scaling}
 * and {@code sd = 0.5}, then re-noises it to the next timestep,
 * {@code x_prev = sqrt(abar_prev) f + sqrt(1 - abar_prev) z}, with a fresh draw z at every step but the last.
 *
 * <p>Timesteps are taken from the distillation schedule {@code k*i - 1, i = 1..original_inference_steps} with
 * {@code k = T / original_inference_steps}, evenly by index; like diffusers, {@code timestep_spacing} and
 * {@code steps_offset} play no part.
 */
public class LcmScheduler extends AbstractScheduler {
    private static final double SIGMA_DATA = 0.5;

    private final int originalInferenceSteps;
    private final double timestepScaling;
    private final SampleClipping clipping;
    private final double finalAlphaCumprod;

    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("LCMScheduler")
            .betas(0.00085, 0.012, "scaled_linear")
            .honour("original_inference_steps", 50)
            .honour("clip_sample", false)
            .honour("clip_sample_range", 1.0)
            .honour("set_alpha_to_one", true)
            .honour("steps_offset", 0)
            .prediction("epsilon", "v_prediction", "sample")
            .thresholding(true)
            // diffusers' LCMScheduler.set_timesteps never reads timestep_spacing (nor steps_offset)
            .honour("timestep_spacing", "leading", "linspace", "leading", "trailing")
            .honour("timestep_scaling", 10.0)
            .honour("rescale_betas_zero_snr", false);

    public LcmScheduler(JsonConfig config) {
        this(KEYS.bind(config));
    }

    LcmScheduler(SchedulerConfig config) {
        super(config);
        this.originalInferenceSteps = this.config.integer("original_inference_steps");
        this.timestepScaling = this.config.real("timestep_scaling");
        this.clipping = SampleClipping.from(this.config);
        this.finalAlphaCumprod = this.config.bool("set_alpha_to_one") ? 1.0 : schedule.alphaCumprod(0);
        if (originalInferenceSteps <= 0 || originalInferenceSteps > numTrainTimesteps) {
            throw new IllegalArgumentException(this.config.source() + ": original_inference_steps "
                    + originalInferenceSteps + " must be in 1.." + numTrainTimesteps);
        }
    }

    @Override
    public void setTimesteps(int steps) {
        setTimesteps(steps, originalInferenceSteps, 1.0);
    }

    /**
     * diffusers {@code set_timesteps(num_inference_steps, original_inference_steps=..., strength=...)}: the
     * distillation schedule is cut to its first {@code int(originalSteps * strength)} entries (img2img), reversed,
     * and {@code steps} entries are taken at indices {@code floor(i * len / steps)}.
     */
    public void setTimesteps(int steps, int originalSteps, double strength) {
        checkSteps(steps);
        timesteps = TimestepSpacing.distilled(numTrainTimesteps, originalSteps, strength, steps);
    }

    /**
     * diffusers {@code set_timesteps(timesteps=...)} (strength 1): strictly decreasing integer timesteps starting
     * below {@code num_train_timesteps}; diffusers only warns when they leave the distillation schedule.
     */
    @Override
    public void setTimesteps(double[] custom) {
        setDescendingTimesteps(custom);
    }

    @Override
    public boolean acceptsCustomTimesteps() {
        return true;
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        beginStep(timestep);
        int t = (int) timestep;
        int prev = stepIndex + 1 < timesteps.length ? (int) timesteps[stepIndex + 1] : t;
        double abarPrev = prev >= 0 ? schedule.alphaCumprod(prev) : finalAlphaCumprod;

        double scaled = timestep * timestepScaling;
        double cSkip = SIGMA_DATA * SIGMA_DATA / (scaled * scaled + SIGMA_DATA * SIGMA_DATA);
        double cOut = scaled / Math.sqrt(scaled * scaled + SIGMA_DATA * SIGMA_DATA);

        Tensor x0 = clipping.apply(predictOriginal(modelOutput, sample, schedule.alphaCumprod(t)));
        Tensor denoised = Tensors.lincomb(cOut, x0, cSkip, sample);
        Tensor prevSample = denoised;
        if (stepIndex != numInferenceSteps - 1) {
            Tensor z = noise.next(modelOutput.shape());
            prevSample = Tensors.lincomb(Math.sqrt(abarPrev), denoised, Math.sqrt(1 - abarPrev), z);
        }
        stepIndex++;
        return prevSample;
    }
}

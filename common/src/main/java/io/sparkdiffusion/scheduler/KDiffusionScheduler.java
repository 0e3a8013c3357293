package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import java.util.Locale;

/**
 * What the k-diffusion samplers of diffusers share (Euler, Euler ancestral, LMS, Heun, KDPM2; Karras et al. 2022,
 * arXiv:2206.00364): the sample lives in sigma space, {@code x = x0 + sigma * eps}, with the training sigmas
 * {@code sqrt((1 - abar) / abar)}. Here: the common part of their {@code set_timesteps} (spaced fractional
 * timesteps, interpolated sigmas, optional Karras ramp mapped back to timesteps), {@code init_noise_sigma},
 * {@code scale_model_input} ({@code x / sqrt(sigma^2 + 1)}), the x0 prediction and {@code add_noise}
 * ({@code x0 + sigma * noise}).
 */
abstract class KDiffusionScheduler extends AbstractScheduler {
    /** The training sigmas (float32), shared by copies. */
    protected final double[] trainSigmas;

    protected final SigmaSchedule.Kind sigmaKind;
    /** The sigmas of the loop, one per entry of {@link #timesteps} plus the final one (float32 values). */
    protected double[] sigmas = new double[0];

    KDiffusionScheduler(SchedulerConfig config) {
        super(config);
        this.trainSigmas = schedule == null ? new double[0] : schedule.trainingSigmas(); // EDM has no training betas
        this.sigmaKind = SigmaSchedule.Kind.of(config);
    }

    /**
     * The training sigmas, shared by every copy of this scheduler (not a copy: {@code set_timesteps} runs per call,
     * and its helpers only read it).
     */
    protected double[] trainSigmas() {
        return trainSigmas;
    }

    /**
     * The block every k-diffusion {@code set_timesteps} starts with: {@code timestep_spacing} timesteps
     * ({@link TimestepSpacing#continuous}), the training sigmas interpolated there, and with a converted sigma
     * schedule ({@code use_karras_sigmas}, {@code use_exponential_sigmas}, {@code use_beta_sigmas}) the ramp between
     * the ends ({@link SigmaSchedule#range}; LMS's Karras ramp takes the interpolated ends) mapped back to fractional
     * timesteps ({@code _sigma_to_t}), the Karras ones rounded when {@code roundKarras} (KDPM2). Returns
     * {@code {timesteps, sigmas}}, both of {@code steps} entries, without the final sigma.
     */
    protected double[][] spacedSigmas(int steps, boolean roundKarras) {
        double[] train = trainSigmas();
        double[] t = TimestepSpacing.continuous(timestepSpacing, numTrainTimesteps, steps, stepsOffset);
        double[] s = SigmaSchedule.interpolate(t, train);
        if (sigmaKind != SigmaSchedule.Kind.INTERPOLATED) {
            boolean karras = sigmaKind == SigmaSchedule.Kind.KARRAS;
            double[] range = karras && !karrasFromConfigRange()
                    ? new double[] {s[s.length - 1], s[0]}
                    : SigmaSchedule.range(config, s[s.length - 1], s[0]);
            s = sigmaKind.sigmas(range[0], range[1], steps);
            for (int i = 0; i < steps; i++) {
                double ti = SigmaSchedule.sigmaToT(s[i], train);
                t[i] = karras && roundKarras ? Math.rint(ti) : ti;
            }
        }
        return new double[][] {t, s};
    }

    /** Whether the Karras ramp takes {@code sigma_min} / {@code sigma_max} from the config (not LMS's). */
    protected boolean karrasFromConfigRange() {
        return true;
    }

    /**
     * Custom timesteps for the classes that take them (Euler, Heun): refused with a converted sigma schedule, as
     * diffusers refuses it; the training sigmas interpolated at the given (float32) timesteps.
     * Returns {@code {timesteps, sigmas}} without the final sigma.
     */
    protected double[][] customTimesteps(double[] custom) {
        if (!acceptsCustomTimesteps()) {
            throw refusal("timesteps", Schedulers.CUSTOM_TIMESTEPS);
        }
        checkCustom("timesteps", custom, 1, false);
        if (sigmaKind != SigmaSchedule.Kind.INTERPOLATED) {
            throw new IllegalArgumentException(className() + " cannot take custom timesteps with "
                    + sigmaKind.name().toLowerCase(Locale.ROOT) + " sigmas (diffusers refuses it)");
        }
        startCustom(custom.length);
        double[] t = new double[custom.length];
        for (int i = 0; i < t.length; i++) {
            t[i] = (float) custom[i];
        }
        return new double[][] {t, SigmaSchedule.interpolate(t, trainSigmas())};
    }

    /** {@code max(sigmas)} for linspace and trailing spacing, {@code sqrt(max^2 + 1)} for leading (diffusers). */
    @Override
    public double initNoiseSigma() {
        double max = 0;
        for (double s : sigmas) {
            max = Math.max(max, s);
        }
        if ("linspace".equals(timestepSpacing) || "trailing".equals(timestepSpacing)) {
            return max;
        }
        float m = (float) max; // (max^2 + 1)^0.5 on a float32 tensor
        return (float) Math.sqrt(m * m + 1f);
    }

    /** The sigma the model input of the current evaluation is scaled for (KDPM2's second evaluations differ). */
    protected double inputSigma() {
        return sigmas[stepIndex];
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        initStepIndex(timestep);
        float sigma = (float) inputSigma();
        // sample / (sigma^2 + 1)^0.5, divided element-wise in float32 as torch does
        float denom = (float) Math.sqrt(sigma * sigma + 1f);
        float[] x = sample.data();
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] / denom;
        }
        return new Tensor(sample.shape(), out);
    }

    /**
     * The predicted clean sample in sigma parameterisation: epsilon {@code x - sigma * out}; sample {@code out};
     * v_prediction (Salimans &amp; Ho 2022) {@code -sigma / sqrt(sigma^2 + 1) * out + x / (sigma^2 + 1)}.
     */
    protected Tensor predictOriginalSigma(Tensor modelOutput, Tensor sample, double sigma) {
        return switch (predictionType) {
            case "epsilon" -> Tensors.lincomb(1, sample, -sigma, modelOutput);
            case "sample" -> modelOutput;
            default ->
                Tensors.lincomb(-sigma / Math.sqrt(sigma * sigma + 1), modelOutput, 1 / (sigma * sigma + 1), sample);
        };
    }

    /** {@code x0 + noise * sigma}, the sigma at the begin index (img2img), the current step, or the timestep. */
    @Override
    public Tensor addNoise(Tensor originalSamples, Tensor noise, double timestep) {
        int index = beginIndex < 0 ? indexForTimestep(timestep) : (stepIndex >= 0 ? stepIndex : beginIndex);
        return Tensors.lincomb(1, originalSamples, sigmas[index], noise);
    }

    /** The sigmas (float32 values), one per timestep plus the final one. */
    public double[] sigmas() {
        return sigmas.clone();
    }
}

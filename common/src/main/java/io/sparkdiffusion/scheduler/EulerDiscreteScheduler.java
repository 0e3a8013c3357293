package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;

/**
 * Euler sampler in sigma space (Karras et al. 2022, arXiv:2206.00364, Algorithm 2 with s_churn = 0), as diffusers'
 * {@code EulerDiscreteScheduler}: {@code x0 = x - sigma * eps}, {@code d = (x - x0) / sigma},
 * {@code x_next = x + d * (sigma_next - sigma)}. The model input is scaled by {@code 1 / sqrt(sigma^2 + 1)}.
 * With {@code timestep_type = continuous} and v_prediction (SVD's EDM setup) the UNet sees {@code 0.25 ln(sigma)}.
 */
public class EulerDiscreteScheduler extends KDiffusionScheduler {
    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("EulerDiscreteScheduler")
            .betas(0.0001, 0.02, "linear")
            .prediction("epsilon", "v_prediction", "sample")
            .honour("interpolation_type", "linear", "linear")
            .honour("use_karras_sigmas", false)
            .honour("use_exponential_sigmas", false)
            .honour("use_beta_sigmas", false)
            .honour("sigma_min", null)
            .honour("sigma_max", null)
            .spacing("linspace")
            .honour("timestep_type", "discrete", "discrete", "continuous")
            .honour("rescale_betas_zero_snr", false)
            .honour("final_sigmas_type", "zero", "zero", "sigma_min");

    /** Whether the UNet sees {@code 0.25 ln(sigma)} (diffusers: timestep_type continuous with v_prediction). */
    protected final boolean continuousTimesteps;

    protected final boolean sigmaMinFinal;

    public EulerDiscreteScheduler(JsonConfig config) {
        this(KEYS.bind(config));
    }

    EulerDiscreteScheduler(SchedulerConfig config) {
        super(config);
        this.continuousTimesteps = config.declares("timestep_type")
                && config.string("timestep_type").equals("continuous")
                && predictionType.equals("v_prediction");
        this.sigmaMinFinal = config.declares("final_sigmas_type")
                && config.string("final_sigmas_type").equals("sigma_min");
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        double[][] ts = spacedSigmas(steps, false);
        install(ts[0], SigmaSchedule.withFinal(ts[1], sigmaMinFinal ? trainSigmas[0] : 0.0));
    }

    /** diffusers {@code set_timesteps(timesteps=...)}: the training sigmas interpolated at the given timesteps. */
    @Override
    public void setTimesteps(double[] custom) {
        if (continuousTimesteps) {
            throw new IllegalArgumentException(className() + " cannot take custom timesteps with timestep_type"
                    + " 'continuous' and v_prediction (diffusers refuses it)");
        }
        double[][] ts = customTimesteps(custom);
        install(ts[0], SigmaSchedule.withFinal(ts[1], sigmaMinFinal ? trainSigmas[0] : 0.0));
    }

    /**
     * diffusers {@code set_timesteps(sigmas=...)}: the given sigmas (the final one included, float32) and their
     * fractional training timesteps ({@code _sigma_to_t}); any {@code use_*_sigmas} and {@code final_sigmas_type}
     * give way to them, as in diffusers.
     */
    @Override
    public void setSigmas(double[] custom) {
        if (!acceptsCustomSigmas()) {
            throw refusal("sigmas", Schedulers.CUSTOM_SIGMAS);
        }
        checkCustom("sigmas", custom, 2, false);
        startCustom(custom.length - 1);
        double[] s = new double[custom.length - 1];
        double[] t = new double[s.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = (float) custom[i];
            t[i] = SigmaSchedule.sigmaToT(s[i], trainSigmas);
        }
        install(t, SigmaSchedule.withFinal(s, custom[custom.length - 1]));
    }

    /** Euler itself takes custom timesteps and sigmas; its subclasses (ancestral, LMS) do not in diffusers. */
    @Override
    public boolean acceptsCustomTimesteps() {
        return getClass() == EulerDiscreteScheduler.class;
    }

    @Override
    public boolean acceptsCustomSigmas() {
        return getClass() == EulerDiscreteScheduler.class;
    }

    /** The loop's timesteps and sigmas; with continuous timesteps the UNet sees {@code 0.25 ln(sigma)}. */
    private void install(double[] t, double[] withFinal) {
        sigmas = withFinal;
        timesteps = new double[t.length];
        for (int i = 0; i < t.length; i++) {
            // continuous: 0.25 * log of the float32 sigma, in float32 as on diffusers' tensors
            timesteps[i] = continuousTimesteps ? 0.25f * (float) Math.log((float) sigmas[i]) : (float) t[i];
        }
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        initStepIndex(timestep);
        double sigma = sigmas[stepIndex];
        Tensor x0 = predictOriginalSigma(modelOutput, sample, sigma);
        double dt = sigmas[stepIndex + 1] - sigma;
        // x + (x - x0) / sigma * dt
        Tensor prev = Tensors.lincomb(1 + dt / sigma, sample, -dt / sigma, x0);
        stepIndex++;
        return prev;
    }
}

package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;

/**
 * DDPM ancestral sampling (Ho et al. 2020, arXiv:2006.11239, eqs. 6-7), as diffusers' {@code DDPMScheduler}:
 * the posterior mean {@code sqrt(abar_prev) beta_t / (1 - abar_t) x0 + sqrt(alpha_t) (1 - abar_prev) / (1 - abar_t) x_t}
 * plus {@code std * z} with a fresh draw z for every step whose timestep is above 0. {@code beta_t} and
 * {@code alpha_t} are taken between the current and the next inference timestep
 * ({@code alpha_t = abar_t / abar_prev}), so the formula holds for any spacing.
 *
 * <p>Variances: {@code fixed_small} (default) and {@code fixed_small_log} use the posterior variance
 * {@code (1 - abar_prev) / (1 - abar_t) beta_t} (clamped at 1e-20), {@code fixed_large} uses {@code beta_t}.
 * {@code learned} / {@code learned_range} read the variance from the model output's second half
 * ({@link LearnedVariance}); {@code thresholding} and {@code clip_sample} act on x0 ({@link SampleClipping}).
 */
public final class DdpmScheduler extends AbstractScheduler {
    private final String varianceType;
    private final SampleClipping clipping;

    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("DDPMScheduler")
            .betas(0.0001, 0.02, "linear")
            .honour(
                    "variance_type",
                    "fixed_small",
                    "fixed_small",
                    "fixed_small_log",
                    "fixed_large",
                    "learned",
                    "learned_range")
            .honour("clip_sample", true)
            .prediction("epsilon", "v_prediction", "sample")
            .honour("clip_sample_range", 1.0)
            .thresholding(true)
            .spacing("leading")
            .honour("rescale_betas_zero_snr", false);

    public DdpmScheduler(JsonConfig config) {
        super(KEYS.bind(config));
        this.varianceType = this.config.string("variance_type");
        this.clipping = SampleClipping.from(this.config);
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        timesteps = TimestepSpacing.discrete(timestepSpacing, numTrainTimesteps, steps, stepsOffset);
    }

    /**
     * diffusers {@code set_timesteps(timesteps=...)}: strictly decreasing integer timesteps below
     * {@code num_train_timesteps}; each step goes to the next one (-1 after the last).
     */
    @Override
    public void setTimesteps(double[] custom) {
        setDescendingTimesteps(custom);
    }

    @Override
    public boolean acceptsCustomTimesteps() {
        return true;
    }

    /** The inference timestep after {@code t} (diffusers {@code previous_timestep}), or -1 after the last one. */
    int previousTimestep(double t) {
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == t) {
                return i + 1 < timesteps.length ? (int) timesteps[i + 1] : -1;
            }
        }
        throw new IllegalArgumentException("timestep " + t + " is not one of this scheduler's timesteps");
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        if (numInferenceSteps == 0) {
            throw new IllegalStateException("setTimesteps must be called before step");
        }
        Tensor predictedVariance = null;
        boolean learned = varianceType.startsWith("learned");
        if (learned && !LearnedVariance.present(modelOutput, sample)) {
            throw new IllegalArgumentException("DDPMScheduler variance_type '" + varianceType + "' needs a model output"
                    + " with twice the sample's channels (mean and variance), got " + modelOutput + " for " + sample);
        }
        if (learned) {
            Tensor[] halves = LearnedVariance.split(modelOutput, (int) sample.dim(1));
            modelOutput = halves[0];
            predictedVariance = halves[1];
        }
        int t = (int) timestep;
        int prev = previousTimestep(timestep);
        double abar = schedule.alphaCumprod(t);
        double abarPrev = prev >= 0 ? schedule.alphaCumprod(prev) : 1.0;
        double alphaT = abar / abarPrev;
        double betaT = 1 - alphaT;

        Tensor x0 = clipping.apply(predictOriginal(modelOutput, sample, abar));
        Tensor mean = posteriorMean(x0, sample, abar, abarPrev, alphaT, betaT);
        if (t <= 0) {
            return mean;
        }
        Tensor z = noise.next(modelOutput.shape());
        if (predictedVariance != null && varianceType.equals("learned_range")) {
            // _get_variance clamps the posterior variance at 1e-20 before its log
            double posterior = Math.max((1 - abarPrev) / (1 - abar) * betaT, 1e-20);
            return LearnedVariance.addRangeNoise(mean, predictedVariance, z, posterior, betaT);
        }
        if (predictedVariance != null) {
            return LearnedVariance.addNoise(mean, predictedVariance, z);
        }
        return Tensors.lincomb(1, mean, std(abar, abarPrev, betaT), z);
    }

    /** Standard deviation of the added noise for the configured {@code variance_type}. */
    private double std(double abar, double abarPrev, double betaT) {
        if (varianceType.equals("fixed_large")) {
            return Math.sqrt(betaT);
        }
        // fixed_small and fixed_small_log (exp(0.5 * log v)) both give sqrt of the posterior variance
        double posterior = Math.max((1 - abarPrev) / (1 - abar) * betaT, 1e-20);
        return Math.sqrt(posterior);
    }
}

package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;

/**
 * The unCLIP (Karlo) prior sampler, as diffusers' {@code UnCLIPScheduler} ({@code schedulers/scheduling_unclip.py}),
 * used by the Kandinsky 2.x priors: a DDPM ancestral step (Ho et al. 2020, arXiv:2006.11239, eqs. 6, 7 and 15) on
 * the cosine schedule ({@code squaredcos_cap_v2}, Nichol &amp; Dhariwal 2021, arXiv:2102.09672), with these
 * differences from {@link DdpmScheduler}:
 * <ul>
 *   <li>timesteps {@code round(i * (T - 1) / (n - 1))} for {@code i = n-1 .. 0} (NumPy rounds half to even), so
 *       the first is {@code T - 1} and the last 0; at least 2 steps (diffusers divides by {@code n - 1});</li>
 *   <li>{@code beta} between the current and the next inference timestep is {@code 1 - abar_t / abar_prev}, except
 *       the training {@code betas[t]} when the next one is {@code t - 1}; after the last timestep the next is
 *       {@code t - 1} (for t = 0: {@code abar_prev = 1});</li>
 *   <li>variance {@code fixed_small_log}: {@code std = exp(0.5 log(max(v, 1e-20)))} of the posterior variance
 *       {@code v = (1 - abar_prev) / (1 - abar_t) beta}; {@code learned_range}: the model output's second half
 *       {@code p} on axis 1 interpolates in log space, {@code log var = f log(beta) + (1 - f) log(v)} with
 *       {@code f = (p + 1) / 2}, and {@code std = exp(0.5 log var)};</li>
 *   <li>{@code prediction_type} {@code epsilon} or {@code sample}; the predicted x0 is clamped to
 *       {@code [-clip_sample_range, clip_sample_range]} when {@code clip_sample} (the default).</li>
 * </ul>
 * Every step at a timestep above 0 draws one noise tensor of the sample's shape.
 */
public final class UnClipScheduler extends AbstractScheduler {
    private static final String COSINE = "squaredcos_cap_v2";

    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("UnCLIPScheduler")
            .honour("num_train_timesteps", 1000)
            .honour("variance_type", "fixed_small_log", "fixed_small_log", "learned_range")
            .honour("clip_sample", true)
            .honour("clip_sample_range", 1.0)
            .prediction("epsilon", "sample")
            .honour("beta_schedule", COSINE, COSINE);

    private final String varianceType;
    private final SampleClipping clipping;

    public UnClipScheduler(JsonConfig config) {
        super(KEYS.bind(config));
        this.varianceType = this.config.string("variance_type");
        this.clipping = SampleClipping.from(this.config);
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        if (steps < 2) {
            throw new IllegalArgumentException("UnCLIPScheduler needs at least 2 inference steps (its step ratio is "
                    + "(num_train_timesteps - 1) / (num_inference_steps - 1)), got " + steps);
        }
        double ratio = (double) (numTrainTimesteps - 1) / (steps - 1);
        timesteps = new double[steps];
        for (int i = 0; i < steps; i++) {
            timesteps[i] = Math.rint((steps - 1 - i) * ratio);
        }
    }

    /**
     * The timestep this step goes to: the next inference timestep, or {@code t - 1} after the last one (and for a
     * timestep outside the schedule), as diffusers' pipelines pass {@code prev_timestep}.
     */
    int previousTimestep(int t) {
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == t) {
                return i + 1 < timesteps.length ? (int) timesteps[i + 1] : t - 1;
            }
        }
        return t - 1;
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        int t = (int) timestep;
        Tensor predictedVariance = null;
        if (varianceType.equals("learned_range") && LearnedVariance.present(modelOutput, sample)) {
            Tensor[] halves = LearnedVariance.split(modelOutput, (int) sample.dim(1));
            modelOutput = halves[0];
            predictedVariance = halves[1];
        }
        int prev = previousTimestep(t);
        double abar = schedule.alphaCumprod(t);
        double abarPrev = prev >= 0 ? schedule.alphaCumprod(prev) : 1.0;
        double beta;
        double alpha;
        if (prev == t - 1) {
            beta = schedule.beta(t);
            alpha = schedule.alpha(t);
        } else {
            beta = 1 - abar / abarPrev;
            alpha = 1 - beta;
        }

        Tensor x0 = clipping.apply(predictOriginal(modelOutput, sample, abar));
        Tensor mean = posteriorMean(x0, sample, abar, abarPrev, alpha, beta);
        if (t <= 0) {
            return mean;
        }
        Tensor z = noise.next(modelOutput.shape());
        double posterior = (1 - abarPrev) / (1 - abar) * beta;
        if (predictedVariance == null) {
            return Tensors.lincomb(1, mean, Math.sqrt(Math.max(posterior, 1e-20)), z);
        }
        return LearnedVariance.addRangeNoise(mean, predictedVariance, z, posterior, beta);
    }
}

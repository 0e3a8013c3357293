package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;

/**
 * Heun's second-order sampler in sigma space (Karras et al. 2022, arXiv:2206.00364, Algorithm 1 with
 * s_churn = 0), as diffusers' {@code HeunDiscreteScheduler}: an Euler step {@code x' = x + d(x, sigma) dt} to the
 * next sigma, then the correction {@code x_next = x + (d(x, sigma) + d(x', sigma_next)) / 2 * dt} with a second
 * model evaluation at {@code x'}.
 *
 * <p>Two evaluations per step, laid out as diffusers lays them out so the pipelines' one loop drives them: the
 * timesteps are {@code t0, t1, t1, t2, t2, ..., t_{n-1}, t_{n-1}} (2n - 1 entries) and the sigmas
 * {@code s0, s1, s1, ..., s_{n-1}, s_{n-1}, 0}; each {@link #step} either takes the Euler half (and keeps the
 * derivative, {@code dt} and the sample) or completes the step. {@link #order} is 2, which img2img's strength
 * multiplies (diffusers' {@code get_timesteps}). Sigma schedules, {@code init_noise_sigma},
 * {@code scale_model_input} and {@code add_noise} are the k-diffusion ones; {@code beta_schedule} also takes
 * {@code exp}; {@code clip_sample} clamps x0; custom timesteps as diffusers takes them.
 */
public final class HeunDiscreteScheduler extends KDiffusionScheduler {
    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("HeunDiscreteScheduler")
            .betas(0.00085, 0.012, "linear", "linear", "scaled_linear", "squaredcos_cap_v2", "exp")
            .prediction("epsilon", "v_prediction", "sample")
            .honour("use_karras_sigmas", false)
            .honour("use_exponential_sigmas", false)
            .honour("use_beta_sigmas", false)
            .honour("clip_sample", false)
            .honour("clip_sample_range", 1.0)
            .spacing("linspace");

    private final SampleClipping clipping;
    /** The first-order half's derivative, {@code dt} and sample; null between steps (diffusers' {@code dt is None}). */
    private float[] prevDerivative;

    private float dt;
    private Tensor firstSample;

    public HeunDiscreteScheduler(JsonConfig config) {
        super(KEYS.bind(config));
        this.clipping = SampleClipping.from(this.config);
    }

    @Override
    public int order() {
        return 2;
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        double[][] ts = spacedSigmas(steps, false);
        install(ts[0], ts[1]);
    }

    /** diffusers {@code set_timesteps(timesteps=...)}: the training sigmas interpolated at the given timesteps. */
    @Override
    public void setTimesteps(double[] custom) {
        double[][] ts = customTimesteps(custom);
        install(ts[0], ts[1]);
    }

    @Override
    public boolean acceptsCustomTimesteps() {
        return true;
    }

    /** Interleaves the schedule: every timestep but the first twice, every sigma but the first and the final 0. */
    private void install(double[] t, double[] s) {
        double[] withFinal = SigmaSchedule.withFinal(s, 0.0);
        int n = t.length;
        sigmas = new double[2 * n];
        timesteps = new double[2 * n - 1];
        sigmas[0] = withFinal[0];
        timesteps[0] = (float) t[0];
        for (int i = 1; i < n; i++) {
            sigmas[2 * i - 1] = withFinal[i];
            sigmas[2 * i] = withFinal[i];
            timesteps[2 * i - 1] = (float) t[i];
            timesteps[2 * i] = (float) t[i];
        }
        sigmas[2 * n - 1] = withFinal[n];
        prevDerivative = null;
        firstSample = null;
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        initStepIndex(timestep);
        boolean firstOrder = firstSample == null;
        // the Euler half goes from sigmas[i] to sigmas[i + 1]; the correction re-runs it from sigmas[i - 1]
        float sigma = (float) (firstOrder ? sigmas[stepIndex] : sigmas[stepIndex - 1]);
        float sigmaNext = (float) (firstOrder ? sigmas[stepIndex + 1] : sigmas[stepIndex]);
        // x0 at the point the model saw: sigma for the Euler half, sigma_next for the correction
        Tensor x0 = clipping.apply(predictOriginalSigma(modelOutput, sample, firstOrder ? sigma : sigmaNext));
        float[] x = sample.data();
        float[] p = x0.data();
        float[] derivative = new float[x.length];
        Tensor base;
        float step;
        if (firstOrder) {
            for (int i = 0; i < x.length; i++) {
                derivative[i] = (x[i] - p[i]) / sigma;
            }
            prevDerivative = derivative;
            dt = sigmaNext - sigma;
            firstSample = sample;
            base = sample;
            step = dt;
        } else {
            for (int i = 0; i < x.length; i++) {
                float d = (x[i] - p[i]) / sigmaNext;
                derivative[i] = (prevDerivative[i] + d) / 2;
            }
            base = firstSample;
            step = dt;
            prevDerivative = null;
            firstSample = null;
        }
        float[] b = base.data();
        float[] out = new float[b.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = b[i] + derivative[i] * step;
        }
        stepIndex++;
        return new Tensor(sample.shape(), out);
    }
}

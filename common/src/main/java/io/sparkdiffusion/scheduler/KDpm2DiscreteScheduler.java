package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;

/**
 * DPM-Solver-2 in sigma space as k-diffusion's {@code sample_dpm_2} (Karras et al. 2022, arXiv:2206.00364,
 * Algorithm 1 with the midpoint rule; Lu et al. 2022), as diffusers' {@code KDPM2DiscreteScheduler}: from
 * {@code sigma} an Euler half-step to the log-midpoint {@code sigma_mid = exp((log sigma + log sigma_next) / 2)},
 * a second model evaluation there, and the full step with that derivative:
 * {@code x_next = x + d(x_mid, sigma_mid) (sigma_next - sigma)}.
 *
 * <p>Two evaluations per step, laid out as diffusers lays them out so the pipelines' one loop drives them:
 * timesteps {@code t0, tm1, t1, tm2, t2, ...} (2n - 1 entries, {@code tm} the midpoints' fractional timesteps) and
 * the sigmas and midpoint sigmas repeated to match; the last step's Euler half lands on x0 (its midpoint is 0).
 * {@link #order} is 2. Sigma schedules as the k-diffusion family (the Karras timesteps rounded, as diffusers);
 * {@code prediction_type} epsilon or v_prediction.
 */
public class KDpm2DiscreteScheduler extends KDiffusionScheduler {
    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("KDPM2DiscreteScheduler")
            .betas(0.00085, 0.012, "linear")
            .honour("use_karras_sigmas", false)
            .honour("use_exponential_sigmas", false)
            .honour("use_beta_sigmas", false)
            .prediction("epsilon", "v_prediction")
            .spacing("linspace");

    /** The midpoint sigma of each entry, interleaved like {@link #sigmas} (float32 values). */
    protected double[] sigmasInterpol = new double[0];
    /** The sample the current step started from; null in the first-order half (diffusers {@code self.sample}). */
    protected Tensor firstSample;

    public KDpm2DiscreteScheduler(JsonConfig config) {
        this(KEYS.bind(config));
    }

    KDpm2DiscreteScheduler(SchedulerConfig config) {
        super(config);
    }

    @Override
    public int order() {
        return 2;
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        double[][] ts = spacedSigmas(steps, true);
        float[] s = withZero(ts[1]);
        // sigma_mid = exp(lerp(log sigma_i, log sigma_{i-1}, 0.5)) on float32 tensors (the first is unused)
        float[] mid = new float[s.length];
        for (int i = 0; i < s.length; i++) {
            mid[i] = logMidpoint(s[i], i == 0 ? 0f : s[i - 1]);
        }
        install(ts[0], s, mid, 1, s.length - 1);
    }

    /** The sigmas of the loop plus the final 0, as float32. */
    static float[] withZero(double[] s) {
        float[] out = new float[s.length + 1];
        for (int i = 0; i < s.length; i++) {
            out[i] = (float) s[i];
        }
        return out;
    }

    /**
     * {@code exp(torch.lerp(log a, log b, 0.5))} in float32: torch's lerp at weight 0.5 is
     * {@code end - (end - start) * 0.5}, which keeps a zero end at zero.
     */
    static float logMidpoint(float a, float b) {
        float start = (float) Math.log(a);
        float end = (float) Math.log(b);
        return (float) Math.exp(end - (end - start) * 0.5f);
    }

    /**
     * Interleaves the schedule as diffusers: sigmas and midpoints {@code [x0, x1, x1, ..., xn, xn, xn]}; timesteps
     * {@code t0} then, for i in {@code [from, to)}, the midpoint's timestep and the next timestep.
     */
    protected void install(double[] t, float[] s, float[] mid, int from, int to) {
        sigmas = interleave(s);
        sigmasInterpol = interleave(mid);
        double[] train = trainSigmas();
        timesteps = new double[1 + 2 * (to - from)];
        timesteps[0] = t[0];
        for (int i = from; i < to; i++) {
            timesteps[1 + 2 * (i - from)] = SigmaSchedule.sigmaToT(mid[i], train);
            timesteps[2 + 2 * (i - from)] = t[i - from + 1];
        }
        firstSample = null;
    }

    /** {@code cat([x[:1], x[1:].repeat_interleave(2), x[-1:]])}. */
    static double[] interleave(float[] x) {
        double[] out = new double[2 * x.length];
        out[0] = x[0];
        for (int i = 1; i < x.length; i++) {
            out[2 * i - 1] = x[i];
            out[2 * i] = x[i];
        }
        out[out.length - 1] = x[x.length - 1];
        return out;
    }

    /** The first evaluation of a step sees sigma, the second the midpoint. */
    @Override
    protected double inputSigma() {
        return firstSample == null ? sigmas[stepIndex] : sigmasInterpol[stepIndex];
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        initStepIndex(timestep);
        boolean firstOrder = firstSample == null;
        float sigma = (float) (firstOrder ? sigmas[stepIndex] : sigmas[stepIndex - 1]);
        float sigmaMid = (float) (firstOrder ? sigmasInterpol[stepIndex + 1] : sigmasInterpol[stepIndex]);
        float sigmaNext = (float) (firstOrder ? sigmas[stepIndex + 1] : sigmas[stepIndex]);
        Tensor x0 = predictOriginalSigma(modelOutput, sample, firstOrder ? sigma : sigmaMid);
        Tensor prev;
        if (firstOrder) {
            // Euler half to the midpoint: x + (x - x0) / sigma * (sigma_mid - sigma)
            prev = eulerMove(sample, sample, x0, sigma, sigmaMid - sigma);
            firstSample = sample;
        } else {
            // the full step from the first sample with the midpoint's derivative
            prev = eulerMove(firstSample, sample, x0, sigmaMid, sigmaNext - sigma);
            firstSample = null;
        }
        stepIndex++;
        return prev;
    }

    /** {@code from + (x - x0) / sigma * dt}, element-wise in float32 as diffusers' tensor arithmetic. */
    static Tensor eulerMove(Tensor from, Tensor x, Tensor x0, float sigma, float dt) {
        float[] f = from.data();
        float[] xd = x.data();
        float[] p = x0.data();
        float[] out = new float[f.length];
        for (int i = 0; i < out.length; i++) {
            float derivative = (xd[i] - p[i]) / sigma;
            out[i] = f[i] + derivative * dt;
        }
        return new Tensor(x.shape(), out);
    }
}

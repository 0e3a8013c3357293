package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;

/**
 * Ancestral DPM-Solver-2 (k-diffusion's {@code sample_dpm_2_ancestral}), as diffusers'
 * {@code KDPM2AncestralDiscreteScheduler}: each step from {@code sigma} to {@code sigma_next} is split, as the
 * ancestral Euler sampler's, into a deterministic move down to
 * {@code sigma_down = sqrt(sigma_next^2 - sigma_up^2)} and fresh noise of standard deviation
 * {@code sigma_up = sqrt(sigma_next^2 (sigma^2 - sigma_next^2) / sigma^2)}; the deterministic move is the DPM-2
 * midpoint step of {@link KDpm2DiscreteScheduler} towards {@code sigma_down}, with the midpoint
 * {@code exp((log sigma + log sigma_down) / 2)}.
 *
 * <p>Timesteps {@code t0, tm0, t1, tm1, ...} (2n - 1 entries); one Gaussian draw per completed step, after its
 * second evaluation (n - 1 in all: the last step's Euler half lands on x0). {@link #order} is 2.
 */
public final class KDpm2AncestralDiscreteScheduler extends KDpm2DiscreteScheduler {
    static final SchedulerConfig.Keys KEYS = KDpm2DiscreteScheduler.KEYS.copyAs("KDPM2AncestralDiscreteScheduler");

    /** {@code sigma_up} and {@code sigma_down} of each entry, interleaved like the sigmas. */
    private double[] sigmasUp = new double[0];

    private double[] sigmasDown = new double[0];

    public KDpm2AncestralDiscreteScheduler(JsonConfig config) {
        super(KEYS.bind(config));
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        double[][] ts = spacedSigmas(steps, true);
        float[] s = withZero(ts[1]);
        int n = s.length;
        float[] up = new float[n];
        float[] down = new float[n];
        float[] mid = new float[n];
        for (int i = 0; i < n; i++) {
            // float32 tensor arithmetic, as diffusers computes them (the last entry is 0 or unused)
            float next = i + 1 < n ? s[i + 1] : 0f;
            up[i] = (float) Math.sqrt(next * next * (s[i] * s[i] - next * next) / (s[i] * s[i]));
            down[i] = i == n - 1 ? 0f : (float) Math.sqrt(next * next - up[i] * up[i]);
            mid[i] = i >= n - 2 ? 0f : logMidpoint(s[i], down[i]);
        }
        install(ts[0], s, mid, 0, n - 2);
        sigmasUp = interleave(up);
        sigmasDown = interleave(down);
    }

    /** The first evaluation of a step sees sigma, the second the midpoint of the previous entry. */
    @Override
    protected double inputSigma() {
        return firstSample == null ? sigmas[stepIndex] : sigmasInterpol[stepIndex - 1];
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        initStepIndex(timestep);
        boolean firstOrder = firstSample == null;
        Tensor prev;
        if (firstOrder) {
            float sigma = (float) sigmas[stepIndex];
            float sigmaMid = (float) sigmasInterpol[stepIndex];
            Tensor x0 = predictOriginalSigma(modelOutput, sample, sigma);
            prev = eulerMove(sample, sample, x0, sigma, sigmaMid - sigma);
            firstSample = sample;
        } else {
            float sigma = (float) sigmas[stepIndex - 1];
            float sigmaMid = (float) sigmasInterpol[stepIndex - 1];
            float sigmaUp = (float) sigmasUp[stepIndex - 1];
            float sigmaDown = (float) sigmasDown[stepIndex - 1];
            Tensor x0 = predictOriginalSigma(modelOutput, sample, sigmaMid);
            Tensor moved = eulerMove(firstSample, sample, x0, sigmaMid, sigmaDown - sigma);
            firstSample = null;
            float[] m = moved.data();
            float[] z = noise.next(modelOutput.shape()).data();
            float[] out = new float[m.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = m[i] + z[i] * sigmaUp;
            }
            prev = new Tensor(sample.shape(), out);
        }
        stepIndex++;
        return prev;
    }
}

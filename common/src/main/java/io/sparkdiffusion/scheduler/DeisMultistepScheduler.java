package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;

/**
 * Multistep DEIS (Zhang &amp; Chen 2023, "Fast Sampling of Diffusion Models with Exponential Integrator",
 * arXiv:2204.13902, the log-rho AB variant of Section 4), as diffusers' {@code DEISMultistepScheduler}: the
 * exponential integrator in {@code rho = sigma_t / alpha_t} of the noise prediction, its polynomial extrapolation
 * of the last 1-3 noise predictions integrated exactly in {@code log rho}:
 * {@code x_t = alpha_t (x / alpha_s0 + sum_k c_k eps_k)}, with {@code c_k} the integrals of the Lagrange basis
 * polynomials (diffusers' {@code ind_fn}), computed in float32 as diffusers computes them on 0-dim tensors.
 *
 * <p>The first order is DDIM ({@link DpmSolverWeights}' noise-prediction form). The model output is converted to
 * x0 (thresholded with {@code thresholding}) and back to the noise. Timesteps as the multistep solvers; the final
 * sigma is the smallest training sigma (or the last of a Karras / exponential / beta ramp), never 0.
 */
public final class DeisMultistepScheduler extends MultistepVpScheduler {
    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("DEISMultistepScheduler")
            .betas(0.0001, 0.02, "linear")
            .honour("solver_order", 2)
            .prediction("epsilon", "sample", "v_prediction")
            .thresholding(true)
            // diffusers re-registers DPM-Solver configs as deis and their solver types as logrho
            .honour("algorithm_type", "deis", "deis", "dpmsolver", "dpmsolver++")
            .honour("solver_type", "logrho", "logrho", "midpoint", "heun", "bh1", "bh2")
            .honour("lower_order_final", true)
            .honour("use_karras_sigmas", false)
            .honour("use_exponential_sigmas", false)
            .honour("use_beta_sigmas", false)
            .flowMatchingRefused()
            .spacing("linspace");

    public DeisMultistepScheduler(JsonConfig config) {
        super(KEYS.bind(config));
        if (solverOrder > 3) {
            throw this.config.unsupported("solver_order", solverOrder, "1, 2, 3");
        }
    }

    /** DEIS ends on the last converted sigma, or on the smallest training sigma. */
    @Override
    protected double finalSigma(double[] stepSigmas) {
        return sigmaKind != SigmaSchedule.Kind.INTERPOLATED ? stepSigmas[stepSigmas.length - 1] : trainSigmas[0];
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        beginStep(timestep);
        int n = timesteps.length;
        boolean lowerOrderFinalStep = stepIndex == n - 1 && lowerOrderFinal && n < 15;
        boolean lowerOrderSecondStep = stepIndex == n - 2 && lowerOrderFinal && n < 15;
        // convert_model_output: x0 (thresholded), then the noise it implies
        Vp v = vpAt(stepIndex);
        Tensor x0 = dataPrediction(modelOutput, sample);
        pushOutput(combine(new double[] {1 / v.sigma(), -v.alpha() / v.sigma()}, sample, x0));
        Tensor prev;
        if (solverOrder == 1 || lowerOrderNums < 1 || lowerOrderFinalStep) {
            prev = deisFirstOrderUpdate(sample);
        } else if (solverOrder == 2 || lowerOrderNums < 2 || lowerOrderSecondStep) {
            prev = multistepDeisSecondOrderUpdate(sample);
        } else {
            prev = multistepDeisThirdOrderUpdate(sample);
        }
        countStep();
        stepIndex++;
        return prev;
    }

    /** diffusers {@code deis_first_order_update}: {@code (alpha_t/alpha_s) x - sigma_t (e^h - 1) eps} (DDIM). */
    private Tensor deisFirstOrderUpdate(Tensor sample) {
        Vp t = vpAt(stepIndex + 1);
        Vp s = vpAt(stepIndex);
        DpmSolverWeights w = DpmSolverWeights.of("dpmsolver", t, s, t.lambda() - s.lambda());
        return combine(new double[] {w.x(), w.d0()}, sample, output(0));
    }

    /**
     * diffusers {@code multistep_deis_second_order_update}: {@code ind(t, b, c) = t (log t - log c - 1) /
     * (log b - log c)}, {@code c1 = ind(rho_t, rho_s0, rho_s1) - ind(rho_s0, rho_s0, rho_s1)} and {@code c2} with
     * the roles of s0 and s1 swapped.
     */
    private Tensor multistepDeisSecondOrderUpdate(Tensor sample) {
        float[] a = alphas(stepIndex + 1, stepIndex);
        float[] r = rhos(stepIndex + 1, stepIndex, stepIndex - 1);
        float c1 = ind2(r[0], r[1], r[2]) - ind2(r[1], r[1], r[2]);
        float c2 = ind2(r[0], r[2], r[1]) - ind2(r[1], r[2], r[1]);
        return update(a, sample, new float[] {c1, c2}, output(0), output(1));
    }

    /** diffusers {@code multistep_deis_third_order_update}: the same with the quadratic basis ({@link #ind3}). */
    private Tensor multistepDeisThirdOrderUpdate(Tensor sample) {
        float[] a = alphas(stepIndex + 1, stepIndex);
        float[] r = rhos(stepIndex + 1, stepIndex, stepIndex - 1, stepIndex - 2);
        float c1 = ind3(r[0], r[1], r[2], r[3]) - ind3(r[1], r[1], r[2], r[3]);
        float c2 = ind3(r[0], r[2], r[3], r[1]) - ind3(r[1], r[2], r[3], r[1]);
        float c3 = ind3(r[0], r[3], r[1], r[2]) - ind3(r[1], r[3], r[1], r[2]);
        return update(a, sample, new float[] {c1, c2, c3}, output(0), output(1), output(2));
    }

    /** {@code alpha_t * (x / alpha_s0 + sum_k c_k m_k)}, element-wise in float32 in diffusers' order. */
    private static Tensor update(float[] alphas, Tensor sample, float[] c, Tensor... m) {
        float[] x = sample.data();
        float[] out = new float[x.length];
        for (int i = 0; i < out.length; i++) {
            float acc = x[i] / alphas[1];
            for (int k = 0; k < c.length; k++) {
                acc += c[k] * m[k].data()[i];
            }
            out[i] = alphas[0] * acc;
        }
        return new Tensor(sample.shape(), out);
    }

    /** {@code alpha_t} of the given sigma indices, in float32 ({@code 1 / (sigma^2 + 1)^0.5}). */
    private float[] alphas(int... indices) {
        float[] out = new float[indices.length];
        for (int k = 0; k < out.length; k++) {
            float s = (float) sigmas[indices[k]];
            out[k] = 1f / (float) Math.sqrt(s * s + 1f);
        }
        return out;
    }

    /** {@code rho = sigma_t / alpha_t} of the given sigma indices, in float32 as diffusers' 0-dim tensors. */
    private float[] rhos(int... indices) {
        float[] a = alphas(indices);
        float[] out = new float[indices.length];
        for (int k = 0; k < out.length; k++) {
            float sigmaT = (float) sigmas[indices[k]] * a[k];
            out[k] = sigmaT / a[k];
        }
        return out;
    }

    private static float log(float x) {
        return (float) Math.log(x);
    }

    /** The linear Lagrange basis integrated in log rho (diffusers' second-order {@code ind_fn}). */
    static float ind2(float t, float b, float c) {
        return t * (-log(c) + log(t) - 1) / (log(b) - log(c));
    }

    /** The quadratic Lagrange basis integrated in log rho (diffusers' third-order {@code ind_fn}). */
    static float ind3(float t, float b, float c, float d) {
        float lt = log(t);
        float numerator = t * (log(c) * (log(d) - lt + 1) - log(d) * lt + log(d) + lt * lt - 2 * lt + 2);
        float denominator = (log(b) - log(c)) * (log(b) - log(d));
        return numerator / denominator;
    }
}

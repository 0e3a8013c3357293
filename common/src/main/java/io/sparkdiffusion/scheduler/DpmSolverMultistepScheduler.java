package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;

/**
 * Multistep DPM-Solver, as diffusers' {@code DPMSolverMultistepScheduler}. With the default
 * {@code algorithm_type = dpmsolver++} it integrates the data-prediction ODE in lambda (half log-SNR) space
 * (Lu et al. 2022, arXiv:2211.01095): with {@code h = lambda_t - lambda_s} the first-order step is
 * {@code x_t = (sigma_t/sigma_s) x_s - alpha_t (e^-h - 1) x0_s} (DDIM), and the second-order multistep
 * (Algorithm 2) adds {@code D1 = (x0_s0 - x0_s1) / r0}, {@code r0 = h_prev / h}. The weights of every algorithm
 * type are {@link DpmSolverWeights}; the three updates below are diffusers' per-order functions.
 *
 * <p>Also: {@code solver_order} 1-3, {@code lower_order_final}, {@code euler_at_final}, {@code use_karras_sigmas},
 * {@code final_sigmas_type}, {@code lambda_min_clipped}, and the other algorithm types {@code dpmsolver} (noise
 * prediction, Lu et al. 2022, arXiv:2206.00927), {@code sde-dpmsolver++} and {@code sde-dpmsolver} (stochastic,
 * one draw per step from the {@link NoiseSource}).
 */
public class DpmSolverMultistepScheduler extends MultistepVpScheduler {
    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("DPMSolverMultistepScheduler")
            .betas(0.0001, 0.02, "linear")
            .honour("solver_order", 2)
            .prediction("epsilon", "sample", "v_prediction")
            .thresholding(true)
            // diffusers re-registers DEIS configs as dpmsolver++ and UniPC/DEIS solver types as midpoint
            .honour(
                    "algorithm_type",
                    "dpmsolver++",
                    "dpmsolver++",
                    "sde-dpmsolver++",
                    "dpmsolver",
                    "sde-dpmsolver",
                    "deis")
            .honour("solver_type", "midpoint", "midpoint", "heun", "logrho", "bh1", "bh2")
            .honour("lower_order_final", true)
            .honour("euler_at_final", false)
            .honour("use_karras_sigmas", false)
            .honour("use_exponential_sigmas", false)
            .honour("use_beta_sigmas", false)
            .honour("use_lu_lambdas", false)
            .flowMatchingRefused()
            .honour("final_sigmas_type", "zero", "zero", "sigma_min")
            .honour("lambda_min_clipped", Double.NEGATIVE_INFINITY)
            .honour("variance_type", null, "learned", "learned_range")
            .spacing("linspace")
            .honour("rescale_betas_zero_snr", false);

    protected final String algorithm;
    protected final boolean midpoint;
    private final boolean eulerAtFinal;
    private final boolean cosineSchedule;
    /** {@code variance_type} learned / learned_range: the model output's first channels are the noise. */
    private final boolean learnedVariance;

    public DpmSolverMultistepScheduler(JsonConfig config) {
        this(KEYS.bind(config));
    }

    DpmSolverMultistepScheduler(SchedulerConfig config) {
        super(config);
        String algo = config.string("algorithm_type");
        this.algorithm = algo.equals("deis") ? "dpmsolver++" : algo;
        this.midpoint = !config.string("solver_type").equals("heun");
        if (!dataPrediction() && zeroFinalSigma) {
            throw config.unsupported(
                    "final_sigmas_type", "zero", "with algorithm_type '" + algorithm + "'; use 'sigma_min'");
        }
        if (solverOrder > 3) {
            throw config.unsupported("solver_order", solverOrder, "1, 2, 3");
        }
        if (solverOrder == 3 && algorithm.equals("sde-dpmsolver")) {
            throw config.unsupported("solver_order", 3, "sde-dpmsolver has orders 1 and 2");
        }
        this.eulerAtFinal = config.declares("euler_at_final") && config.bool("euler_at_final");
        this.learnedVariance = config.declares("variance_type") && config.string("variance_type") != null;
        this.cosineSchedule = config.declares("beta_schedule")
                && "squaredcos_cap_v2".equals(config.string("beta_schedule"))
                && config.reals("trained_betas") == null;
    }

    /** dpmsolver++ and sde-dpmsolver++ integrate the data prediction; dpmsolver and sde-dpmsolver the noise. */
    private boolean dataPrediction() {
        return algorithm.endsWith("++");
    }

    private boolean stochastic() {
        return algorithm.startsWith("sde-");
    }

    /** diffusers rounds the Karras and Lu timesteps, except for the cosine schedule (then truncates them). */
    @Override
    protected boolean roundConvertedTimesteps(SigmaSchedule.Kind kind) {
        return (kind == SigmaSchedule.Kind.KARRAS || kind == SigmaSchedule.Kind.LU_LAMBDAS) && !cosineSchedule;
    }

    /** diffusers {@code set_timesteps(timesteps=...)}: integer timesteps, the training sigmas there. */
    @Override
    public void setTimesteps(double[] custom) {
        setCustomTimesteps(custom);
    }

    @Override
    public boolean acceptsCustomTimesteps() {
        return true;
    }

    /**
     * diffusers {@code convert_model_output}: the data prediction (++ algorithms, thresholded with
     * {@code thresholding}) or the noise prediction (thresholded through its x0). With {@code variance_type}
     * learned / learned_range an epsilon model's output is cut to its first three channels, as diffusers does
     * ({@code model_output[:, :3]}, for pixel-space models such as DeepFloyd IF whose variance fills the rest).
     */
    protected Tensor convertModelOutput(Tensor modelOutput, Tensor sample) {
        if (learnedVariance && predictionType.equals("epsilon")) {
            modelOutput = LearnedVariance.split(modelOutput, 3)[0];
        }
        if (dataPrediction()) {
            return dataPrediction(modelOutput, sample);
        }
        Tensor eps = noisePrediction(modelOutput, sample);
        if (!clipping.thresholds()) {
            return eps;
        }
        Vp v = vpAt(stepIndex);
        Tensor x0 = clipping.threshold(combine(new double[] {1 / v.alpha(), -v.sigma() / v.alpha()}, sample, eps));
        return combine(new double[] {1 / v.sigma(), -v.alpha() / v.sigma()}, sample, x0);
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        beginStep(timestep);
        int n = timesteps.length;
        // lower orders at the end improve stability for few steps (and a zero final sigma needs first order)
        boolean lowerOrderFinalStep =
                stepIndex == n - 1 && (eulerAtFinal || (lowerOrderFinal && n < 15) || zeroFinalSigma);
        boolean lowerOrderSecondStep = stepIndex == n - 2 && lowerOrderFinal && n < 15;

        pushOutput(convertModelOutput(modelOutput, sample));
        Tensor z = null;
        if (stochastic()) {
            if (noise == null) {
                throw new IllegalArgumentException(algorithm + " needs a noise source");
            }
            z = noise.next(modelOutput.shape());
        }

        Tensor prev;
        if (solverOrder == 1 || lowerOrderNums < 1 || lowerOrderFinalStep) {
            prev = dpmSolverFirstOrderUpdate(output(0), sample, z);
        } else if (solverOrder == 2 || lowerOrderNums < 2 || lowerOrderSecondStep) {
            prev = multistepDpmSolverSecondOrderUpdate(sample, z);
        } else {
            prev = multistepDpmSolverThirdOrderUpdate(sample, z);
        }
        countStep();
        stepIndex++;
        return prev;
    }

    /** The weights of the update from {@code sigmas[stepIndex]} to {@code sigmas[stepIndex + 1]}. */
    private DpmSolverWeights weights(Vp t, Vp s0) {
        return DpmSolverWeights.of(algorithm, t, s0, t.lambda() - s0.lambda());
    }

    /**
     * diffusers {@code dpm_solver_first_order_update}: DPM-Solver-1 from {@code s = sigmas[i]} to
     * {@code t = sigmas[i + 1]}, {@code x * sample + d0 * m0 (+ noise * z)}; for dpmsolver++ this is DDIM.
     */
    protected Tensor dpmSolverFirstOrderUpdate(Tensor m0, Tensor sample, Tensor z) {
        DpmSolverWeights w = weights(vpAt(stepIndex + 1), vpAt(stepIndex));
        return combine(new double[] {w.x(), w.d0(), w.noise()}, sample, m0, z);
    }

    /**
     * diffusers {@code multistep_dpm_solver_second_order_update}: {@code D0 = m0},
     * {@code D1 = (m0 - m1) / r0} with {@code r0 = (lambda_s0 - lambda_s1) / h}.
     */
    protected Tensor multistepDpmSolverSecondOrderUpdate(Tensor sample, Tensor z) {
        Vp t = vpAt(stepIndex + 1);
        Vp s0 = vpAt(stepIndex);
        Vp s1 = vpAt(stepIndex - 1);
        double h = t.lambda() - s0.lambda();
        double r0 = (s0.lambda() - s1.lambda()) / h;
        Tensor d0 = output(0);
        Tensor d1 = scaledDifference(1 / r0, output(0), output(1));
        DpmSolverWeights w = weights(t, s0);
        return combine(new double[] {w.x(), w.d0(), w.d1(midpoint), w.noise()}, sample, d0, d1, z);
    }

    /**
     * diffusers {@code multistep_dpm_solver_third_order_update}: {@code D1_0 = (m0 - m1) / r0},
     * {@code D1_1 = (m1 - m2) / r1}, {@code D1 = D1_0 + r0 / (r0 + r1) (D1_0 - D1_1)},
     * {@code D2 = (D1_0 - D1_1) / (r0 + r1)} (arXiv:2206.00927, DPM-Solver-3 in multistep form).
     */
    protected Tensor multistepDpmSolverThirdOrderUpdate(Tensor sample, Tensor z) {
        Vp t = vpAt(stepIndex + 1);
        Vp s0 = vpAt(stepIndex);
        Vp s1 = vpAt(stepIndex - 1);
        Vp s2 = vpAt(stepIndex - 2);
        double h = t.lambda() - s0.lambda();
        double r0 = (s0.lambda() - s1.lambda()) / h;
        double r1 = (s1.lambda() - s2.lambda()) / h;
        Tensor d10 = scaledDifference(1 / r0, output(0), output(1));
        Tensor d11 = scaledDifference(1 / r1, output(1), output(2));
        Tensor d1 = combine(new double[] {1, r0 / (r0 + r1)}, d10, scaledDifference(1, d10, d11));
        Tensor d2 = scaledDifference(1 / (r0 + r1), d10, d11);
        DpmSolverWeights w = weights(t, s0);
        return combine(new double[] {w.x(), w.d0(), w.d1Heun(), w.d2(), w.noise()}, sample, output(0), d1, d2, z);
    }
}

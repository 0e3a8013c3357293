package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;

/**
 * Singlestep DPM-Solver (Lu et al. 2022, arXiv:2206.00927 Algorithms 1-2; DPM-Solver++, arXiv:2211.01095
 * Algorithm 1), as diffusers' {@code DPMSolverSinglestepScheduler} ("DPM++ 2S"): the timesteps are grouped by
 * {@link #orderList} into steps of order 1, 2 or 3; inside a group every model evaluation is made at an
 * intermediate point reached from the group's starting sample, and the group's last evaluation completes it with
 * the singlestep update from that sample. One model evaluation per timestep, so the pipelines' loop drives it
 * unchanged.
 *
 * <p>The update weights are {@link DpmSolverWeights}' (the same as the multistep solver's, taken from the group's
 * start); {@code algorithm_type} dpmsolver++, dpmsolver, sde-dpmsolver++ (one draw per step); {@code solver_type}
 * midpoint / heun; sigma schedules, {@code final_sigmas_type}, {@code lambda_min_clipped}, {@code thresholding},
 * {@code variance_type} and custom timesteps as the multistep solver. The timesteps are always the linspace ones
 * (the class has no {@code timestep_spacing}).
 */
public final class DpmSolverSinglestepScheduler extends DpmSolverMultistepScheduler {
    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("DPMSolverSinglestepScheduler")
            .betas(0.0001, 0.02, "linear")
            .honour("solver_order", 2)
            .prediction("epsilon", "sample", "v_prediction")
            .thresholding(true)
            // diffusers re-registers DEIS configs as dpmsolver++ and UniPC/DEIS solver types as midpoint
            .honour("algorithm_type", "dpmsolver++", "dpmsolver++", "sde-dpmsolver++", "dpmsolver", "deis")
            .honour("solver_type", "midpoint", "midpoint", "heun", "logrho", "bh1", "bh2")
            .honour("lower_order_final", false)
            .honour("use_karras_sigmas", false)
            .honour("use_exponential_sigmas", false)
            .honour("use_beta_sigmas", false)
            .flowMatchingRefused()
            .honour("final_sigmas_type", "zero", "zero", "sigma_min")
            .honour("lambda_min_clipped", Double.NEGATIVE_INFINITY)
            .honour("variance_type", null, "learned", "learned_range");

    /** The solver order of every step ({@code get_order_list}). */
    private int[] orderList = new int[0];
    /** The sample the current group started from (diffusers {@code self.sample}). */
    private Tensor groupSample;

    public DpmSolverSinglestepScheduler(JsonConfig config) {
        super(KEYS.bind(config));
        if (algorithm.equals("dpmsolver") && clipping.thresholds()) {
            // diffusers' dpmsolver branch thresholds with alpha_t[timestep] of a timestep it no longer receives
            throw this.config.unsupported("thresholding", true, "with algorithm_type 'dpmsolver'");
        }
    }

    /** Karras timesteps are rounded (no cosine exception in the singlestep class). */
    @Override
    protected boolean roundConvertedTimesteps(SigmaSchedule.Kind kind) {
        return kind == SigmaSchedule.Kind.KARRAS;
    }

    /**
     * diffusers {@code get_order_list}: with {@code lower_order_final} (forced on, as diffusers forces it, when the
     * steps are not a multiple of the order or the final sigma is 0) {@code [1, 2, 3]} repeated and the tail
     * lowered; the last step is first order with a zero final sigma.
     */
    @Override
    protected void onSetTimesteps() {
        int steps = numInferenceSteps;
        int order = solverOrder;
        boolean lowerFinal = lowerOrderFinal || steps % order != 0 || zeroFinalSigma;
        int[] orders = new int[steps];
        for (int i = 0; i < steps; i++) {
            orders[i] = i % order + 1;
        }
        if (lowerFinal) {
            if (order == 3) {
                if (steps % 3 == 0) {
                    orders[steps - 3] = 1;
                    orders[steps - 2] = 2;
                    orders[steps - 1] = 1;
                } else if (steps % 3 == 1) {
                    orders[steps - 1] = 1;
                } else {
                    orders[steps - 2] = 1;
                    orders[steps - 1] = 2;
                }
            } else if (order == 2) {
                if (steps % 2 == 0) {
                    orders[steps - 2] = 1;
                    orders[steps - 1] = 1;
                } else {
                    orders[steps - 1] = 1;
                }
            }
        }
        if (zeroFinalSigma) {
            orders[steps - 1] = 1;
        }
        orderList = orders;
        groupSample = null;
    }

    /** The solver order of each step of the current schedule. */
    int[] orderList() {
        return orderList.clone();
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        beginStep(timestep);
        pushOutput(convertModelOutput(modelOutput, sample));
        Tensor z = null;
        if (algorithm.startsWith("sde-")) {
            z = noise.next(modelOutput.shape());
        }
        int order = orderList[stepIndex];
        while (!hasOutput(order - 1)) {
            order--;
        }
        if (order == 1) {
            groupSample = sample;
        }
        Tensor prev = switch (order) {
            case 1 -> dpmSolverFirstOrderUpdate(output(0), groupSample, z);
            case 2 -> singlestepDpmSolverSecondOrderUpdate(groupSample, z);
            default -> singlestepDpmSolverThirdOrderUpdate(groupSample, z);
        };
        stepIndex++;
        return prev;
    }

    /**
     * diffusers {@code singlestep_dpm_solver_second_order_update}: from {@code s1 = sigmas[i - 1]} (the group's
     * start) to {@code t = sigmas[i + 1]} with {@code h = lambda_t - lambda_s1}, {@code r0 = (lambda_s0 -
     * lambda_s1) / h}, {@code D0 = m1}, {@code D1 = (m0 - m1) / r0}.
     */
    private Tensor singlestepDpmSolverSecondOrderUpdate(Tensor sample, Tensor z) {
        Vp t = vpAt(stepIndex + 1);
        Vp s0 = vpAt(stepIndex);
        Vp s1 = vpAt(stepIndex - 1);
        double h = t.lambda() - s1.lambda();
        double r0 = (s0.lambda() - s1.lambda()) / h;
        Tensor d1 = scaledDifference(1 / r0, output(0), output(1));
        DpmSolverWeights w = DpmSolverWeights.of(algorithm, t, s1, h);
        return combine(new double[] {w.x(), w.d0(), w.d1(midpoint), w.noise()}, sample, output(1), d1, z);
    }

    /**
     * diffusers {@code singlestep_dpm_solver_third_order_update}: from {@code s2 = sigmas[i - 2]} with
     * {@code r0 = (lambda_s0 - lambda_s2) / h}, {@code r1 = (lambda_s1 - lambda_s2) / h}, {@code D0 = m2},
     * {@code D1_0 = (m1 - m2) / r1}, {@code D1_1 = (m0 - m2) / r0}, {@code D1 = (r0 D1_0 - r1 D1_1) / (r0 - r1)},
     * {@code D2 = 2 (D1_1 - D1_0) / (r0 - r1)}; midpoint uses {@code D1_1} alone, heun {@code D1} and {@code D2}.
     */
    private Tensor singlestepDpmSolverThirdOrderUpdate(Tensor sample, Tensor z) {
        Vp t = vpAt(stepIndex + 1);
        Vp s0 = vpAt(stepIndex);
        Vp s1 = vpAt(stepIndex - 1);
        Vp s2 = vpAt(stepIndex - 2);
        double h = t.lambda() - s2.lambda();
        double r0 = (s0.lambda() - s2.lambda()) / h;
        double r1 = (s1.lambda() - s2.lambda()) / h;
        Tensor d10 = scaledDifference(1 / r1, output(1), output(2));
        Tensor d11 = scaledDifference(1 / r0, output(0), output(2));
        DpmSolverWeights w = DpmSolverWeights.of(algorithm, t, s2, h);
        if (midpoint) {
            return combine(new double[] {w.x(), w.d0(), w.d1Heun(), w.noise()}, sample, output(2), d11, z);
        }
        Tensor d1 = combine(new double[] {r0 / (r0 - r1), -r1 / (r0 - r1)}, d10, d11);
        Tensor d2 = scaledDifference(2 / (r0 - r1), d11, d10);
        return combine(new double[] {w.x(), w.d0(), w.d1Heun(), w.d2(), w.noise()}, sample, output(2), d1, d2, z);
    }
}

package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.util.Arrays;

/**
 * Multistep DPM-Solver, as diffusers' {@code DPMSolverMultistepScheduler}. With the default
 * {@code algorithm_type = dpmsolver++} it integrates the data-prediction ODE in lambda (half log-SNR) space
 * (Lu et al. 2022, arXiv:2211.01095): with {@code h = lambda_t - lambda_s} the first-order step is
 * {@code x_t = (sigma_t/sigma_s) x_s - alpha_t (e^-h - 1) x0_s} (DDIM), and the second-order multistep
 * (Algorithm 2) adds {@code D1 = (x0_s0 - x0_s1) / r0}, {@code r0 = h_prev / h}, with weight
 * {@code -alpha_t (e^-h - 1) / 2} (midpoint) or {@code alpha_t ((e^-h - 1)/h + 1)} (heun).
 *
 * <p>Also: {@code solver_order} 1-3, {@code lower_order_final}, {@code euler_at_final}, {@code use_karras_sigmas},
 * {@code final_sigmas_type}, {@code lambda_min_clipped}, and the other algorithm types {@code dpmsolver} (noise
 * prediction, Lu et al. 2022, arXiv:2206.00927), {@code sde-dpmsolver++} and {@code sde-dpmsolver} (stochastic,
 * one draw per step from the {@link NoiseSource}).
 */
public final class DpmSolverMultistepScheduler extends MultistepVpScheduler {
    private static final String SUPPORTED_ALGORITHMS = "dpmsolver++, sde-dpmsolver++, dpmsolver, sde-dpmsolver";

    private final String algorithm;
    private final String solverType;
    private final boolean eulerAtFinal;
    private final double lambdaMinClipped;
    private final boolean cosineSchedule;

    public DpmSolverMultistepScheduler(JsonConfig config) {
        super(config);
        String algo = config.getString("algorithm_type", "dpmsolver++");
        if (algo.equals("deis")) {
            algo = "dpmsolver++"; // diffusers re-registers DEIS configs as dpmsolver++
        }
        if (!algo.equals("dpmsolver++")
                && !algo.equals("sde-dpmsolver++")
                && !algo.equals("dpmsolver")
                && !algo.equals("sde-dpmsolver")) {
            throw new IllegalArgumentException(config.source() + ": algorithm_type '" + algo + "' is not supported ("
                    + SUPPORTED_ALGORITHMS + ")");
        }
        this.algorithm = algo;
        String solver = config.getString("solver_type", "midpoint");
        if (solver.equals("logrho") || solver.equals("bh1") || solver.equals("bh2")) {
            solver = "midpoint"; // as diffusers maps UniPC/DEIS solver types
        }
        if (!solver.equals("midpoint") && !solver.equals("heun")) {
            throw new IllegalArgumentException(
                    config.source() + ": solver_type '" + solver + "' is not supported (midpoint, heun)");
        }
        this.solverType = solver;
        if (!dataPrediction() && finalSigmasType.equals("zero")) {
            throw new IllegalArgumentException(config.source() + ": final_sigmas_type 'zero' is not supported for "
                    + "algorithm_type '" + algorithm + "'; use 'sigma_min'");
        }
        if (solverOrder > 3) {
            throw new IllegalArgumentException(
                    config.source() + ": solver_order " + solverOrder + " is not supported (1, 2, 3)");
        }
        if (solverOrder == 3 && algorithm.equals("sde-dpmsolver")) {
            throw new IllegalArgumentException(config.source() + ": sde-dpmsolver supports solver_order 1 or 2");
        }
        if (config.has("variance_type")) {
            throw new IllegalArgumentException(config.source() + ": variance_type '"
                    + config.getString("variance_type", null) + "' (learned variance) is not supported");
        }
        if (config.getBoolean("use_lu_lambdas", false)) {
            throw new IllegalArgumentException(config.source() + ": use_lu_lambdas is not supported");
        }
        this.eulerAtFinal = config.getBoolean("euler_at_final", false);
        this.lambdaMinClipped = config.getDouble("lambda_min_clipped", Double.NEGATIVE_INFINITY);
        this.cosineSchedule =
                "squaredcos_cap_v2".equals(config.getString("beta_schedule", "linear")) && !config.has("trained_betas");
    }

    /** dpmsolver++ and sde-dpmsolver++ integrate the data prediction; dpmsolver and sde-dpmsolver the noise. */
    private boolean dataPrediction() {
        return algorithm.endsWith("++");
    }

    private boolean stochastic() {
        return algorithm.startsWith("sde-");
    }

    /**
     * {@code num_train_timesteps} less the timesteps whose lambda is below {@code lambda_min_clipped}
     * (diffusers' {@code searchsorted} on the flipped float32 lambdas), which matters for the cosine schedule.
     */
    @Override
    protected int lastTimestep() {
        int clipped = 0;
        double[] abar = schedule.alphasCumprod;
        boolean zeroSnr = config.getBoolean("rescale_betas_zero_snr", false);
        for (int i = 0; i < abar.length; i++) {
            float a = zeroSnr && i == abar.length - 1 ? 0x1p-24f : (float) abar[i];
            float alpha = (float) Math.sqrt(a);
            float sigma = (float) Math.sqrt(1f - a);
            float lambda = (float) Math.log(alpha) - (float) Math.log(sigma);
            if (lambda < lambdaMinClipped) {
                clipped++;
            }
        }
        return numTrainTimesteps - clipped;
    }

    /** diffusers leaves the Karras timesteps of the cosine schedule unrounded (then truncates them). */
    @Override
    protected boolean roundKarrasTimesteps() {
        return !cosineSchedule;
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        if (sigmas.length == 0) {
            throw new IllegalStateException("setTimesteps must be called before step");
        }
        initStepIndex(timestep);
        int n = timesteps.length;
        // lower orders at the end improve stability for few steps (and a zero final sigma needs first order)
        boolean finalFirstOrder =
                stepIndex == n - 1 && (eulerAtFinal || (lowerOrderFinal && n < 15) || finalSigmasType.equals("zero"));
        boolean secondToLast = stepIndex == n - 2 && lowerOrderFinal && n < 15;

        pushOutput(dataPrediction() ? dataPrediction(modelOutput, sample) : noisePrediction(modelOutput, sample));
        Tensor z = null;
        if (stochastic()) {
            if (noise == null) {
                throw new IllegalArgumentException(algorithm + " needs a noise source");
            }
            z = noise.next(modelOutput.shape());
        }

        Tensor prev;
        if (solverOrder == 1 || lowerOrderNums < 1 || finalFirstOrder) {
            prev = firstOrder(sample, z);
        } else if (solverOrder == 2 || lowerOrderNums < 2 || secondToLast) {
            prev = secondOrder(sample, z);
        } else {
            prev = thirdOrder(sample, z);
        }
        countStep();
        stepIndex++;
        return prev;
    }

    /** The coefficients of one update of every order: on the sample, on D0, D1, D2, and on the noise. */
    private record Coeffs(double x, double d0, double d1, double d2, double z) {}

    /**
     * Update weights for an exponential-integrator step of {@code h = lambda_t - lambda_s0}
     * (arXiv:2211.01095 eq. 8-9 and Algorithm 2 for ++; arXiv:2206.00927 eq. 3.7 for the noise-prediction form).
     */
    private Coeffs coeffs(double h, double alphaT, double sigmaT, double alphaS0, double sigmaS0, int order) {
        double eMinus = Math.expm1(-h); // e^-h - 1
        double ePlus = Math.expm1(h); // e^h - 1
        double e2 = -Math.expm1(-2 * h); // 1 - e^-2h
        boolean midpoint = solverType.equals("midpoint");
        return switch (algorithm) {
            case "dpmsolver++" ->
                new Coeffs(
                        sigmaT / sigmaS0,
                        -alphaT * eMinus,
                        order == 2 && midpoint ? -0.5 * alphaT * eMinus : alphaT * (eMinus / h + 1),
                        -alphaT * ((eMinus + h) / (h * h) - 0.5),
                        0);
            case "dpmsolver" ->
                new Coeffs(
                        alphaT / alphaS0,
                        -sigmaT * ePlus,
                        order == 2 && midpoint ? -0.5 * sigmaT * ePlus : -sigmaT * (ePlus / h - 1),
                        -sigmaT * ((ePlus - h) / (h * h) - 0.5),
                        0);
            case "sde-dpmsolver++" ->
                new Coeffs(
                        sigmaT / sigmaS0 * Math.exp(-h),
                        alphaT * e2,
                        order == 2 && midpoint ? 0.5 * alphaT * e2 : alphaT * (e2 / (-2 * h) + 1),
                        alphaT * ((e2 - 2 * h) / (4 * h * h) - 0.5),
                        sigmaT * Math.sqrt(e2));
            default ->
                new Coeffs(
                        alphaT / alphaS0,
                        -2 * sigmaT * ePlus, // sde-dpmsolver
                        order == 2 && midpoint ? -sigmaT * ePlus : -2 * sigmaT * (ePlus / h - 1),
                        Double.NaN,
                        sigmaT * Math.sqrt(Math.expm1(2 * h)));
        };
    }

    /** First order (DPM-Solver-1, DDIM in lambda space) from sigma_s = sigmas[i] to sigma_t = sigmas[i + 1]. */
    private Tensor firstOrder(Tensor sample, Tensor z) {
        double sT = sigmas[stepIndex + 1];
        double s0 = sigmas[stepIndex];
        double h = lambda(sT) - lambda(s0);
        Coeffs c = coeffs(h, alphaT(sT), sigmaT(sT), alphaT(s0), sigmaT(s0), 1);
        return withNoise(c, new double[] {c.x(), c.d0()}, new Tensor[] {sample, output(0)}, z);
    }

    /** Second-order multistep: D0 = m0, D1 = (m0 - m1) / r0 with r0 = (lambda_s0 - lambda_s1) / h. */
    private Tensor secondOrder(Tensor sample, Tensor z) {
        double sT = sigmas[stepIndex + 1];
        double s0 = sigmas[stepIndex];
        double s1 = sigmas[stepIndex - 1];
        double h = lambda(sT) - lambda(s0);
        double r0 = (lambda(s0) - lambda(s1)) / h;
        Coeffs c = coeffs(h, alphaT(sT), sigmaT(sT), alphaT(s0), sigmaT(s0), 2);
        // c.d0 * m0 + c.d1 * (m0 - m1) / r0
        return withNoise(
                c,
                new double[] {c.x(), c.d0() + c.d1() / r0, -c.d1() / r0},
                new Tensor[] {sample, output(0), output(1)},
                z);
    }

    /**
     * Third-order multistep: D1_0 = (m0 - m1)/r0, D1_1 = (m1 - m2)/r1, D1 = D1_0 + r0/(r0+r1) (D1_0 - D1_1),
     * D2 = (D1_0 - D1_1) / (r0 + r1).
     */
    private Tensor thirdOrder(Tensor sample, Tensor z) {
        double sT = sigmas[stepIndex + 1];
        double s0 = sigmas[stepIndex];
        double s1 = sigmas[stepIndex - 1];
        double s2 = sigmas[stepIndex - 2];
        double h = lambda(sT) - lambda(s0);
        double r0 = (lambda(s0) - lambda(s1)) / h;
        double r1 = (lambda(s1) - lambda(s2)) / h;
        Coeffs c = coeffs(h, alphaT(sT), sigmaT(sT), alphaT(s0), sigmaT(s0), 3);
        // coefficient vectors over (m0, m1, m2)
        double[] d10 = {1 / r0, -1 / r0, 0};
        double[] d11 = {0, 1 / r1, -1 / r1};
        double[] m = new double[3];
        for (int k = 0; k < 3; k++) {
            double diff = d10[k] - d11[k];
            double d1 = d10[k] + r0 / (r0 + r1) * diff;
            double d2 = diff / (r0 + r1);
            m[k] = (k == 0 ? c.d0() : 0) + c.d1() * d1 + c.d2() * d2;
        }
        return withNoise(
                c, new double[] {c.x(), m[0], m[1], m[2]}, new Tensor[] {sample, output(0), output(1), output(2)}, z);
    }

    private static Tensor withNoise(Coeffs c, double[] coeffs, Tensor[] terms, Tensor z) {
        if (z == null) {
            return combine(coeffs, terms);
        }
        double[] k = Arrays.copyOf(coeffs, coeffs.length + 1);
        Tensor[] t = Arrays.copyOf(terms, terms.length + 1);
        k[coeffs.length] = c.z();
        t[terms.length] = z;
        return combine(k, t);
    }
}

package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * UniPC (Zhao et al. 2023, arXiv:2302.04867), as diffusers' {@code UniPCMultistepScheduler}: a predictor UniP-p
 * (Algorithm 2 with the B(h) variants of Section 3.3) and, at the start of every step after the first, a corrector
 * UniC-p that re-solves the previous step with the model output just computed at its end (no extra model call).
 *
 * <p>In the data-prediction form ({@code predict_x0 = true}, the default) with {@code hh = -h}, {@code h} the lambda
 * increment, {@code phi_1 = e^hh - 1} and {@code B(h) = hh} (bh1) or {@code e^hh - 1} (bh2):
 * {@code x_t = (sigma_t/sigma_s0) x - alpha_t phi_1 m0 - alpha_t B(h) sum_k rho_k D_k} with
 * {@code D_k = (m_k - m0) / r_k}, {@code r_k = (lambda_{s_k} - lambda_s0) / h}; the rho solve
 * {@code R rho = b}, {@code R[i][k] = r_k^i}, {@code b_i = i! h phi_{i+1}(hh) / B(h)} (Theorem 3.1), with
 * rho = 1/2 in the order-2 predictor and the order-1 corrector. The corrector appends r = 1 and
 * {@code D = m_t - m0}. Options: {@code solver_order}, {@code solver_type} bh1/bh2, {@code lower_order_final},
 * {@code disable_corrector}, {@code use_karras_sigmas} (with {@code sigma_min}/{@code sigma_max}),
 * {@code final_sigmas_type}, {@code predict_x0}.
 */
public final class UniPcMultistepScheduler extends MultistepVpScheduler {
    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("UniPCMultistepScheduler")
            .betas(0.0001, 0.02, "linear")
            .honour("solver_order", 2)
            .prediction("epsilon", "sample", "v_prediction")
            .thresholding(true)
            .honour("predict_x0", true)
            // diffusers maps the DPM-Solver and DEIS solver types to bh2
            .honour("solver_type", "bh2", "bh1", "bh2", "midpoint", "heun", "logrho")
            .honour("lower_order_final", true)
            .honour("disable_corrector", List.of())
            .refuse("solver_p", null, "an external predictor scheduler")
            .honour("use_karras_sigmas", false)
            .honour("use_exponential_sigmas", false)
            .honour("use_beta_sigmas", false)
            .flowMatchingRefused()
            .spacing("linspace")
            .honour("final_sigmas_type", "zero", "zero", "sigma_min")
            .honour("rescale_betas_zero_snr", false)
            .honour("sigma_min", null)
            .honour("sigma_max", null)
            .honour("shift_terminal", null);

    private final boolean predictX0;
    private final boolean bh1;
    private final Set<Integer> disableCorrector;
    /** The sample the last predictor started from (the corrector re-solves that step). */
    private Tensor lastSample;
    /** Order of the last predictor step, which the next corrector uses. */
    private int thisOrder;

    public UniPcMultistepScheduler(JsonConfig config) {
        super(KEYS.bind(config));
        this.predictX0 = this.config.bool("predict_x0");
        this.bh1 = this.config.string("solver_type").equals("bh1");
        Set<Integer> disabled = new HashSet<>();
        double[] steps = this.config.reals("disable_corrector");
        if (steps != null) {
            for (double d : steps) {
                disabled.add((int) d);
            }
        }
        this.disableCorrector = Set.copyOf(disabled);
    }

    /**
     * UniPC's {@code sigma_min} final sigma is the last of a converted ramp (Karras, exponential, beta), else the
     * smallest training sigma.
     */
    @Override
    protected double finalSigma(double[] stepSigmas) {
        if (zeroFinalSigma) {
            return 0.0;
        }
        return sigmaKind != SigmaSchedule.Kind.INTERPOLATED ? stepSigmas[stepSigmas.length - 1] : trainSigmas[0];
    }

    @Override
    protected void onSetTimesteps() {
        lastSample = null;
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        beginStep(timestep);
        boolean useCorrector = stepIndex > 0 && !disableCorrector.contains(stepIndex - 1) && lastSample != null;
        Tensor converted = predictX0 ? dataPrediction(modelOutput, sample) : noisePrediction(modelOutput, sample);
        if (useCorrector) {
            sample = corrector(converted, lastSample, thisOrder);
        }
        pushOutput(converted);
        int order = lowerOrderFinal ? Math.min(solverOrder, timesteps.length - stepIndex) : solverOrder;
        thisOrder = Math.min(order, lowerOrderNums + 1); // warm-up of the multistep history
        lastSample = sample;
        Tensor prev = predictor(sample, thisOrder);
        countStep();
        stepIndex++;
        return prev;
    }

    /** The lambda-space quantities one UniP/UniC update of order p needs. */
    private final class Update {
        final double alphaT;
        final double sigmaT;
        final double alphaS0;
        final double sigmaS0;
        final double hh;
        final double hPhi1;
        final double bh;
        /** r_k for k = 1..p-1, then 1. */
        final double[] rks;
        /** b_i, i = 1..p. */
        final double[] b;

        /**
         * @param t index of the target sigma; {@code s0} index of the base sigma; earlier points at s0 - 1, s0 - 2...
         */
        Update(int t, int s0, int order) {
            Vp vt = vpAt(t);
            Vp vs0 = vpAt(s0);
            alphaT = vt.alpha();
            sigmaT = vt.sigma();
            alphaS0 = vs0.alpha();
            sigmaS0 = vs0.sigma();
            double lambdaS0 = vs0.lambda();
            double h = vt.lambda() - lambdaS0;
            rks = new double[order];
            for (int i = 1; i < order; i++) {
                rks[i - 1] = (vpAt(s0 - i).lambda() - lambdaS0) / h;
            }
            rks[order - 1] = 1;
            hh = predictX0 ? -h : h;
            hPhi1 = Math.expm1(hh); // h phi_1(h) = e^h - 1
            bh = bh1 ? hh : Math.expm1(hh);
            // b_i = i! * phi_{i+1} terms by the recurrence h phi_{k+1} = h phi_k / h - 1/k!
            b = new double[order];
            double hPhiK = hPhi1 / hh - 1;
            double factorial = 1;
            for (int i = 1; i <= order; i++) {
                b[i - 1] = hPhiK * factorial / bh;
                factorial *= i + 1;
                hPhiK = hPhiK / hh - 1 / factorial;
            }
        }

        /** The top-left {@code n x n} block of {@code R[i][k] = r_k^i}. */
        double[][] r(int n) {
            double[][] m = new double[n][n];
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < n; k++) {
                    m[i][k] = Math.pow(rks[k], i);
                }
            }
            return m;
        }

        /** Coefficients of x and m0 in the first-order part: data {@code sigma_t/sigma_s0, -alpha_t phi_1}. */
        double xCoeff() {
            return predictX0 ? sigmaT / sigmaS0 : alphaT / alphaS0;
        }

        double m0Coeff() {
            return predictX0 ? -alphaT * hPhi1 : -sigmaT * hPhi1;
        }

        /** The weight of the B(h)-scaled correction sum. */
        double resCoeff() {
            return predictX0 ? -alphaT * bh : -sigmaT * bh;
        }
    }

    /** UniP-p from sigmas[i] to sigmas[i + 1], using the outputs of steps i, i-1, ..., i-p+1. */
    private Tensor predictor(Tensor x, int order) {
        Update u = new Update(stepIndex + 1, stepIndex, order);
        int k = order - 1; // number of D terms
        double[] rhos = k == 0 ? new double[0] : order == 2 ? new double[] {0.5} : solve(u.r(k), Arrays.copyOf(u.b, k));
        return assemble(u, x, rhos, null, 0);
    }

    /**
     * UniC-p: re-solves the step from sigmas[i - 1] (where {@code x} was) to sigmas[i] with the new output
     * {@code mT}, the outputs of steps i-1, ..., i-p, and one more rho for {@code D = mT - m0}.
     */
    private Tensor corrector(Tensor mT, Tensor x, int order) {
        Update u = new Update(stepIndex, stepIndex - 1, order);
        double[] rhos = order == 1 ? new double[] {0.5} : solve(u.r(order), u.b);
        return assemble(u, x, Arrays.copyOf(rhos, order - 1), mT, rhos[order - 1]);
    }

    /**
     * {@code xCoeff x + m0Coeff m0 + resCoeff (sum_k rho_k (m_k - m0)/r_k + rhoT (mT - m0))}, expanded over the
     * history tensors.
     */
    private Tensor assemble(Update u, Tensor x, double[] rhos, Tensor mT, double rhoT) {
        int k = rhos.length;
        int n = 2 + k + (mT == null ? 0 : 1);
        double[] coeffs = new double[n];
        Tensor[] terms = new Tensor[n];
        coeffs[0] = u.xCoeff();
        terms[0] = x;
        double m0 = u.m0Coeff();
        terms[1] = output(0);
        for (int i = 0; i < k; i++) {
            double w = u.resCoeff() * rhos[i] / u.rks[i];
            coeffs[2 + i] = w;
            terms[2 + i] = output(i + 1);
            m0 -= w;
        }
        if (mT != null) {
            double w = u.resCoeff() * rhoT;
            coeffs[n - 1] = w;
            terms[n - 1] = mT;
            m0 -= w;
        }
        coeffs[1] = m0;
        return combine(coeffs, terms);
    }

    /** Solves {@code a x = b} for the small dense rho system (Gaussian elimination with partial pivoting). */
    static double[] solve(double[][] a, double[] b) {
        int n = b.length;
        double[][] m = new double[n][];
        double[] y = b.clone();
        for (int i = 0; i < n; i++) {
            m[i] = a[i].clone();
        }
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) {
                if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) {
                    pivot = r;
                }
            }
            double[] rowTmp = m[col];
            m[col] = m[pivot];
            m[pivot] = rowTmp;
            double yTmp = y[col];
            y[col] = y[pivot];
            y[pivot] = yTmp;
            for (int r = col + 1; r < n; r++) {
                double f = m[r][col] / m[col][col];
                for (int c = col; c < n; c++) {
                    m[r][c] -= f * m[col][c];
                }
                y[r] -= f * y[col];
            }
        }
        double[] x = new double[n];
        for (int r = n - 1; r >= 0; r--) {
            double acc = y[r];
            for (int c = r + 1; c < n; c++) {
                acc -= m[r][c] * x[c];
            }
            x[r] = acc / m[r][r];
        }
        return x;
    }
}

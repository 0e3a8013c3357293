package io.sparkdiffusion.scheduler;

/**
 * Sigma-space schedules, in one place: linear interpolation of the training sigmas at fractional timesteps, the
 * converted ramps diffusers offers through {@code use_karras_sigmas} (Karras et al. 2022, arXiv:2206.00364, eq. 5),
 * {@code use_exponential_sigmas} (log-linear), {@code use_beta_sigmas} (Lee et al. 2024, "Beta Sampling is All You
 * Need", arXiv:2407.12173) and DPM-Solver's {@code use_lu_lambdas} (Lu et al. 2022, arXiv:2206.00927: uniform
 * half log-SNR), the EDM ramps, and the inverse map from a sigma to its fractional timestep (interpolation in log
 * sigma, diffusers {@code _sigma_to_t}).
 */
public final class SigmaSchedule {
    private SigmaSchedule() {}

    /** How a scheduler spaces its inference sigmas, from its {@code use_*} keys. */
    enum Kind {
        /** The training sigmas at the spaced timesteps. */
        INTERPOLATED,
        /** {@code use_karras_sigmas}: {@link #karras}. */
        KARRAS,
        /** DPM-Solver's {@code use_lu_lambdas}: {@link #luLambdas}. */
        LU_LAMBDAS,
        /** {@code use_exponential_sigmas}: {@link #exponential}. */
        EXPONENTIAL,
        /** {@code use_beta_sigmas}: {@link #beta}. */
        BETA;

        /**
         * The kind {@code config} asks for (keys the class does not declare count as false), in diffusers'
         * {@code set_timesteps} precedence; more than one of the karras / exponential / beta flags is refused as
         * diffusers' constructors refuse it.
         */
        static Kind of(SchedulerConfig config) {
            boolean karras = flag(config, "use_karras_sigmas");
            boolean exponential = flag(config, "use_exponential_sigmas");
            boolean beta = flag(config, "use_beta_sigmas");
            if ((karras ? 1 : 0) + (exponential ? 1 : 0) + (beta ? 1 : 0) > 1) {
                throw config.unsupported(
                        "use_karras_sigmas / use_exponential_sigmas / use_beta_sigmas",
                        "more than one",
                        "only one of them can be used");
            }
            if (karras) {
                return KARRAS;
            }
            if (flag(config, "use_lu_lambdas")) {
                return LU_LAMBDAS;
            }
            return exponential ? EXPONENTIAL : beta ? BETA : INTERPOLATED;
        }

        private static boolean flag(SchedulerConfig config, String key) {
            return config.declares(key) && config.bool(key);
        }

        /** The {@code n} sigmas of this converted kind between {@code min} and {@code max}, largest first. */
        double[] sigmas(double min, double max, int n) {
            return switch (this) {
                case KARRAS -> karras(min, max, n);
                case EXPONENTIAL -> exponential(min, max, n);
                case BETA -> beta(min, max, n);
                case LU_LAMBDAS -> luLambdas(min, max, n);
                default -> throw new IllegalStateException("the interpolated schedule has no ramp");
            };
        }
    }

    /**
     * The ends {@code {min, max}} of a converted sigma ramp: {@code sigma_min} / {@code sigma_max} of the config as
     * diffusers' {@code _convert_to_karras} reads them ({@code hasattr(self.config, ...)}, which also sees the keys
     * {@code from_config} saved for compatible classes), else {@code min} / {@code max}.
     */
    static double[] range(SchedulerConfig config, double min, double max) {
        double cMin = config.visibleReal("sigma_min");
        double cMax = config.visibleReal("sigma_max");
        return new double[] {Double.isNaN(cMin) ? min : cMin, Double.isNaN(cMax) ? max : cMax};
    }

    /** {@code np.interp(t, arange(len(sigmas)), sigmas)} for each t. */
    public static double[] interpolate(double[] timesteps, double[] trainSigmas) {
        double[] out = new double[timesteps.length];
        for (int i = 0; i < timesteps.length; i++) {
            double t = timesteps[i];
            if (t <= 0) {
                out[i] = trainSigmas[0];
            } else if (t >= trainSigmas.length - 1) {
                out[i] = trainSigmas[trainSigmas.length - 1];
            } else {
                int lo = (int) Math.floor(t);
                double w = t - lo;
                out[i] = trainSigmas[lo] + w * (trainSigmas[lo + 1] - trainSigmas[lo]);
            }
        }
        return out;
    }

    /** Karras sigmas: {@code (max^(1/rho) + ramp * (min^(1/rho) - max^(1/rho)))^rho}, ramp = linspace(0, 1, n). */
    public static double[] karras(double sigmaMin, double sigmaMax, int n) {
        return karras(sigmaMin, sigmaMax, 7.0, linspace(0, 1, n));
    }

    /** Karras et al. 2022 eq. 5 over a given ramp in [0, 1], with {@code rho} (EDM schedulers' config key). */
    static double[] karras(double sigmaMin, double sigmaMax, double rho, double[] ramp) {
        double minInv = Math.pow(sigmaMin, 1 / rho);
        double maxInv = Math.pow(sigmaMax, 1 / rho);
        double[] out = new double[ramp.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.pow(maxInv + ramp[i] * (minInv - maxInv), rho);
        }
        return out;
    }

    /** diffusers {@code _convert_to_exponential}: {@code exp(linspace(log max, log min, n))} (float64). */
    static double[] exponential(double sigmaMin, double sigmaMax, int n) {
        double[] out = linspace(Math.log(sigmaMax), Math.log(sigmaMin), n);
        for (int i = 0; i < n; i++) {
            out[i] = Math.exp(out[i]);
        }
        return out;
    }

    /**
     * diffusers {@code _convert_to_beta} (arXiv:2407.12173, alpha = beta = 0.6): {@code min + ppf(1 - r) (max - min)}
     * for r = linspace(0, 1, n), with {@code ppf} the quantile function of the Beta(0.6, 0.6) distribution
     * ({@code scipy.stats.beta.ppf}), which crowds the steps at both ends of the schedule.
     */
    static double[] beta(double sigmaMin, double sigmaMax, int n) {
        double[] r = linspace(0, 1, n);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = sigmaMin + BetaDistribution.quantile(1 - r[i], 0.6, 0.6) * (sigmaMax - sigmaMin);
        }
        return out;
    }

    /**
     * DPM-Solver's {@code _convert_to_lu}: {@code lambda = log(sigma)} spaced uniformly (rho = 1) from
     * {@code log max} to {@code log min}, then {@code sigma = exp(lambda)} (arXiv:2206.00927, Section 3.3: uniform
     * steps in the half log-SNR).
     */
    static double[] luLambdas(double sigmaMin, double sigmaMax, int n) {
        double lambdaMin = Math.log(sigmaMin);
        double lambdaMax = Math.log(sigmaMax);
        double[] ramp = linspace(0, 1, n);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = Math.exp(lambdaMax + ramp[i] * (lambdaMin - lambdaMax));
        }
        return out;
    }

    /** {@code np.linspace(start, stop, n)} (float64): {@code start + i * step}, the last point exactly {@code stop}. */
    static double[] linspace(double start, double stop, int n) {
        double[] out = new double[n];
        if (n == 1) {
            out[0] = start;
            return out;
        }
        double step = (stop - start) / (n - 1);
        for (int i = 0; i < n; i++) {
            out[i] = start + i * step;
        }
        out[n - 1] = stop;
        return out;
    }

    /**
     * diffusers {@code _sigma_to_t}: the fractional training timestep whose log sigma matches, by interpolation. The
     * table {@code log_sigmas = np.log(sigmas)} is float32 (the training sigmas are a float32 array), the sigma's
     * log float64: that rounding decides which integer a truncated timestep (int64 cast) lands on.
     */
    public static double sigmaToT(double sigma, double[] trainSigmas) {
        int n = trainSigmas.length;
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        // low_idx = last index whose log sigma <= log_sigma (log sigmas increase with t), clipped to n-2
        int count = 0;
        for (double s : trainSigmas) {
            if (logSigma - (float) Math.log(s) >= 0) {
                count++;
            }
        }
        int low = Math.min(Math.max(count - 1, 0), n - 2);
        int high = low + 1;
        double lo = (float) Math.log(trainSigmas[low]);
        double hi = (float) Math.log(trainSigmas[high]);
        double w = (lo - logSigma) / (lo - hi);
        w = Math.min(1, Math.max(0, w));
        return (1 - w) * low + w * high;
    }

    /** Appends a final sigma (0 for {@code final_sigmas_type=zero}) and rounds to float32 as diffusers stores them. */
    public static double[] withFinal(double[] sigmas, double last) {
        double[] out = new double[sigmas.length + 1];
        for (int i = 0; i < sigmas.length; i++) {
            out[i] = (float) sigmas[i];
        }
        out[sigmas.length] = (float) last;
        return out;
    }
}

package io.sparkdiffusion.scheduler;

/**
 * Sigma-space helpers of the k-diffusion family (Euler, Euler ancestral, LMS, DPM-Solver with Karras sigmas):
 * linear interpolation of the training sigmas at fractional timesteps, the Karras et al. 2022 (arXiv:2206.00364,
 * eq. 5) rho=7 ramp, and the inverse map from a sigma to its fractional timestep (interpolation in log sigma).
 */
public final class SigmaSchedule {
    private SigmaSchedule() {}

    /** How a scheduler spaces its inference sigmas, from its {@code use_*_sigmas} keys. */
    enum Kind {
        /** The training sigmas at the spaced timesteps. */
        INTERPOLATED,
        /** {@code use_karras_sigmas}: {@link #karras}. */
        KARRAS;

        /** The kind {@code config} asks for (keys the class does not declare count as false). */
        static Kind of(SchedulerConfig config) {
            return flag(config, "use_karras_sigmas") ? KARRAS : INTERPOLATED;
        }

        private static boolean flag(SchedulerConfig config, String key) {
            return config.declares(key) && config.bool(key);
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
        double rho = 7.0;
        double minInv = Math.pow(sigmaMin, 1 / rho);
        double maxInv = Math.pow(sigmaMax, 1 / rho);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double ramp = n == 1 ? 0 : (double) i / (n - 1);
            out[i] = Math.pow(maxInv + ramp * (minInv - maxInv), rho);
        }
        return out;
    }

    /** diffusers {@code _sigma_to_t}: the fractional training timestep whose log sigma matches, by interpolation. */
    public static double sigmaToT(double sigma, double[] trainSigmas) {
        int n = trainSigmas.length;
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        // low_idx = last index whose log sigma <= log_sigma (log sigmas increase with t), clipped to n-2
        int count = 0;
        for (double s : trainSigmas) {
            if (logSigma - Math.log(s) >= 0) {
                count++;
            }
        }
        int low = Math.min(Math.max(count - 1, 0), n - 2);
        int high = low + 1;
        double lo = Math.log(trainSigmas[low]);
        double hi = Math.log(trainSigmas[high]);
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

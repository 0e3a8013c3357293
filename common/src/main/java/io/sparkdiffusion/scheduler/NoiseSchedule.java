package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.util.JsonConfig;

/**
 * The training noise schedule shared by every scheduler: {@code betas}, {@code alphas = 1 - betas} and
 * {@code alphas_cumprod}, from {@code beta_schedule} ({@code linear}, {@code scaled_linear},
 * {@code squaredcos_cap_v2}) or {@code trained_betas}, optionally rescaled to zero terminal SNR
 * (Lin et al. 2023, arXiv:2305.08891, Algorithm 1). Values are rounded to float32 as diffusers stores them.
 */
public final class NoiseSchedule {
    public final int numTrainTimesteps;
    public final double[] betas;
    public final double[] alphas;
    public final double[] alphasCumprod;

    private NoiseSchedule(double[] betas) {
        this.numTrainTimesteps = betas.length;
        this.betas = betas;
        this.alphas = new double[betas.length];
        this.alphasCumprod = new double[betas.length];
        double prod = 1;
        for (int i = 0; i < betas.length; i++) {
            alphas[i] = (float) (1.0 - betas[i]);
            prod *= alphas[i]; // torch.cumprod on CPU accumulates in double and stores float32
            alphasCumprod[i] = (float) prod;
        }
    }

    public static NoiseSchedule fromConfig(JsonConfig c) {
        int n = c.getInt("num_train_timesteps", 1000);
        double[] trained = c.getDoubleArray("trained_betas");
        double[] betas;
        if (trained != null) {
            betas = trained;
        } else {
            double start = c.getDouble("beta_start", 0.0001);
            double end = c.getDouble("beta_end", 0.02);
            String kind = c.getString("beta_schedule", "linear");
            betas = switch (kind) {
                case "linear" -> linspace(start, end, n);
                case "scaled_linear" -> {
                    double[] b = linspace(Math.sqrt(start), Math.sqrt(end), n);
                    for (int i = 0; i < n; i++) {
                        b[i] = (float) b[i] * (float) b[i];
                    }
                    yield b;
                }
                case "squaredcos_cap_v2" -> cosineBetas(n, 0.999);
                default ->
                    throw new IllegalArgumentException(c.source() + ": beta_schedule '" + kind
                            + "' is not supported (linear, scaled_linear, squaredcos_cap_v2)");
            };
        }
        for (int i = 0; i < betas.length; i++) {
            betas[i] = (float) betas[i];
        }
        if (c.getBoolean("rescale_betas_zero_snr", false)) {
            betas = rescaleZeroTerminalSnr(betas);
        }
        return new NoiseSchedule(betas);
    }

    /**
     * {@code torch.linspace(start, end, n, dtype=float32)} on CPU: the step in float32, the first half counted
     * from the start and the second half from the end.
     */
    static double[] linspace(double start, double end, int n) {
        double[] out = new double[n];
        float fs = (float) start;
        float fe = (float) end;
        float step = n > 1 ? (fe - fs) / (n - 1) : 0f;
        int half = n / 2;
        for (int i = 0; i < n; i++) {
            out[i] = i < half ? fs + step * i : fe - step * (n - 1 - i);
        }
        return out;
    }

    /** Nichol &amp; Dhariwal 2021 cosine schedule: beta_i = min(1 - abar((i+1)/n) / abar(i/n), max_beta). */
    static double[] cosineBetas(int n, double maxBeta) {
        double[] b = new double[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n;
            double t2 = (double) (i + 1) / n;
            b[i] = Math.min(1 - cosAlphaBar(t2) / cosAlphaBar(t1), maxBeta);
        }
        return b;
    }

    private static double cosAlphaBar(double t) {
        double v = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return v * v;
    }

    static double[] rescaleZeroTerminalSnr(double[] betas) {
        int n = betas.length;
        double[] sqrtBar = new double[n];
        double prod = 1;
        for (int i = 0; i < n; i++) {
            prod *= 1 - betas[i];
            sqrtBar[i] = Math.sqrt(prod);
        }
        double first = sqrtBar[0];
        double last = sqrtBar[n - 1];
        for (int i = 0; i < n; i++) {
            sqrtBar[i] = (sqrtBar[i] - last) * first / (first - last);
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double bar = sqrtBar[i] * sqrtBar[i];
            double alpha = i == 0 ? bar : bar / (sqrtBar[i - 1] * sqrtBar[i - 1]);
            out[i] = (float) (1 - alpha);
        }
        return out;
    }

    /** {@code sqrt((1 - abar) / abar)} for every training timestep: the Karras-style sigma of each. */
    public double[] trainingSigmas() {
        double[] s = new double[numTrainTimesteps];
        for (int i = 0; i < s.length; i++) {
            s[i] = (float) Math.sqrt((1 - alphasCumprod[i]) / alphasCumprod[i]);
        }
        return s;
    }
}

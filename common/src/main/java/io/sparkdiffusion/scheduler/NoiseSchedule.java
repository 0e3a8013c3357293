package io.sparkdiffusion.scheduler;

import java.util.function.DoubleUnaryOperator;

/**
 * The training noise schedule of the discrete-time schedulers: {@code betas}, {@code alphas = 1 - betas} and
 * {@code alphas_cumprod}, from {@code beta_schedule} ({@code linear}, {@code scaled_linear}, {@code squaredcos_cap_v2},
 * Heun's {@code exp}) or {@code trained_betas}, optionally rescaled to zero terminal SNR (Lin et al. 2023,
 * arXiv:2305.08891, Algorithm 1). Values are rounded to float32 as diffusers stores them. Immutable: one instance
 * serves every scheduler made from one config.
 */
public final class NoiseSchedule {
    /**
     * What diffusers' sigma-based schedulers set {@code alphas_cumprod[-1]} to after a zero-terminal-SNR rescale
     * ({@code 2**-24}, the smallest float16 subnormal), so that the first sigma is finite.
     */
    static final float ZERO_SNR_ALPHA_CUMPROD = 0x1p-24f;

    public final int numTrainTimesteps;
    private final double[] betas;
    private final double[] alphas;
    private final double[] alphasCumprod;
    private final boolean zeroTerminalSnr;
    /** {@code ((1 - abar) / abar) ** 0.5} per training timestep, float32, with the zero-SNR pin. */
    private final double[] sigmas;

    private NoiseSchedule(double[] betas, boolean zeroTerminalSnr) {
        this.numTrainTimesteps = betas.length;
        this.betas = betas;
        this.zeroTerminalSnr = zeroTerminalSnr;
        this.alphas = new double[betas.length];
        this.alphasCumprod = new double[betas.length];
        double prod = 1;
        for (int i = 0; i < betas.length; i++) {
            alphas[i] = (float) (1.0 - betas[i]);
            prod *= alphas[i]; // torch.cumprod on CPU accumulates in double and stores float32
            alphasCumprod[i] = (float) prod;
        }
        this.sigmas = new double[betas.length];
        for (int i = 0; i < sigmas.length; i++) {
            float abar = sigmaSafeAlphaCumprod(i);
            sigmas[i] = (float) Math.sqrt((1f - abar) / abar); // float32 tensor arithmetic, as torch
        }
    }

    /** The schedule of {@code config}'s class: its declared beta keys with that class's defaults. */
    static NoiseSchedule fromConfig(SchedulerConfig c) {
        int n = c.integer("num_train_timesteps");
        double[] trained = c.declares("trained_betas") ? c.reals("trained_betas") : null;
        double[] betas;
        if (trained != null) {
            betas = trained;
        } else {
            String kind = c.string("beta_schedule");
            betas = switch (kind) {
                case "linear" -> linspace(c.real("beta_start"), c.real("beta_end"), n);
                case "scaled_linear" -> {
                    double[] b = linspace(Math.sqrt(c.real("beta_start")), Math.sqrt(c.real("beta_end")), n);
                    for (int i = 0; i < n; i++) {
                        b[i] = (float) b[i] * (float) b[i];
                    }
                    yield b;
                }
                case "squaredcos_cap_v2" -> betasForAlphaBar(n, NoiseSchedule::cosAlphaBar);
                case "exp" -> betasForAlphaBar(n, t -> Math.exp(-12.0 * t));
                default -> throw c.unsupported("beta_schedule", kind, null);
            };
        }
        for (int i = 0; i < betas.length; i++) {
            betas[i] = (float) betas[i];
        }
        boolean zeroSnr = c.declares("rescale_betas_zero_snr") && c.bool("rescale_betas_zero_snr");
        if (zeroSnr) {
            betas = rescaleZeroTerminalSnr(betas);
        }
        return new NoiseSchedule(betas, zeroSnr);
    }

    double beta(int t) {
        return betas[t];
    }

    double alpha(int t) {
        return alphas[t];
    }

    /** {@code alphas_cumprod[t]} as trained (0 at the end of a zero-terminal-SNR schedule). */
    double alphaCumprod(int t) {
        return alphasCumprod[t];
    }

    /**
     * {@code alphas_cumprod[t]} as the sigma-based schedulers (Euler, Euler ancestral, DPM-Solver, UniPC) hold it:
     * with a zero-terminal-SNR rescale the last one is {@link #ZERO_SNR_ALPHA_CUMPROD} (diffusers' pin, so that
     * the first sigma is finite).
     */
    float sigmaSafeAlphaCumprod(int t) {
        return zeroTerminalSnr && t == numTrainTimesteps - 1 ? ZERO_SNR_ALPHA_CUMPROD : (float) alphasCumprod[t];
    }

    /** {@code ((1 - abar) / abar) ** 0.5} for every training timestep (float32; a fresh copy). */
    public double[] trainingSigmas() {
        return sigmas.clone();
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

    /** diffusers {@code betas_for_alpha_bar}: {@code beta_i = min(1 - abar((i+1)/n) / abar(i/n), 0.999)}. */
    static double[] betasForAlphaBar(int n, DoubleUnaryOperator alphaBar) {
        double[] b = new double[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n;
            double t2 = (double) (i + 1) / n;
            b[i] = Math.min(1 - alphaBar.applyAsDouble(t2) / alphaBar.applyAsDouble(t1), 0.999);
        }
        return b;
    }

    /** Nichol &amp; Dhariwal 2021 (arXiv:2102.09672) eq. 17: {@code cos((t + 0.008) / 1.008 * pi / 2)^2}. */
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
}

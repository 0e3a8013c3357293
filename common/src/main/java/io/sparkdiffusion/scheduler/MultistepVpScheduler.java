package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;
import java.util.Arrays;

/**
 * What DPM-Solver++ (Lu et al. 2022, arXiv:2211.01095) and UniPC (Zhao et al. 2023, arXiv:2302.04867) share, as
 * diffusers' {@code DPMSolverMultistepScheduler} and {@code UniPCMultistepScheduler} compute it: the VP noise
 * schedule read through a sigma per step ({@code alpha_t = 1/sqrt(sigma^2+1)}, {@code sigma_t = sigma alpha_t},
 * {@code lambda_t = log alpha_t - log sigma_t}), {@code set_timesteps} (spacing, optional Karras sigmas mapped back to
 * rounded timesteps, the final sigma), the conversion of the model output to a data (x0) or noise prediction, the
 * history of converted outputs the multistep updates read, and {@code add_noise} through the step's sigma.
 */
abstract class MultistepVpScheduler extends AbstractScheduler {
    protected final int solverOrder;
    protected final boolean lowerOrderFinal;
    protected final boolean karras;
    protected final String finalSigmasType;
    /** {@code sqrt((1 - abar) / abar)} per training timestep, in float32 as torch computes it. */
    protected final double[] trainSigmas;
    /** One sigma per inference timestep plus the final one (float32 values). */
    protected double[] sigmas = new double[0];
    /** Converted model outputs, newest last ({@code model_outputs} of diffusers); null until filled. */
    private final Tensor[] history;
    /** How many steps have run since {@link #setTimesteps}, capped at the solver order (warm-up of the multistep). */
    protected int lowerOrderNums;

    protected MultistepVpScheduler(JsonConfig config) {
        super(config, "linspace");
        this.solverOrder = config.getInt("solver_order", 2);
        if (solverOrder < 1) {
            throw new IllegalArgumentException(
                    config.source() + ": solver_order must be at least 1, got " + solverOrder);
        }
        this.lowerOrderFinal = config.getBoolean("lower_order_final", true);
        this.karras = config.getBoolean("use_karras_sigmas", false);
        this.finalSigmasType = config.getString("final_sigmas_type", "zero");
        if (!finalSigmasType.equals("zero") && !finalSigmasType.equals("sigma_min")) {
            throw new IllegalArgumentException(config.source() + ": final_sigmas_type '" + finalSigmasType
                    + "' is not supported (zero, sigma_min)");
        }
        for (String flag : new String[] {
            "thresholding", "use_exponential_sigmas", "use_beta_sigmas", "use_flow_sigmas", "use_dynamic_shifting"
        }) {
            if (config.getBoolean(flag, false)) {
                throw new IllegalArgumentException(config.source() + ": " + flag + " is not supported by "
                        + getClass().getSimpleName());
            }
        }
        if (!timestepSpacing.equals("linspace")
                && !timestepSpacing.equals("leading")
                && !timestepSpacing.equals("trailing")) {
            throw TimestepSpacing.unknown(timestepSpacing);
        }
        this.trainSigmas = vpTrainingSigmas(schedule.alphasCumprod, config.getBoolean("rescale_betas_zero_snr", false));
        this.history = new Tensor[solverOrder];
    }

    /**
     * {@code ((1 - abar) / abar) ** 0.5} in float32. With a zero-terminal-SNR schedule diffusers first sets the last
     * {@code abar} to {@code 2^-24} (the smallest fp16 subnormal) so the first sigma is finite.
     */
    static double[] vpTrainingSigmas(double[] alphasCumprod, boolean zeroSnr) {
        double[] s = new double[alphasCumprod.length];
        for (int i = 0; i < s.length; i++) {
            float abar = zeroSnr && i == s.length - 1 ? 0x1p-24f : (float) alphasCumprod[i];
            float ratio = (1f - abar) / abar;
            s[i] = (float) Math.sqrt(ratio);
        }
        return s;
    }

    // ---- hooks where the two diffusers classes differ ----

    /** One past the largest usable training timestep ({@code num_train_timesteps}, less DPM's lambda clipping). */
    protected int lastTimestep() {
        return numTrainTimesteps;
    }

    /** Whether the Karras path rounds the mapped-back timesteps (before they are truncated to integers). */
    protected boolean roundKarrasTimesteps() {
        return true;
    }

    /** Smallest and largest sigma of the Karras ramp. */
    protected double[] karrasRange() {
        return new double[] {trainSigmas[0], trainSigmas[trainSigmas.length - 1]};
    }

    /** The sigma appended after the last step for {@code final_sigmas_type = sigma_min}. */
    protected double sigmaMinFinal(double[] stepSigmas) {
        return trainSigmas[0];
    }

    // ---- set_timesteps ----

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        double[] t;
        double[] s;
        if (karras) {
            double[] range = karrasRange();
            s = SigmaSchedule.karras(range[0], range[1], steps);
            t = new double[steps];
            boolean round = roundKarrasTimesteps();
            for (int i = 0; i < steps; i++) {
                double ti = SigmaSchedule.sigmaToT(s[i], trainSigmas);
                // torch's int64 cast truncates what was not rounded
                t[i] = round ? Math.rint(ti) : (long) ti;
            }
        } else {
            t = spacedTimesteps(timestepSpacing, numTrainTimesteps, lastTimestep(), steps, stepsOffset);
            s = new double[t.length];
            for (int i = 0; i < t.length; i++) {
                // np.interp at an integer timestep, clamped to the table like np.interp
                s[i] = trainSigmas[(int) Math.min(Math.max(t[i], 0), trainSigmas.length - 1)];
            }
        }
        double last = finalSigmasType.equals("zero") ? 0.0 : sigmaMinFinal(s);
        sigmas = SigmaSchedule.withFinal(s, last);
        timesteps = t;
        numInferenceSteps = t.length;
        Arrays.fill(history, null);
        lowerOrderNums = 0;
        onSetTimesteps();
    }

    /** Resets subclass state after {@link #setTimesteps}. */
    protected void onSetTimesteps() {}

    /**
     * Integer timesteps of the multistep solvers, which space {@code n + 1} points and drop the last (t = 0):
     * linspace {@code round(linspace(0, last - 1, n + 1))[::-1][:-1]} (round half to even);
     * leading {@code (arange(n + 1) * (last // (n + 1)))[::-1][:-1] + steps_offset};
     * trailing {@code round(arange(last, 0, -T/n)) - 1}, with numpy's arange arithmetic.
     */
    static double[] spacedTimesteps(String spacing, int numTrain, int last, int steps, int stepsOffset) {
        switch (spacing) {
            case "linspace" -> {
                double[] t = new double[steps];
                double step = (double) (last - 1) / steps;
                for (int k = 0; k < steps; k++) {
                    int i = steps - k; // position in the ascending linspace; i = steps is its exact end point
                    t[k] = i == steps ? last - 1 : Math.rint(i * step);
                }
                return t;
            }
            case "leading" -> {
                double[] t = new double[steps];
                int ratio = last / (steps + 1);
                for (int k = 0; k < steps; k++) {
                    t[k] = (double) (steps - k) * ratio + stepsOffset;
                }
                return t;
            }
            case "trailing" -> {
                double ratio = (double) numTrain / steps;
                int n = (int) Math.ceil(last / ratio);
                double delta = (last - ratio) - last; // numpy fills start + i * (second - start)
                double[] t = new double[n];
                for (int i = 0; i < n; i++) {
                    double v = i == 0 ? last : i == 1 ? last - ratio : last + i * delta;
                    t[i] = Math.rint(v) - 1;
                }
                return t;
            }
            default -> throw TimestepSpacing.unknown(spacing);
        }
    }

    // ---- sigma -> (alpha_t, sigma_t, lambda_t) ----

    /** {@code alpha_t = 1 / sqrt(sigma^2 + 1)} of a VP schedule whose {@code sigma = sigma_t / alpha_t}. */
    static double alphaT(double sigma) {
        return 1 / Math.sqrt(sigma * sigma + 1);
    }

    /** {@code sigma_t = sigma * alpha_t}. */
    static double sigmaT(double sigma) {
        return sigma * alphaT(sigma);
    }

    /** Half log-SNR {@code lambda_t = log alpha_t - log sigma_t} (+infinity at sigma = 0). */
    static double lambda(double sigma) {
        return Math.log(alphaT(sigma)) - Math.log(sigmaT(sigma));
    }

    // ---- model output conversion ----

    /** Data prediction x0 at the current step: epsilon {@code (x - sigma_t eps) / alpha_t}, v {@code alpha_t x - sigma_t v}. */
    protected Tensor dataPrediction(Tensor modelOutput, Tensor sample) {
        double sigma = sigmas[stepIndex];
        double a = alphaT(sigma);
        double s = sigmaT(sigma);
        return switch (predictionType) {
            case "epsilon" -> Tensors.lincomb(1 / a, sample, -s / a, modelOutput);
            case "sample" -> modelOutput;
            default -> Tensors.lincomb(a, sample, -s, modelOutput);
        };
    }

    /** Noise prediction at the current step: sample {@code (x - alpha_t x0) / sigma_t}, v {@code alpha_t v + sigma_t x}. */
    protected Tensor noisePrediction(Tensor modelOutput, Tensor sample) {
        double sigma = sigmas[stepIndex];
        double a = alphaT(sigma);
        double s = sigmaT(sigma);
        return switch (predictionType) {
            case "epsilon" -> modelOutput;
            case "sample" -> Tensors.lincomb(1 / s, sample, -a / s, modelOutput);
            default -> Tensors.lincomb(a, modelOutput, s, sample);
        };
    }

    // ---- multistep history ----

    /** Appends a converted output, dropping the oldest beyond {@code solver_order}. */
    protected void pushOutput(Tensor converted) {
        System.arraycopy(history, 1, history, 0, history.length - 1);
        history[history.length - 1] = converted;
    }

    /** The converted output {@code back} pushes ago (0 = the newest). */
    protected Tensor output(int back) {
        Tensor t = history[history.length - 1 - back];
        if (t == null) {
            throw new IllegalStateException("no model output " + back + " steps back");
        }
        return t;
    }

    /** Counts one more step towards the full solver order. */
    protected void countStep() {
        if (lowerOrderNums < solverOrder) {
            lowerOrderNums++;
        }
    }

    // ---- shared arithmetic ----

    /** {@code sum_k coeffs[k] * terms[k]}, accumulated in float left to right like a chain of tensor adds. */
    static Tensor combine(double[] coeffs, Tensor... terms) {
        float[] out = new float[terms[0].size()];
        for (int k = 0; k < terms.length; k++) {
            if (k > 0) {
                Tensors.checkSameShape(terms[0], terms[k]);
            }
            float c = (float) coeffs[k];
            float[] d = terms[k].data();
            if (k == 0) {
                for (int i = 0; i < out.length; i++) {
                    out[i] = c * d[i];
                }
            } else {
                for (int i = 0; i < out.length; i++) {
                    out[i] += c * d[i];
                }
            }
        }
        return new Tensor(terms[0].shape(), out);
    }

    /** Solves {@code a x = b} for a small dense system (Gaussian elimination with partial pivoting). */
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

    // ---- step index, add_noise ----

    /** diffusers {@code index_for_timestep} of these schedulers: an unknown timestep maps to the last index. */
    @Override
    protected int indexForTimestep(double timestep) {
        for (double t : timesteps) {
            if (t == timestep) {
                return super.indexForTimestep(timestep);
            }
        }
        return timesteps.length - 1;
    }

    /** {@code alpha_t x0 + sigma_t noise} with the sigma of the begin index, the current step, or the timestep. */
    @Override
    public Tensor addNoise(Tensor originalSamples, Tensor noise, double timestep) {
        int index = beginIndex < 0 ? indexForTimestep(timestep) : (stepIndex >= 0 ? stepIndex : beginIndex);
        double sigma = sigmas[index];
        return Tensors.lincomb(alphaT(sigma), originalSamples, sigmaT(sigma), noise);
    }

    /** The sigmas (float32 values), one per timestep plus the final one. */
    public double[] sigmas() {
        return sigmas.clone();
    }
}

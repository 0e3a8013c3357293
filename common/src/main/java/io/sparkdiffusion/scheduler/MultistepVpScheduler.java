package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import java.util.Locale;

/**
 * What the exponential-integrator solvers share (DPM-Solver, Lu et al. 2022, arXiv:2206.00927 and arXiv:2211.01095;
 * UniPC, Zhao et al. 2023, arXiv:2302.04867), as diffusers' {@code DPMSolverMultistepScheduler} and
 * {@code UniPCMultistepScheduler} compute it: the VP noise schedule read through a sigma per step
 * ({@code alpha_t = 1/sqrt(sigma^2+1)}, {@code sigma_t = sigma alpha_t}, {@code lambda_t = log alpha_t - log sigma_t};
 * {@link #vp}), {@code set_timesteps} (multistep spacing, optional Karras sigmas mapped back to rounded timesteps,
 * the final sigma), the conversion of the model output to a data (x0) or noise prediction, the history of converted
 * outputs the multistep updates read, and {@code add_noise} through the step's sigma.
 */
abstract class MultistepVpScheduler extends AbstractScheduler {
    protected final int solverOrder;
    protected final boolean lowerOrderFinal;
    protected final SigmaSchedule.Kind sigmaKind;
    /** {@code final_sigmas_type = zero} (the default); false: {@code sigma_min}. */
    protected final boolean zeroFinalSigma;
    /** {@code sqrt((1 - abar) / abar)} per training timestep (float32), shared by copies. */
    protected final double[] trainSigmas;
    /** Dynamic thresholding of the data prediction ({@code thresholding}), where the class has it. */
    protected final SampleClipping clipping;
    /** One sigma per inference timestep plus the final one (float32 values). */
    protected double[] sigmas = new double[0];
    /** Converted model outputs, newest last ({@code model_outputs} of diffusers); made by {@link #setTimesteps}. */
    private Tensor[] history = new Tensor[0];
    /** How many steps have run since {@link #setTimesteps}, capped at the solver order (warm-up of the multistep). */
    protected int lowerOrderNums;

    MultistepVpScheduler(SchedulerConfig config) {
        super(config);
        this.solverOrder = config.integer("solver_order");
        if (solverOrder < 1) {
            throw config.unsupported("solver_order", solverOrder, "at least 1");
        }
        this.lowerOrderFinal = config.bool("lower_order_final");
        this.sigmaKind = SigmaSchedule.Kind.of(config);
        this.zeroFinalSigma = !config.declares("final_sigmas_type")
                || config.string("final_sigmas_type").equals("zero");
        this.trainSigmas = schedule == null ? new double[0] : schedule.trainingSigmas();
        this.clipping = SampleClipping.from(config);
    }

    // ---- hooks where the diffusers classes differ ----

    /**
     * One past the largest usable training timestep: {@code num_train_timesteps} less the timesteps whose lambda is
     * below DPM-Solver's {@code lambda_min_clipped} (diffusers' {@code searchsorted} on the flipped float32
     * lambdas), which matters for the cosine schedule.
     */
    protected int lastTimestep() {
        if (!config.declares("lambda_min_clipped")) {
            return numTrainTimesteps;
        }
        double lambdaMinClipped = config.real("lambda_min_clipped");
        int clipped = 0;
        for (int i = 0; i < numTrainTimesteps; i++) {
            float a = schedule.sigmaSafeAlphaCumprod(i);
            float alpha = (float) Math.sqrt(a);
            float sigma = (float) Math.sqrt(1f - a);
            float lambda = (float) Math.log(alpha) - (float) Math.log(sigma);
            if (lambda < lambdaMinClipped) {
                clipped++;
            }
        }
        return numTrainTimesteps - clipped;
    }

    /**
     * Whether the timesteps mapped back from a converted sigma ramp are rounded before the int64 cast truncates
     * them: diffusers rounds the Karras ones.
     */
    protected boolean roundConvertedTimesteps(SigmaSchedule.Kind kind) {
        return kind == SigmaSchedule.Kind.KARRAS;
    }

    /**
     * The sigma appended after the last step: 0 for {@code final_sigmas_type = zero}, else the smallest training
     * sigma ({@code sigma_min}).
     */
    protected double finalSigma(double[] stepSigmas) {
        return zeroFinalSigma ? 0.0 : trainSigmas[0];
    }

    // ---- set_timesteps ----

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        double[] t;
        double[] s;
        if (sigmaKind != SigmaSchedule.Kind.INTERPOLATED) {
            double min = trainSigmas[0];
            double max = trainSigmas[trainSigmas.length - 1];
            // Lu's lambdas span the training range; the sigma ramps honour sigma_min / sigma_max
            double[] range = sigmaKind == SigmaSchedule.Kind.LU_LAMBDAS
                    ? new double[] {min, max}
                    : SigmaSchedule.range(config, min, max);
            s = sigmaKind.sigmas(range[0], range[1], steps);
            t = new double[steps];
            boolean round = roundConvertedTimesteps(sigmaKind);
            for (int i = 0; i < steps; i++) {
                double ti = SigmaSchedule.sigmaToT(s[i], trainSigmas);
                // torch's int64 cast truncates what was not rounded
                t[i] = round ? Math.rint(ti) : (long) ti;
            }
        } else {
            String spacing = timestepSpacing == null ? "linspace" : timestepSpacing;
            t = TimestepSpacing.multistep(spacing, numTrainTimesteps, lastTimestep(), steps, stepsOffset);
            s = sigmasAt(t);
        }
        install(t, s);
    }

    /**
     * diffusers {@code set_timesteps(timesteps=...)} of DPM-Solver (multi- and singlestep): integer timesteps
     * ({@code astype(int64)}), the training sigmas there; refused with a converted sigma schedule, as diffusers
     * refuses it.
     */
    protected void setCustomTimesteps(double[] custom) {
        if (sigmaKind != SigmaSchedule.Kind.INTERPOLATED) {
            throw new IllegalArgumentException(className() + " cannot take custom timesteps with "
                    + sigmaKind.name().toLowerCase(Locale.ROOT) + " sigmas (diffusers refuses it)");
        }
        double[] t = new double[custom.length];
        for (int i = 0; i < t.length; i++) {
            t[i] = (long) custom[i];
        }
        startCustom(t.length);
        install(t, sigmasAt(t));
    }

    /** The training sigma at each integer timestep ({@code np.interp}, clamped to the table). */
    private double[] sigmasAt(double[] t) {
        double[] s = new double[t.length];
        for (int i = 0; i < t.length; i++) {
            s[i] = trainSigmas[(int) Math.min(Math.max(t[i], 0), trainSigmas.length - 1)];
        }
        return s;
    }

    /** Installs a schedule: the sigmas with the final one, and fresh multistep state. */
    protected void install(double[] t, double[] s) {
        sigmas = SigmaSchedule.withFinal(s, finalSigma(s));
        timesteps = t;
        numInferenceSteps = t.length;
        history = new Tensor[solverOrder];
        lowerOrderNums = 0;
        onSetTimesteps();
    }

    /** Resets subclass state after {@link #setTimesteps}. */
    protected void onSetTimesteps() {}

    // ---- sigma -> (alpha_t, sigma_t, lambda_t) ----

    /** {@code alpha_t}, {@code sigma_t} and the half log-SNR {@code lambda_t = log alpha_t - log sigma_t} of a step. */
    record Vp(double alpha, double sigma, double lambda) {}

    /**
     * diffusers {@code _sigma_to_alpha_sigma_t} of a VP schedule whose {@code sigma = sigma_t / alpha_t}:
     * {@code alpha_t = 1 / sqrt(sigma^2 + 1)}, {@code sigma_t = sigma alpha_t} ({@code lambda = +inf} at sigma 0).
     */
    protected Vp vp(double sigma) {
        double a = 1 / Math.sqrt(sigma * sigma + 1);
        double s = sigma * a;
        return new Vp(a, s, Math.log(a) - Math.log(s));
    }

    /** {@link #vp} of {@code sigmas[index]}. */
    protected Vp vpAt(int index) {
        return vp(sigmas[index]);
    }

    // ---- model output conversion ----

    /**
     * Data prediction x0 at the current step: epsilon {@code (x - sigma_t eps) / alpha_t}, v
     * {@code alpha_t x - sigma_t v}; dynamically thresholded with {@code thresholding}.
     */
    protected Tensor dataPrediction(Tensor modelOutput, Tensor sample) {
        Vp v = vpAt(stepIndex);
        Tensor x0 = switch (predictionType) {
            case "epsilon" -> Tensors.lincomb(1 / v.alpha(), sample, -v.sigma() / v.alpha(), modelOutput);
            case "sample" -> modelOutput;
            default -> Tensors.lincomb(v.alpha(), sample, -v.sigma(), modelOutput);
        };
        return clipping.thresholds() ? clipping.threshold(x0) : x0;
    }

    /** Noise prediction at the current step: sample {@code (x - alpha_t x0) / sigma_t}, v {@code alpha_t v + sigma_t x}. */
    protected Tensor noisePrediction(Tensor modelOutput, Tensor sample) {
        Vp v = vpAt(stepIndex);
        return switch (predictionType) {
            case "epsilon" -> modelOutput;
            case "sample" -> Tensors.lincomb(1 / v.sigma(), sample, -v.alpha() / v.sigma(), modelOutput);
            default -> Tensors.lincomb(v.alpha(), modelOutput, v.sigma(), sample);
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

    /** Whether the output {@code back} pushes ago exists (diffusers' {@code model_outputs[-order] is None}). */
    protected boolean hasOutput(int back) {
        return back < history.length && history[history.length - 1 - back] != null;
    }

    /** Counts one more step towards the full solver order. */
    protected void countStep() {
        if (lowerOrderNums < solverOrder) {
            lowerOrderNums++;
        }
    }

    // ---- shared arithmetic ----

    /**
     * {@code sum_k coeffs[k] * terms[k]}, accumulated in float left to right like a chain of tensor adds; a null
     * term (the noise of a deterministic update) is skipped.
     */
    static Tensor combine(double[] coeffs, Tensor... terms) {
        float[] out = new float[terms[0].size()];
        for (int k = 0; k < terms.length; k++) {
            if (terms[k] == null) {
                continue;
            }
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

    /** {@code c * (a - b)}: the difference in float, then scaled, as {@code (1.0 / r0) * (m0 - m1)} on tensors. */
    static Tensor scaledDifference(double c, Tensor a, Tensor b) {
        Tensors.checkSameShape(a, b);
        float[] x = a.data();
        float[] y = b.data();
        float[] out = new float[x.length];
        float fc = (float) c;
        for (int i = 0; i < out.length; i++) {
            out[i] = fc * (x[i] - y[i]);
        }
        return new Tensor(a.shape(), out);
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
        Vp v = vpAt(index);
        return Tensors.lincomb(v.alpha(), originalSamples, v.sigma(), noise);
    }

    /** The sigmas (float32 values), one per timestep plus the final one. */
    public double[] sigmas() {
        return sigmas.clone();
    }
}

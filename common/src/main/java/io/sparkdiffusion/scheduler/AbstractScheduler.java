package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import java.util.Arrays;

/**
 * What every scheduler shares: its config, the training {@link NoiseSchedule}, the inference timesteps, the
 * {@code prediction_type}, and diffusers' step-index bookkeeping ({@code _init_step_index}: the begin index when
 * one was set, otherwise the position of the first timestep seen).
 *
 * <p>Two kinds of fields: what the constructor derives from the config (final, immutable, shared by every
 * {@link #fresh} copy: the parsed config, training tables) and the per-call state, which only {@code setTimesteps}
 * and {@code step} create and change (as diffusers resets its state in {@code set_timesteps}). A constructor
 * allocates no mutable per-call container, so a copy of a never-used instance starts clean.
 */
public abstract class AbstractScheduler implements Scheduler, Cloneable {
    /** The config as this class reads it (immutable). */
    final SchedulerConfig config;
    /** The training schedule; null for the classes without one (EDM, IPNDM). Immutable, shared by copies. */
    protected final NoiseSchedule schedule;

    protected final int numTrainTimesteps;
    protected final String predictionType;
    /** {@code timestep_spacing}, or null for the classes without the key. */
    protected final String timestepSpacing;

    protected final int stepsOffset;
    protected double[] timesteps = new double[0];
    protected int numInferenceSteps;
    /** Position in {@link #timesteps} of the next step, or -1 before the first. */
    protected int stepIndex = -1;

    protected int beginIndex = -1;

    AbstractScheduler(SchedulerConfig config) {
        this.config = config;
        this.schedule = config.declares("beta_schedule") ? NoiseSchedule.fromConfig(config) : null;
        this.numTrainTimesteps = config.integer("num_train_timesteps");
        this.predictionType = config.declares("prediction_type") ? config.string("prediction_type") : "epsilon";
        this.timestepSpacing = config.declares("timestep_spacing") ? config.string("timestep_spacing") : null;
        this.stepsOffset = config.declares("steps_offset") ? config.integer("steps_offset") : 0;
    }

    /**
     * A new instance of this class sharing this one's configuration and training tables (immutable), for a
     * template that was never used: what {@link Schedulers#create} hands out from its cached template. A shallow
     * copy suffices because per-call state is created by {@code setTimesteps}, never by a constructor.
     */
    final AbstractScheduler fresh() {
        try {
            return (AbstractScheduler) clone();
        } catch (CloneNotSupportedException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public void setTimesteps(double[] custom) {
        throw refusal("timesteps", Schedulers.CUSTOM_TIMESTEPS);
    }

    @Override
    public void setSigmas(double[] custom) {
        throw refusal("sigmas", Schedulers.CUSTOM_SIGMAS);
    }

    /** The refusal of custom {@code what} by a class whose diffusers {@code set_timesteps} does not take them. */
    protected IllegalArgumentException refusal(String what, String takers) {
        return new IllegalArgumentException(className() + " does not take custom " + what + " (diffusers' "
                + className() + ".set_timesteps has no " + what + " argument); schedulers that do: " + takers);
    }

    /**
     * Checks custom timesteps or sigmas: at least {@code atLeast} finite values, and strictly decreasing where
     * {@code descending} (the classes whose diffusers {@code set_timesteps} checks it).
     */
    protected static void checkCustom(String what, double[] values, int atLeast, boolean descending) {
        if (values == null || values.length < atLeast) {
            throw new IllegalArgumentException("custom " + what + " need at least " + atLeast + " values");
        }
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i]) || (descending && i > 0 && values[i] >= values[i - 1])) {
                throw new IllegalArgumentException("custom " + what + " must be finite"
                        + (descending ? " and strictly decreasing" : "") + ": " + Arrays.toString(values));
            }
        }
    }

    /** The diffusers class this scheduler implements. */
    public String className() {
        return config.className();
    }

    protected void checkSteps(int steps) {
        if (steps <= 0) {
            throw new IllegalArgumentException("num_inference_steps must be positive, got " + steps);
        }
        if (steps > numTrainTimesteps) {
            throw new IllegalArgumentException("num_inference_steps " + steps + " exceeds the scheduler's "
                    + numTrainTimesteps + " training timesteps");
        }
        this.numInferenceSteps = steps;
        this.stepIndex = -1;
        this.beginIndex = -1;
    }

    /**
     * The custom timesteps of DDPM, LCM and TCD (diffusers checks them the same way in each): strictly decreasing,
     * starting below {@code num_train_timesteps}, cast to integers.
     */
    protected void setDescendingTimesteps(double[] custom) {
        checkCustom("timesteps", custom, 1, true);
        if (custom[0] >= numTrainTimesteps) {
            throw new IllegalArgumentException("custom timesteps must start below num_train_timesteps "
                    + numTrainTimesteps + ", got " + custom[0]);
        }
        startCustom(custom.length);
        timesteps = new double[custom.length];
        for (int i = 0; i < custom.length; i++) {
            timesteps[i] = (long) custom[i];
        }
    }

    /** The bookkeeping of a custom schedule of {@code n} timesteps (as {@link #checkSteps} for a count). */
    protected void startCustom(int n) {
        this.numInferenceSteps = n;
        this.stepIndex = -1;
        this.beginIndex = -1;
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    @Override
    public double initNoiseSigma() {
        return 1.0;
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        return sample;
    }

    @Override
    public void setBeginIndex(int beginIndex) {
        this.beginIndex = beginIndex;
    }

    /** diffusers {@code index_for_timestep}: the first match, or the second when the timestep repeats. */
    protected int indexForTimestep(double timestep) {
        int first = -1;
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == timestep) {
                if (first >= 0) {
                    return i;
                }
                first = i;
            }
        }
        if (first < 0) {
            throw new IllegalArgumentException("timestep " + timestep + " is not one of this scheduler's timesteps");
        }
        return first;
    }

    /** The start of a {@code step}: refuses a scheduler without timesteps, then {@link #initStepIndex}. */
    protected void beginStep(double timestep) {
        if (timesteps.length == 0) {
            throw new IllegalStateException("setTimesteps must be called before step");
        }
        initStepIndex(timestep);
    }

    /** Sets {@link #stepIndex} on the first call of a generation, as diffusers' {@code _init_step_index}. */
    protected void initStepIndex(double timestep) {
        if (stepIndex < 0) {
            stepIndex = beginIndex >= 0 ? beginIndex : indexForTimestep(timestep);
        }
    }

    /** {@code alphas_cumprod[t]} for an integer timestep. */
    protected double alphaCumprod(double timestep) {
        return schedule.alphaCumprod((int) timestep);
    }

    /**
     * The forward process for alpha-parameterised schedulers (DDPM, DDIM, PNDM, LCM, DPM-Solver, UniPC):
     * {@code sqrt(abar_t) * x0 + sqrt(1 - abar_t) * noise}.
     */
    @Override
    public Tensor addNoise(Tensor originalSamples, Tensor noise, double timestep) {
        double abar = alphaCumprod(timestep);
        return Tensors.lincomb(Math.sqrt(abar), originalSamples, Math.sqrt(1 - abar), noise);
    }

    /**
     * Converts the model output to the predicted clean sample x0 for {@code prediction_type}:
     * epsilon {@code (x - sqrt(1-abar) eps) / sqrt(abar)}, sample {@code out}, v {@code sqrt(abar) x - sqrt(1-abar) v}.
     */
    protected Tensor predictOriginal(Tensor modelOutput, Tensor sample, double alphaProd) {
        double beta = 1 - alphaProd;
        return switch (predictionType) {
            case "epsilon" ->
                Tensors.lincomb(1 / Math.sqrt(alphaProd), sample, -Math.sqrt(beta) / Math.sqrt(alphaProd), modelOutput);
            case "sample" -> modelOutput;
            default -> Tensors.lincomb(Math.sqrt(alphaProd), sample, -Math.sqrt(beta), modelOutput);
        };
    }

    /**
     * The mean of q(x_{t-1} | x_t, x0), Ho et al. 2020 eq. 7:
     * {@code sqrt(abarPrev) beta / (1 - abar) x0 + sqrt(alpha) (1 - abarPrev) / (1 - abar) x_t}, with {@code alpha},
     * {@code beta} the step's (DDPM: {@code abar / abarPrev} and its complement).
     */
    protected static Tensor posteriorMean(
            Tensor x0, Tensor sample, double abar, double abarPrev, double alpha, double beta) {
        double x0Coeff = Math.sqrt(abarPrev) * beta / (1 - abar);
        double sampleCoeff = Math.sqrt(alpha) * (1 - abarPrev) / (1 - abar);
        return Tensors.lincomb(x0Coeff, x0, sampleCoeff, sample);
    }

    public String predictionType() {
        return predictionType;
    }
}

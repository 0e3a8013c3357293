package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Pseudo numerical methods for diffusion models (Liu et al. 2022, arXiv:2202.09778), as diffusers'
 * {@code PNDMScheduler}. Every update is the transfer of eq. 9,
 * {@code x_prev = sqrt(abar_prev/abar_t) x_t - (abar_prev - abar_t) eps / (abar_t sqrt(1-abar_prev) + sqrt(abar_t (1-abar_t) abar_prev))},
 * fed with a combined noise estimate:
 * <ul>
 * <li>PRK warm-up ({@code skip_prk_steps=false}, the default): three 4th-order Runge-Kutta steps of four model
 * calls each, at {@code t}, {@code t - h/2} (twice) and {@code t - h}, combined {@code (e1 + 2 e2 + 2 e3 + e4) / 6};
 * <li>PLMS (linear multistep, eq. 12): Adams-Bashforth of the last 1-4 estimates. With {@code skip_prk_steps=true}
 * the first step is a second-order Heun-like step that evaluates the model twice at the same timestep list
 * position (the second timestep repeats), then the multistep history grows one estimate per step.
 * </ul>
 * Deterministic: it draws no noise. Supports {@code epsilon} and {@code v_prediction}.
 */
public final class PndmScheduler extends AbstractScheduler {
    private final boolean skipPrkSteps;
    private final double finalAlphaCumprod;
    private double[] prkTimesteps = new double[0];
    /** Model outputs kept for the multistep formula (diffusers {@code ets}), oldest first. */
    private List<Tensor> ets = new ArrayList<>();
    /** Number of {@link #step} calls since {@link #setTimesteps} (diffusers {@code counter}). */
    private int counter;
    /** Runge-Kutta weighted sum of the model outputs of the current PRK step. */
    private Tensor rkSum;
    /** The sample at the start of the current PRK step, or of the PLMS start-up step. */
    private Tensor curSample;

    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("PNDMScheduler")
            .betas(0.0001, 0.02, "linear")
            .honour("skip_prk_steps", false)
            .honour("set_alpha_to_one", false)
            .prediction("epsilon", "v_prediction")
            .spacing("leading");

    public PndmScheduler(JsonConfig config) {
        super(KEYS.bind(config));
        this.skipPrkSteps = this.config.bool("skip_prk_steps");
        this.finalAlphaCumprod = this.config.bool("set_alpha_to_one") ? 1.0 : schedule.alphaCumprod(0);
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        // the spaced timesteps in ascending order, as diffusers keeps them in _timesteps
        double[] base = TimestepSpacing.discrete(timestepSpacing, numTrainTimesteps, steps, stepsOffset);
        reverse(base);
        int n = base.length;
        double[] plms;
        if (skipPrkSteps) {
            prkTimesteps = new double[0];
            // base[:-1] + base[-2:-1] + base[-1:], reversed: the second-to-last timestep appears twice
            List<Double> asc = new ArrayList<>();
            for (int i = 0; i < n - 1; i++) {
                asc.add(base[i]);
            }
            if (n >= 2) {
                asc.add(base[n - 2]);
            }
            asc.add(base[n - 1]);
            plms = reversedArray(asc);
        } else {
            prkTimesteps = prkTimesteps(base, numTrainTimesteps / steps / 2);
            List<Double> asc = new ArrayList<>();
            for (int i = 0; i < n - 3; i++) {
                asc.add(base[i]);
            }
            plms = reversedArray(asc);
        }
        timesteps = new double[prkTimesteps.length + plms.length];
        System.arraycopy(prkTimesteps, 0, timesteps, 0, prkTimesteps.length);
        System.arraycopy(plms, 0, timesteps, prkTimesteps.length, plms.length);
        ets = new ArrayList<>();
        counter = 0;
        rkSum = null;
        curSample = null;
    }

    /**
     * The Runge-Kutta timesteps of the warm-up over the last (largest) four spaced timesteps, each paired with its
     * midpoint {@code t + h/2}: for ascending {@code a < b < c < d} they are
     * {@code d, c+h/2, c+h/2, c, c, b+h/2, b+h/2, b, b, a+h/2, a+h/2, a}.
     */
    private static double[] prkTimesteps(double[] base, int halfStep) {
        List<Double> pairs = new ArrayList<>();
        for (int i = Math.max(0, base.length - 4); i < base.length; i++) {
            pairs.add(base[i]);
            pairs.add(base[i] + halfStep);
        }
        pairs.remove(pairs.size() - 1);
        List<Double> doubled = new ArrayList<>();
        for (double v : pairs) {
            doubled.add(v);
            doubled.add(v);
        }
        return reversedArray(doubled.subList(1, doubled.size() - 1));
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        if (numInferenceSteps == 0) {
            throw new IllegalStateException("setTimesteps must be called before step");
        }
        Tensor prev = !skipPrkSteps && counter < prkTimesteps.length
                ? stepPrk(modelOutput, (int) timestep, sample)
                : stepPlms(modelOutput, (int) timestep, sample);
        counter++;
        return prev;
    }

    /** One of the four model calls of a Runge-Kutta step (RK4 weights 1/6, 1/3, 1/3, 1/6). */
    private Tensor stepPrk(Tensor modelOutput, int timestep, Tensor sample) {
        int halfStep = numTrainTimesteps / numInferenceSteps / 2;
        int prevTimestep = timestep - (counter % 2 == 1 ? 0 : halfStep);
        int t = (int) prkTimesteps[counter / 4 * 4];
        Tensor eps = modelOutput;
        switch (counter % 4) {
            case 0 -> {
                rkSum = Tensors.scale(modelOutput, 1.0 / 6);
                ets.add(modelOutput);
                curSample = sample;
            }
            case 1, 2 -> rkSum = Tensors.lincomb(1, rkSum, 1.0 / 3, modelOutput);
            default -> {
                eps = Tensors.lincomb(1, rkSum, 1.0 / 6, modelOutput);
                rkSum = null;
            }
        }
        return transfer(curSample != null ? curSample : sample, t, prevTimestep, eps);
    }

    /** A linear multistep step (Adams-Bashforth of order up to 4 on the model outputs). */
    private Tensor stepPlms(Tensor modelOutput, int timestep, Tensor sample) {
        if (!skipPrkSteps && ets.size() < 3) {
            throw new IllegalStateException("PNDM PLMS steps need the 12 PRK warm-up steps first");
        }
        int stride = numTrainTimesteps / numInferenceSteps;
        int t = timestep;
        int prevTimestep = timestep - stride;
        if (counter != 1) {
            while (ets.size() > 3) {
                ets.remove(0);
            }
            ets.add(modelOutput);
        } else {
            // second call of the start-up step: re-evaluated at the target, applied again from the first sample
            prevTimestep = timestep;
            t = timestep + stride;
        }
        int k = ets.size();
        Tensor eps;
        Tensor from = sample;
        if (k == 1 && counter == 0) {
            eps = modelOutput;
            curSample = sample;
        } else if (k == 1 && counter == 1) {
            eps = Tensors.lincomb(0.5, modelOutput, 0.5, ets.get(0));
            from = curSample;
            curSample = null;
        } else if (k == 2) {
            eps = Tensors.lincomb(1.5, ets.get(1), -0.5, ets.get(0));
        } else if (k == 3) {
            eps = Tensors.lincomb(23.0 / 12, ets.get(2), -16.0 / 12, ets.get(1), 5.0 / 12, ets.get(0));
        } else {
            Tensor head = Tensors.lincomb(55.0 / 24, ets.get(3), -59.0 / 24, ets.get(2), 37.0 / 24, ets.get(1));
            eps = Tensors.lincomb(1, head, -9.0 / 24, ets.get(0));
        }
        return transfer(from, t, prevTimestep, eps);
    }

    /** PNDM paper eq. 9: moves {@code sample} from {@code t} to {@code prevT} along the noise estimate. */
    private Tensor transfer(Tensor sample, int t, int prevT, Tensor modelOutput) {
        if (t >= numTrainTimesteps) {
            throw new IllegalStateException("PNDM timestep " + t + " is outside the " + numTrainTimesteps
                    + " training timesteps (timestep_spacing '" + timestepSpacing + "' with the PRK warm-up)");
        }
        double abar = schedule.alphaCumprod(t);
        double abarPrev = prevT >= 0 ? schedule.alphaCumprod(prevT) : finalAlphaCumprod;
        double beta = 1 - abar;
        double betaPrev = 1 - abarPrev;
        Tensor eps = predictionType.equals("v_prediction")
                ? Tensors.lincomb(Math.sqrt(abar), modelOutput, Math.sqrt(beta), sample)
                : modelOutput;
        double sampleCoeff = Math.sqrt(abarPrev / abar);
        double denom = abar * Math.sqrt(betaPrev) + Math.sqrt(abar * beta * abarPrev);
        return Tensors.lincomb(sampleCoeff, sample, -(abarPrev - abar) / denom, eps);
    }

    private static void reverse(double[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            double tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
        }
    }

    private static double[] reversedArray(List<Double> list) {
        double[] out = new double[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(list.size() - 1 - i);
        }
        return out;
    }
}

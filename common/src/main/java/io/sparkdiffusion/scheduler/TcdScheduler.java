package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;

/**
 * Trajectory consistency distillation sampling (Zheng et al. 2024, arXiv:2402.19159, Algorithm 4, "strategic
 * stochastic sampling"), as diffusers' {@code TCDScheduler}: from timestep {@code t} the model's x0 and noise are
 * moved to the intermediate timestep {@code s = floor((1 - gamma) t_prev)} along the DDIM direction,
 * {@code x_s = sqrt(abar_s) x0 + sqrt(1 - abar_s) eps}, then, with {@code gamma > 0}, re-noised forward to
 * {@code t_prev}: {@code x_prev = sqrt(abar_prev / abar_s) x_s + sqrt(1 - abar_prev / abar_s) z} (no noise on the
 * last step). {@code gamma} is the pipeline's {@code eta}: 0 as diffusers' pipelines pass it by default
 * ({@link #eta} sets it; TCD's authors suggest 0.3), which makes every step deterministic.
 *
 * <p>The timesteps and the config keys are LCM's ({@link LcmScheduler}: the distillation schedule, custom
 * timesteps); diffusers' TCD step does not read {@code clip_sample}, {@code thresholding} or
 * {@code timestep_scaling}, so they have no effect here either.
 */
public final class TcdScheduler extends LcmScheduler {
    static final SchedulerConfig.Keys KEYS = LcmScheduler.KEYS.copyAs("TCDScheduler");

    private double eta;

    public TcdScheduler(JsonConfig config) {
        super(KEYS.bind(config));
    }

    /** The stochasticity {@code gamma} in [0, 1] (diffusers' {@code eta} argument of {@code step}). */
    public TcdScheduler eta(double eta) {
        if (!(eta >= 0 && eta <= 1)) {
            throw new IllegalArgumentException("TCD eta (gamma) must be in [0, 1], got " + eta);
        }
        this.eta = eta;
        return this;
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        beginStep(timestep);
        int t = (int) timestep;
        int prev = stepIndex + 1 < timesteps.length ? (int) timesteps[stepIndex + 1] : 0;
        // floor((1 - eta) * prev) on a float32 tensor
        int s = (int) Math.floor((float) (1 - eta) * (float) prev);
        double abar = schedule.alphaCumprod(t);
        double abarPrev = schedule.alphaCumprod(prev);
        double abarS = schedule.alphaCumprod(s);

        Tensor x0 = predictOriginal(modelOutput, sample, abar);
        Tensor eps = switch (predictionType) {
            case "epsilon" -> modelOutput;
            case "sample" -> Tensors.lincomb(1 / Math.sqrt(1 - abar), sample, -Math.sqrt(abar / (1 - abar)), x0);
            default -> Tensors.lincomb(Math.sqrt(abar), modelOutput, Math.sqrt(1 - abar), sample);
        };
        Tensor noised = Tensors.lincomb(Math.sqrt(abarS), x0, Math.sqrt(1 - abarS), eps);
        Tensor prevSample = noised;
        if (eta > 0 && stepIndex != numInferenceSteps - 1) {
            Tensor z = noise.next(modelOutput.shape());
            prevSample = Tensors.lincomb(Math.sqrt(abarPrev / abarS), noised, Math.sqrt(1 - abarPrev / abarS), z);
        }
        stepIndex++;
        return prevSample;
    }
}

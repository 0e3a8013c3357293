package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;

/**
 * DDIM (Song et al. 2021, arXiv:2010.02502, eq. 12), as diffusers' {@code DDIMScheduler}:
 * {@code x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - sigma^2) eps + sigma z}, with
 * {@code sigma = eta * sqrt((1-abar_prev)/(1-abar_t) * (1 - abar_t/abar_prev))}. Options: {@code clip_sample}
 * (with {@code clip_sample_range}), {@code set_alpha_to_one}, {@code eta}.
 */
public final class DdimScheduler extends AbstractScheduler {
    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("DDIMScheduler")
            .betas(0.0001, 0.02, "linear")
            .honour("clip_sample", true)
            .honour("set_alpha_to_one", true)
            .prediction("epsilon", "v_prediction", "sample")
            .honour("clip_sample_range", 1.0)
            .thresholding(true)
            .spacing("leading")
            .honour("rescale_betas_zero_snr", false);

    private final SampleClipping clipping;
    private final double finalAlphaCumprod;
    private double eta;

    public DdimScheduler(JsonConfig config) {
        super(KEYS.bind(config));
        this.clipping = SampleClipping.from(this.config);
        this.finalAlphaCumprod = this.config.bool("set_alpha_to_one") ? 1.0 : schedule.alphaCumprod(0);
    }

    /** The DDIM eta (0 = deterministic, the default of every diffusers pipeline). */
    public DdimScheduler eta(double eta) {
        this.eta = eta;
        return this;
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        timesteps = TimestepSpacing.discrete(timestepSpacing, numTrainTimesteps, steps, stepsOffset);
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        int t = (int) timestep;
        int prev = t - numTrainTimesteps / numInferenceSteps;
        double abar = schedule.alphaCumprod(t);
        double abarPrev = prev >= 0 ? schedule.alphaCumprod(prev) : finalAlphaCumprod;
        double beta = 1 - abar;
        Tensor x0;
        Tensor eps;
        switch (predictionType) {
            case "epsilon" -> {
                x0 = predictOriginal(modelOutput, sample, abar);
                eps = modelOutput;
            }
            case "sample" -> {
                x0 = modelOutput;
                eps = Tensors.lincomb(1 / Math.sqrt(beta), sample, -Math.sqrt(abar) / Math.sqrt(beta), x0);
            }
            default -> {
                x0 = predictOriginal(modelOutput, sample, abar);
                eps = Tensors.lincomb(Math.sqrt(abar), modelOutput, Math.sqrt(beta), sample);
            }
        }
        x0 = clipping.apply(x0);
        double variance = (1 - abarPrev) / (1 - abar) * (1 - abar / abarPrev);
        double std = eta * Math.sqrt(variance);
        Tensor prevSample = Tensors.lincomb(Math.sqrt(abarPrev), x0, Math.sqrt(1 - abarPrev - std * std), eps);
        if (eta > 0) {
            prevSample = Tensors.lincomb(1, prevSample, std, noise.next(modelOutput.shape()));
        }
        return prevSample;
    }
}

package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;

/**
 * The EDM Euler sampler (Karras et al. 2022, arXiv:2206.00364, Algorithm 2 with s_churn = 0), as diffusers'
 * {@code EDMEulerScheduler}: the sigmas come from {@code sigma_schedule} between {@code sigma_min} and
 * {@code sigma_max} (no training betas), the UNet sees {@code c_in x} at timestep {@code c_noise} ({@link Edm}),
 * and {@code x_next = x + (x - D(x)) / sigma * (sigma_next - sigma)} with the preconditioned denoiser {@code D}.
 * {@code init_noise_sigma = sqrt(sigma_max^2 + 1)}; {@code final_sigmas_type} zero or sigma_min. Deterministic as
 * diffusers' pipelines call it (no churn).
 */
public final class EdmEulerScheduler extends KDiffusionScheduler {
    static final SchedulerConfig.Keys KEYS = Edm.keys("EDMEulerScheduler", "epsilon", "v_prediction")
            .honour("final_sigmas_type", "zero", "zero", "sigma_min");

    private final double sigmaData;

    public EdmEulerScheduler(JsonConfig config) {
        super(KEYS.bind(config));
        this.sigmaData = this.config.real("sigma_data");
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        double[] s = Edm.sigmas(config, steps, false);
        boolean sigmaMinFinal = config.string("final_sigmas_type").equals("sigma_min");
        sigmas = SigmaSchedule.withFinal(s, sigmaMinFinal ? s[s.length - 1] : 0.0);
        timesteps = Edm.conditioningNoise(s);
    }

    @Override
    public double initNoiseSigma() {
        return Edm.initNoiseSigma(config);
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        initStepIndex(timestep);
        return Edm.preconditionInputs(sample, sigmas[stepIndex], sigmaData);
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        initStepIndex(timestep);
        float sigma = (float) sigmas[stepIndex];
        Tensor denoised =
                Edm.preconditionOutputs(sample, modelOutput, sigma, sigmaData, predictionType.equals("v_prediction"));
        Tensor prev = KDpm2DiscreteScheduler.eulerMove(
                sample, sample, denoised, sigma, (float) sigmas[stepIndex + 1] - sigma);
        stepIndex++;
        return prev;
    }
}

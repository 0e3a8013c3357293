package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;

/**
 * Multistep DPM-Solver++ in the EDM formulation, as diffusers' {@code EDMDPMSolverMultistepScheduler} (Playground
 * v2.5's scheduler): the sigmas come from {@code sigma_schedule} ({@link Edm}), the UNet sees {@code c_in x} at
 * timestep {@code c_noise}, the data prediction is the preconditioned denoiser, and since the inputs are
 * pre-scaled diffusers takes {@code alpha_t = 1}, {@code sigma_t = sigma}, {@code lambda = -log sigma}; the updates
 * are {@link DpmSolverMultistepScheduler}'s. {@code algorithm_type} dpmsolver++ or sde-dpmsolver++,
 * {@code init_noise_sigma = sqrt(sigma_max^2 + 1)}, {@code add_noise} {@code x + sigma noise}.
 */
public final class EdmDpmSolverMultistepScheduler extends DpmSolverMultistepScheduler {
    static final SchedulerConfig.Keys KEYS = Edm.keys("EDMDPMSolverMultistepScheduler", "epsilon", "v_prediction")
            .honour("solver_order", 2)
            .thresholding(true)
            // diffusers re-registers DEIS configs as dpmsolver++ and UniPC/DEIS solver types as midpoint
            .honour("algorithm_type", "dpmsolver++", "dpmsolver++", "sde-dpmsolver++", "deis")
            .honour("solver_type", "midpoint", "midpoint", "heun", "logrho", "bh1", "bh2")
            .honour("lower_order_final", true)
            .honour("euler_at_final", false)
            .honour("final_sigmas_type", "zero", "zero", "sigma_min");

    private final double sigmaData;

    public EdmDpmSolverMultistepScheduler(JsonConfig config) {
        super(KEYS.bind(config));
        this.sigmaData = this.config.real("sigma_data");
        if (solverOrder == 3 && algorithm.equals("sde-dpmsolver++")) {
            // diffusers' EDM third-order update has no sde-dpmsolver++ branch
            throw this.config.unsupported("solver_order", 3, "with algorithm_type 'sde-dpmsolver++'");
        }
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        double[] s = Edm.sigmas(config, steps, true);
        install(Edm.conditioningNoise(s), s);
    }

    @Override
    public void setTimesteps(double[] custom) {
        throw refusal("timesteps", Schedulers.CUSTOM_TIMESTEPS);
    }

    @Override
    public boolean acceptsCustomTimesteps() {
        return false;
    }

    /** {@code sigma_min} of the config (not a training sigma) for {@code final_sigmas_type = sigma_min}. */
    @Override
    protected double finalSigma(double[] stepSigmas) {
        return zeroFinalSigma ? 0.0 : config.real("sigma_min");
    }

    /** diffusers' EDM {@code _sigma_to_alpha_sigma_t}: {@code alpha_t = 1}, {@code sigma_t = sigma}. */
    @Override
    protected Vp vp(double sigma) {
        return new Vp(1, sigma, -Math.log(sigma));
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

    /** The preconditioned denoiser's x0, thresholded with {@code thresholding}. */
    @Override
    protected Tensor convertModelOutput(Tensor modelOutput, Tensor sample) {
        Tensor x0 = Edm.preconditionOutputs(
                sample, modelOutput, sigmas[stepIndex], sigmaData, predictionType.equals("v_prediction"));
        return clipping.thresholds() ? clipping.threshold(x0) : x0;
    }

    /** {@code x0 + sigma * noise} with the sigma of the begin index, the current step, or the timestep. */
    @Override
    public Tensor addNoise(Tensor originalSamples, Tensor noise, double timestep) {
        int index = beginIndex < 0 ? indexForTimestep(timestep) : (stepIndex >= 0 ? stepIndex : beginIndex);
        return Tensors.lincomb(1, originalSamples, sigmas[index], noise);
    }
}

package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;

/**
 * Euler sampler in sigma space (Karras et al. 2022, arXiv:2206.00364, Algorithm 2 with s_churn = 0), as diffusers'
 * {@code EulerDiscreteScheduler}: {@code x0 = x - sigma * eps}, {@code d = (x - x0) / sigma},
 * {@code x_next = x + d * (sigma_next - sigma)}. The model input is scaled by {@code 1 / sqrt(sigma^2 + 1)}.
 */
public class EulerDiscreteScheduler extends AbstractScheduler {
    protected final boolean karras;
    protected final String finalSigmasType;
    protected double[] sigmas = new double[0];
    /** diffusers' EDM keys: {@code timestep_type=continuous} with v_prediction feeds the UNet {@code 0.25 ln(sigma)}. */
    protected final boolean continuousTimesteps;
    /** {@code sigma_min} / {@code sigma_max} of the config, ends of the Karras ramp; NaN when absent. */
    private final double karrasSigmaMin;

    private final double karrasSigmaMax;

    public EulerDiscreteScheduler(JsonConfig config) {
        super(config, "linspace");
        this.karras = config.getBoolean("use_karras_sigmas", false);
        this.finalSigmasType = config.getString("final_sigmas_type", "zero");
        String interpolation = config.getString("interpolation_type", "linear");
        if (!interpolation.equals("linear")) {
            throw new IllegalArgumentException(
                    config.source() + ": interpolation_type '" + interpolation + "' is not supported (linear)");
        }
        String timestepType = config.getString("timestep_type", "discrete");
        if (!timestepType.equals("discrete") && !timestepType.equals("continuous")) {
            throw new IllegalArgumentException(
                    config.source() + ": timestep_type '" + timestepType + "' is not supported (discrete, continuous)");
        }
        // scheduling_euler_discrete.py: continuous timesteps only apply with v_prediction (SVD's EDM setup)
        this.continuousTimesteps = timestepType.equals("continuous") && predictionType.equals("v_prediction");
        this.karrasSigmaMin = config.getDouble("sigma_min", Double.NaN);
        this.karrasSigmaMax = config.getDouble("sigma_max", Double.NaN);
        if (config.getBoolean("rescale_betas_zero_snr", false)) {
            // zero terminal SNR makes the last sigma infinite; diffusers pins abar_T to 2^-24 (smallest fp16 subnormal)
            schedule.alphasCumprod[numTrainTimesteps - 1] = 0x1p-24;
        }
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        double[] train = schedule.trainingSigmas();
        double[] t = TimestepSpacing.continuous(timestepSpacing, numTrainTimesteps, steps, stepsOffset);
        double[] s = SigmaSchedule.interpolate(t, train);
        if (karras) {
            // _convert_to_karras: the config's sigma_min / sigma_max when set, else the interpolated ends
            s = SigmaSchedule.karras(
                    Double.isNaN(karrasSigmaMin) ? s[s.length - 1] : karrasSigmaMin,
                    Double.isNaN(karrasSigmaMax) ? s[0] : karrasSigmaMax,
                    steps);
            for (int i = 0; i < steps; i++) {
                t[i] = SigmaSchedule.sigmaToT(s[i], train);
            }
        }
        double last = "sigma_min".equals(finalSigmasType) ? train[0] : 0.0;
        sigmas = SigmaSchedule.withFinal(s, last);
        timesteps = new double[steps];
        for (int i = 0; i < steps; i++) {
            // continuous: 0.25 * log of the float32 sigma, in float32 as on diffusers' tensors
            timesteps[i] = continuousTimesteps ? 0.25f * (float) Math.log((float) sigmas[i]) : (float) t[i];
        }
    }

    @Override
    public double initNoiseSigma() {
        double max = 0;
        for (double s : sigmas) {
            max = Math.max(max, s);
        }
        if ("linspace".equals(timestepSpacing) || "trailing".equals(timestepSpacing)) {
            return max;
        }
        float m = (float) max; // (max^2 + 1)^0.5 on a float32 tensor
        return (float) Math.sqrt(m * m + 1f);
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        initStepIndex(timestep);
        float sigma = (float) sigmas[stepIndex];
        // sample / (sigma^2 + 1)^0.5, divided element-wise in float32 as torch does
        float denom = (float) Math.sqrt(sigma * sigma + 1f);
        float[] x = sample.data();
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] / denom;
        }
        return new Tensor(sample.shape(), out);
    }

    /** The predicted clean sample in sigma parameterisation (epsilon, v_prediction or sample). */
    protected Tensor predictOriginalSigma(Tensor modelOutput, Tensor sample, double sigma) {
        return switch (predictionType) {
            case "epsilon" -> Tensors.lincomb(1, sample, -sigma, modelOutput);
            case "sample" -> modelOutput;
            default ->
                Tensors.lincomb(-sigma / Math.sqrt(sigma * sigma + 1), modelOutput, 1 / (sigma * sigma + 1), sample);
        };
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        initStepIndex(timestep);
        double sigma = sigmas[stepIndex];
        Tensor x0 = predictOriginalSigma(modelOutput, sample, sigma);
        double dt = sigmas[stepIndex + 1] - sigma;
        // x + (x - x0) / sigma * dt
        Tensor prev = Tensors.lincomb(1 + dt / sigma, sample, -dt / sigma, x0);
        stepIndex++;
        return prev;
    }

    /** {@code x0 + noise * sigma}, the sigma at the begin index (img2img) or at the timestep. */
    @Override
    public Tensor addNoise(Tensor originalSamples, Tensor noise, double timestep) {
        int index = beginIndex < 0 ? indexForTimestep(timestep) : (stepIndex >= 0 ? stepIndex : beginIndex);
        return Tensors.lincomb(1, originalSamples, sigmas[index], noise);
    }
}

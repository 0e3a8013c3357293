package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.tensor.Tensor;

/**
 * The EDM formulation (Karras et al. 2022, arXiv:2206.00364, Table 1) that diffusers' {@code EDMEulerScheduler}
 * and {@code EDMDPMSolverMultistepScheduler} share: the config keys, the sigma schedule ({@code sigma_schedule}
 * karras with {@code rho}, or exponential, between {@code sigma_min} and {@code sigma_max}) and the
 * preconditioning {@code c_in = 1 / sqrt(sigma^2 + sigma_data^2)}, {@code c_noise = ln(sigma) / 4} (the UNet's
 * timestep), {@code c_skip = sigma_data^2 / (sigma^2 + sigma_data^2)} and
 * {@code c_out = +-sigma sigma_data / sqrt(sigma^2 + sigma_data^2)} (epsilon / v_prediction), so that
 * {@code D(x) = c_skip x + c_out F(c_in x, c_noise)}. Float32 where diffusers computes on float32 tensors.
 */
final class Edm {
    private Edm() {}

    /** The keys both EDM classes start with (their signatures' first seven). */
    static SchedulerConfig.Keys keys(String className, String... predictionTypes) {
        return SchedulerConfig.Keys.of(className)
                .honour("sigma_min", 0.002)
                .honour("sigma_max", 80.0)
                .honour("sigma_data", 0.5)
                .honour("sigma_schedule", "karras", "karras", "exponential")
                .honour("num_train_timesteps", 1000)
                .honour("prediction_type", "epsilon", predictionTypes)
                .honour("rho", 7.0);
    }

    /**
     * The {@code n} sigmas of {@code set_timesteps} as float32 values. {@code float32Ramp}: the ramp is
     * {@code torch.linspace(0, 1, n)} and the Karras formula runs on float32 (EDM DPM-Solver); otherwise the ramp and
     * the formula are float64 (EDM Euler). The exponential schedule is {@code exp(torch.linspace(log min, log max,
     * n))} reversed (float32) in both.
     */
    static double[] sigmas(SchedulerConfig c, int n, boolean float32Ramp) {
        double min = c.real("sigma_min");
        double max = c.real("sigma_max");
        double[] out = new double[n];
        if (c.string("sigma_schedule").equals("exponential")) {
            double[] logs = NoiseSchedule.linspace(Math.log(min), Math.log(max), n);
            for (int i = 0; i < n; i++) {
                out[n - 1 - i] = (float) Math.exp((float) logs[i]);
            }
            return out;
        }
        double rho = c.real("rho");
        if (!float32Ramp) {
            double[] s = SigmaSchedule.karras(min, max, rho, SigmaSchedule.linspace(0, 1, n));
            for (int i = 0; i < n; i++) {
                out[i] = (float) s[i];
            }
            return out;
        }
        double[] ramp = NoiseSchedule.linspace(0, 1, n);
        float minInv = (float) Math.pow(min, 1 / rho);
        float maxInv = (float) Math.pow(max, 1 / rho);
        for (int i = 0; i < n; i++) {
            float base = maxInv + (float) ramp[i] * (minInv - maxInv);
            out[i] = (float) Math.pow(base, (float) rho);
        }
        return out;
    }

    /** {@code init_noise_sigma = sqrt(sigma_max^2 + 1)} of both EDM classes. */
    static double initNoiseSigma(SchedulerConfig c) {
        double max = c.real("sigma_max");
        return Math.sqrt(max * max + 1);
    }

    /** {@code c_noise = 0.25 ln(sigma)} of each sigma, float32: the UNet's timesteps. */
    static double[] conditioningNoise(double[] sigmas) {
        double[] t = new double[sigmas.length];
        for (int i = 0; i < t.length; i++) {
            t[i] = 0.25f * (float) Math.log((float) sigmas[i]);
        }
        return t;
    }

    /** {@code x * c_in}, {@code c_in = 1 / sqrt(sigma^2 + sigma_data^2)} (float32). */
    static Tensor preconditionInputs(Tensor sample, double sigma, double sigmaData) {
        float s = (float) sigma;
        float cIn = 1f / (float) Math.sqrt(s * s + (float) (sigmaData * sigmaData));
        float[] x = sample.data();
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * cIn;
        }
        return new Tensor(sample.shape(), out);
    }

    /** The denoised sample {@code c_skip x + c_out F} (float32); {@code v} flips the sign of {@code c_out}. */
    static Tensor preconditionOutputs(Tensor sample, Tensor modelOutput, double sigma, double sigmaData, boolean v) {
        float s = (float) sigma;
        float d2 = (float) (sigmaData * sigmaData);
        float cSkip = d2 / (s * s + d2);
        float cOut = (v ? -s : s) * (float) sigmaData / (float) Math.sqrt(s * s + d2);
        float[] x = sample.data();
        float[] f = modelOutput.data();
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = cSkip * x[i] + cOut * f[i];
        }
        return new Tensor(sample.shape(), out);
    }
}

package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;

/**
 * Ancestral Euler sampler (k-diffusion's {@code sample_euler_ancestral}; Karras et al. 2022, arXiv:2206.00364), as
 * diffusers' {@code EulerAncestralDiscreteScheduler}. Each step splits the move from {@code sigma} to
 * {@code sigma_next} into a deterministic Euler step down to
 * {@code sigma_down = sqrt(sigma_next^2 - sigma_up^2)} and fresh noise of standard deviation
 * {@code sigma_up = sqrt(sigma_next^2 (sigma^2 - sigma_next^2) / sigma^2)} (eta = 1):
 * {@code x_next = x + (x - x0) / sigma * (sigma_down - sigma) + sigma_up * z}.
 *
 * <p>One Gaussian draw per step, the last step included (where {@code sigma_up = 0}), as diffusers draws it.
 * The sigma schedule, {@code init_noise_sigma}, {@link #scaleModelInput} and {@link #addNoise} are Euler's; diffusers'
 * ancestral sampler has no Karras sigmas and always ends at sigma 0 (its config has no such keys).
 * {@code prediction_type} epsilon or v_prediction; {@code rescale_betas_zero_snr} supported.
 */
public class EulerAncestralDiscreteScheduler extends EulerDiscreteScheduler {
    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("EulerAncestralDiscreteScheduler")
            .betas(0.0001, 0.02, "linear")
            .prediction("epsilon", "v_prediction")
            .spacing("linspace")
            .honour("rescale_betas_zero_snr", false);

    public EulerAncestralDiscreteScheduler(JsonConfig config) {
        super(KEYS.bind(config));
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        initStepIndex(timestep);
        // scalar arithmetic on float32 sigmas, as on diffusers' 0-dim float32 tensors
        float sigma = (float) sigmas[stepIndex];
        float sigmaTo = (float) sigmas[stepIndex + 1];
        float from2 = sigma * sigma;
        float to2 = sigmaTo * sigmaTo;
        float sigmaUp = (float) Math.sqrt(to2 * (from2 - to2) / from2);
        float sigmaDown = (float) Math.sqrt(to2 - sigmaUp * sigmaUp);
        float dt = sigmaDown - sigma;

        float[] x = sample.data();
        float[] eps = modelOutput.data();
        if (x.length != eps.length) {
            throw new IllegalArgumentException(
                    "model output and sample differ in size: " + eps.length + " vs " + x.length);
        }
        boolean v = "v_prediction".equals(predictionType);
        float cOut = -sigma / (float) Math.sqrt(from2 + 1f);
        float cSkipDen = from2 + 1f;
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            // x0: epsilon x - sigma*eps; v (Salimans & Ho 2022) c_out*v + x/(sigma^2+1)
            float x0 = v ? eps[i] * cOut + x[i] / cSkipDen : x[i] - sigma * eps[i];
            float derivative = (x[i] - x0) / sigma;
            out[i] = x[i] + derivative * dt;
        }
        Tensor z = noise.next(modelOutput.shape());
        float[] zd = z.data();
        for (int i = 0; i < out.length; i++) {
            out[i] = out[i] + zd[i] * sigmaUp;
        }
        stepIndex++;
        return new Tensor(sample.shape(), out);
    }
}

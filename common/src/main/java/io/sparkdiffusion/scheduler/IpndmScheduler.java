package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;

/**
 * The improved pseudo-numerical method (iPNDM; Zhang &amp; Chen 2023, arXiv:2204.13902, Section 5 and
 * Appendix), as diffusers' {@code IPNDMScheduler}, a sampler for continuous-time (score SDE / VE) models: the
 * schedule is its own, {@code beta_i = sin(pi/2 s_i)^2}, {@code alpha_i = sqrt(1 - beta_i^2)} for
 * {@code s = linspace(1, 0, n + 1)}, the UNet sees the timesteps {@code atan2(beta, alpha) 2/pi} in [0, 1] (a
 * Stable Diffusion UNet, trained on 0..999, gets no useful picture from it), and each step combines
 * {@code e = beta x + alpha out} of the last four steps with the Adams-Bashforth weights (1; 3/2, -1/2;
 * 23/12, -16/12, 5/12; 55/24, -59/24, 37/24, -9/24), {@code x_next = alpha' (x - beta e) / alpha + beta' e}.
 * Deterministic; no {@code add_noise} (diffusers' class has none, so image-to-image cannot use it).
 */
public final class IpndmScheduler extends AbstractScheduler {
    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("IPNDMScheduler")
            .honour("num_train_timesteps", 1000)
            .refuse("trained_betas", null, "betas that replace the schedule of num_inference_steps + 1 values");

    /** The schedule's beta and alpha per index, n + 1 of each (float32 values). */
    private float[] betas = new float[0];

    private float[] alphas = new float[0];
    /** The last four {@code ets}, newest first. */
    private Deque<float[]> ets = new ArrayDeque<>();

    public IpndmScheduler(JsonConfig config) {
        super(KEYS.bind(config));
    }

    @Override
    public void setTimesteps(int steps) {
        checkSteps(steps);
        // torch.linspace(1, 0, n + 1)[:-1] then 0, all float32
        double[] s = NoiseSchedule.linspace(1, 0, steps + 1);
        betas = new float[steps + 1];
        alphas = new float[steps + 1];
        timesteps = new double[steps];
        for (int i = 0; i <= steps; i++) {
            float step = i == steps ? 0f : (float) s[i];
            float angle = step * (float) Math.PI / 2f;
            float sin = (float) Math.sin(angle);
            betas[i] = sin * sin;
            alphas[i] = (float) Math.sqrt(1f - betas[i] * betas[i]);
            if (i < steps) {
                timesteps[i] = (float) Math.atan2(betas[i], alphas[i]) / (float) Math.PI * 2f;
            }
        }
        ets = new ArrayDeque<>();
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        beginStep(timestep);
        int i = stepIndex;
        float[] x = sample.data();
        float[] out = modelOutput.data();
        float[] e = new float[x.length];
        for (int k = 0; k < e.length; k++) {
            e[k] = x[k] * betas[i] + out[k] * alphas[i];
        }
        ets.addFirst(e);
        if (ets.size() > 4) {
            ets.removeLast();
        }
        float[] combined = adamsBashforth(ets);
        // _get_prev_sample: pred = (x - sigma e) / max(alpha, 1e-8); next_alpha pred + e next_sigma
        float alpha = Math.max(alphas[i], 1e-8f);
        float[] prev = new float[x.length];
        for (int k = 0; k < prev.length; k++) {
            float pred = (x[k] - betas[i] * combined[k]) / alpha;
            prev[k] = alphas[i + 1] * pred + combined[k] * betas[i + 1];
        }
        stepIndex++;
        return new Tensor(sample.shape(), prev);
    }

    /** The Adams-Bashforth combination of the stored {@code ets} (newest first), in diffusers' float32 order. */
    private static float[] adamsBashforth(Deque<float[]> ets) {
        Iterator<float[]> it = ets.iterator();
        float[] e1 = it.next();
        if (ets.size() == 1) {
            return e1;
        }
        float[] e2 = it.next();
        float[] r = new float[e1.length];
        if (ets.size() == 2) {
            for (int k = 0; k < r.length; k++) {
                r[k] = (3 * e1[k] - e2[k]) / 2;
            }
            return r;
        }
        float[] e3 = it.next();
        if (ets.size() == 3) {
            for (int k = 0; k < r.length; k++) {
                r[k] = (23 * e1[k] - 16 * e2[k] + 5 * e3[k]) / 12;
            }
            return r;
        }
        float[] e4 = it.next();
        float w = (float) (1.0 / 24);
        for (int k = 0; k < r.length; k++) {
            r[k] = w * (55 * e1[k] - 59 * e2[k] + 37 * e3[k] - 9 * e4[k]);
        }
        return r;
    }

    /** diffusers' {@code IPNDMScheduler} has no {@code add_noise}. */
    @Override
    public Tensor addNoise(Tensor originalSamples, Tensor noise, double timestep) {
        throw new IllegalArgumentException("IPNDMScheduler has no add_noise (diffusers' class has none):"
                + " image-to-image and inpainting cannot use it");
    }
}

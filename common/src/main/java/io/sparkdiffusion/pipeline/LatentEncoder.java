package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.util.Arrays;
import java.util.Map;

/**
 * The {@code vae_encoder} component: images to scaled latents (img2img, inpainting). Exports differ in what the
 * graph returns, read from the session: {@code latent_parameters}, the posterior's mean and log-variance stacked on
 * the channel axis, which this class samples ({@code mean + exp(0.5 * clamp(logvar, -30, 20)) * noise}, one draw from
 * the {@link NoiseSource}, as diffusers' {@code DiagonalGaussianDistribution.sample}); or {@code latent_sample}, already
 * sampled inside the graph (no draw). The result is scaled by {@link LatentScaling}.
 */
final class LatentEncoder {
    static final String COMPONENT = "vae_encoder";
    private final OnnxModel session;
    private final LatentScaling scaling;
    private final String output;
    private final boolean parameters;
    private final int inChannels;

    LatentEncoder(ModelFolder model) {
        this.session = model.session(COMPONENT);
        JsonConfig c = model.componentConfig(COMPONENT);
        this.scaling = LatentScaling.of(c);
        int latentChannels = c.getInt("latent_channels", 4);
        this.inChannels = c.getInt("in_channels", 3);
        if (session.hasOutput("latent_parameters")) {
            this.output = "latent_parameters";
            this.parameters = true;
        } else if (session.hasOutput("latent_sample")) {
            this.output = "latent_sample";
            this.parameters = false;
        } else {
            // an export with other names: tell the two apart by the declared channel count
            this.output = session.outputNames().get(0);
            long[] shape = session.outputShape(output);
            long channels = shape.length == 4 ? shape[1] : -1;
            if (channels != latentChannels && channels != 2L * latentChannels) {
                throw new ModelLoadException(model.root() + ": " + COMPONENT + " output '" + output + "' "
                        + Arrays.toString(shape) + " is neither latent_parameters (2 x " + latentChannels
                        + " channels) nor latent_sample (" + latentChannels + " channels)");
            }
            this.parameters = channels == 2L * latentChannels;
        }
    }

    /**
     * Images {@code (B, H, W, C)} in [0, 1] to the VAE's input {@code (B, C, H, W)} in [-1, 1]
     * ({@code 2x - 1}, diffusers' {@code VaeImageProcessor.normalize}).
     */
    static Tensor pixels(Tensor nhwc01) {
        float[] in = nhwc01.data();
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = 2f * in[i] - 1f;
        }
        return Tensors.nhwcToNchw(new Tensor(nhwc01.shape(), out));
    }

    /** VAE input {@code (B, C, H, W)} in [-1, 1] to scaled latents {@code (B, c, h, w)}; draws once for a posterior. */
    Tensor encode(Tensor pixels, NoiseSource noise) {
        if (pixels.dim(1) != inChannels) {
            throw new IllegalArgumentException(
                    "the init image has " + pixels.dim(1) + " channels but the VAE encodes " + inChannels);
        }
        Tensor raw = session.run1(Map.of(session.inputOr("sample"), pixels), output);
        return scaling.scale(parameters ? sample(raw, noise) : raw);
    }

    /** {@code mean + std * eps} with {@code (mean, logvar) = chunk(parameters, 2, dim=1)} (diffusers {@code vae.py}). */
    private static Tensor sample(Tensor parameters, NoiseSource noise) {
        long[] shape = parameters.shape();
        int rows = (int) shape[0];
        int half = parameters.rowSize() / 2;
        shape[1] /= 2;
        Tensor eps = noise.next(shape);
        float[] p = parameters.data();
        float[] e = eps.data();
        float[] out = new float[rows * half];
        for (int r = 0; r < rows; r++) {
            int in = r * 2 * half;
            for (int i = 0; i < half; i++) {
                float mean = p[in + i];
                float logvar = Math.min(20f, Math.max(-30f, p[in + half + i]));
                float std = (float) Math.exp(0.5f * logvar);
                out[r * half + i] = mean + std * e[r * half + i];
            }
        }
        return new Tensor(shape, out);
    }
}

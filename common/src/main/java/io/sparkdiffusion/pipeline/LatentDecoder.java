package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.util.Map;

/**
 * The {@code vae_decoder} component: latents to pixels. Undoes the latent scaling first,
 * {@code z / scaling_factor + shift_factor} (diffusers' pipelines), then maps [-1, 1] to [0, 1] NHWC.
 */
final class LatentDecoder {
    static final String COMPONENT = "vae_decoder";
    private final OnnxModel session;
    private final double scalingFactor;
    private final double shiftFactor;
    private final int scaleFactor;
    private final int latentChannels;
    private final int outChannels;

    LatentDecoder(ModelFolder model) {
        this.session = model.session(COMPONENT);
        JsonConfig c = model.componentConfig(COMPONENT);
        this.scalingFactor = c.getDouble("scaling_factor", 0.18215);
        this.shiftFactor = c.getDouble("shift_factor", 0.0);
        double[] blocks = c.getDoubleArray("block_out_channels");
        this.scaleFactor = blocks == null ? 8 : 1 << (blocks.length - 1);
        long[] in = session.inputShape(session.inputNames().get(0));
        this.latentChannels = c.has("latent_channels") ? c.getInt("latent_channels", 4)
                : (in.length > 1 && in[1] > 0 ? (int) in[1] : 4);
        long[] out = session.outputShape(session.outputNames().get(0));
        this.outChannels = c.has("out_channels") ? c.getInt("out_channels", 3) : (out.length > 1 && out[1] > 0 ? (int) out[1] : 3);
    }

    /** Pixels per latent cell: {@code 2^(len(block_out_channels) - 1)}. */
    int scaleFactor() {
        return scaleFactor;
    }

    int latentChannels() {
        return latentChannels;
    }

    int outChannels() {
        return outChannels;
    }

    double scalingFactor() {
        return scalingFactor;
    }

    /** Latents {@code (B, C, h, w)} to images {@code (B, H, W, C)} in [0, 1]. */
    Tensor decode(Tensor latents) {
        float[] in = latents.data();
        float[] z = new float[in.length];
        float scale = (float) scalingFactor;
        float shift = (float) shiftFactor;
        for (int i = 0; i < z.length; i++) {
            z[i] = in[i] / scale + shift;
        }
        Tensor pixels = session.run1(Map.of(session.inputOr("latent_sample"), new Tensor(latents.shape(), z)),
                session.outputOr("sample"));
        return DiffusionPipeline.toImage01(pixels);
    }
}

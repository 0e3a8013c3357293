package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The {@code vae_decoder} component: latents to pixels. Undoes the latent scaling first ({@link LatentScaling}:
 * {@code z / scaling_factor + shift_factor}, or {@code z * latents_std / scaling_factor + latents_mean}), as
 * diffusers' pipelines do, then maps [-1, 1] to [0, 1] NHWC.
 */
final class LatentDecoder {
    static final String COMPONENT = "vae_decoder";
    private final OnnxModel session;
    private final LatentScaling scaling;
    private final int scaleFactor;
    private final int latentChannels;
    private final int outChannels;
    /** {@code block_out_channels[0]}: the channels of the decoder's full-resolution blocks (0 when absent). */
    private final int fullResolutionChannels;

    private final RuntimeOptions options;

    LatentDecoder(ModelFolder model) {
        this.session = model.session(COMPONENT);
        this.options = model.options();
        JsonConfig c = model.componentConfig(COMPONENT);
        this.scaling = LatentScaling.of(c);
        double[] blocks = c.getDoubleArray("block_out_channels");
        this.scaleFactor = blocks == null ? 8 : 1 << (blocks.length - 1);
        this.fullResolutionChannels = blocks == null ? 0 : (int) blocks[0];
        long[] in = session.inputShape(session.inputNames().get(0));
        this.latentChannels = c.has("latent_channels")
                ? c.getInt("latent_channels", 4)
                : (in.length > 1 && in[1] > 0 ? (int) in[1] : 4);
        long[] out = session.outputShape(session.outputNames().get(0));
        this.outChannels =
                c.has("out_channels") ? c.getInt("out_channels", 3) : (out.length > 1 && out[1] > 0 ? (int) out[1] : 3);
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

    /**
     * Latents {@code (B, C, h, w)} to images {@code (B, H, W, C)} in [0, 1], in slices of as many rows as the runtime
     * takes in one call ({@link RuntimeOptions#rowsPerRun}, sized by the full-resolution activation of a row).
     */
    Tensor decode(Tensor latents) {
        int rows = (int) latents.dim(0);
        if (latents.rank() != 4) {
            return decodeRows(latents);
        }
        long bytesPerRow = (long) fullResolutionChannels
                * latents.dim(2)
                * scaleFactor
                * latents.dim(3)
                * scaleFactor
                * Float.BYTES;
        int perRun = options.rowsPerRun(bytesPerRow);
        if (rows <= perRun) {
            return decodeRows(latents);
        }
        List<Tensor> parts = new ArrayList<>();
        for (int from = 0; from < rows; from += perRun) {
            parts.add(decodeRows(Tensors.sliceBatch(latents, from, Math.min(rows, from + perRun))));
        }
        return Tensors.concatBatch(parts);
    }

    private Tensor decodeRows(Tensor latents) {
        Tensor pixels = session.run1(
                Map.of(session.inputOr("latent_sample"), scaling.unscale(latents)), session.outputOr("sample"));
        return DiffusionPipeline.toImage01(pixels);
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.tensor.Tensor;

/**
 * An inpainting mask prepared as diffusers does: binarised at 0.5 at full resolution ({@code VaeImageProcessor}
 * with {@code do_binarize}: 1 = repaint), and that binary mask resized to the latent grid with
 * {@code torch.nn.functional.interpolate}'s default {@code 'nearest'} mode ({@code prepare_mask_latents}).
 */
final class InpaintMask {
    /** {@code (B, H, W)}, values 0 or 1. */
    private final Tensor full;
    /** {@code (B, 1, h, w)}, values 0 or 1. */
    private final Tensor latent;

    private InpaintMask(Tensor full, Tensor latent) {
        this.full = full;
        this.latent = latent;
    }

    /** Prepares a {@code (B, H, W)} mask in [0, 1] for latents of {@code latentHeight x latentWidth}. */
    static InpaintMask of(Tensor mask, int latentHeight, int latentWidth) {
        float[] m = mask.data();
        float[] bin = new float[m.length];
        for (int i = 0; i < m.length; i++) {
            bin[i] = m[i] < 0.5f ? 0f : 1f;
        }
        Tensor full = new Tensor(mask.shape(), bin);
        return new InpaintMask(full, nearest(full, latentHeight, latentWidth));
    }

    /**
     * PyTorch's {@code 'nearest'} resize (ATen {@code nearest_idx}): source index
     * {@code min(floor(dst * (float) in / out), in - 1)}, the identity for equal sizes.
     */
    private static Tensor nearest(Tensor full, int outH, int outW) {
        int rows = (int) full.dim(0);
        int inH = (int) full.dim(1);
        int inW = (int) full.dim(2);
        int[] ys = sourceIndices(inH, outH);
        int[] xs = sourceIndices(inW, outW);
        float[] in = full.data();
        float[] out = new float[rows * outH * outW];
        for (int b = 0; b < rows; b++) {
            for (int y = 0; y < outH; y++) {
                for (int x = 0; x < outW; x++) {
                    out[(b * outH + y) * outW + x] = in[(b * inH + ys[y]) * inW + xs[x]];
                }
            }
        }
        return new Tensor(new long[] {rows, 1, outH, outW}, out);
    }

    private static int[] sourceIndices(int in, int out) {
        int[] idx = new int[out];
        float scale = (float) in / out;
        for (int o = 0; o < out; o++) {
            idx[o] = in == out ? o : Math.min((int) Math.floor(o * scale), in - 1);
        }
        return idx;
    }

    /** The mask on the latent grid, {@code (B, 1, h, w)} (the 9-channel UNet's mask channel). */
    Tensor latent() {
        return latent;
    }

    /** The VAE input {@code (B, C, H, W)} with the repaint region zeroed: diffusers' {@code image * (mask < 0.5)}. */
    Tensor keepOnly(Tensor pixels) {
        float[] p = pixels.data();
        float[] m = full.data();
        float[] out = new float[p.length];
        int channels = (int) pixels.dim(1);
        int plane = (int) (pixels.dim(2) * pixels.dim(3));
        for (int i = 0; i < p.length; i++) {
            int b = i / (channels * plane);
            out[i] = m[b * plane + i % plane] < 0.5f ? p[i] : 0f;
        }
        return new Tensor(pixels.shape(), out);
    }

    /** {@code (1 - mask) * known + mask * generated} on the latent grid, the mask broadcast over channels. */
    Tensor blend(Tensor known, Tensor generated) {
        float[] k = known.data();
        float[] g = generated.data();
        float[] m = latent.data();
        float[] out = new float[k.length];
        int channels = (int) known.dim(1);
        int plane = (int) (known.dim(2) * known.dim(3));
        for (int i = 0; i < k.length; i++) {
            float w = m[(i / (channels * plane)) * plane + i % plane];
            out[i] = (1f - w) * k[i] + w * g[i];
        }
        return new Tensor(known.shape(), out);
    }

    /** Images {@code (B, H, W, C)}: the original's pixels wherever the binarised mask is 0, the generated elsewhere. */
    Tensor keepUnmasked(Tensor original, Tensor generated) {
        float[] o = original.data();
        float[] g = generated.data();
        float[] m = full.data();
        float[] out = new float[g.length];
        int channels = (int) generated.dim(3);
        for (int i = 0; i < g.length; i++) {
            out[i] = m[i / channels] == 0f ? o[i] : g[i];
        }
        return new Tensor(generated.shape(), out);
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;

/**
 * How a VAE's raw latents map to the UNet's latent space, from the VAE config: with {@code latents_mean} and
 * {@code latents_std}, {@code (x - mean) * scaling_factor / std} per channel (diffusers' SDXL img2img
 * {@code prepare_latents}), otherwise {@code (x - shift_factor) * scaling_factor} ({@code shift_factor} 0 when absent,
 * as SD / SDXL). {@link #unscale} is the inverse that diffusers applies before the VAE decode. (diffusers' inpainting
 * pipelines encode with {@code scaling_factor} alone even when {@code latents_mean} is set; no SD or SDXL VAE sets it.)
 */
@SuppressWarnings("ArrayRecordComponent") // a value carrier read in place, never compared or hashed
record LatentScaling(float scalingFactor, float shiftFactor, float[] mean, float[] std) {
    static LatentScaling of(JsonConfig vae) {
        double[] mean = vae.getDoubleArray("latents_mean");
        double[] std = vae.getDoubleArray("latents_std");
        boolean perChannel = mean != null && std != null;
        return new LatentScaling(
                (float) vae.getDouble("scaling_factor", 0.18215),
                (float) vae.getDouble("shift_factor", 0.0),
                perChannel ? floats(mean) : null,
                perChannel ? floats(std) : null);
    }

    /** Raw VAE latents {@code (B, C, h, w)} to UNet latents. */
    Tensor scale(Tensor raw) {
        float[] x = raw.data();
        float[] out = new float[x.length];
        int plane = planeSize(raw);
        for (int i = 0; i < x.length; i++) {
            if (mean != null) {
                int c = channel(raw, i, plane);
                out[i] = (x[i] - mean[c]) * scalingFactor / std[c];
            } else {
                out[i] = (x[i] - shiftFactor) * scalingFactor;
            }
        }
        return new Tensor(raw.shape(), out);
    }

    /** UNet latents {@code (B, C, h, w)} to the VAE decoder's input. */
    Tensor unscale(Tensor latents) {
        float[] z = latents.data();
        float[] out = new float[z.length];
        int plane = planeSize(latents);
        for (int i = 0; i < z.length; i++) {
            if (mean != null) {
                int c = channel(latents, i, plane);
                out[i] = z[i] * std[c] / scalingFactor + mean[c];
            } else {
                out[i] = z[i] / scalingFactor + shiftFactor;
            }
        }
        return new Tensor(latents.shape(), out);
    }

    private int channel(Tensor t, int index, int plane) {
        int c = (index / plane) % (int) t.dim(1);
        if (c >= mean.length) {
            throw new IllegalArgumentException("the VAE config has " + mean.length
                    + " latents_mean entries but the latents " + t + " have " + t.dim(1) + " channels");
        }
        return c;
    }

    private static int planeSize(Tensor t) {
        return (int) (t.dim(2) * t.dim(3));
    }

    private static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}

package io.sparkdiffusion.image;

import io.sparkdiffusion.tensor.Tensor;

/**
 * The anti-aliased resize diffusers applies before SVD's CLIP image encoder ({@code _resize_with_antialiasing} in
 * pipeline_stable_video_diffusion.py, after kornia and skimage): a separable Gaussian blur with
 * {@code sigma = max((in / out - 1) / 2, 0.001)} per axis, kernel size {@code max(4 sigma, 3)} made odd and reflect
 * padding, then PyTorch's bicubic interpolation ({@code A = -0.75}, {@code align_corners=True}, edge-clamped taps).
 * Works on {@code (N, C, H, W)} tensors of any value range.
 */
public final class AntialiasResize {
    private static final double CUBIC_A = -0.75;

    private AntialiasResize() {}

    public static Tensor resize(Tensor nchw, int outH, int outW) {
        long[] s = nchw.shape();
        int h = (int) s[2];
        int w = (int) s[3];
        double sigmaY = Math.max((h / (double) outH - 1.0) / 2.0, 0.001);
        double sigmaX = Math.max((w / (double) outW - 1.0) / 2.0, 0.001);
        int ky = oddAtLeast3((int) Math.max(2.0 * 2 * sigmaY, 3));
        int kx = oddAtLeast3((int) Math.max(2.0 * 2 * sigmaX, 3));
        int planes = (int) (s[0] * s[1]);
        float[] in = nchw.data();
        float[] out = new float[planes * outH * outW];
        float[] gx = gaussian(kx, sigmaX);
        float[] gy = gaussian(ky, sigmaY);
        for (int p = 0; p < planes; p++) {
            float[] plane = new float[h * w];
            System.arraycopy(in, p * h * w, plane, 0, h * w);
            float[] blurred = blur(blur(plane, h, w, gx, true), h, w, gy, false);
            float[] resized = bicubic(blurred, h, w, outH, outW);
            System.arraycopy(resized, 0, out, p * outH * outW, outH * outW);
        }
        return new Tensor(new long[] {s[0], s[1], outH, outW}, out);
    }

    private static int oddAtLeast3(int k) {
        return k % 2 == 0 ? k + 1 : k;
    }

    /** {@code exp(-x^2 / (2 sigma^2))} on {@code x = arange(k) - k // 2}, normalised to sum 1 (float32). */
    private static float[] gaussian(int k, double sigma) {
        float s = (float) sigma;
        float[] g = new float[k];
        float sum = 0;
        for (int i = 0; i < k; i++) {
            float x = i - k / 2;
            g[i] = (float) Math.exp(-(x * x) / (2f * (s * s)));
            sum += g[i];
        }
        for (int i = 0; i < k; i++) {
            g[i] /= sum;
        }
        return g;
    }

    /** One axis of the separable blur, reflect-padded by {@code (k - 1) / 2} on each side (k is odd). */
    private static float[] blur(float[] src, int h, int w, float[] kernel, boolean horizontal) {
        int half = kernel.length / 2;
        int n = horizontal ? w : h;
        if (half >= n) {
            throw new IllegalArgumentException("image of " + w + "x" + h + " is too small for a reflect-padded blur of "
                    + kernel.length + " taps");
        }
        float[] out = new float[h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double acc = 0;
                for (int k = 0; k < kernel.length; k++) {
                    int pos = reflect((horizontal ? x : y) + k - half, n);
                    acc += kernel[k] * (horizontal ? src[y * w + pos] : src[pos * w + x]);
                }
                out[y * w + x] = (float) acc;
            }
        }
        return out;
    }

    private static int reflect(int i, int n) {
        if (i < 0) {
            return -i;
        }
        return i >= n ? 2 * (n - 1) - i : i;
    }

    /** PyTorch {@code interpolate(mode="bicubic", align_corners=True)} of one plane. */
    private static float[] bicubic(float[] src, int h, int w, int outH, int outW) {
        float scaleY = outH > 1 ? (float) (h - 1) / (outH - 1) : 0f;
        float scaleX = outW > 1 ? (float) (w - 1) / (outW - 1) : 0f;
        int[][] xi = new int[outW][];
        float[][] xw = new float[outW][];
        for (int ox = 0; ox < outW; ox++) {
            float real = scaleX * ox;
            int base = (int) Math.floor(real);
            xi[ox] = taps(base, w);
            xw[ox] = weights(real - base);
        }
        float[] out = new float[outH * outW];
        for (int oy = 0; oy < outH; oy++) {
            float real = scaleY * oy;
            int base = (int) Math.floor(real);
            int[] yi = taps(base, h);
            float[] yw = weights(real - base);
            for (int ox = 0; ox < outW; ox++) {
                float acc = 0;
                for (int j = 0; j < 4; j++) {
                    float row = 0;
                    for (int i = 0; i < 4; i++) {
                        row += xw[ox][i] * src[yi[j] * w + xi[ox][i]];
                    }
                    acc += yw[j] * row;
                }
                out[oy * outW + ox] = acc;
            }
        }
        return out;
    }

    private static int[] taps(int base, int n) {
        int[] t = new int[4];
        for (int i = 0; i < 4; i++) {
            t[i] = Math.min(n - 1, Math.max(0, base - 1 + i));
        }
        return t;
    }

    /** Keys' cubic convolution weights of the taps at offsets -1, 0, 1, 2 for fraction {@code t}. */
    private static float[] weights(float t) {
        return new float[] {far(t + 1f), near(t), near(1f - t), far(2f - t)};
    }

    private static float near(float x) {
        return (float) (((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1);
    }

    private static float far(float x) {
        return (float) (((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A);
    }
}

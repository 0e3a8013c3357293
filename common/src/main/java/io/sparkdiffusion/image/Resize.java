package io.sparkdiffusion.image;

/**
 * Separable resampling of interleaved float images. Lanczos (a = 3) widens its kernel by the scale factor when
 * shrinking, as PIL does, so downscaling averages instead of aliasing; nearest neighbour is for masks.
 */
public final class Resize {
    private static final double A = 3.0;

    private Resize() {}

    public static float[] lanczos(float[] src, int w, int h, int channels, int newW, int newH) {
        float[] horizontal = pass(src, w, h, channels, newW, true);
        return pass(horizontal, newW, h, channels, newH, false);
    }

    /** One axis: {@code horizontalAxis} resamples width from {@code w} to {@code n}, else height from {@code h} to n. */
    private static float[] pass(float[] src, int w, int h, int c, int n, boolean horizontalAxis) {
        int in = horizontalAxis ? w : h;
        if (in == n) {
            return src;
        }
        double scale = (double) in / n;
        double support = A * Math.max(1.0, scale);
        double filterScale = Math.max(1.0, scale);
        int outW = horizontalAxis ? n : w;
        int outH = horizontalAxis ? h : n;
        float[] out = new float[outW * outH * c];
        double[] weights = new double[(int) Math.ceil(support) * 2 + 2];
        for (int o = 0; o < n; o++) {
            double center = (o + 0.5) * scale;
            int lo = Math.max(0, (int) Math.floor(center - support));
            int hi = Math.min(in - 1, (int) Math.ceil(center + support));
            double total = 0;
            int count = hi - lo + 1;
            if (weights.length < count) {
                weights = new double[count];
            }
            for (int i = lo; i <= hi; i++) {
                double wgt = kernel((i + 0.5 - center) / filterScale);
                weights[i - lo] = wgt;
                total += wgt;
            }
            for (int line = 0; line < (horizontalAxis ? h : w); line++) {
                for (int ch = 0; ch < c; ch++) {
                    double acc = 0;
                    for (int i = lo; i <= hi; i++) {
                        int idx = horizontalAxis ? (line * w + i) * c + ch : (i * w + line) * c + ch;
                        acc += weights[i - lo] * src[idx];
                    }
                    float v = (float) (total == 0 ? 0 : acc / total);
                    int oi = horizontalAxis ? (line * outW + o) * c + ch : (o * outW + line) * c + ch;
                    out[oi] = Math.min(1f, Math.max(0f, v));
                }
            }
        }
        return out;
    }

    private static double kernel(double x) {
        if (x == 0) {
            return 1;
        }
        if (x <= -A || x >= A) {
            return 0;
        }
        double px = Math.PI * x;
        return A * Math.sin(px) * Math.sin(px / A) / (px * px);
    }

    /** Nearest neighbour, {@code src = floor(dst * in / out)} (torch's and PIL's NEAREST). */
    public static float[] nearest(float[] src, int w, int h, int channels, int newW, int newH) {
        float[] out = new float[newW * newH * channels];
        for (int y = 0; y < newH; y++) {
            int sy = Math.min(h - 1, (int) Math.floor((double) y * h / newH));
            for (int x = 0; x < newW; x++) {
                int sx = Math.min(w - 1, (int) Math.floor((double) x * w / newW));
                System.arraycopy(src, (sy * w + sx) * channels, out, (y * newW + x) * channels, channels);
            }
        }
        return out;
    }
}

package io.sparkdiffusion.image;

import java.util.Locale;

/**
 * Separable convolution resampling of interleaved images, as Pillow's {@code Image.resize} computes it
 * ({@code ImagingResample} in Pillow's libImaging/Resample.c): each output pixel is a normalised weighted sum of the
 * input pixels within the filter's support around its centre, the support widened by the scale factor when shrinking
 * (so downscaling averages instead of aliasing); width first, then height, each pass only when that size changes.
 *
 * <p>Two arithmetics: {@link #resample} on floats in [0, 1] (Pillow's float images, double accumulation, clamped), and
 * {@link #resample8bit} on 8-bit values, bit for bit Pillow's 8-bit images (weights in 22-bit fixed point, rounded
 * and clipped to 0..255 after each pass), which is what transformers' image processors do to a PIL picture.
 * {@link #nearest} is PyTorch's nearest neighbour, for masks.
 */
public final class Resize {
    /** Pillow's fixed-point precision of 8-bit resampling ({@code PRECISION_BITS = 32 - 8 - 2}). */
    private static final int PRECISION_BITS = 22;

    /** Pillow's resampling filters, with their codes ({@code PIL.Image.Resampling}) and supports. */
    public enum Filter {
        NEAREST(0, 0.0),
        LANCZOS(1, 3.0),
        BILINEAR(2, 1.0),
        BICUBIC(3, 2.0),
        BOX(4, 0.5),
        HAMMING(5, 1.0);

        private final int pilCode;
        private final double support;

        Filter(int pilCode, double support) {
            this.pilCode = pilCode;
            this.support = support;
        }

        /** The filter of a Pillow resample code (the {@code resample} of a preprocessor config). */
        public static Filter fromPil(int code) {
            for (Filter f : values()) {
                if (f.pilCode == code) {
                    return f;
                }
            }
            throw new IllegalArgumentException("unknown PIL resample filter " + code + " (0..5)");
        }

        public int pilCode() {
            return pilCode;
        }

        /** The filter's weight at distance {@code x} (in input pixels at scale 1): Pillow's filter functions. */
        double weight(double x) {
            double a = Math.abs(x);
            return switch (this) {
                case NEAREST -> throw new IllegalStateException("nearest neighbour has no convolution kernel");
                case BOX -> x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
                case BILINEAR -> a < 1.0 ? 1.0 - a : 0.0;
                case HAMMING -> a == 0.0 ? 1.0 : a >= 1.0 ? 0.0 : sinc(a) * (0.54 + 0.46 * StrictMath.cos(Math.PI * a));
                // Keys' cubic with a = -0.5, as Pillow (PyTorch's bicubic uses -0.75)
                case BICUBIC ->
                    a < 1.0
                            ? ((-0.5 + 2.0) * a - (-0.5 + 3.0)) * a * a + 1
                            : a < 2.0 ? (((a - 5) * a + 8) * a - 4) * -0.5 : 0.0;
                case LANCZOS -> x >= -3.0 && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
            };
        }

        private static double sinc(double x) {
            if (x == 0.0) {
                return 1.0;
            }
            double px = x * Math.PI;
            return StrictMath.sin(px) / px;
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private Resize() {}

    public static float[] lanczos(float[] src, int w, int h, int channels, int newW, int newH) {
        return resample(src, w, h, channels, newW, newH, Filter.LANCZOS);
    }

    /** Resamples floats in [0, 1] (Pillow's arithmetic on float images, clamped to [0, 1]). */
    public static float[] resample(float[] src, int w, int h, int channels, int newW, int newH, Filter filter) {
        if (filter == Filter.NEAREST) {
            return pilNearest(src, new float[newW * newH * channels], w, h, channels, newW, newH);
        }
        float[] horizontal = w == newW ? src : pass(src, w, h, channels, new Weights(w, newW, filter), true);
        return h == newH ? horizontal : pass(horizontal, newW, h, channels, new Weights(h, newH, filter), false);
    }

    /**
     * Resamples 8-bit values (0..255, interleaved), bit for bit as Pillow resizes an 8-bit picture ("L", "RGB"):
     * fixed-point weights, and each pass rounded and clipped to 8 bits.
     */
    public static int[] resample8bit(int[] src, int w, int h, int channels, int newW, int newH, Filter filter) {
        if (filter == Filter.NEAREST) {
            return pilNearest(src, new int[newW * newH * channels], w, h, channels, newW, newH);
        }
        int[] horizontal = w == newW ? src : pass8bit(src, w, h, channels, new Weights(w, newW, filter), true);
        return h == newH ? horizontal : pass8bit(horizontal, newW, h, channels, new Weights(h, newH, filter), false);
    }

    /**
     * Pillow's {@code precompute_coeffs} for one axis: for output pixel {@code o}, the taps
     * {@code first[o] .. first[o] + count[o] - 1} with their normalised weights {@code k[o * ksize + i]}.
     */
    private static final class Weights {
        final int[] first;
        final int[] count;
        final double[] k;
        final int ksize;

        Weights(int in, int out, Filter filter) {
            double scale = (double) in / out;
            double filterScale = Math.max(1.0, scale);
            double support = filter.support * filterScale;
            this.ksize = (int) Math.ceil(support) * 2 + 1;
            this.first = new int[out];
            this.count = new int[out];
            this.k = new double[out * ksize];
            double inverse = 1.0 / filterScale;
            for (int o = 0; o < out; o++) {
                double center = (o + 0.5) * scale;
                int lo = Math.max(0, (int) (center - support + 0.5));
                int hi = Math.min(in, (int) (center + support + 0.5));
                double total = 0;
                for (int i = 0; i < hi - lo; i++) {
                    double wgt = filter.weight((i + lo - center + 0.5) * inverse);
                    k[o * ksize + i] = wgt;
                    total += wgt;
                }
                for (int i = 0; i < hi - lo; i++) {
                    if (total != 0.0) {
                        k[o * ksize + i] /= total;
                    }
                }
                first[o] = lo;
                count[o] = hi - lo;
            }
        }

        /** Pillow's {@code normalize_coeffs_8bpc}: the weights in fixed point, rounded half away from zero. */
        int[] fixedPoint() {
            int[] f = new int[k.length];
            for (int i = 0; i < k.length; i++) {
                double v = k[i] * (1 << PRECISION_BITS);
                f[i] = (int) (v < 0 ? v - 0.5 : v + 0.5);
            }
            return f;
        }
    }

    /** Index of pixel {@code pos} along the pass's axis at position {@code line} across it, channel {@code ch}. */
    private static int index(boolean horizontalAxis, int w, int c, int line, int pos, int ch) {
        return horizontalAxis ? (line * w + pos) * c + ch : (pos * w + line) * c + ch;
    }

    /** One axis: {@code horizontalAxis} resamples the width of a {@code w x h} image, else its height. */
    private static float[] pass(float[] src, int w, int h, int c, Weights wt, boolean horizontalAxis) {
        int n = wt.first.length;
        int outW = horizontalAxis ? n : w;
        int outH = horizontalAxis ? h : n;
        float[] out = new float[outW * outH * c];
        for (int o = 0; o < n; o++) {
            for (int line = 0; line < (horizontalAxis ? h : w); line++) {
                for (int ch = 0; ch < c; ch++) {
                    double acc = 0;
                    for (int i = 0; i < wt.count[o]; i++) {
                        acc += wt.k[o * wt.ksize + i] * src[index(horizontalAxis, w, c, line, wt.first[o] + i, ch)];
                    }
                    out[index(horizontalAxis, outW, c, line, o, ch)] = Math.min(1f, Math.max(0f, (float) acc));
                }
            }
        }
        return out;
    }

    private static int[] pass8bit(int[] src, int w, int h, int c, Weights wt, boolean horizontalAxis) {
        int n = wt.first.length;
        int outW = horizontalAxis ? n : w;
        int outH = horizontalAxis ? h : n;
        int[] fixed = wt.fixedPoint();
        int[] out = new int[outW * outH * c];
        for (int o = 0; o < n; o++) {
            for (int line = 0; line < (horizontalAxis ? h : w); line++) {
                for (int ch = 0; ch < c; ch++) {
                    int acc = 1 << (PRECISION_BITS - 1);
                    for (int i = 0; i < wt.count[o]; i++) {
                        acc += src[index(horizontalAxis, w, c, line, wt.first[o] + i, ch)] * fixed[o * wt.ksize + i];
                    }
                    out[index(horizontalAxis, outW, c, line, o, ch)] =
                            Math.min(255, Math.max(0, acc >> PRECISION_BITS));
                }
            }
        }
        return out;
    }

    /** Pillow's nearest neighbour: the input pixel under the output pixel's centre, {@code (o + 0.5) * in / out}. */
    private static int pilSource(int o, int in, int out) {
        return Math.min(in - 1, (int) ((o + 0.5) * ((double) in / out)));
    }

    /** Pillow's nearest neighbour of {@code src} into {@code out} (two arrays of one primitive type). */
    private static <A> A pilNearest(A src, A out, int w, int h, int c, int newW, int newH) {
        for (int y = 0; y < newH; y++) {
            int sy = pilSource(y, h, newH);
            for (int x = 0; x < newW; x++) {
                System.arraycopy(src, (sy * w + pilSource(x, w, newW)) * c, out, (y * newW + x) * c, c);
            }
        }
        return out;
    }

    /**
     * Nearest neighbour as PyTorch's {@code interpolate(mode="nearest")}: {@code src = floor(dst * in / out)} (not
     * Pillow's centre rule; diffusers resizes masks with PyTorch).
     */
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

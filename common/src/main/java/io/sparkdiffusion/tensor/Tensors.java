package io.sparkdiffusion.tensor;

import java.util.Arrays;
import java.util.List;

/**
 * Element-wise arithmetic and batch-axis helpers for {@link Tensor}. Scalars arrive as {@code double} (the
 * schedulers compute their coefficients in double) and are applied in float, as PyTorch applies a Python float to
 * a float32 tensor.
 */
public final class Tensors {
    private Tensors() {}

    /** {@code a*x + b*y}, a new tensor. */
    public static Tensor lincomb(double a, Tensor x, double b, Tensor y) {
        checkSameShape(x, y);
        float[] xd = x.data();
        float[] yd = y.data();
        float[] out = new float[xd.length];
        float fa = (float) a;
        float fb = (float) b;
        for (int i = 0; i < out.length; i++) {
            out[i] = fa * xd[i] + fb * yd[i];
        }
        return new Tensor(x.shape(), out);
    }

    /** {@code a*x + b*y + c*z}, a new tensor. */
    public static Tensor lincomb(double a, Tensor x, double b, Tensor y, double c, Tensor z) {
        checkSameShape(x, y);
        checkSameShape(x, z);
        float[] xd = x.data();
        float[] yd = y.data();
        float[] zd = z.data();
        float[] out = new float[xd.length];
        float fa = (float) a;
        float fb = (float) b;
        float fc = (float) c;
        for (int i = 0; i < out.length; i++) {
            out[i] = fa * xd[i] + fb * yd[i] + fc * zd[i];
        }
        return new Tensor(x.shape(), out);
    }

    public static Tensor scale(Tensor x, double a) {
        float[] xd = x.data();
        float[] out = new float[xd.length];
        float fa = (float) a;
        for (int i = 0; i < out.length; i++) {
            out[i] = xd[i] * fa;
        }
        return new Tensor(x.shape(), out);
    }

    public static Tensor add(Tensor x, Tensor y) {
        return lincomb(1, x, 1, y);
    }

    public static Tensor sub(Tensor x, Tensor y) {
        return lincomb(1, x, -1, y);
    }

    /** Clamps every value to [lo, hi], a new tensor. */
    public static Tensor clamp(Tensor x, double lo, double hi) {
        float[] xd = x.data();
        float[] out = new float[xd.length];
        float flo = (float) lo;
        float fhi = (float) hi;
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.min(fhi, Math.max(flo, xd[i]));
        }
        return new Tensor(x.shape(), out);
    }

    /** Concatenates along axis 0 (the batch axis). */
    public static Tensor concatBatch(List<Tensor> parts) {
        return concatBatchInto(null, parts);
    }

    /**
     * {@link #concatBatch} into {@code into} when it has the result's size (a new array otherwise): the result shares
     * that array, for a loop that feeds the same shape at every step and has no use for the previous one.
     */
    public static Tensor concatBatchInto(float[] into, List<Tensor> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("nothing to concatenate");
        }
        long[] first = parts.get(0).shape();
        long rows = 0;
        int total = 0;
        for (Tensor p : parts) {
            long[] s = p.shape();
            if (s.length != first.length
                    || !Arrays.equals(Arrays.copyOfRange(s, 1, s.length), Arrays.copyOfRange(first, 1, first.length))) {
                throw new IllegalArgumentException("cannot concatenate " + Arrays.toString(s) + " with "
                        + Arrays.toString(first) + " on the batch axis");
            }
            rows += s[0];
            total += p.size();
        }
        float[] out = into != null && into.length == total ? into : new float[total];
        int off = 0;
        for (Tensor p : parts) {
            System.arraycopy(p.data(), 0, out, off, p.size());
            off += p.size();
        }
        long[] shape = first.clone();
        shape[0] = rows;
        return new Tensor(shape, out);
    }

    public static Tensor concatBatch(Tensor... parts) {
        return concatBatch(Arrays.asList(parts));
    }

    /** Rows [from, to) of axis 0, copied. */
    public static Tensor sliceBatch(Tensor x, int from, int to) {
        int row = x.rowSize();
        long[] shape = x.shape();
        shape[0] = (long) to - from;
        return new Tensor(shape, Arrays.copyOfRange(x.data(), from * row, to * row));
    }

    /** Concatenates along the last axis (e.g. the two SDXL text encoders' hidden states). */
    public static Tensor concatLastAxis(Tensor a, Tensor b) {
        long[] sa = a.shape();
        long[] sb = b.shape();
        if (sa.length != sb.length
                || !Arrays.equals(Arrays.copyOf(sa, sa.length - 1), Arrays.copyOf(sb, sb.length - 1))) {
            throw new IllegalArgumentException(
                    "cannot concatenate " + Arrays.toString(sa) + " and " + Arrays.toString(sb) + " on the last axis");
        }
        int ca = (int) sa[sa.length - 1];
        int cb = (int) sb[sb.length - 1];
        int outer = a.size() / ca;
        float[] out = new float[a.size() + b.size()];
        for (int i = 0; i < outer; i++) {
            System.arraycopy(a.data(), i * ca, out, i * (ca + cb), ca);
            System.arraycopy(b.data(), i * cb, out, i * (ca + cb) + ca, cb);
        }
        long[] s = sa.clone();
        s[s.length - 1] = (long) ca + cb;
        return new Tensor(s, out);
    }

    /** Concatenates along axis 1 (channels of NCHW), as the 9-channel inpainting UNet input needs. */
    public static Tensor concatChannels(Tensor... parts) {
        long batch = parts[0].dim(0);
        int totalRow = 0;
        for (Tensor p : parts) {
            if (p.dim(0) != batch) {
                throw new IllegalArgumentException("batch sizes differ: " + p + " vs " + parts[0]);
            }
            totalRow += p.rowSize();
        }
        float[] out = new float[(int) batch * totalRow];
        long channels = 0;
        for (Tensor p : parts) {
            channels += p.dim(1);
        }
        for (int b = 0; b < batch; b++) {
            int off = b * totalRow;
            for (Tensor p : parts) {
                System.arraycopy(p.data(), b * p.rowSize(), out, off, p.rowSize());
                off += p.rowSize();
            }
        }
        long[] shape = parts[0].shape();
        shape[1] = channels;
        return new Tensor(shape, out);
    }

    /** Largest absolute element-wise difference; shapes must match. */
    public static double maxAbsDiff(Tensor x, Tensor y) {
        checkSameShape(x, y);
        double m = 0;
        float[] xd = x.data();
        float[] yd = y.data();
        for (int i = 0; i < xd.length; i++) {
            m = Math.max(m, Math.abs((double) xd[i] - yd[i]));
        }
        return m;
    }

    public static void checkSameShape(Tensor x, Tensor y) {
        if (!Arrays.equals(x.shape(), y.shape())) {
            throw new IllegalArgumentException(
                    "shapes differ: " + Arrays.toString(x.shape()) + " vs " + Arrays.toString(y.shape()));
        }
    }

    /** NCHW (or N,C,H,W of any C) to NHWC, as diffusers' {@code permute(0, 2, 3, 1)}. */
    public static Tensor nchwToNhwc(Tensor x) {
        long[] s = x.shape();
        int n = (int) s[0];
        int c = (int) s[1];
        int h = (int) s[2];
        int w = (int) s[3];
        float[] in = x.data();
        float[] out = new float[in.length];
        int hw = h * w;
        for (int b = 0; b < n; b++) {
            int base = b * c * hw;
            for (int ch = 0; ch < c; ch++) {
                for (int p = 0; p < hw; p++) {
                    out[base + p * c + ch] = in[base + ch * hw + p];
                }
            }
        }
        return new Tensor(new long[] {n, h, w, c}, out);
    }

    /** NHWC to NCHW. */
    public static Tensor nhwcToNchw(Tensor x) {
        long[] s = x.shape();
        int n = (int) s[0];
        int h = (int) s[1];
        int w = (int) s[2];
        int c = (int) s[3];
        float[] in = x.data();
        float[] out = new float[in.length];
        int hw = h * w;
        for (int b = 0; b < n; b++) {
            int base = b * c * hw;
            for (int ch = 0; ch < c; ch++) {
                for (int p = 0; p < hw; p++) {
                    out[base + ch * hw + p] = in[base + p * c + ch];
                }
            }
        }
        return new Tensor(new long[] {n, c, h, w}, out);
    }
}

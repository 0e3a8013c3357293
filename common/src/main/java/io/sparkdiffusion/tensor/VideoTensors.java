package io.sparkdiffusion.tensor;

import java.util.Arrays;

/**
 * Axis shuffles of video tensors. Text-to-video (ModelScope) latents are {@code (B, C, F, h, w)}, Stable Video
 * Diffusion latents {@code (B, F, C, h, w)}; per-frame components (2D VAE, schedulers) see {@code (B*F, C, h, w)}.
 */
public final class VideoTensors {
    private VideoTensors() {}

    /** Swaps axes 1 and 2 of a tensor of rank 3 or more ({@code permute(0, 2, 1, ...)}), a new tensor. */
    public static Tensor swapAxes12(Tensor x) {
        long[] s = x.shape();
        if (s.length < 3) {
            throw new IllegalArgumentException("swapAxes12 needs rank >= 3, got " + x);
        }
        int a = (int) s[0];
        int p = (int) s[1];
        int q = (int) s[2];
        int inner = (int) (x.size() / ((long) a * p * q));
        float[] in = x.data();
        float[] out = new float[in.length];
        for (int i = 0; i < a; i++) {
            int base = i * p * q * inner;
            for (int j = 0; j < p; j++) {
                for (int k = 0; k < q; k++) {
                    System.arraycopy(in, base + (j * q + k) * inner, out, base + (k * p + j) * inner, inner);
                }
            }
        }
        long[] shape = s.clone();
        shape[1] = q;
        shape[2] = p;
        return new Tensor(shape, out);
    }

    /** {@code (B, C, F, h, w)} to per-frame images {@code (B*F, C, h, w)}: {@code permute(0, 2, 1, 3, 4).reshape}. */
    public static Tensor channelsFirstToFrames(Tensor bcfhw) {
        checkRank(bcfhw, 5);
        long[] s = bcfhw.shape();
        return swapAxes12(bcfhw).reshape(s[0] * s[2], s[1], s[3], s[4]);
    }

    /** Per-frame images {@code (B*F, C, h, w)} back to {@code (B, C, F, h, w)}. */
    public static Tensor framesToChannelsFirst(Tensor frames, int batch) {
        checkRank(frames, 4);
        long[] s = frames.shape();
        if (s[0] % batch != 0) {
            throw new IllegalArgumentException(frames + " does not split into " + batch + " videos");
        }
        return swapAxes12(frames.reshape(batch, s[0] / batch, s[1], s[2], s[3]));
    }

    /** Concatenates two {@code (N, F, C, h, w)} tensors on axis 2 (SVD's channel axis). */
    public static Tensor concatAxis2(Tensor a, Tensor b) {
        checkRank(a, 5);
        checkRank(b, 5);
        long[] sa = a.shape();
        long[] sb = b.shape();
        if (sa[0] != sb[0] || sa[1] != sb[1] || sa[3] != sb[3] || sa[4] != sb[4]) {
            throw new IllegalArgumentException("cannot concatenate " + a + " and " + b + " on axis 2");
        }
        Tensor flat = Tensors.concatChannels(
                a.reshape(sa[0] * sa[1], sa[2], sa[3], sa[4]), b.reshape(sb[0] * sb[1], sb[2], sb[3], sb[4]));
        return flat.reshape(sa[0], sa[1], sa[2] + sb[2], sa[3], sa[4]);
    }

    /** {@code (B, C, h, w)} to {@code (B, F, C, h, w)}, each image repeated over F frames ({@code unsqueeze(1).repeat}). */
    public static Tensor repeatFrames(Tensor bchw, int frames) {
        checkRank(bchw, 4);
        long[] s = bchw.shape();
        int row = bchw.rowSize();
        float[] in = bchw.data();
        float[] out = new float[in.length * frames];
        for (int b = 0; b < s[0]; b++) {
            for (int f = 0; f < frames; f++) {
                System.arraycopy(in, b * row, out, (b * frames + f) * row, row);
            }
        }
        return new Tensor(new long[] {s[0], frames, s[1], s[2], s[3]}, out);
    }

    private static void checkRank(Tensor x, int rank) {
        if (x.rank() != rank) {
            throw new IllegalArgumentException("expected rank " + rank + ", got " + Arrays.toString(x.shape()));
        }
    }
}

package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.tensor.Tensor;

/**
 * A learned variance (Nichol &amp; Dhariwal 2021, arXiv:2102.09672, eq. 15), as diffusers' DDPM and unCLIP schedulers
 * read it: the model predicts twice the sample's channels, the mean's input first and the variance's after
 * ({@code torch.split(model_output, C, dim=1)}); with {@code variance_type = learned_range} the second half {@code v}
 * interpolates in log space between the posterior variance and beta:
 * {@code log var = f log(beta) + (1 - f) log(posterior)}, {@code f = (v + 1) / 2}, and the noise is scaled by
 * {@code exp(0.5 log var)}.
 */
final class LearnedVariance {
    private LearnedVariance() {}

    /** Whether the model output carries a variance half: twice the sample's channels on axis 1. */
    static boolean present(Tensor modelOutput, Tensor sample) {
        return modelOutput.rank() > 1 && sample.rank() > 1 && modelOutput.dim(1) == 2 * sample.dim(1);
    }

    /** Splits axis 1 into {@code [0, first)} and the rest (diffusers {@code torch.split(x, first, dim=1)}). */
    static Tensor[] split(Tensor x, int first) {
        long[] shape = x.shape();
        int channels = (int) shape[1];
        int inner = x.rowSize() / channels;
        int batch = (int) shape[0];
        long[] s1 = shape.clone();
        s1[1] = first;
        long[] s2 = shape.clone();
        s2[1] = (long) channels - first;
        float[] a = new float[batch * first * inner];
        float[] b = new float[batch * (channels - first) * inner];
        float[] d = x.data();
        for (int r = 0; r < batch; r++) {
            System.arraycopy(d, r * channels * inner, a, r * first * inner, first * inner);
            System.arraycopy(
                    d, (r * channels + first) * inner, b, r * (channels - first) * inner, (channels - first) * inner);
        }
        return new Tensor[] {new Tensor(s1, a), new Tensor(s2, b)};
    }

    /**
     * {@code mean + exp(0.5 (f log(beta) + (1 - f) log(posterior))) * z} element-wise, {@code f = (v + 1) / 2}
     * (learned_range).
     */
    static Tensor addRangeNoise(Tensor mean, Tensor v, Tensor z, double posterior, double beta) {
        double minLog = Math.log(posterior);
        double maxLog = Math.log(beta);
        float[] m = mean.data();
        float[] p = v.data();
        float[] zd = z.data();
        float[] out = new float[m.length];
        for (int i = 0; i < out.length; i++) {
            double frac = (p[i] + 1) / 2.0;
            double logVar = frac * maxLog + (1 - frac) * minLog;
            out[i] = (float) (m[i] + Math.exp(0.5 * logVar) * zd[i]);
        }
        return new Tensor(mean.shape(), out);
    }

    /** {@code mean + sqrt(v) * z} element-wise ({@code variance_type = learned}: the model predicts the variance). */
    static Tensor addNoise(Tensor mean, Tensor v, Tensor z) {
        float[] m = mean.data();
        float[] p = v.data();
        float[] zd = z.data();
        float[] out = new float[m.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = m[i] + (float) Math.sqrt(p[i]) * zd[i];
        }
        return new Tensor(mean.shape(), out);
    }
}

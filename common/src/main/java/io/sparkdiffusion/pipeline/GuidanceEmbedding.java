package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.tensor.Tensor;

/**
 * The guidance-scale embedding that LCM-distilled UNets ({@code time_cond_proj_dim} in their config) take as the
 * input {@code timestep_cond} instead of running classifier-free guidance: diffusers'
 * {@code get_guidance_scale_embedding(w, embedding_dim)} with {@code w = guidance_scale - 1}, after VDM's
 * sinusoidal embedding (Kingma et al. 2021, google-research/vdm model_vdm.py):
 *
 * <pre>
 *   half = dim / 2;  f_i = exp(-i * ln(10000) / (half - 1)),  i = 0..half-1
 *   emb  = [sin(1000 w f_0) .. sin(1000 w f_{half-1}), cos(1000 w f_0) .. cos(1000 w f_{half-1})] (+ one 0 if dim is odd)
 * </pre>
 *
 * Every intermediate is rounded to float32, as torch computes it: the arguments reach 1000 w (several thousand), so
 * computing them in double would move the sines by up to about 1e-3.
 */
final class GuidanceEmbedding {
    private GuidanceEmbedding() {}

    /** The embedding of one guidance scale, repeated for {@code rows} rows: shape {@code (rows, dim)}. */
    public static Tensor of(double guidanceScale, int dim, int rows) {
        if (dim < 4) {
            throw new IllegalArgumentException("guidance embedding dimension must be at least 4, got " + dim);
        }
        int half = dim / 2;
        float w = (float) (guidanceScale - 1.0) * 1000f;
        float rate = (float) Math.log(10000.0) / (half - 1);
        float[] one = new float[dim];
        for (int i = 0; i < half; i++) {
            float frequency = (float) Math.exp(i * -rate);
            float angle = w * frequency;
            one[i] = (float) Math.sin(angle);
            one[half + i] = (float) Math.cos(angle);
        }
        float[] all = new float[rows * dim];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(one, 0, all, r * dim, dim);
        }
        return new Tensor(new long[] {rows, dim}, all);
    }
}

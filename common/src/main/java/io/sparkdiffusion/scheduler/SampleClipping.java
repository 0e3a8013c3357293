package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import java.util.Arrays;

/**
 * What diffusers does to the predicted clean sample x0 before a step uses it ("clip or threshold predicted x_0"):
 * <ul>
 *   <li>{@code thresholding}: dynamic thresholding (Saharia et al. 2022, arXiv:2205.11487, Section 2.3; diffusers
 *       {@code _threshold_sample}): per sample, {@code s} = the {@code dynamic_thresholding_ratio} quantile of
 *       {@code |x0|} (torch.quantile's linear interpolation) clamped to {@code [1, sample_max_value]}, then
 *       {@code x0 = clamp(x0, -s, s) / s};
 *   <li>otherwise {@code clip_sample}: x0 clamped to {@code [-clip_sample_range, clip_sample_range]}.
 * </ul>
 * A class without the keys gets neither; the default of {@code clip_sample} differs per class (its
 * {@link SchedulerConfig.Keys}).
 */
final class SampleClipping {
    private final boolean clip;
    private final double range;
    private final boolean thresholding;
    private final double ratio;
    private final double maxValue;

    private SampleClipping(boolean clip, double range, boolean thresholding, double ratio, double maxValue) {
        this.clip = clip;
        this.range = range;
        this.thresholding = thresholding;
        this.ratio = ratio;
        this.maxValue = maxValue;
    }

    /** The clipping of {@code config}'s class; none for the keys it does not declare. */
    static SampleClipping from(SchedulerConfig config) {
        boolean clip = config.declares("clip_sample") && config.bool("clip_sample");
        boolean thresholding = config.declares("thresholding") && config.bool("thresholding");
        return new SampleClipping(
                clip,
                clip ? config.real("clip_sample_range") : 1.0,
                thresholding,
                thresholding ? config.real("dynamic_thresholding_ratio") : 1.0,
                thresholding ? config.real("sample_max_value") : 1.0);
    }

    /** Whether dynamic thresholding is on. */
    boolean thresholds() {
        return thresholding;
    }

    /** x0 thresholded, or clipped, or unchanged. */
    Tensor apply(Tensor x0) {
        if (thresholding) {
            return threshold(x0);
        }
        return clip ? Tensors.clamp(x0, -range, range) : x0;
    }

    /** diffusers {@code _threshold_sample} on {@code (B, ...)}: one threshold per row of the batch. */
    Tensor threshold(Tensor x0) {
        int rows = (int) x0.dim(0);
        int n = x0.size() / rows;
        float[] x = x0.data();
        float[] out = new float[x.length];
        float[] abs = new float[n];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) {
                abs[i] = Math.abs(x[r * n + i]);
            }
            float s = quantile(abs, (float) ratio);
            s = (float) Math.min(Math.max(s, 1f), maxValue); // torch.clamp(s, min=1, max=sample_max_value)
            for (int i = 0; i < n; i++) {
                float v = Math.min(Math.max(x[r * n + i], -s), s);
                out[r * n + i] = v / s;
            }
        }
        return new Tensor(x0.shape(), out);
    }

    /**
     * {@code torch.quantile(values, q)} with its default linear interpolation, in float32 as torch computes it on a
     * float32 tensor: {@code rank = q (n - 1)}, {@code lerp(sorted[floor(rank)], sorted[ceil(rank)], rank - floor)}.
     * Sorts {@code values} in place.
     */
    static float quantile(float[] values, float q) {
        Arrays.sort(values);
        float rank = q * (values.length - 1);
        int below = (int) rank;
        int above = (int) Math.ceil(rank);
        float w = rank - below;
        float lo = values[below];
        float hi = values[above];
        // torch.lerp: start + w (end - start) for w < 0.5, end - (end - start)(1 - w) otherwise
        return w < 0.5f ? lo + w * (hi - lo) : hi - (hi - lo) * (1 - w);
    }
}

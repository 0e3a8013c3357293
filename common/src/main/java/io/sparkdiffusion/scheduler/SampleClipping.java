package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;

/**
 * diffusers' {@code clip_sample} / {@code clip_sample_range}: the predicted clean sample x0 clamped to
 * {@code [-range, range]} before the step uses it. The default of {@code clip_sample} differs per scheduler class
 * (its {@link SchedulerConfig.Keys}).
 */
final class SampleClipping {
    private final boolean enabled;
    private final double range;

    private SampleClipping(boolean enabled, double range) {
        this.enabled = enabled;
        this.range = range;
    }

    /** The clipping of {@code config}'s class (its own default of {@code clip_sample}); none without the key. */
    static SampleClipping from(SchedulerConfig config) {
        boolean enabled = config.declares("clip_sample") && config.bool("clip_sample");
        return new SampleClipping(enabled, enabled ? config.real("clip_sample_range") : 1.0);
    }

    Tensor apply(Tensor x0) {
        return enabled ? Tensors.clamp(x0, -range, range) : x0;
    }
}

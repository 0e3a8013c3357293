package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;

/**
 * diffusers' {@code clip_sample} / {@code clip_sample_range}: the predicted clean sample x0 clamped to
 * {@code [-range, range]} before the step uses it. The default of {@code clip_sample} differs per scheduler class.
 */
final class SampleClipping {
    private final boolean enabled;
    private final double range;

    private SampleClipping(boolean enabled, double range) {
        this.enabled = enabled;
        this.range = range;
    }

    static SampleClipping from(JsonConfig config, boolean enabledByDefault) {
        return new SampleClipping(
                config.getBoolean("clip_sample", enabledByDefault), config.getDouble("clip_sample_range", 1.0));
    }

    Tensor apply(Tensor x0) {
        return enabled ? Tensors.clamp(x0, -range, range) : x0;
    }
}

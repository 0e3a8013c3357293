package io.sparkdiffusion.quality;

import io.sparkdiffusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Pictures to score: {@code images} {@code (B, H, W, C)} in [0, 1] as a pipeline returns them (C = 1 or 3), the
 * prompt each was generated from, and each picture's expected label for a classifier (null entries: none given; a
 * classifier then looks for one of its labels in the prompt). Prompts and labels are copied; entries may be null.
 */
public record ScoringBatch(Tensor images, List<String> prompts, List<String> expectedLabels) {
    public ScoringBatch {
        long[] s = images.shape();
        if (s.length != 4 || (s[3] != 1 && s[3] != 3)) {
            throw new IllegalArgumentException(
                    "pictures to score must be (B, H, W, 1 or 3) in [0, 1], got " + Arrays.toString(s));
        }
        int n = (int) s[0];
        prompts = copy(prompts, n, "prompts");
        expectedLabels = copy(expectedLabels, n, "expected labels");
    }

    /** Pictures and their prompts, no expected labels. */
    public static ScoringBatch of(Tensor images, List<String> prompts) {
        return new ScoringBatch(images, prompts, null);
    }

    /** The number of pictures. */
    public int size() {
        return (int) images.dim(0);
    }

    private static List<String> copy(List<String> values, int n, String what) {
        if (values == null) {
            return Collections.nCopies(n, null);
        }
        if (values.size() != n) {
            throw new IllegalArgumentException(n + " pictures but " + values.size() + " " + what);
        }
        return Collections.unmodifiableList(new ArrayList<>(values));
    }
}

package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.sparkdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** How a call's per-row feeds are cut into the rows of one UNet call. */
class ConditionedUnetRowsTest {
    /** Rows 0..n-1 of two values each, the value being 10 x row + column. */
    private static Tensor rows(int n) {
        float[] d = new float[n * 2];
        for (int r = 0; r < n; r++) {
            d[2 * r] = 10 * r;
            d[2 * r + 1] = 10 * r + 1;
        }
        return new Tensor(new long[] {n, 2}, d);
    }

    @Test
    void aPerRowFeedGivesItsRows() {
        assertArrayEquals(
                new float[] {10, 11, 20, 21},
                ConditionedUnet.rowsOf(rows(3), 1, 3, 3).data());
    }

    @Test
    void aGuidedFeedGivesTheSameRowsOfBothHalvesNegativesFirst() {
        // 3 rows guided: negatives are rows 0-2, prompts rows 3-5; rows [1, 3) are 1, 2 then 4, 5
        Tensor t = ConditionedUnet.rowsOf(rows(6), 1, 3, 3);
        assertArrayEquals(new long[] {4, 2}, t.shape());
        assertArrayEquals(new float[] {10, 11, 20, 21, 40, 41, 50, 51}, t.data());
    }

    @Test
    void aSharedFeedAndTheWholeCallAreLeftAsTheyAre() {
        Tensor shared = rows(1);
        assertSame(shared, ConditionedUnet.rowsOf(shared, 1, 2, 3), "a batch of 1 shared by every row");
        Tensor all = rows(6);
        assertSame(all, ConditionedUnet.rowsOf(all, 0, 3, 3));
        Tensor scalar = new Tensor(new long[0], new float[] {5});
        assertSame(scalar, ConditionedUnet.rowsOf(scalar, 1, 2, 3));
    }
}

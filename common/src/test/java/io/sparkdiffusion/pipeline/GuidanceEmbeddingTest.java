package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The shape rules of the LCM guidance embedding; its values are checked against diffusers by LcmDistilledParityTest. */
class GuidanceEmbeddingTest {
    @Test
    void oneRowPerBatchRowSinesThenCosines() {
        Tensor e = GuidanceEmbedding.of(8.5, 8, 3);
        assertArrayEquals(new long[] {3, 8}, e.shape());
        float[] d = e.data();
        for (int r = 1; r < 3; r++) {
            for (int i = 0; i < 8; i++) {
                assertEquals(d[i], d[r * 8 + i], "row " + r + " repeats row 0");
            }
        }
        for (int i = 0; i < 4; i++) {
            // each frequency gives a (sin, cos) pair on the unit circle
            assertEquals(1.0, d[i] * d[i] + d[4 + i] * d[4 + i], 1e-6);
        }
        // the first frequency is 1: the angle is 1000 * (8.5 - 1)
        assertEquals(Math.sin(7500.0), d[0], 1e-3);
    }

    @Test
    void guidanceOneIsTheZeroAngle() {
        float[] d = GuidanceEmbedding.of(1.0, 6, 1).data();
        assertArrayEquals(new float[] {0, 0, 0, 1, 1, 1}, d);
    }

    @Test
    void anOddWidthEndsWithAZeroPad() {
        Tensor e = GuidanceEmbedding.of(2.0, 7, 2);
        assertArrayEquals(new long[] {2, 7}, e.shape());
        assertEquals(0f, e.data()[6]);
        assertEquals(0f, e.data()[13]);
        assertTrue(e.data()[0] != 0f);
    }

    @Test
    void aWidthTooSmallIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> GuidanceEmbedding.of(2.0, 3, 1));
    }
}

package io.sparkdiffusion.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Concatenation on the batch axis, into a new array or into the caller's when it has the result's size. */
class TensorsConcatTest {
    private static final Tensor A = new Tensor(new long[] {1, 2}, new float[] {1f, 2f});
    private static final Tensor B = new Tensor(new long[] {2, 2}, new float[] {3f, 4f, 5f, 6f});

    @Test
    void concatenatesRowsIntoTheCallersArrayWhenItFits() {
        float[] mine = new float[6];
        Tensor both = Tensors.concatBatchInto(mine, List.of(A, B));
        assertSame(mine, both.data());
        assertArrayEquals(new long[] {3, 2}, both.shape());
        assertArrayEquals(Tensors.concatBatch(A, B).data(), both.data(), 0f);
        assertArrayEquals(new float[] {1f, 2f, 3f, 4f, 5f, 6f}, mine, 0f);

        Tensor twice = Tensors.concatBatchInto(mine, List.of(A, A));
        assertNotSame(mine, twice.data(), "another size: an array of its own");
        assertArrayEquals(new float[] {1f, 2f, 1f, 2f}, twice.data(), 0f);
        assertArrayEquals(new float[] {1f, 2f, 3f, 4f, 5f, 6f}, mine, 0f, "the caller's array left as it was");

        Tensor other = new Tensor(new long[] {1, 3}, new float[] {1f, 2f, 3f});
        assertThrows(IllegalArgumentException.class, () -> Tensors.concatBatchInto(new float[5], List.of(A, other)));
    }
}

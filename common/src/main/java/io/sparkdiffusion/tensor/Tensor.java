package io.sparkdiffusion.tensor;

import java.util.Arrays;

/**
 * A dense float32 tensor in row-major (C) order: the one array type the engine passes between the tokenizer,
 * ONNX Runtime, the schedulers and the image writers. Shapes use {@code long} like ONNX Runtime does.
 *
 * <p>Element-wise arithmetic lives in {@link Tensors}; this class only owns the storage and shape bookkeeping.
 */
public final class Tensor {
    private final long[] shape;
    private final float[] data;

    public Tensor(long[] shape, float[] data) {
        long n = numel(shape);
        if (n != data.length) {
            throw new IllegalArgumentException(
                    "shape " + Arrays.toString(shape) + " holds " + n + " values but the data has " + data.length);
        }
        this.shape = shape.clone();
        this.data = data;
    }

    public static Tensor zeros(long... shape) {
        return new Tensor(shape, new float[Math.toIntExact(numel(shape))]);
    }

    public static Tensor full(float value, long... shape) {
        float[] d = new float[Math.toIntExact(numel(shape))];
        Arrays.fill(d, value);
        return new Tensor(shape, d);
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n *= s;
        }
        return n;
    }

    /** The shape (a copy). */
    public long[] shape() {
        return shape.clone();
    }

    public long dim(int axis) {
        return shape[axis < 0 ? shape.length + axis : axis];
    }

    public int rank() {
        return shape.length;
    }

    /** The backing array, not a copy: callers that mutate it own the tensor. */
    public float[] data() {
        return data;
    }

    public int size() {
        return data.length;
    }

    /** Same data, another shape with the same element count. */
    public Tensor reshape(long... newShape) {
        return new Tensor(newShape, data);
    }

    public Tensor copy() {
        return new Tensor(shape, data.clone());
    }

    /** Number of elements of one batch row (everything after axis 0). */
    public int rowSize() {
        return shape.length == 0 ? 1 : (int) (data.length / Math.max(1, shape[0]));
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}

package io.sparkdiffusion.testing;

import io.sparkdiffusion.testing.OnnxGraphs.Msg;

/**
 * Writes tiny ONNX models (protobuf by hand) for tests that need an export with particular input types and ranks:
 * {@code y = Add(x, Cast(t, to = type of x))}, with x of element type {@code xType} and shape [batch], t of
 * element type {@code tType} and the given rank (0 = scalar, 1 = [1] or [batch]).
 */
public final class TinyOnnx {
    public static final int FLOAT = 1;
    public static final int INT32 = 6;
    public static final int INT64 = 7;
    public static final int FLOAT16 = 10;

    private TinyOnnx() {}

    /** @param tDims null for a scalar, else the dims of t (a negative entry is the symbolic "batch") */
    public static byte[] addCast(int xType, int tType, long[] tDims) {
        Msg cast = new Msg()
                .str(1, "t")
                .str(2, "tc")
                .str(4, "Cast")
                .msg(5, new Msg().str(1, "to").varint(3, xType).varint(20, 2));
        Msg add = new Msg().str(1, "x").str(1, "tc").str(2, "y").str(4, "Add");
        Msg graph = new Msg()
                .msg(1, cast)
                .msg(1, add)
                .str(2, "tiny")
                .msg(11, valueInfo("x", xType, new long[] {-1}))
                .msg(11, valueInfo("t", tType, tDims))
                .msg(12, valueInfo("y", xType, new long[] {-1}));
        return new Msg()
                .varint(1, 8)
                .msg(8, new Msg().str(1, "").varint(2, 17))
                .msg(7, graph)
                .bytes();
    }

    private static Msg valueInfo(String name, int type, long[] dims) {
        Msg shape = new Msg();
        if (dims != null) {
            for (long d : dims) {
                shape.msg(1, d < 0 ? new Msg().str(2, "batch") : new Msg().varint(1, d));
            }
        }
        Msg tensor = new Msg().varint(1, type).msg(2, shape);
        return new Msg().str(1, name).msg(2, new Msg().msg(1, tensor));
    }
}

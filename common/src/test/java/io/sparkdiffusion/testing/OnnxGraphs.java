package io.sparkdiffusion.testing;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Hand-written ONNX graphs (protobuf, opset 17) with chosen input and output names, element types and ranks, to
 * stand in for a component of a model folder in tests of {@code validate}: a VAE decoder whose output is renamed, a
 * graph with float16 inputs, a text encoder without {@code hidden_states.*}, a graph whose weights live in external
 * data. Every dimension is symbolic, so ONNX Runtime accepts any shape.
 */
public final class OnnxGraphs {
    public static final int FLOAT = 1;
    public static final int INT32 = 6;
    public static final int INT64 = 7;
    public static final int FLOAT16 = 10;

    private final List<Msg> nodes = new ArrayList<>();
    private final List<Msg> initializers = new ArrayList<>();
    private final List<Msg> inputs = new ArrayList<>();
    private final List<Msg> outputs = new ArrayList<>();

    /** A graph under construction. */
    public static OnnxGraphs graph() {
        return new OnnxGraphs();
    }

    /** {@code out = Identity(in)}: rank-{@code rank} tensors of {@code type}. */
    public static byte[] identity(String in, int type, int rank, String out) {
        return graph().input(in, type, rank)
                .node("Identity", new String[] {in}, new String[] {out})
                .output(out, type, rank)
                .bytes();
    }

    /** {@code out = Cast<float>(in)}: {@code in} of {@code inType}, e.g. a float16 input. */
    public static byte[] cast(String in, int inType, int rank, String out) {
        return graph().input(in, inType, rank)
                .node("Cast", new String[] {in}, new String[] {out}, "to", FLOAT)
                .output(out, FLOAT, rank)
                .bytes();
    }

    /**
     * {@code out = Add(in, w)} with a one-float initializer {@code w} stored in the external file {@code location}
     * (bytes 0..4); {@link #externalWeight()} gives that file's content.
     */
    public static byte[] withExternalWeight(String in, int rank, String out, String location) {
        OnnxGraphs g = graph().input(in, FLOAT, rank);
        g.initializers.add(new Msg()
                .varint(1, 1)
                .varint(2, FLOAT)
                .str(8, "w")
                .msg(13, new Msg().str(1, "location").str(2, location))
                .msg(13, new Msg().str(1, "offset").str(2, "0"))
                .msg(13, new Msg().str(1, "length").str(2, "4"))
                .varint(14, 1));
        return g.node("Add", new String[] {in, "w"}, new String[] {out})
                .output(out, FLOAT, rank)
                .bytes();
    }

    /** The external data file of {@link #withExternalWeight}: one float, 0.5. */
    public static byte[] externalWeight() {
        return ByteBuffer.allocate(4)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(0.5f)
                .array();
    }

    public OnnxGraphs input(String name, int type, int rank) {
        inputs.add(valueInfo(name, type, rank));
        return this;
    }

    public OnnxGraphs output(String name, int type, int rank) {
        outputs.add(valueInfo(name, type, rank));
        return this;
    }

    public OnnxGraphs node(String op, String[] in, String[] out) {
        nodes.add(nodeMsg(op, in, out));
        return this;
    }

    /** A node with one integer attribute. */
    public OnnxGraphs node(String op, String[] in, String[] out, String attribute, long value) {
        nodes.add(nodeMsg(op, in, out)
                .msg(5, new Msg().str(1, attribute).varint(3, value).varint(20, 2)));
        return this;
    }

    /** An int64 initializer holding {@code values} (1-D), e.g. Unsqueeze's axes. */
    public OnnxGraphs int64s(String name, long... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        initializers.add(
                new Msg().varint(1, values.length).varint(2, INT64).str(8, name).raw(9, b.array()));
        return this;
    }

    /** A float16 initializer holding {@code values} (1-D, rounded to float16). */
    public OnnxGraphs float16s(String name, float... values) {
        ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putShort(io.sparkdiffusion.tensor.Float16.fromFloat(v));
        }
        initializers.add(new Msg()
                .varint(1, values.length)
                .varint(2, FLOAT16)
                .str(8, name)
                .raw(9, b.array()));
        return this;
    }

    public byte[] bytes() {
        Msg graph = new Msg();
        nodes.forEach(n -> graph.msg(1, n));
        graph.str(2, "test");
        initializers.forEach(i -> graph.msg(5, i));
        inputs.forEach(i -> graph.msg(11, i));
        outputs.forEach(o -> graph.msg(12, o));
        return new Msg()
                .varint(1, 8)
                .msg(8, new Msg().str(1, "").varint(2, 17))
                .msg(7, graph)
                .bytes();
    }

    private static Msg nodeMsg(String op, String[] in, String[] out) {
        Msg n = new Msg();
        for (String i : in) {
            n.str(1, i);
        }
        for (String o : out) {
            n.str(2, o);
        }
        return n.str(4, op);
    }

    private static Msg valueInfo(String name, int type, int rank) {
        Msg shape = new Msg();
        for (int d = 0; d < rank; d++) {
            shape.msg(1, new Msg().str(2, name + "_d" + d));
        }
        Msg tensor = new Msg().varint(1, type).msg(2, shape);
        return new Msg().str(1, name).msg(2, new Msg().msg(1, tensor));
    }

    /** A protobuf message under construction (also used by {@link TinyOnnx}). */
    static final class Msg {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Msg varint(int field, long v) {
            tag(field, 0);
            writeVarint(v);
            return this;
        }

        Msg str(int field, String s) {
            return raw(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Msg msg(int field, Msg m) {
            return raw(field, m.bytes());
        }

        Msg raw(int field, byte[] b) {
            tag(field, 2);
            writeVarint(b.length);
            out.writeBytes(b);
            return this;
        }

        private void tag(int field, int wire) {
            writeVarint(((long) field << 3) | wire);
        }

        private void writeVarint(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}

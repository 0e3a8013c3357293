package io.sparkdiffusion.model;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.sparkdiffusion.tensor.Float16;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.EngineException;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One ONNX Runtime session for one model component, with the session-IO adaptation in one place.
 *
 * <p>Published exports of the same model differ in input element types and ranks ({@code input_ids} int32 or int64;
 * {@code timestep} float or int64, as a scalar, {@code [1]} or {@code [B]}; float16 weights). Callers therefore pass
 * every value as a float {@link Tensor} in its natural shape, and {@link #run} reads each input's declared type and
 * rank from the session and converts: element type cast (float16 included), a rank-0 input gets the first value, a
 * fixed-size-1 input gets the first row. Outputs come back as float tensors (booleans as 0 and 1). Only inputs the
 * session declares are fed, so one pipeline drives exports with and without optional inputs; a declared input nobody
 * supplied is an error that names the component and input.
 */
public final class OnnxModel implements AutoCloseable {
    private final String name;
    private final OrtSession session;
    private final Map<String, TensorInfo> inputs = new LinkedHashMap<>();
    private final Map<String, TensorInfo> outputs = new LinkedHashMap<>();
    private final AtomicLong runNanos = new AtomicLong();
    private final AtomicLong calls = new AtomicLong();

    OnnxModel(String name, Path file, RuntimeOptions options) {
        this.name = name;
        OrtEnvironment env = OrtRuntime.environment();
        try (OrtSession.SessionOptions so = options.toSessionOptions()) {
            this.session = env.createSession(file.toString(), so);
            for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
                inputs.put(e.getKey(), tensorInfo(e.getValue()));
            }
            for (Map.Entry<String, NodeInfo> e : session.getOutputInfo().entrySet()) {
                outputs.put(e.getKey(), tensorInfo(e.getValue()));
            }
        } catch (OrtException e) {
            throw new ModelLoadException("cannot load " + file + " (component '" + name + "'): " + e.getMessage(), e);
        }
    }

    /** A standalone graph outside a pipeline folder (e.g. the digits classifier). */
    public static OnnxModel load(Path file, RuntimeOptions options) {
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("missing ONNX file " + file);
        }
        return new OnnxModel(file.getParent().getFileName().toString(), file, options);
    }

    private TensorInfo tensorInfo(NodeInfo n) {
        if (!(n.getInfo() instanceof TensorInfo ti)) {
            throw new ModelLoadException(
                    "component '" + name + "': input/output '" + n.getName() + "' is not a tensor");
        }
        return ti;
    }

    public String name() {
        return name;
    }

    public boolean hasInput(String input) {
        return inputs.containsKey(input);
    }

    public boolean hasOutput(String output) {
        return outputs.containsKey(output);
    }

    public List<String> inputNames() {
        return List.copyOf(inputs.keySet());
    }

    public List<String> outputNames() {
        return List.copyOf(outputs.keySet());
    }

    /** {@code preferred} when the session has that output, else its first output (older exports name them differently). */
    public String outputOr(String preferred) {
        return outputs.containsKey(preferred)
                ? preferred
                : outputs.keySet().iterator().next();
    }

    /** {@code preferred} when the session has that input, else its first input. */
    public String inputOr(String preferred) {
        return inputs.containsKey(preferred)
                ? preferred
                : inputs.keySet().iterator().next();
    }

    /** Declared shape of an input (-1 for symbolic dimensions). */
    public long[] inputShape(String input) {
        return inputs.get(input).getShape();
    }

    public long[] outputShape(String output) {
        return outputs.get(output).getShape();
    }

    /**
     * Runs the session.
     *
     * @param feeds values by input name; names the session does not declare are ignored
     * @param wanted output names to return (empty: all)
     */
    public Map<String, Tensor> run(Map<String, Tensor> feeds, String... wanted) {
        Map<String, OnnxTensor> ort = new HashMap<>();
        try {
            for (Map.Entry<String, TensorInfo> in : inputs.entrySet()) {
                Tensor v = feeds.get(in.getKey());
                if (v == null) {
                    throw new EngineException("component '" + name + "' needs input '" + in.getKey()
                            + "' " + describe(in.getValue()) + " which this pipeline does not provide; provided: "
                            + feeds.keySet());
                }
                ort.put(in.getKey(), toOrt(in.getKey(), in.getValue(), v));
            }
            List<String> names = wanted.length == 0 ? List.copyOf(outputs.keySet()) : Arrays.asList(wanted);
            for (String w : names) {
                if (!outputs.containsKey(w)) {
                    throw new EngineException(
                            "component '" + name + "' has no output '" + w + "'; outputs: " + outputs.keySet());
                }
            }
            long t0 = System.nanoTime();
            try (OrtSession.Result r = session.run(ort, new LinkedHashSet<>(names))) {
                runNanos.addAndGet(System.nanoTime() - t0);
                calls.incrementAndGet();
                Map<String, Tensor> out = new LinkedHashMap<>();
                for (String w : names) {
                    OnnxValue val = r.get(w).orElseThrow();
                    out.put(w, fromOrt(w, (OnnxTensor) val));
                }
                return out;
            }
        } catch (OrtException e) {
            // the request was checked before it reached the session: a failing run is the model's or the device's
            throw new EngineException("component '" + name + "' failed: " + e.getMessage(), e);
        } finally {
            ort.values().forEach(OnnxTensor::close);
        }
    }

    /** Shorthand for a single output. */
    public Tensor run1(Map<String, Tensor> feeds, String output) {
        return run(feeds, output).get(output);
    }

    private static String describe(TensorInfo ti) {
        return "(" + ti.onnxType + " " + Arrays.toString(ti.getShape()) + ")";
    }

    /** Converts a float tensor to the declared element type and rank of one input. */
    private OnnxTensor toOrt(String input, TensorInfo info, Tensor v) throws OrtException {
        long[] declared = info.getShape();
        long[] shape = v.shape();
        float[] data = v.data();
        if (declared.length < shape.length && declared.length == 0) {
            // scalar input (e.g. SDXL exports' timestep): every row carries the same value
            shape = new long[0];
            data = new float[] {data[0]};
        } else if (declared.length == shape.length && declared.length > 0 && declared[0] == 1 && shape[0] > 1) {
            // fixed batch of 1 (e.g. timestep [1]) given per row
            shape = shape.clone();
            int row = v.rowSize();
            shape[0] = 1;
            data = Arrays.copyOf(data, row);
        } else if (declared.length != shape.length) {
            throw new EngineException("component '" + name + "' input '" + input + "' expects rank " + declared.length
                    + " " + describe(info) + " but got shape " + Arrays.toString(shape));
        }
        OrtEnvironment env = OrtRuntime.environment();
        return switch (info.type) {
            case FLOAT -> OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape);
            case FLOAT16 -> {
                ByteBuffer b = ByteBuffer.allocateDirect(data.length * 2).order(ByteOrder.nativeOrder());
                ShortBuffer sb = b.asShortBuffer();
                for (float f : data) {
                    sb.put(Float16.fromFloat(f));
                }
                yield OnnxTensor.createTensor(env, b, shape, OnnxJavaType.FLOAT16);
            }
            case DOUBLE -> {
                double[] d = new double[data.length];
                for (int i = 0; i < d.length; i++) {
                    d[i] = data[i];
                }
                yield OnnxTensor.createTensor(env, DoubleBuffer.wrap(d), shape);
            }
            case INT64 -> {
                long[] l = new long[data.length];
                for (int i = 0; i < l.length; i++) {
                    l[i] = Math.round(data[i]);
                }
                yield OnnxTensor.createTensor(env, LongBuffer.wrap(l), shape);
            }
            case INT32 -> {
                int[] l = new int[data.length];
                for (int i = 0; i < l.length; i++) {
                    l[i] = Math.round(data[i]);
                }
                yield OnnxTensor.createTensor(env, IntBuffer.wrap(l), shape);
            }
            case BOOL -> {
                // boolean masks (e.g. the Kandinsky prior's attention_mask): non-zero is true
                ByteBuffer b = ByteBuffer.allocateDirect(data.length).order(ByteOrder.nativeOrder());
                for (float f : data) {
                    b.put((byte) (f != 0f ? 1 : 0));
                }
                b.rewind();
                yield OnnxTensor.createTensor(env, b, shape, OnnxJavaType.BOOL);
            }
            default ->
                throw new EngineException(
                        "component '" + name + "' input '" + input + "' has unsupported element type " + info.type);
        };
    }

    private Tensor fromOrt(String output, OnnxTensor t) {
        TensorInfo info = t.getInfo();
        long[] shape = info.getShape();
        int n = Math.toIntExact(info.getNumElements());
        float[] out = new float[n];
        switch (info.type) {
            case FLOAT -> t.getFloatBuffer().get(out);
            case FLOAT16 -> {
                ShortBuffer sb = t.getShortBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = Float16.toFloat(sb.get(i));
                }
            }
            case DOUBLE -> {
                DoubleBuffer db = t.getDoubleBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = (float) db.get(i);
                }
            }
            case BOOL -> {
                // flags (e.g. a safety checker's has_nsfw_concepts): true is 1
                ByteBuffer bb = t.getByteBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = bb.get(i) != 0 ? 1f : 0f;
                }
            }
            default ->
                throw new IllegalStateException(
                        "component '" + name + "' output '" + output + "' has unsupported element type " + info.type);
        }
        return new Tensor(shape, out);
    }

    /**
     * Calls of {@code OrtSession.run} and the wall time inside them, since the session was opened: a monotonic
     * counter shared by every caller (a benchmark subtracts two snapshots instead of resetting shared state).
     */
    public RunStats stats() {
        return new RunStats(calls.get(), runNanos.get());
    }

    /** A snapshot of {@link #stats()}. */
    public record RunStats(long calls, long nanos) {
        /** What happened between {@code earlier} and this snapshot. */
        public RunStats since(RunStats earlier) {
            return new RunStats(calls - earlier.calls, nanos - earlier.nanos);
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("closing component '" + name + "': " + e.getMessage(), e);
        }
    }
}

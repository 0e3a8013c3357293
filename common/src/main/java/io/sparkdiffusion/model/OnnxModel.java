package io.sparkdiffusion.model;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.TensorInfo.OnnxTensorType;
import io.sparkdiffusion.tensor.Float16;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.EngineException;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
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
import java.util.Set;
import java.util.TreeSet;
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
 * supplied is an error that names the component and input. A call that runs the session many times (a denoising
 * loop) keeps its inputs, and the buffers ONNX Runtime writes its outputs into, in a {@link Runs}.
 */
public final class OnnxModel implements AutoCloseable {
    private final String name;
    private final OrtSession session;
    private final Map<String, TensorInfo> inputs = new LinkedHashMap<>();
    private final Map<String, TensorInfo> outputs = new LinkedHashMap<>();
    private final AtomicLong runNanos = new AtomicLong();
    private final AtomicLong calls = new AtomicLong();
    private final GraphCache.Outcome graphCache;

    OnnxModel(String name, Path file, RuntimeOptions options) {
        this.name = name;
        OrtEnvironment env = OrtRuntime.environment();
        try {
            GraphCache.Opened opened = GraphCache.open(env, file, options);
            this.session = opened.session();
            this.graphCache = opened.outcome();
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

    /** What opening this session did with the graph cache ({@code runtime.graph_cache}). */
    GraphCache.Outcome graphCache() {
        return graphCache;
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
     * Runs the session once.
     *
     * @param feeds values by input name; names the session does not declare are ignored
     * @param wanted output names to return (empty: all)
     */
    public Map<String, Tensor> run(Map<String, Tensor> feeds, String... wanted) {
        try (Runs runs = runs(Map.of())) {
            return runs.run(feeds, wanted);
        }
    }

    /** Shorthand for a single output. */
    public Tensor run1(Map<String, Tensor> feeds, String output) {
        return run(feeds, output).get(output);
    }

    /**
     * A sequence of runs within one call, such as the steps of a denoising loop: the {@code fixed} inputs (the
     * prompt conditioning, which no step changes) are converted once; every other input is written into a buffer
     * that is reused while its shape stays the same; and once an output's shape is known, ONNX Runtime writes it
     * straight into a buffer of ours (a pinned output) instead of allocating a new one per run. Close it at the end
     * of the call. One per call: it is not thread-safe, the session is.
     *
     * @param fixed values by input name for every run; names the session does not declare are ignored
     */
    public Runs runs(Map<String, Tensor> fixed) {
        Runs runs = new Runs();
        try {
            for (Map.Entry<String, Tensor> e : fixed.entrySet()) {
                TensorInfo info = inputs.get(e.getKey());
                if (info != null) {
                    runs.fixed.put(e.getKey(), Slot.of(this, e.getKey(), info, e.getValue()));
                }
            }
            return runs;
        } catch (RuntimeException e) {
            runs.close();
            throw e;
        }
    }

    /** See {@link #runs}. */
    public final class Runs implements AutoCloseable {
        private final Map<String, Slot> fixed = new HashMap<>();
        private final Map<String, Slot> varying = new HashMap<>();
        /** Output buffers ONNX Runtime writes into, by output name; their shapes are the last run's. */
        private final Map<String, Slot> pinned = new HashMap<>();
        /** Output shapes of the last run, to pin the next run's outputs when its inputs keep their shapes. */
        private final Map<String, long[]> lastOutputShapes = new HashMap<>();

        private boolean pinning = true;

        private Runs() {}

        /**
         * One run with the fixed inputs and {@code feeds}; returns the {@code wanted} outputs (empty: all) as float
         * tensors of their own. The feeds' values are copied into the session's input buffers before the run, so a
         * caller may change their arrays once it returns.
         */
        public Map<String, Tensor> run(Map<String, Tensor> feeds, String... wanted) {
            return run(feeds, null, wanted);
        }

        /**
         * {@link #run1} with the output's values written into {@code into} when it has the output's size (a new
         * array otherwise): the result shares that array, so the caller reads it before reusing it. A denoising loop
         * that combines each step's output at once (guidance) so allocates no output per step.
         */
        public Tensor run1Into(Map<String, Tensor> feeds, String output, float[] into) {
            return run(feeds, into, output).get(output);
        }

        private Map<String, Tensor> run(Map<String, Tensor> feeds, float[] into, String... wanted) {
            List<String> names = wanted.length == 0 ? List.copyOf(outputs.keySet()) : Arrays.asList(wanted);
            for (String w : names) {
                if (!outputs.containsKey(w)) {
                    throw new EngineException(
                            "component '" + name + "' has no output '" + w + "'; outputs: " + outputs.keySet());
                }
            }
            Map<String, OnnxTensor> ort = new HashMap<>();
            boolean sameShapes = true;
            for (Map.Entry<String, TensorInfo> in : inputs.entrySet()) {
                String input = in.getKey();
                Slot slot = fixed.get(input);
                if (slot == null) {
                    Tensor v = feeds.get(input);
                    if (v == null) {
                        Set<String> provided = new TreeSet<>(feeds.keySet());
                        provided.addAll(fixed.keySet());
                        throw new EngineException("component '" + name + "' needs input '" + input + "' "
                                + describe(in.getValue()) + " which this pipeline does not provide; provided: "
                                + provided);
                    }
                    slot = varying.get(input);
                    Adapted a = adapt(input, in.getValue(), v);
                    if (slot != null && Arrays.equals(slot.shape, a.shape)) {
                        slot.write(a);
                    } else {
                        sameShapes = false;
                        if (slot != null) {
                            slot.close();
                        }
                        slot = Slot.of(OnnxModel.this, input, in.getValue(), a);
                        varying.put(input, slot);
                    }
                }
                ort.put(input, slot.tensor);
            }
            if (!sameShapes) {
                unpin();
            }
            try {
                return runSession(ort, names, sameShapes && pinning, into);
            } catch (OrtException e) {
                if (pinned.isEmpty()) {
                    // the request was checked before it reached the session: a failing run is the model's or device's
                    throw new EngineException("component '" + name + "' failed: " + e.getMessage(), e);
                }
                // an output whose shape does not follow from the input shapes: run again without pinned outputs
                unpin();
                pinning = false;
                try {
                    return runSession(ort, names, false, into);
                } catch (OrtException again) {
                    throw new EngineException("component '" + name + "' failed: " + again.getMessage(), again);
                }
            }
        }

        /** Shorthand for a single output. */
        public Tensor run1(Map<String, Tensor> feeds, String output) {
            return run(feeds, output).get(output);
        }

        /** One session run; {@code into}, when not null, receives the (single) wanted output's values. */
        private Map<String, Tensor> runSession(
                Map<String, OnnxTensor> ort, List<String> names, boolean pin, float[] into) throws OrtException {
            Map<String, OnnxTensor> pins = new HashMap<>();
            Set<String> requested = new LinkedHashSet<>();
            for (String w : names) {
                long[] shape = pin ? lastOutputShapes.get(w) : null;
                if (shape == null) {
                    requested.add(w);
                    continue;
                }
                Slot slot = pinned.get(w);
                if (slot == null) {
                    slot = Slot.empty(OnnxModel.this, w, outputs.get(w), shape);
                    pinned.put(w, slot);
                }
                pins.put(w, slot.tensor);
            }
            long t0 = System.nanoTime();
            try (OrtSession.Result r = session.run(ort, requested, pins)) {
                runNanos.addAndGet(System.nanoTime() - t0);
                calls.incrementAndGet();
                Map<String, Tensor> out = new LinkedHashMap<>();
                for (String w : names) {
                    Tensor t;
                    if (pins.containsKey(w)) {
                        t = pinned.get(w).read(into);
                    } else {
                        OnnxTensor value = (OnnxTensor) r.get(w).orElseThrow();
                        TensorInfo info = value.getInfo();
                        t = decode(w, info.type, info.getShape(), value.getByteBuffer(), into);
                        lastOutputShapes.put(w, info.getShape());
                    }
                    out.put(w, t);
                }
                return out;
            }
        }

        private void unpin() {
            pinned.values().forEach(Slot::close);
            pinned.clear();
            lastOutputShapes.clear();
        }

        @Override
        public void close() {
            fixed.values().forEach(Slot::close);
            varying.values().forEach(Slot::close);
            pinned.values().forEach(Slot::close);
            fixed.clear();
            varying.clear();
            pinned.clear();
        }
    }

    private static String describe(TensorInfo ti) {
        return "(" + ti.onnxType + " " + Arrays.toString(ti.getShape()) + ")";
    }

    /** A float value adapted to an input's declared rank: its shape and the first {@code length} values of data. */
    private static final class Adapted {
        final long[] shape;
        final float[] data;
        final int length;

        Adapted(long[] shape, float[] data, int length) {
            this.shape = shape;
            this.data = data;
            this.length = length;
        }
    }

    /** Adapts a float tensor to the declared rank of one input (the element type is the {@link Slot}'s concern). */
    private Adapted adapt(String input, TensorInfo info, Tensor v) {
        long[] declared = info.getShape();
        long[] shape = v.shape();
        if (declared.length < shape.length && declared.length == 0) {
            // scalar input (e.g. SDXL exports' timestep): every row carries the same value
            return new Adapted(new long[0], v.data(), 1);
        }
        if (declared.length == shape.length && declared.length > 0 && declared[0] == 1 && shape[0] > 1) {
            // fixed batch of 1 (e.g. timestep [1]) given per row
            shape[0] = 1;
            return new Adapted(shape, v.data(), v.rowSize());
        }
        if (declared.length != shape.length) {
            throw new EngineException("component '" + name + "' input '" + input + "' expects rank " + declared.length
                    + " " + describe(info) + " but got shape " + Arrays.toString(shape));
        }
        return new Adapted(shape, v.data(), v.size());
    }

    /**
     * A tensor of one input or output over a direct buffer of ours, in the element type the session declares: ONNX
     * Runtime reads an input from it and writes a pinned output into it, without a copy of its own.
     */
    private static final class Slot implements AutoCloseable {
        final long[] shape;
        final OnnxTensorType type;
        final ByteBuffer buffer;
        final OnnxTensor tensor;
        private final OnnxModel owner;
        private final String port;

        private Slot(OnnxModel owner, String port, TensorInfo info, long[] shape) throws OrtException {
            this.owner = owner;
            this.port = port;
            this.shape = shape;
            this.type = info.onnxType;
            OnnxJavaType javaType = javaType(owner, port, info);
            int n = Math.toIntExact(Tensor.numel(shape));
            this.buffer = ByteBuffer.allocateDirect(n * javaType.size).order(ByteOrder.nativeOrder());
            this.tensor = OnnxTensor.createTensor(OrtRuntime.environment(), buffer, shape, javaType);
        }

        /** An input slot holding {@code a}. */
        static Slot of(OnnxModel owner, String port, TensorInfo info, Adapted a) {
            try {
                Slot s = new Slot(owner, port, info, a.shape);
                s.write(a);
                return s;
            } catch (OrtException e) {
                throw new EngineException("component '" + owner.name + "' input '" + port + "': " + e.getMessage(), e);
            }
        }

        /** An input slot holding {@code v}, adapted to the input's rank. */
        static Slot of(OnnxModel owner, String port, TensorInfo info, Tensor v) {
            return of(owner, port, info, owner.adapt(port, info, v));
        }

        /** An output slot of {@code shape}, for ONNX Runtime to write into. */
        static Slot empty(OnnxModel owner, String port, TensorInfo info, long[] shape) throws OrtException {
            return new Slot(owner, port, info, shape);
        }

        private static OnnxJavaType javaType(OnnxModel owner, String port, TensorInfo info) {
            return switch (info.onnxType) {
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT -> OnnxJavaType.FLOAT;
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 -> OnnxJavaType.FLOAT16;
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE -> OnnxJavaType.DOUBLE;
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> OnnxJavaType.INT64;
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 -> OnnxJavaType.INT32;
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL -> OnnxJavaType.BOOL;
                default ->
                    throw new EngineException("component '" + owner.name + "' input or output '" + port
                            + "' has unsupported element type " + info.type);
            };
        }

        /** Writes a float value, converted to the element type: float16 packing, rounding for integers. */
        void write(Adapted a) {
            float[] data = a.data;
            int n = a.length;
            switch (type) {
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT ->
                    buffer.asFloatBuffer().put(0, data, 0, n);
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 -> {
                    ShortBuffer sb = buffer.asShortBuffer();
                    for (int i = 0; i < n; i++) {
                        sb.put(i, Float16.fromFloat(data[i]));
                    }
                }
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE -> {
                    DoubleBuffer db = buffer.asDoubleBuffer();
                    for (int i = 0; i < n; i++) {
                        db.put(i, data[i]);
                    }
                }
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> {
                    LongBuffer lb = buffer.asLongBuffer();
                    for (int i = 0; i < n; i++) {
                        lb.put(i, Math.round(data[i]));
                    }
                }
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 -> {
                    IntBuffer ib = buffer.asIntBuffer();
                    for (int i = 0; i < n; i++) {
                        ib.put(i, Math.round(data[i]));
                    }
                }
                case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL -> {
                    // boolean masks (e.g. the Kandinsky prior's attention_mask): non-zero is true
                    for (int i = 0; i < n; i++) {
                        buffer.put(i, (byte) (data[i] != 0f ? 1 : 0));
                    }
                }
                default -> throw new IllegalStateException("unreachable: " + type);
            }
        }

        /** The pinned output ONNX Runtime wrote, as a float tensor (in {@code into}, see {@link #decode}). */
        Tensor read(float[] into) {
            return owner.decode(port, tensor.getInfo().type, shape, buffer, into);
        }

        @Override
        public void close() {
            tensor.close();
        }
    }

    /**
     * An output's values as float32, from its buffer in the output's element type: in {@code into} when it has the
     * output's size, else in a new array.
     */
    private Tensor decode(String output, OnnxJavaType type, long[] shape, ByteBuffer values, float[] into) {
        int n = Math.toIntExact(Tensor.numel(shape));
        ByteBuffer b = values.duplicate().order(ByteOrder.nativeOrder());
        float[] out = into != null && into.length == n ? into : new float[n];
        switch (type) {
            case FLOAT -> b.asFloatBuffer().get(0, out);
            case FLOAT16 -> {
                ShortBuffer sb = b.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = Float16.toFloat(sb.get(i));
                }
            }
            case DOUBLE -> {
                DoubleBuffer db = b.asDoubleBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = (float) db.get(i);
                }
            }
            case BOOL -> {
                // flags (e.g. a safety checker's has_nsfw_concepts): true is 1
                for (int i = 0; i < n; i++) {
                    out[i] = b.get(i) != 0 ? 1f : 0f;
                }
            }
            default ->
                throw new IllegalStateException(
                        "component '" + name + "' output '" + output + "' has unsupported element type " + type);
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

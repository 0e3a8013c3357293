package io.sparkdiffusion.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A quick structural read of a {@code model.onnx} without ONNX Runtime, to explain why a graph does not load: it
 * walks the protobuf ({@code ModelProto.graph} -> {@code GraphProto.initializer} / node attribute tensors and
 * sub-graphs -> {@code TensorProto.external_data}) and reports
 * <ul>
 * <li>where the protobuf stops making sense (a field running past the end of the file: a truncated download),</li>
 * <li>the external data files the graph reads its weights from ({@code model.onnx_data}, {@code weights.pb}, ...),
 * with the bytes it reads from each, so that a missing or short file can be named,</li>
 * <li>how many initializers hold float16 values, and how many of those are only cast to float32 (weights stored as
 * float16 in a float32 graph, as {@code export_onnx.py --dtype fp16-weights} writes them).</li>
 * </ul>
 * Tensor payloads ({@code raw_data}) are skipped, not read: the file is memory-mapped and only headers are touched.
 */
public final class OnnxFileScan {
    /** TensorProto.DataType FLOAT16. */
    private static final int FLOAT16 = 10;
    /** TensorProto.DataType FLOAT, as a Cast's {@code to}. */
    private static final int FLOAT = 1;

    private final Path file;
    private final long fileSize;
    private final Map<String, Long> externalBytes = new LinkedHashMap<>();
    private final List<String> problems = new ArrayList<>();
    private int initializers;
    private int float16Initializers;
    private final Set<String> float16InitializerNames = new HashSet<>();
    /** Values some node reads: as the input of a Cast to float32, or otherwise. */
    private final Set<String> castToFloatInputs = new HashSet<>();

    private final Set<String> otherInputs = new HashSet<>();
    private boolean hasGraph;

    private OnnxFileScan(Path file, long fileSize) {
        this.file = file;
        this.fileSize = fileSize;
    }

    /** Scans {@code file}; never throws for malformed content (see {@link #problem()}). */
    public static OnnxFileScan of(Path file) throws IOException {
        long size = Files.size(file);
        OnnxFileScan scan = new OnnxFileScan(file, size);
        if (size == 0) {
            scan.problems.add("the file is empty");
            return scan;
        }
        if (size > Integer.MAX_VALUE) {
            scan.problems.add("the file is " + size + " bytes; a protobuf (ONNX) file cannot exceed 2 GB: the weights"
                    + " must be saved as external data (model.onnx_data)");
            return scan;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            try {
                scan.model(buf, 0, (int) size);
            } catch (Malformed e) {
                scan.problems.add(e.getMessage());
            }
        }
        if (scan.problems.isEmpty() && !scan.hasGraph) {
            scan.problems.add("no graph in the file: not an ONNX model");
        }
        return scan;
    }

    public Path file() {
        return file;
    }

    public long fileSize() {
        return fileSize;
    }

    /** The first structural problem found (e.g. truncation), or null when the protobuf reads through. */
    public String problem() {
        return problems.isEmpty() ? null : problems.get(0);
    }

    /** External data files named by the graph, relative to its folder, with the bytes read from each (offset + length). */
    public Map<String, Long> externalData() {
        return Map.copyOf(externalBytes);
    }

    public int initializers() {
        return initializers;
    }

    public int float16Initializers() {
        return float16Initializers;
    }

    /**
     * The float16 initializers that no node reads except a Cast to float32: weights stored as float16 in a graph that
     * computes in float32 (ONNX Runtime folds the casts when it opens the session).
     */
    public int float16StoredAsFloat32() {
        int n = 0;
        for (String name : float16InitializerNames) {
            if (castToFloatInputs.contains(name) && !otherInputs.contains(name)) {
                n++;
            }
        }
        return n;
    }

    /**
     * The external data files that are missing or shorter than the graph needs, each with the reason; empty when all
     * are there.
     */
    public List<String> externalDataProblems() {
        List<String> out = new ArrayList<>();
        Path dir = file.toAbsolutePath().getParent();
        for (Map.Entry<String, Long> e : externalBytes.entrySet()) {
            Path f = dir.resolve(e.getKey());
            if (!Files.isRegularFile(f)) {
                out.add("'" + e.getKey() + "' is missing");
                continue;
            }
            try {
                long size = Files.size(f);
                if (e.getValue() > 0 && size < e.getValue()) {
                    out.add("'" + e.getKey() + "' has " + size + " bytes but the graph reads up to byte " + e.getValue()
                            + " (truncated copy)");
                }
            } catch (IOException ex) {
                out.add("'" + e.getKey() + "' cannot be read: " + ex.getMessage());
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- protobuf walking

    /** ModelProto: graph = 7. */
    private void model(ByteBuffer b, int from, int to) {
        forEachField(b, from, to, "ModelProto", (field, wire, start, end) -> {
            if (field == 7 && wire == 2) {
                hasGraph = true;
                graph(b, start, end, 0);
            }
        });
    }

    /** GraphProto: node = 1, initializer = 5, sparse_initializer = 15. */
    private void graph(ByteBuffer b, int from, int to, int depth) {
        if (depth > 16) {
            return;
        }
        forEachField(b, from, to, "GraphProto", (field, wire, start, end) -> {
            if (wire != 2) {
                return;
            }
            if (field == 5) {
                initializers++;
                tensor(b, start, end, true);
            } else if (field == 1) {
                node(b, start, end, depth);
            }
        });
    }

    /** NodeProto: input = 1, op_type = 4, attribute = 5. */
    private void node(ByteBuffer b, int from, int to, int depth) {
        List<String> inputs = new ArrayList<>();
        String[] opType = {null};
        int[] castTo = {-1};
        forEachField(b, from, to, "NodeProto", (field, wire, start, end) -> {
            if (wire != 2) {
                return;
            }
            if (field == 1) {
                inputs.add(string(b, start, end));
            } else if (field == 4) {
                opType[0] = string(b, start, end);
            } else if (field == 5) {
                int to2 = attribute(b, start, end, depth);
                if (to2 >= 0) {
                    castTo[0] = to2;
                }
            }
        });
        boolean castToFloat = "Cast".equals(opType[0]) && castTo[0] == FLOAT;
        (castToFloat ? castToFloatInputs : otherInputs).addAll(inputs);
    }

    /**
     * AttributeProto: name = 1, i = 3, t = 5, g = 6, tensors = 10, graphs = 11. Returns the value of an attribute
     * named {@code to} (a Cast's target type), else -1.
     */
    private int attribute(ByteBuffer b, int from, int to, int depth) {
        String[] name = {null};
        int[] value = {-1};
        forEachField(b, from, to, "AttributeProto", (field, wire, start, end) -> {
            if (field == 3 && wire == 0) {
                value[0] = start;
            }
            if (wire != 2) {
                return;
            }
            if (field == 1) {
                name[0] = string(b, start, end);
            } else if (field == 5 || field == 10) {
                tensor(b, start, end, false);
            } else if (field == 6 || field == 11) {
                graph(b, start, end, depth + 1);
            }
        });
        return "to".equals(name[0]) ? value[0] : -1;
    }

    /** TensorProto: data_type = 2, name = 8, external_data = 13 (key = 1, value = 2), data_location = 14. */
    private void tensor(ByteBuffer b, int from, int to, boolean initializer) {
        String[] location = {null};
        long[] offsetLength = {0, 0};
        boolean[] external = {false};
        boolean[] half = {false};
        String[] tensorName = {null};
        forEachField(b, from, to, "TensorProto", (field, wire, start, end) -> {
            if (field == 2 && wire == 0 && start == FLOAT16) {
                float16Initializers++;
                half[0] = true;
            } else if (field == 8 && wire == 2) {
                tensorName[0] = string(b, start, end);
            } else if (field == 14 && wire == 0 && start == 1) {
                external[0] = true;
            } else if (field == 13 && wire == 2) {
                String[] kv = new String[2];
                forEachField(b, start, end, "StringStringEntryProto", (f2, w2, s2, e2) -> {
                    if ((f2 == 1 || f2 == 2) && w2 == 2) {
                        kv[f2 - 1] = string(b, s2, e2);
                    }
                });
                if ("location".equals(kv[0])) {
                    location[0] = kv[1];
                } else if ("offset".equals(kv[0])) {
                    offsetLength[0] = parseLong(kv[1]);
                } else if ("length".equals(kv[0])) {
                    offsetLength[1] = parseLong(kv[1]);
                }
            }
        });
        if (external[0] && location[0] != null) {
            externalBytes.merge(location[0], offsetLength[0] + offsetLength[1], Math::max);
        }
        if (initializer && half[0] && tensorName[0] != null) {
            float16InitializerNames.add(tensorName[0]);
        }
    }

    private static long parseLong(String s) {
        try {
            return s == null ? 0 : Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String string(ByteBuffer b, int from, int to) {
        byte[] bytes = new byte[to - from];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = b.get(from + i);
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** A field: for varints {@code start} is the value (as int, clipped) and {@code end} unused. */
    @FunctionalInterface
    private interface FieldVisitor {
        void visit(int field, int wire, int start, int end);
    }

    private static final class Malformed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    private void forEachField(ByteBuffer b, int from, int to, String message, FieldVisitor v) {
        int[] pos = {from};
        while (pos[0] < to) {
            int at = pos[0];
            long key = varint(b, pos, to, message, at);
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (field == 0) {
                throw new Malformed("invalid field number 0 in " + message + " at byte " + at);
            }
            switch (wire) {
                case 0 -> {
                    long value = varint(b, pos, to, message, at);
                    v.visit(field, wire, (int) Math.min(Integer.MAX_VALUE, Math.max(Integer.MIN_VALUE, value)), 0);
                }
                case 1 -> skip(pos, 8, to, message, at);
                case 5 -> skip(pos, 4, to, message, at);
                case 2 -> {
                    long len = varint(b, pos, to, message, at);
                    if (len < 0 || pos[0] + len > to) {
                        throw new Malformed(describeOverrun(message, field, at, len, to));
                    }
                    int start = pos[0];
                    pos[0] = (int) (start + len);
                    v.visit(field, wire, start, pos[0]);
                }
                default ->
                    throw new Malformed("unknown wire type " + wire + " in " + message + " at byte " + at
                            + ": the file is damaged or not an ONNX model");
            }
        }
    }

    private String describeOverrun(String message, int field, int at, long len, int to) {
        if (to == fileSize) {
            return "the file ends inside a " + message + " field (field " + field + " at byte " + at + " needs " + len
                    + " bytes, " + (fileSize - at) + " left): the file is truncated (" + fileSize + " bytes)";
        }
        return "a " + message + " field (field " + field + " at byte " + at + ") runs past its enclosing message:"
                + " the file is damaged or truncated (" + fileSize + " bytes)";
    }

    private void skip(int[] pos, int n, int to, String message, int at) {
        if (pos[0] + n > to) {
            throw new Malformed(describeOverrun(message, 0, at, n, to));
        }
        pos[0] += n;
    }

    private long varint(ByteBuffer b, int[] pos, int to, String message, int at) {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos[0] >= to) {
                throw new Malformed(
                        to == fileSize
                                ? "the file ends inside a " + message + " field at byte " + at
                                        + ": the file is truncated (" + fileSize + " bytes)"
                                : "a " + message + " field at byte " + at
                                        + " runs past its enclosing message: damaged file");
            }
            byte x = b.get(pos[0]++);
            result |= (long) (x & 0x7F) << shift;
            if ((x & 0x80) == 0) {
                return result;
            }
        }
        throw new Malformed("malformed varint in " + message + " at byte " + at + ": the file is damaged");
    }
}

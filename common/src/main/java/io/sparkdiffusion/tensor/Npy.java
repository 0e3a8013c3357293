package io.sparkdiffusion.tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reader and writer of NumPy's {@code .npy} format (version 1.0/2.0/3.0 headers): magic {@code \x93NUMPY}, a
 * little-endian header length, a Python-dict header with {@code descr}, {@code fortran_order} and {@code shape},
 * then raw data. Reads float32, float64, float16, int32, int64 (C order) into float32; writes float32.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']+)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    public static Tensor read(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return read(in, path.toString());
        }
    }

    public static Tensor read(InputStream in, String name) throws IOException {
        byte[] all = in.readAllBytes();
        ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < MAGIC.length; i++) {
            if (all.length <= i || all[i] != MAGIC[i]) {
                throw new IOException(name + ": not a .npy file (bad magic)");
            }
        }
        int major = all[6];
        int headerLen;
        int offset;
        if (major == 1) {
            headerLen = Short.toUnsignedInt(buf.getShort(8));
            offset = 10;
        } else if (major == 2 || major == 3) {
            headerLen = buf.getInt(8);
            offset = 12;
        } else {
            throw new IOException(name + ": unsupported .npy version " + major);
        }
        String header =
                new String(all, offset, headerLen, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        String descr = group(DESCR, header, name, "descr");
        if ("True".equals(group(FORTRAN, header, name, "fortran_order"))) {
            throw new IOException(name + ": Fortran-ordered arrays are not supported");
        }
        long[] shape = parseShape(group(SHAPE, header, name, "shape"));
        int n = Math.toIntExact(Tensor.numel(shape));
        ByteOrder order = descr.charAt(0) == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        ByteBuffer data = ByteBuffer.wrap(all, offset + headerLen, all.length - offset - headerLen)
                .slice()
                .order(order);
        String type = descr.substring(1);
        float[] out = new float[n];
        int width = switch (type) {
            case "f4", "i4" -> 4;
            case "f8", "i8" -> 8;
            case "f2" -> 2;
            default -> throw new IOException(name + ": unsupported dtype " + descr);
        };
        if (data.remaining() < (long) n * width) {
            throw new IOException(
                    name + ": truncated, needs " + (long) n * width + " data bytes, has " + data.remaining());
        }
        for (int i = 0; i < n; i++) {
            out[i] = switch (type) {
                case "f4" -> data.getFloat(i * 4);
                case "f8" -> (float) data.getDouble(i * 8);
                case "i4" -> data.getInt(i * 4);
                case "i8" -> data.getLong(i * 8);
                default -> Float16.toFloat(data.getShort(i * 2));
            };
        }
        return new Tensor(shape, out);
    }

    public static void write(Path path, Tensor t) throws IOException {
        if (path.getParent() != null) {
            Files.createDirectories(path.getParent());
        }
        try (OutputStream out = Files.newOutputStream(path)) {
            write(out, t);
        }
    }

    public static void write(OutputStream out, Tensor t) throws IOException {
        StringBuilder shape = new StringBuilder("(");
        long[] s = t.shape();
        for (int i = 0; i < s.length; i++) {
            shape.append(s[i]);
            if (s.length == 1 || i < s.length - 1) {
                shape.append(s.length == 1 ? "," : ", ");
            }
        }
        shape.append(')');
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        int pad = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.write(MAGIC);
        bytes.write(1);
        bytes.write(0);
        byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
        bytes.write(h.length & 0xff);
        bytes.write((h.length >> 8) & 0xff);
        bytes.write(h);
        ByteBuffer data = ByteBuffer.allocate(t.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        data.asFloatBuffer().put(t.data());
        bytes.write(data.array());
        out.write(bytes.toByteArray());
    }

    private static String group(Pattern p, String header, String name, String key) throws IOException {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new IOException(name + ": .npy header has no '" + key + "': " + header.trim());
        }
        return m.group(1);
    }

    private static long[] parseShape(String text) {
        List<Long> dims = new ArrayList<>();
        for (String part : text.split(",", -1)) {
            String p = part.trim();
            if (!p.isEmpty()) {
                dims.add(Long.parseLong(p.replace("L", "")));
            }
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }
}

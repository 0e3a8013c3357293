package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * A text encoder's outputs per text, for the rows of a call: the texts a call needs (prompts and negative prompts
 * together) that are not cached are encoded in one run, each distinct text once, and kept in a small cache that the
 * calls of a resident pipeline share (grid mode repeats prompts; the empty negative prompt is in nearly every call).
 *
 * <p>The cache is bounded in bytes and drops the least recently used text first. It is thread-safe: entries are
 * written once, under the lock, and only ever copied out, never handed to a caller; a call's rows are its own
 * arrays. Two calls that miss the same text at the same time both encode it; the values are the same. A text's
 * encoding does not depend on the other texts of its run (the encoders treat rows independently, as batching
 * rows already assumes; {@code DeterminismTest}).
 */
final class TextEmbeddings {
    /** The default cache size: 16 MiB, about 70 SD 1.5 prompts or 25 SDXL prompts (77 x 2048 floats each). */
    static final long DEFAULT_MAX_BYTES = 16L << 20;

    /** Encodes distinct texts in one run: per output, a tensor whose row {@code i} belongs to {@code texts[i]}. */
    @FunctionalInterface
    interface Encoder {
        List<Tensor> encode(List<String> texts);
    }

    private final Encoder encoder;
    private final long maxBytes;
    /** Per text, per output, one row; access order, eldest first. */
    private final LinkedHashMap<String, float[][]> cache = new LinkedHashMap<>(16, 0.75f, true);

    private long cachedBytes;
    /** The shape of one row of each output, known after the first run. */
    private List<long[]> rowShapes;

    TextEmbeddings(Encoder encoder, long maxBytes) {
        this.encoder = encoder;
        this.maxBytes = maxBytes;
    }

    /**
     * Per output, a tensor of {@code texts.size()} rows, row {@code r} the encoding of {@code texts.get(r)}; a null
     * text gets zeros (SDXL's {@code force_zeros_for_empty_prompt}).
     */
    List<Tensor> rows(List<String> texts) {
        Map<String, float[][]> found = new LinkedHashMap<>();
        LinkedHashSet<String> missing = new LinkedHashSet<>();
        List<long[]> shapes;
        synchronized (this) {
            for (String t : texts) {
                if (t != null && !found.containsKey(t)) {
                    float[][] hit = cache.get(t);
                    if (hit != null) {
                        found.put(t, hit);
                    } else {
                        missing.add(t);
                    }
                }
            }
            shapes = rowShapes;
        }
        if (shapes == null && missing.isEmpty()) {
            missing.add(""); // only zero rows asked for before any run: one run tells the shapes
        }
        if (!missing.isEmpty()) {
            List<String> distinct = new ArrayList<>(missing);
            List<Tensor> encoded = encoder.encode(distinct);
            shapes = new ArrayList<>();
            for (Tensor e : encoded) {
                long[] s = e.shape();
                shapes.add(Arrays.copyOfRange(s, 1, s.length));
            }
            for (int i = 0; i < distinct.size(); i++) {
                float[][] perOutput = new float[encoded.size()][];
                for (int o = 0; o < encoded.size(); o++) {
                    Tensor e = encoded.get(o);
                    int row = e.rowSize();
                    perOutput[o] = Arrays.copyOfRange(e.data(), i * row, (i + 1) * row);
                }
                found.put(distinct.get(i), perOutput);
            }
            remember(distinct, found, shapes);
        }
        List<Tensor> out = new ArrayList<>();
        for (int o = 0; o < shapes.size(); o++) {
            long[] rowShape = shapes.get(o);
            int row = Math.toIntExact(Tensor.numel(rowShape));
            float[] data = new float[texts.size() * row];
            for (int r = 0; r < texts.size(); r++) {
                String t = texts.get(r);
                if (t != null) {
                    System.arraycopy(found.get(t)[o], 0, data, r * row, row);
                }
            }
            long[] shape = new long[rowShape.length + 1];
            shape[0] = texts.size();
            System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
            out.add(new Tensor(shape, data));
        }
        return out;
    }

    private synchronized void remember(List<String> distinct, Map<String, float[][]> found, List<long[]> shapes) {
        rowShapes = shapes;
        for (String t : distinct) {
            float[][] v = found.get(t);
            long bytes = 0;
            for (float[] row : v) {
                bytes += 4L * row.length;
            }
            if (bytes > maxBytes) {
                continue;
            }
            float[][] previous = cache.put(t, v);
            if (previous == null) {
                cachedBytes += bytes;
            }
        }
        Iterator<Map.Entry<String, float[][]>> eldest = cache.entrySet().iterator();
        while (cachedBytes > maxBytes && eldest.hasNext()) {
            float[][] v = eldest.next().getValue();
            eldest.remove();
            for (float[] row : v) {
                cachedBytes -= 4L * row.length;
            }
        }
    }

    /** Texts cached now (tests). */
    synchronized int cachedTexts() {
        return cache.size();
    }
}

package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sparkdiffusion.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The per-text encoder cache of a resident pipeline: one encoder run per call for the texts it lacks, each text
 * once; rows in the caller's order; zeros for a null text; bounded; and safe when calls share it concurrently.
 */
class TextEmbeddingsTest {
    /** Encoder runs, each the list of texts it was given. */
    private final List<List<String>> runs = new CopyOnWriteArrayList<>();

    /** Two outputs per text, [3, 2] and [4], whose values only depend on the text. */
    private List<Tensor> fakeEncode(List<String> texts) {
        runs.add(List.copyOf(texts));
        int n = texts.size();
        float[] hidden = new float[n * 6];
        float[] pooled = new float[n * 4];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 6; j++) {
                hidden[i * 6 + j] = value(texts.get(i), j);
            }
            for (int j = 0; j < 4; j++) {
                pooled[i * 4 + j] = -value(texts.get(i), j);
            }
        }
        return List.of(new Tensor(new long[] {n, 3, 2}, hidden), new Tensor(new long[] {n, 4}, pooled));
    }

    private static float value(String text, int j) {
        return text.hashCode() % 1000 + j * 0.25f;
    }

    private static float[] expectedHidden(String... texts) {
        float[] out = new float[texts.length * 6];
        for (int i = 0; i < texts.length; i++) {
            for (int j = 0; j < 6; j++) {
                out[i * 6 + j] = texts[i] == null ? 0f : value(texts[i], j);
            }
        }
        return out;
    }

    @Test
    void encodesEachMissingTextOnceInOneRunAndServesRepeatsFromTheCache() {
        TextEmbeddings e = new TextEmbeddings(this::fakeEncode, TextEmbeddings.DEFAULT_MAX_BYTES);
        List<Tensor> first = e.rows(Arrays.asList("", "", "a cat", "a cat"));
        assertEquals(List.of(List.of("", "a cat")), runs, "one run, each distinct text once");
        assertArrayEquals(new long[] {4, 3, 2}, first.get(0).shape());
        assertArrayEquals(new long[] {4, 4}, first.get(1).shape());
        assertArrayEquals(expectedHidden("", "", "a cat", "a cat"), first.get(0).data(), 0f);

        List<Tensor> second = e.rows(Arrays.asList("", "a dog", null, "a cat"));
        assertEquals(List.of(List.of("", "a cat"), List.of("a dog")), runs, "only the new text is encoded");
        assertArrayEquals(
                expectedHidden("", "a dog", null, "a cat"), second.get(0).data(), 0f);
        assertEquals(0f, second.get(1).data()[2 * 4 + 3], "a null text has zero rows");

        e.rows(List.of("a cat", "a dog", ""));
        assertEquals(2, runs.size(), "everything cached: no encoder run");
        second.get(0).data()[0] = 42f; // a caller's rows are its own
        assertArrayEquals(
                expectedHidden("", "a dog"), e.rows(List.of("", "a dog")).get(0).data(), 0f);
    }

    @Test
    void theCacheIsBoundedInBytesAndDropsTheLeastRecentlyUsedText() {
        long oneText = 4L * (6 + 4);
        TextEmbeddings e = new TextEmbeddings(this::fakeEncode, 2 * oneText);
        e.rows(List.of("a"));
        e.rows(List.of("b"));
        e.rows(List.of("a")); // a is now the most recent
        e.rows(List.of("c")); // drops b
        assertEquals(2, e.cachedTexts());
        runs.clear();
        e.rows(List.of("a", "c"));
        assertEquals(List.of(), runs, "a and c stayed");
        e.rows(List.of("b"));
        assertEquals(List.of(List.of("b")), runs, "b was dropped and is encoded again");
    }

    @Test
    void concurrentCallsSharingASmallCacheEachGetTheirOwnCorrectRows() throws Exception {
        TextEmbeddings e = new TextEmbeddings(this::fakeEncode, 5 * 4L * (6 + 4)); // 5 texts: constant eviction
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long seed = t;
                done.add(pool.submit(() -> {
                    start.await();
                    Random random = new Random(seed);
                    for (int call = 0; call < 300; call++) {
                        String[] texts = new String[1 + random.nextInt(6)];
                        for (int i = 0; i < texts.length; i++) {
                            texts[i] = random.nextInt(10) == 0 ? null : "prompt " + random.nextInt(12);
                        }
                        List<Tensor> rows = e.rows(Arrays.asList(texts));
                        assertArrayEquals(expectedHidden(texts), rows.get(0).data(), 0f, Arrays.toString(texts));
                        for (int i = 0; i < texts.length; i++) {
                            float expected = texts[i] == null ? 0f : -value(texts[i], 3);
                            assertEquals(expected, rows.get(1).data()[i * 4 + 3], 0f);
                        }
                    }
                    return 300;
                }));
            }
            start.countDown();
            for (Future<Integer> f : done) {
                assertEquals(300, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(5, e.cachedTexts(), "the bound held");
    }
}

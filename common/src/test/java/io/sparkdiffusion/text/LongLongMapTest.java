package io.sparkdiffusion.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link LongLongMap} against a {@link HashMap}, with the edge keys of two packed non-negative ids. */
class LongLongMapTest {
    @Test
    void holdsWhatAHashMapHolds() {
        Random random = new Random(5);
        int n = 20_000;
        LongLongMap map = new LongLongMap(n);
        Map<Long, Long> reference = new HashMap<>();
        long[] edges = {0L, 1L, 1L << 32, 0x7FFFFFFF7FFFFFFFL}; // (0, 0), (0, 1), (1, 0), the largest pair
        for (long key : edges) {
            map.put(key, key ^ 5);
            reference.put(key, key ^ 5);
        }
        while (reference.size() < n) {
            long key = ((long) random.nextInt(50_000) << 32) | random.nextInt(50_000);
            long value = random.nextLong() & Long.MAX_VALUE;
            map.put(key, value); // a repeated key replaces its value
            reference.put(key, value);
        }
        for (Map.Entry<Long, Long> e : reference.entrySet()) {
            assertEquals(e.getValue().longValue(), map.get(e.getKey()), "key " + e.getKey());
        }
        for (int i = 0; i < 20_000; i++) {
            long key = ((long) random.nextInt(60_000) << 32) | random.nextInt(60_000);
            assertEquals(reference.getOrDefault(key, -1L).longValue(), map.get(key), "key " + key);
        }
        LongLongMap copy = new LongLongMap(map.keys().clone(), map.values().clone());
        assertArrayEquals(map.keys(), copy.keys());
        for (long key : edges) {
            assertEquals(key ^ 5, copy.get(key), "a map over the same slots, as a compiled tokenizer reads it");
        }
    }

    @Test
    void anEmptyTableIsAllZeros() {
        LongLongMap map = new LongLongMap(10);
        for (long slot : map.keys()) {
            assertEquals(0L, slot);
        }
        assertEquals(-1L, map.get(0L));
        assertEquals(-1L, map.get(0x7FFFFFFF7FFFFFFFL));
    }
}

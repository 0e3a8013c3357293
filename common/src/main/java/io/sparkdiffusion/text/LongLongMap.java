package io.sparkdiffusion.text;

/**
 * A map of non-negative long keys to non-negative long values with open addressing, for the BPE merges (49k pairs
 * of token ids): no boxing, and a mixed hash (a boxed {@code Long} of two packed ids hashes to their XOR, which
 * collides so often that the map's bins turn into trees and loading takes half a second). A slot holds its key plus
 * one, so that the JVM's zeroed array is the empty table: a fresh JVM's interpreter filled 131,072 slots with a
 * marker one at a time (about 5 ms of a first tokenizer build).
 */
final class LongLongMap {
    private final long[] keys;
    private final long[] values;
    private final int mask;

    /** A map for up to {@code expected} entries. */
    LongLongMap(int expected) {
        int capacity = Integer.highestOneBit(Math.max(4, expected) * 2 - 1) << 1;
        keys = new long[capacity];
        values = new long[capacity];
        mask = capacity - 1;
    }

    /** A map over the arrays of {@link #keys()} and {@link #values()} of another (a compiled tokenizer's). */
    LongLongMap(long[] keys, long[] values) {
        if (keys.length != values.length || Integer.bitCount(keys.length) != 1) {
            throw new IllegalArgumentException("keys and values must have the same power-of-two length");
        }
        this.keys = keys;
        this.values = values;
        this.mask = keys.length - 1;
    }

    int capacity() {
        return keys.length;
    }

    /** The slots' keys plus one (0: empty), not a copy. */
    long[] keys() {
        return keys;
    }

    /** The slots' values, not a copy. */
    long[] values() {
        return values;
    }

    /** Sets {@code key}'s value (both non-negative), replacing an earlier one; at most {@code expected} keys. */
    void put(long key, long value) {
        int i = slot(key);
        keys[i] = key + 1;
        values[i] = value;
    }

    /** {@code key}'s value, or -1. */
    long get(long key) {
        int i = slot(key);
        return keys[i] == key + 1 ? values[i] : -1L;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        int i = (int) (h ^ (h >>> 32)) & mask;
        while (keys[i] != 0 && keys[i] != key + 1) {
            i = (i + 1) & mask;
        }
        return i;
    }
}

package io.sparkdiffusion.noise;

import io.sparkdiffusion.tensor.Tensor;
import java.util.Arrays;

/**
 * Production noise: one deterministic Gaussian stream per row, keyed by the row's seed alone.
 *
 * <p>The algorithm is part of the output contract (a seed must give the same picture in every release), so it is
 * spelled out here and must never change:
 * <ol>
 *   <li>The row's 64-bit state starts at its seed. Each 64-bit output is SplitMix64 (Steele, Lea &amp; Flood 2014):
 *       {@code state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9;
 *       z = (z ^ (z >>> 27)) * 0x94D049BB133111EB; return z ^ (z >>> 31)}.</li>
 *   <li>A uniform double in [0, 1) is {@code (output >>> 11) * 2^-53}.</li>
 *   <li>Normals come in pairs by Box-Muller: with {@code u1 = 1 - uniform()} (in (0, 1]) and {@code u2 = uniform()},
 *       {@code r = sqrt(-2 ln u1)}, the pair is {@code r cos(2 pi u2)} then {@code r sin(2 pi u2)}, computed with
 *       {@link StrictMath} so every JVM and CPU gives the same bits (evaluated by {@link StrictBoxMuller}, which gives
 *       {@code StrictMath}'s results without a native call per value), then rounded to float32.</li>
 *   <li>A draw of shape {@code [B, ...]} fills row r in C order from row r's stream; an odd count leaves the spare
 *       normal for the row's next draw. Streams continue across the draws of one generation.</li>
 * </ol>
 */
public final class SeededNoise implements NoiseSource {
    private final RowStream[] rows;

    public SeededNoise(long... seeds) {
        rows = new RowStream[seeds.length];
        for (int i = 0; i < seeds.length; i++) {
            rows[i] = new RowStream(seeds[i]);
        }
    }

    @Override
    public Tensor next(long... shape) {
        if (shape.length == 0 || shape[0] != rows.length) {
            throw new IllegalArgumentException(
                    "noise for " + rows.length + " rows asked with shape " + Arrays.toString(shape));
        }
        Tensor t = Tensor.zeros(shape);
        float[] d = t.data();
        int row = t.rowSize();
        for (int r = 0; r < rows.length; r++) {
            for (int i = 0; i < row; i++) {
                d[r * row + i] = (float) rows[r].nextGaussian();
            }
        }
        return t;
    }

    /** One row's stream: SplitMix64 uniforms turned into normals by Box-Muller. */
    static final class RowStream {
        private long state;
        private boolean hasSpare;
        private double spare;
        /** The cosine and sine of the current pair's angle. */
        private final double[] cosSin = new double[2];

        RowStream(long seed) {
            this.state = seed;
        }

        long nextLong() {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }

        double nextUniform() {
            return (nextLong() >>> 11) * 0x1.0p-53;
        }

        double nextGaussian() {
            if (hasSpare) {
                hasSpare = false;
                return spare;
            }
            double u1 = 1.0 - nextUniform();
            double u2 = nextUniform();
            // StrictMath's log, cos and sin to the bit, without a native call each (StrictBoxMuller)
            double r = StrictMath.sqrt(-2.0 * StrictBoxMuller.log(u1));
            double angle = 2.0 * StrictMath.PI * u2;
            StrictBoxMuller.sinCos(angle, cosSin);
            spare = r * cosSin[1];
            hasSpare = true;
            return r * cosSin[0];
        }
    }
}

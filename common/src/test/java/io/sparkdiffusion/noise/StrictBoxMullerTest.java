package io.sparkdiffusion.noise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link StrictBoxMuller} gives {@link StrictMath}'s bits on every argument the noise can give it: millions of the
 * noise's own arguments, dense runs of neighbours around every boundary between fdlibm's paths, and random doubles
 * of the same ranges. And the seeded stream built on it is the contract's Box-Muller formula with {@code StrictMath},
 * written out here as the reference.
 */
class StrictBoxMullerTest {
    private static final double TWO_PI = 2.0 * StrictMath.PI;

    /**
     * A second stream of the same seed as the uniforms' source ({@code NoiseSourceTest} checks its SplitMix64 against
     * the reference vectors); the normals below are computed from its uniforms independently.
     */
    private static SeededNoise.RowStream uniforms(long seed) {
        return new SeededNoise.RowStream(seed);
    }

    @Test
    void theSeededStreamIsTheContractsStrictMathFormula() {
        for (long seed : new long[] {0L, 1L, 42L, -7L, Long.MIN_VALUE, 0x123456789abcdefL}) {
            SeededNoise.RowStream stream = new SeededNoise.RowStream(seed);
            SeededNoise.RowStream reference = uniforms(seed);
            for (int pair = 0; pair < 200_000; pair++) {
                double u1 = 1.0 - reference.nextUniform();
                double u2 = reference.nextUniform();
                double r = StrictMath.sqrt(-2.0 * StrictMath.log(u1));
                double angle = 2.0 * StrictMath.PI * u2;
                assertSameBits(r * StrictMath.cos(angle), stream.nextGaussian(), "seed " + seed + " pair " + pair);
                assertSameBits(r * StrictMath.sin(angle), stream.nextGaussian(), "seed " + seed + " pair " + pair);
            }
        }
    }

    @Test
    void logIsStrictMathsOnTheNoisesArgumentsAndAtEveryBoundary() {
        List<Double> args = new ArrayList<>();
        SeededNoise.RowStream rng = uniforms(2026L);
        for (int i = 0; i < 3_000_000; i++) {
            args.add(1.0 - rng.nextUniform()); // the noise's u1, in (0, 1]
        }
        for (int i = 0; i < 1_000_000; i++) {
            args.add(Double.longBitsToDouble(rng.nextLong() >>> 2)); // random positive doubles below 2, every exponent
        }
        // near 1 (the |f| < 2^-20 path and its edge), from both sides
        addNeighbours(args, 1.0, 300_000);
        addNeighbours(args, 1.0 - 0x1.0p-20, 2_000);
        addNeighbours(args, 1.0 + 0x1.0p-20, 2_000);
        // every power of two the noise can reach, and the splits of fdlibm's mantissa ranges at each
        for (int e = -60; e <= 2; e++) {
            double p = StrictMath.scalb(1.0, e);
            addNeighbours(args, p, 500);
            addNeighbours(args, p * StrictMath.sqrt(2.0), 500); // where x or x/2 is normalised
            addNeighbours(args, p * (1.0 + 0x6147a / 1048576.0), 500); // the two polynomial branches
            addNeighbours(args, p * (1.0 + 0x6b851 / 1048576.0), 500);
        }
        for (int k = 1; k <= 100_000; k++) {
            args.add(k * 0x1.0p-53); // the smallest u1s
        }
        args.add(Double.MIN_NORMAL);
        args.add(Double.MAX_VALUE);
        for (double x : new double[] {0.0, -0.0, -1.0, Double.MIN_VALUE, Double.POSITIVE_INFINITY, Double.NaN}) {
            args.add(x); // not the noise's arguments: handed to StrictMath
        }
        int checked = 0;
        for (double x : args) {
            double expected = StrictMath.log(x);
            double actual = StrictBoxMuller.log(x);
            if (Double.doubleToRawLongBits(expected) != Double.doubleToRawLongBits(actual)) {
                fail("log(" + x + " = " + Long.toHexString(Double.doubleToRawLongBits(x)) + "): StrictMath " + expected
                        + ", StrictBoxMuller " + actual);
            }
            checked++;
        }
        assertEquals(args.size(), checked);
    }

    @Test
    void sinAndCosAreStrictMathsOnTheNoisesAnglesAndAtEveryBoundary() {
        List<Double> angles = new ArrayList<>();
        SeededNoise.RowStream rng = uniforms(1130L);
        for (int i = 0; i < 3_000_000; i++) {
            angles.add(2.0 * StrictMath.PI * rng.nextUniform()); // the noise's angles, in [0, 2 pi)
        }
        for (int i = 0; i < 500_000; i++) {
            angles.add(7.0 * rng.nextUniform()); // the whole range reduced here
        }
        // multiples of pi/4: quadrant edges, where the reduction may cancel (1 to 3 steps), and where fdlibm's
        // polynomials switch (pi/4, 3 pi/4)
        for (int m = 1; m <= 8; m++) {
            addNeighbours(angles, m * StrictMath.PI / 4.0, 20_000);
        }
        addNeighbours(angles, TWO_PI, 20_000);
        addNeighbours(angles, 0.3, 2_000); // k_cos.c's |x| < 0.3 split
        addNeighbours(angles, 0.78125, 2_000); // k_cos.c's x/4 = 0.28125 split (high word 0x3fe90000)
        for (int e = -60; e <= 2; e++) {
            addNeighbours(angles, StrictMath.scalb(1.0, e), 200); // small angles (2^-27: the kernels' shortcut)
        }
        for (int k = 0; k <= 100_000; k++) {
            angles.add(TWO_PI * (k * 0x1.0p-53)); // the smallest angles the noise draws
            angles.add(TWO_PI * (1.0 - (k + 1) * 0x1.0p-53)); // and the largest
        }
        angles.add(7.0);
        for (double x : new double[] {-0.0, -1.0, 7.5, 1e9, Double.POSITIVE_INFINITY, Double.NaN}) {
            angles.add(x); // not the noise's angles: handed to StrictMath
        }
        double[] cosSin = new double[2];
        for (double x : angles) {
            StrictBoxMuller.sinCos(x, cosSin);
            assertSameBits(StrictMath.cos(x), cosSin[0], "cos(" + x + ")");
            assertSameBits(StrictMath.sin(x), cosSin[1], "sin(" + x + ")");
        }
    }

    /** {@code center} and {@code count} neighbouring doubles on each side of it. */
    private static void addNeighbours(List<Double> out, double center, int count) {
        out.add(center);
        double up = center;
        double down = center;
        for (int i = 0; i < count; i++) {
            up = Math.nextUp(up);
            down = Math.nextDown(down);
            out.add(up);
            out.add(down);
        }
    }

    private static void assertSameBits(double expected, double actual, String what) {
        if (Double.doubleToRawLongBits(expected) != Double.doubleToRawLongBits(actual)) {
            fail(what + ": StrictMath " + expected + " (" + Long.toHexString(Double.doubleToRawLongBits(expected))
                    + "), StrictBoxMuller " + actual + " (" + Long.toHexString(Double.doubleToRawLongBits(actual))
                    + ")");
        }
    }
}

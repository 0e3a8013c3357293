package io.sparkdiffusion.noise;

/**
 * {@link StrictMath#log}, {@link StrictMath#sin} and {@link StrictMath#cos} on the arguments Box-Muller gives them,
 * bit for bit, without a native call per value.
 *
 * <p>Why: {@link SeededNoise} promises the same bits on every JVM, so it uses {@code StrictMath}, whose results are
 * fdlibm 5.3's by specification. On Java 17 each of those three is a JNI call into the JDK's C fdlibm (about 16-20 ns
 * each, most of it the call), which made drawing the noise a third of the engine's own time per image on small
 * models (an ancestral scheduler draws a latent's worth at every step). This class evaluates the same fdlibm
 * algorithms in Java, operation for operation, so the results are the same doubles (Java 21 ports these routines to
 * Java the same way); the noise needs the sine and the cosine of one angle, so the angle is reduced once for both.
 *
 * <p>Sources of the formulas, all fdlibm 5.3 (Sun Microsystems, 1993; the algorithm {@code StrictMath} names):
 * {@code e_log.c} (log: {@code x = 2^k (1 + f)}, {@code log(1 + f) = 2s + s R(s^2)} with {@code s = f / (2 + f)} and
 * a degree-14 minimax {@code R}), {@code k_sin.c} and {@code k_cos.c} (sine and cosine on [-pi/4, pi/4] by minimax
 * polynomials, with the tail {@code y} of the reduced argument), {@code e_rem_pio2.c} (Cody-Waite reduction by pi/2
 * split into 33-bit pieces). Only the paths the noise's arguments can take are written here: {@link #log} takes
 * normal positive doubles, {@link #sinCos} angles in [0, 7] (the noise's are below 2 pi); anything else goes to
 * {@code StrictMath} itself.
 * {@code StrictBoxMullerTest} checks every path against {@code StrictMath} on millions of the noise's own arguments
 * and on the boundaries between paths.
 */
final class StrictBoxMuller {
    private StrictBoxMuller() {}

    // e_log.c: ln 2 in two parts, and the minimax coefficients Lg1..Lg7 of R(s^2)
    private static final double LN2_HI = Double.longBitsToDouble(0x3fe62e42fee00000L);
    private static final double LN2_LO = Double.longBitsToDouble(0x3dea39ef35793c76L);
    /** e_log.c's literal 0.33333333333333333, the double nearest 1/3. */
    private static final double ONE_THIRD = Double.longBitsToDouble(0x3FD5555555555555L);

    private static final double LG1 = Double.longBitsToDouble(0x3FE5555555555593L);
    private static final double LG2 = Double.longBitsToDouble(0x3FD999999997FA04L);
    private static final double LG3 = Double.longBitsToDouble(0x3FD2492494229359L);
    private static final double LG4 = Double.longBitsToDouble(0x3FCC71C51D8E78AFL);
    private static final double LG5 = Double.longBitsToDouble(0x3FC7466496CB03DEL);
    private static final double LG6 = Double.longBitsToDouble(0x3FC39A09D078C69FL);
    private static final double LG7 = Double.longBitsToDouble(0x3FC2F112DF3E5244L);

    // k_sin.c: sin(x) ~ x + S1 x^3 + ... + S6 x^13 on [-pi/4, pi/4]
    private static final double S1 = Double.longBitsToDouble(0xBFC5555555555549L);
    private static final double S2 = Double.longBitsToDouble(0x3F8111111110F8A6L);
    private static final double S3 = Double.longBitsToDouble(0xBF2A01A019C161D5L);
    private static final double S4 = Double.longBitsToDouble(0x3EC71DE357B1FE7DL);
    private static final double S5 = Double.longBitsToDouble(0xBE5AE5E68A2B9CEBL);
    private static final double S6 = Double.longBitsToDouble(0x3DE5D93A5ACFD57CL);

    // k_cos.c: cos(x) ~ 1 - x^2/2 + C1 x^4 + ... + C6 x^14 on [-pi/4, pi/4]
    private static final double C1 = Double.longBitsToDouble(0x3FA555555555554CL);
    private static final double C2 = Double.longBitsToDouble(0xBF56C16C16C15177L);
    private static final double C3 = Double.longBitsToDouble(0x3EFA01A019CB1590L);
    private static final double C4 = Double.longBitsToDouble(0xBE927E4F809C52ADL);
    private static final double C5 = Double.longBitsToDouble(0x3E21EE9EBDB4B1C4L);
    private static final double C6 = Double.longBitsToDouble(0xBDA8FAE9BE8838D4L);

    // e_rem_pio2.c: 2/pi, and pi/2 as 33 + 33 + 33 bits with the tail after each part
    private static final double INV_PIO2 = Double.longBitsToDouble(0x3FE45F306DC9C883L);
    private static final double PIO2_1 = Double.longBitsToDouble(0x3FF921FB54400000L);
    private static final double PIO2_1T = Double.longBitsToDouble(0x3DD0B4611A626331L);
    private static final double PIO2_2 = Double.longBitsToDouble(0x3DD0B4611A600000L);
    private static final double PIO2_2T = Double.longBitsToDouble(0x3BA3198A2E037073L);
    private static final double PIO2_3 = Double.longBitsToDouble(0x3BA3198A2E000000L);
    private static final double PIO2_3T = Double.longBitsToDouble(0x397B839A252049C1L);
    /** High words of n pi/2 for n = 1..4: an argument there may cancel in the first reduction step. */
    private static final int[] NPIO2_HIGH = {0x3FF921FB, 0x400921FB, 0x4012D97C, 0x401921FB};

    /** Largest angle {@link #sinCos} reduces itself (above 2 pi by a margin; the noise's angles are below 2 pi). */
    private static final double MAX_ANGLE = 7.0;

    private static int high(double x) {
        return (int) (Double.doubleToRawLongBits(x) >>> 32);
    }

    private static double withHigh(double x, int high) {
        return Double.longBitsToDouble(((long) high << 32) | (Double.doubleToRawLongBits(x) & 0xffffffffL));
    }

    /** {@code StrictMath.log(x)}, bit for bit. */
    static double log(double x) {
        int hx = high(x);
        if (hx < 0x00100000 || hx >= 0x7ff00000) {
            return StrictMath.log(x); // zero, negative, subnormal, infinite or NaN: not the noise's arguments
        }
        int k = (hx >> 20) - 1023;
        hx &= 0x000fffff;
        int i = (hx + 0x95f64) & 0x100000;
        x = withHigh(x, hx | (i ^ 0x3ff00000)); // x or x/2 into [sqrt(2)/2, sqrt(2))
        k += i >> 20;
        double f = x - 1.0;
        if ((0x000fffff & (2 + hx)) < 3) { // |f| < 2^-20
            if (f == 0.0) {
                if (k == 0) {
                    return 0.0;
                }
                double dk = k;
                return dk * LN2_HI + dk * LN2_LO;
            }
            double r = f * f * (0.5 - ONE_THIRD * f);
            if (k == 0) {
                return f - r;
            }
            double dk = k;
            return dk * LN2_HI - ((r - dk * LN2_LO) - f);
        }
        double s = f / (2.0 + f);
        double dk = k;
        double z = s * s;
        i = hx - 0x6147a;
        double w = z * z;
        int j = 0x6b851 - hx;
        double t1 = w * (LG2 + w * (LG4 + w * LG6));
        double t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
        i |= j;
        double r = t2 + t1;
        if (i > 0) {
            double hfsq = 0.5 * f * f;
            if (k == 0) {
                return f - (hfsq - s * (hfsq + r));
            }
            return dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f);
        }
        if (k == 0) {
            return f - s * (f - r);
        }
        return dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f);
    }

    /**
     * {@code StrictMath.cos(angle)} into {@code out[0]} and {@code StrictMath.sin(angle)} into {@code out[1]}, bit for
     * bit, reducing the angle once.
     */
    static void sinCos(double angle, double[] out) {
        if (!(angle >= 0.0 && angle <= MAX_ANGLE)) {
            out[0] = StrictMath.cos(angle);
            out[1] = StrictMath.sin(angle);
            return;
        }
        int ix = high(angle);
        if (ix <= 0x3fe921fb) { // |x| ~< pi/4: no reduction
            out[0] = kernelCos(angle, 0.0);
            out[1] = kernelSin(angle, 0.0, false);
            return;
        }
        double y0;
        double y1;
        int n;
        if (ix < 0x4002d97c) { // |x| < 3 pi/4: n = 1
            n = 1;
            double z = angle - PIO2_1;
            if (ix != 0x3ff921fb) { // 33 + 53 bits of pi/2 are enough
                y0 = z - PIO2_1T;
                y1 = (z - y0) - PIO2_1T;
            } else { // near pi/2: 33 + 33 + 53 bits
                z -= PIO2_2;
                y0 = z - PIO2_2T;
                y1 = (z - y0) - PIO2_2T;
            }
        } else { // medium size: n = round(x * 2/pi), then one to three Cody-Waite steps
            n = (int) (angle * INV_PIO2 + 0.5);
            double fn = n;
            double r = angle - fn * PIO2_1;
            double w = fn * PIO2_1T; // first step good to 85 bits
            if (ix != NPIO2_HIGH[n - 1]) {
                y0 = r - w; // no cancellation possible
            } else {
                int j = ix >> 20;
                y0 = r - w;
                int i = j - ((high(y0) >> 20) & 0x7ff);
                if (i > 16) { // second step, good to 118 bits
                    double t = r;
                    w = fn * PIO2_2;
                    r = t - w;
                    w = fn * PIO2_2T - ((t - r) - w);
                    y0 = r - w;
                    i = j - ((high(y0) >> 20) & 0x7ff);
                    if (i > 49) { // third step, 151 bits
                        t = r;
                        w = fn * PIO2_3;
                        r = t - w;
                        w = fn * PIO2_3T - ((t - r) - w);
                        y0 = r - w;
                    }
                }
            }
            y1 = (r - y0) - w;
        }
        // sin(x) and cos(x) from the quadrant n & 3 and the reduced argument y0 + y1 (s_sin.c, s_cos.c)
        switch (n & 3) {
            case 0 -> {
                out[0] = kernelCos(y0, y1);
                out[1] = kernelSin(y0, y1, true);
            }
            case 1 -> {
                out[0] = -kernelSin(y0, y1, true);
                out[1] = kernelCos(y0, y1);
            }
            case 2 -> {
                out[0] = -kernelCos(y0, y1);
                out[1] = -kernelSin(y0, y1, true);
            }
            default -> {
                out[0] = kernelSin(y0, y1, true);
                out[1] = -kernelCos(y0, y1);
            }
        }
    }

    /** k_sin.c: sin(x + y) for |x| ~< pi/4, y the tail of x ({@code withTail} false: y is 0). */
    private static double kernelSin(double x, double y, boolean withTail) {
        int ix = high(x) & 0x7fffffff;
        if (ix < 0x3e400000 && (int) x == 0) { // |x| < 2^-27
            return x;
        }
        double z = x * x;
        double v = z * x;
        double r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
        if (!withTail) {
            return x + v * (S1 + z * r);
        }
        return x - ((z * (0.5 * y - v * r) - y) - v * S1);
    }

    /** k_cos.c: cos(x + y) for |x| ~< pi/4, y the tail of x. */
    private static double kernelCos(double x, double y) {
        int ix = high(x) & 0x7fffffff;
        if (ix < 0x3e400000 && (int) x == 0) { // |x| < 2^-27
            return 1.0;
        }
        double z = x * x;
        double r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
        if (ix < 0x3FD33333) { // |x| < 0.3
            return 1.0 - (0.5 * z - (z * r - x * y));
        }
        double qx = ix > 0x3fe90000 ? 0.28125 : Double.longBitsToDouble((long) (ix - 0x00200000) << 32); // x/4
        double hz = 0.5 * z - qx;
        double a = 1.0 - qx;
        return a - (hz - (z * r - x * y));
    }
}

package io.sparkdiffusion.image;

/**
 * 4-channel JPEG to RGB exactly as PIL does it. libjpeg turns YCCK into CMYK with its fixed-point YCbCr tables
 * (jdcolor.c {@code ycck_cmyk_convert}: C, M, Y = 255 - RGB of the YCbCr part, K as stored); Pillow reads every
 * 4-channel JPEG as Adobe-inverted CMYK ({@code CMYK;I}, whatever its markers say) and converts it without colour
 * management (Convert.c {@code cmyk2rgb}: {@code R = (255 - K) - (255 - K) * C / 255} on the inverted values, with
 * its MULDIV255 rounding).
 */
final class Cmyk {
    private static final int SCALE_BITS = 16;
    private static final int ONE_HALF = 1 << (SCALE_BITS - 1);
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final int[] CR_G = new int[256];
    private static final int[] CB_G = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_R[i] = (fix(1.40200) * x + ONE_HALF) >> SCALE_BITS;
            CB_B[i] = (fix(1.77200) * x + ONE_HALF) >> SCALE_BITS;
            CR_G[i] = -fix(0.71414) * x;
            CB_G[i] = -fix(0.34414) * x + ONE_HALF;
        }
    }

    private Cmyk() {}

    private static int fix(double x) {
        return (int) (x * (1 << SCALE_BITS) + 0.5);
    }

    /** libjpeg's YCCK to CMYK into {@code cmyk}. */
    static void fromYcck(int y, int cb, int cr, int k, int[] cmyk) {
        cmyk[0] = clamp(255 - (y + CR_R[cr]));
        cmyk[1] = clamp(255 - (y + ((CB_G[cb] + CR_G[cr]) >> SCALE_BITS)));
        cmyk[2] = clamp(255 - (y + CB_B[cb]));
        cmyk[3] = k;
    }

    /**
     * Red (channel 0), green (1) or blue (2) of a pixel from libjpeg's CMYK output: inverted to Adobe polarity, then
     * {@code nk - nk * c / 255} with {@code nk = 255 - k}.
     */
    static int rgb(int[] rawCmyk, int channel) {
        int c = 255 - rawCmyk[channel];
        int nk = rawCmyk[3]; // 255 - (255 - raw K)
        int t = c * nk + 128;
        return clamp(nk - (((t >> 8) + t) >> 8));
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }
}

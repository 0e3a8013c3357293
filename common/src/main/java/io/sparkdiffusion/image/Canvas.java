package io.sparkdiffusion.image;

import java.util.List;

/**
 * A picture being decoded: 8-bit RGB(A) values as PIL holds them go in pixel by pixel, composited over white at
 * once (so no alpha plane is kept), and come out as {@link DecodedImage} floats in [0, 1] after the EXIF orientation.
 */
final class Canvas {
    private final int width;
    private final int height;
    private final float[] rgb;
    private boolean translucent;
    private int orientation = 1;

    Canvas(int width, int height) {
        this(width, height, new float[Math.multiplyExact(Math.multiplyExact(width, height), 3)]);
    }

    private Canvas(int width, int height, float[] rgb) {
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /** Pixel {@code i} (row-major) from 8-bit values; alpha below 255 is composited over white. */
    void put(int i, int r, int g, int b, int a) {
        int o = 3 * i;
        if (a < 255) {
            translucent = true;
            r = overWhite(r, a);
            g = overWhite(g, a);
            b = overWhite(b, a);
        }
        rgb[o] = r / 255f;
        rgb[o + 1] = g / 255f;
        rgb[o + 2] = b / 255f;
    }

    private static int overWhite(int v, int a) {
        return (int) Math.round((v * a + 255 * (255 - a)) / 255.0);
    }

    /**
     * The picture turned upright for EXIF orientation 1 to 8, as PIL's {@code exif_transpose}: 2 mirror left-right,
     * 3 rotate 180, 4 mirror top-bottom, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
     * counter-clockwise.
     */
    Canvas oriented(int exifOrientation) {
        if (exifOrientation == 1) {
            return this;
        }
        boolean swap = exifOrientation >= 5;
        int ow = swap ? height : width;
        int oh = swap ? width : height;
        float[] out = new float[rgb.length];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx;
                int sy;
                switch (exifOrientation) {
                    case 2 -> {
                        sx = width - 1 - x;
                        sy = y;
                    }
                    case 3 -> {
                        sx = width - 1 - x;
                        sy = height - 1 - y;
                    }
                    case 4 -> {
                        sx = x;
                        sy = height - 1 - y;
                    }
                    case 5 -> {
                        sx = y;
                        sy = x;
                    }
                    case 6 -> {
                        sx = y;
                        sy = height - 1 - x;
                    }
                    case 7 -> {
                        sx = width - 1 - y;
                        sy = height - 1 - x;
                    }
                    default -> { // 8
                        sx = width - 1 - y;
                        sy = x;
                    }
                }
                System.arraycopy(rgb, 3 * (sy * width + sx), out, 3 * (y * ow + x), 3);
            }
        }
        Canvas c = new Canvas(ow, oh, out);
        c.translucent = translucent;
        c.orientation = exifOrientation;
        return c;
    }

    DecodedImage finish(List<String> notes) {
        if (orientation != 1) {
            notes.add("EXIF orientation " + orientation + ": " + ORIENTATIONS[orientation]);
        }
        if (translucent) {
            notes.add("alpha channel composited over white");
        }
        return new DecodedImage(rgb, width, height, List.copyOf(notes));
    }

    private static final String[] ORIENTATIONS = {
        "",
        "",
        "mirrored left-right",
        "rotated 180°",
        "mirrored top-bottom",
        "transposed",
        "rotated 90° clockwise",
        "transversed",
        "rotated 90° counter-clockwise"
    };
}

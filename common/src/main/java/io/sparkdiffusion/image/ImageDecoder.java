package io.sparkdiffusion.image;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes input pictures (PNG, JPEG, WebP, and whatever else ImageIO reads) defensively, for batch jobs over
 * archives: the format comes from the bytes, not the file name; the dimensions are read from the header and
 * checked against {@link Limits} before any pixel is decoded (a decompression bomb is refused without allocating
 * it); a truncated file is an error, not a grey half-picture; alpha is composited over white.
 */
public final class ImageDecoder {
    /**
     * Size limits checked on the header, before any pixel is decoded.
     *
     * @param maxPixels the largest width x height accepted (a header beyond it is refused before decoding)
     * @param minSide the smallest width or height accepted
     */
    public record Limits(long maxPixels, int minSide) implements Serializable {
        public static final Limits DEFAULT = new Limits(64L * 1024 * 1024, 8);
    }

    private ImageDecoder() {}

    public static DecodedImage decode(byte[] bytes, Limits limits) throws ImageDecodeException {
        if (bytes == null || bytes.length == 0) {
            throw new ImageDecodeException("empty file (0 bytes)");
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new ImageDecodeException(
                        "not a readable image (" + bytes.length + " bytes, no PNG/JPEG/WebP signature)");
            }
            ImageReader reader = readers.next();
            String format = reader.getFormatName().toUpperCase(Locale.ROOT);
            try {
                reader.setInput(in, true, true);
                int w = reader.getWidth(0);
                int h = reader.getHeight(0);
                if ((long) w * h > limits.maxPixels()) {
                    throw new ImageDecodeException(format + " header says " + w + "x" + h + " = " + ((long) w * h)
                            + " pixels, over the limit of " + limits.maxPixels() + ": refused before decoding");
                }
                if (w < limits.minSide() || h < limits.minSide()) {
                    throw new ImageDecodeException(format + " image " + w + "x" + h + " is too small (minimum "
                            + limits.minSide() + "x" + limits.minSide() + ")");
                }
                StringBuilder warnings = new StringBuilder();
                reader.addIIOReadWarningListener(
                        (source, warning) -> warnings.append(warning).append("; "));
                BufferedImage img = reader.read(0);
                if (warnings.length() > 0) {
                    throw new ImageDecodeException(
                            format + " is damaged: " + warnings.toString().replaceAll("; $", ""));
                }
                return toRgb(img);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new ImageDecodeException(
                    "cannot decode image: "
                            + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()),
                    e);
        }
    }

    /** Pixels to floats in [0, 1]; transparent pixels over white. */
    static DecodedImage toRgb(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        boolean alpha = img.getColorModel().hasAlpha();
        float[] rgb = new float[w * h * 3];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int argb = row[x];
                int a = alpha ? argb >>> 24 : 255;
                int o = (y * w + x) * 3;
                for (int k = 0; k < 3; k++) {
                    int v = (argb >> (16 - 8 * k)) & 0xff;
                    if (a < 255) {
                        v = Math.round((v * a + 255 * (255 - a)) / 255f);
                    }
                    rgb[o + k] = v / 255f;
                }
            }
        }
        return new DecodedImage(rgb, w, h, alpha);
    }
}

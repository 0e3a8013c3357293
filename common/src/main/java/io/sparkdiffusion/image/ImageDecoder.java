package io.sparkdiffusion.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DirectColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes input pictures (PNG, JPEG, WebP, and whatever else ImageIO reads) defensively, for batch jobs over
 * archives, into the pixels diffusers' {@code load_image} gets from PIL ({@code Image.open},
 * {@code ImageOps.exif_transpose}, {@code convert("RGB")}):
 *
 * <ul>
 *   <li>the format comes from the bytes, not the file name; the dimensions are read from the header and checked
 *       against {@link Limits} before any pixel is decoded (a decompression bomb is refused without allocating it);
 *       a truncated file is an error, not a grey half-picture;
 *   <li>samples are taken from the raster as PIL takes them, never through Java's colour management (which treats
 *       grey as linear and applies embedded ICC profiles; PIL does neither): 16 bits per sample keep the high byte,
 *       except 16-bit grey without alpha, which PIL opens as {@code I;16} and clips at 255; grey below 8 bits is
 *       scaled to 0..255; 4-channel JPEGs are Adobe-inverted CMYK (YCCK first turned into CMYK as libjpeg does),
 *       converted with PIL's {@code cmyk2rgb};
 *   <li>the EXIF orientation is applied as {@code exif_transpose} does;
 *   <li>alpha is composited over white (diffusers' {@code convert("RGB")} drops it, showing whatever colour the
 *       transparent pixels hold).
 * </ul>
 *
 * Every conversion is listed in {@link DecodedImage#notes()}.
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
                List<String> notes = new ArrayList<>();
                Canvas canvas = format.equals("JPEG") ? jpeg(reader, bytes, notes) : picture(reader.read(0), notes);
                if (warnings.length() > 0) {
                    throw new ImageDecodeException(
                            format + " is damaged: " + warnings.toString().replaceAll("; $", ""));
                }
                return canvas.oriented(PictureHeaders.orientation(bytes)).finish(notes);
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

    /** JPEG: grey and YCbCr through the JDK's libjpeg; CMYK and YCCK from the raw raster, as PIL converts them. */
    private static Canvas jpeg(ImageReader reader, byte[] bytes, List<String> notes) throws IOException {
        PictureHeaders.Jpeg jpeg = PictureHeaders.jpeg(bytes);
        if (jpeg.components() != 4) {
            return picture(reader.read(0), notes);
        }
        Raster raster = reader.readRaster(0, null);
        boolean ycck = jpeg.adobeTransform() == 2;
        notes.add(
                (ycck ? "YCCK" : "CMYK") + " JPEG converted to RGB as PIL does (Adobe-inverted CMYK, no ICC profile)");
        int w = raster.getWidth();
        int h = raster.getHeight();
        Canvas c = new Canvas(w, h);
        int[] row = new int[w * 4];
        int[] cmyk = new int[4];
        for (int y = 0; y < h; y++) {
            raster.getPixels(0, y, w, 1, row);
            for (int x = 0; x < w; x++) {
                int o = 4 * x;
                if (ycck) {
                    Cmyk.fromYcck(row[o], row[o + 1], row[o + 2], row[o + 3], cmyk);
                } else {
                    System.arraycopy(row, o, cmyk, 0, 4);
                }
                c.put(y * w + x, Cmyk.rgb(cmyk, 0), Cmyk.rgb(cmyk, 1), Cmyk.rgb(cmyk, 2), 255);
            }
        }
        return c;
    }

    /** Any other picture, from its raster and colour model (no colour management), else through {@code getRGB}. */
    private static Canvas picture(BufferedImage img, List<String> notes) {
        ColorModel cm = img.getColorModel();
        Raster raster = img.getRaster();
        int w = img.getWidth();
        int h = img.getHeight();
        Canvas c = new Canvas(w, h);
        int bands = raster.getNumBands();
        int[] row = new int[w * bands];
        if (cm instanceof IndexColorModel palette) {
            notes.add(greyPalette(palette) ? "grayscale converted to RGB" : "palette picture converted to RGB");
            for (int y = 0; y < h; y++) {
                raster.getPixels(0, y, w, 1, row);
                for (int x = 0; x < w; x++) {
                    int argb = palette.getRGB(row[x]);
                    c.put(y * w + x, argb >> 16 & 0xff, argb >> 8 & 0xff, argb & 0xff, argb >>> 24);
                }
            }
            return c;
        }
        int colourType = cm.getColorSpace().getType();
        boolean raw = (cm instanceof ComponentColorModel || cm instanceof DirectColorModel)
                && !cm.isAlphaPremultiplied()
                && (colourType == ColorSpace.TYPE_GRAY || colourType == ColorSpace.TYPE_RGB)
                && bands == cm.getNumComponents();
        if (!raw) {
            return viaRgb(img, c);
        }
        boolean alpha = cm.hasAlpha();
        boolean grey = colourType == ColorSpace.TYPE_GRAY;
        int bits = raster.getSampleModel().getSampleSize(0);
        // PIL opens 16-bit grey without alpha as I;16, and its convert clips to 255 instead of scaling
        boolean clip = grey && !alpha && bits == 16;
        if (grey) {
            notes.add("grayscale converted to RGB");
        }
        if (bits == 16) {
            notes.add(
                    clip
                            ? "16-bit grayscale read as PIL does: values above 255 clipped"
                            : "16-bit samples reduced to 8 bits (the high byte, as PIL)");
        }
        int[] max = new int[bands];
        for (int b = 0; b < bands; b++) {
            max[b] = (1 << raster.getSampleModel().getSampleSize(b)) - 1;
        }
        long clipped = 0;
        for (int y = 0; y < h; y++) {
            raster.getPixels(0, y, w, 1, row);
            for (int x = 0; x < w; x++) {
                int o = x * bands;
                int r;
                int g;
                int b;
                if (grey) {
                    r = clip ? Math.min(row[o], 255) : to8(row[o], max[0]);
                    clipped += clip && row[o] > 255 ? 1 : 0;
                    g = r;
                    b = r;
                } else {
                    r = to8(row[o], max[0]);
                    g = to8(row[o + 1], max[1]);
                    b = to8(row[o + 2], max[2]);
                }
                int a = alpha ? to8(row[o + bands - 1], max[bands - 1]) : 255;
                c.put(y * w + x, r, g, b, a);
            }
        }
        if (clipped > 0) {
            notes.add(String.format(
                    Locale.ROOT,
                    "warning: %.1f%% of the 16-bit grayscale pixels are above 255 and show as white",
                    100.0 * clipped / ((long) w * h)));
        }
        return c;
    }

    /** Grey PNGs below 8 bits come as a palette of grey levels. */
    private static boolean greyPalette(IndexColorModel palette) {
        for (int i = 0; i < palette.getMapSize(); i++) {
            if (palette.getRed(i) != palette.getGreen(i) || palette.getRed(i) != palette.getBlue(i)) {
                return false;
            }
        }
        return true;
    }

    /** One sample as 8 bits: the high byte of 16, scaled up from fewer (PIL's L;2, L;4 unpackers). */
    private static int to8(int sample, int max) {
        if (max == 255) {
            return sample;
        }
        if (max == 65535) {
            return sample >> 8;
        }
        return (int) Math.round(sample * 255.0 / max);
    }

    /** Other colour models (CMYK TIFF, premultiplied alpha): Java's own conversion to sRGB. */
    private static Canvas viaRgb(BufferedImage img, Canvas c) {
        int w = img.getWidth();
        int[] row = new int[w];
        for (int y = 0; y < img.getHeight(); y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int argb = row[x];
                c.put(y * w + x, argb >> 16 & 0xff, argb >> 8 & 0xff, argb & 0xff, argb >>> 24);
            }
        }
        return c;
    }
}

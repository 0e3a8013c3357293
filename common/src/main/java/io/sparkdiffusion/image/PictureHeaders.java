package io.sparkdiffusion.image;

/**
 * What a picture's container says besides its pixels, read from the bytes as PIL reads it: the EXIF orientation (a
 * JPEG's APP1 {@code Exif} segment, a PNG's {@code eXIf} chunk, a WebP's {@code EXIF} chunk) and a JPEG's component
 * count and Adobe colour transform. Malformed or missing parts read as "nothing said" (orientation 1, no Adobe
 * segment); the pixels' own decoder reports damaged files.
 */
final class PictureHeaders {
    private static final int TAG_ORIENTATION = 0x0112;

    private PictureHeaders() {}

    /**
     * What a JPEG's segments before the image data say.
     *
     * @param components colour components in the frame header (1 grey, 3 YCbCr or RGB, 4 CMYK or YCCK); 0 unknown
     * @param adobeTransform the last Adobe APP14 segment's transform (0 none, 1 YCbCr, 2 YCCK), as libjpeg reads it;
     *     -1 without one
     * @param orientation the EXIF orientation of the first APP1 {@code Exif} segment (PIL reads the first); 1 without
     */
    record Jpeg(int components, int adobeTransform, int orientation) {}

    static Jpeg jpeg(byte[] b) {
        int components = 0;
        int adobe = -1;
        int orientation = 0;
        int i = 2; // after SOI
        while (i + 4 <= b.length && (b[i] & 0xff) == 0xff) {
            int marker = b[i + 1] & 0xff;
            if (marker == 0xff) { // fill byte
                i++;
                continue;
            }
            if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) { // no length
                i += 2;
                continue;
            }
            int length = u16(b, i + 2, false);
            int payload = i + 4;
            if (length < 2 || payload + length - 2 > b.length || marker == 0xda || marker == 0xd9) {
                break; // the image data (or the end, or damage) follows
            }
            boolean frame = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
            if (frame && length >= 8) {
                components = b[payload + 5] & 0xff;
            } else if (marker == 0xee && length >= 14 && startsWith(b, payload, "Adobe")) {
                adobe = b[payload + 11] & 0xff;
            } else if (marker == 0xe1 && orientation == 0 && length >= 8 && startsWith(b, payload, "Exif\0\0")) {
                orientation = tiffOrientation(b, payload + 6, length - 2 - 6);
            }
            i = payload + length - 2;
        }
        return new Jpeg(components, adobe, orientation == 0 ? 1 : orientation);
    }

    /** The EXIF orientation, 1 (as stored) to 8, of a JPEG, PNG or WebP; 1 when there is none. */
    static int orientation(byte[] b) {
        int o;
        if (b.length > 4 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8) {
            o = jpeg(b).orientation();
        } else if (b.length > 8 && (b[0] & 0xff) == 0x89 && startsWith(b, 1, "PNG")) {
            o = pngOrientation(b);
        } else if (b.length > 12 && startsWith(b, 0, "RIFF") && startsWith(b, 8, "WEBP")) {
            o = webpOrientation(b);
        } else {
            o = 1;
        }
        return o >= 1 && o <= 8 ? o : 1;
    }

    private static int pngOrientation(byte[] b) {
        int i = 8;
        while (i + 12 <= b.length) {
            long length = u32(b, i, false);
            if (length > b.length - i - 12L) {
                return 1;
            }
            if (startsWith(b, i + 4, "eXIf")) {
                return tiffOrientation(b, i + 8, (int) length);
            }
            if (startsWith(b, i + 4, "IDAT")) {
                return 1; // eXIf must come before the image data
            }
            i += 12 + (int) length;
        }
        return 1;
    }

    private static int webpOrientation(byte[] b) {
        int i = 12;
        while (i + 8 <= b.length) {
            long length = u32(b, i + 4, true);
            if (length > b.length - i - 8L) {
                return 1;
            }
            if (startsWith(b, i, "EXIF")) {
                int at = i + 8;
                int n = (int) length;
                if (n >= 6 && startsWith(b, at, "Exif\0\0")) { // some writers keep the JPEG prefix
                    at += 6;
                    n -= 6;
                }
                return tiffOrientation(b, at, n);
            }
            i += 8 + (int) ((length + 1) & ~1L); // chunks are padded to an even size
        }
        return 1;
    }

    /** Tag 0x0112 of IFD0 in the TIFF structure at {@code b[start, start + length)}. */
    private static int tiffOrientation(byte[] b, int start, int length) {
        if (length < 8) {
            return 1;
        }
        boolean little;
        if (startsWith(b, start, "II")) {
            little = true;
        } else if (startsWith(b, start, "MM")) {
            little = false;
        } else {
            return 1;
        }
        long ifd = u32(b, start + 4, little);
        if (ifd < 8 || ifd + 2 > length) {
            return 1;
        }
        int entries = u16(b, start + (int) ifd, little);
        for (int k = 0; k < entries; k++) {
            int e = start + (int) ifd + 2 + 12 * k;
            if (e + 12 > start + length) {
                return 1;
            }
            if (u16(b, e, little) == TAG_ORIENTATION) {
                int type = u16(b, e + 2, little);
                return type == 3 ? u16(b, e + 8, little) : type == 4 ? (int) u32(b, e + 8, little) : 1;
            }
        }
        return 1;
    }

    private static boolean startsWith(byte[] b, int at, String ascii) {
        if (at < 0 || at + ascii.length() > b.length) {
            return false;
        }
        for (int k = 0; k < ascii.length(); k++) {
            if (b[at + k] != (byte) ascii.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private static int u16(byte[] b, int at, boolean little) {
        int x = b[at] & 0xff;
        int y = b[at + 1] & 0xff;
        return little ? x | y << 8 : x << 8 | y;
    }

    private static long u32(byte[] b, int at, boolean little) {
        long hi = u16(b, at + (little ? 2 : 0), little);
        long lo = u16(b, at + (little ? 0 : 2), little);
        return hi << 16 | lo;
    }
}

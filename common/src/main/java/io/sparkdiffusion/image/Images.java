package io.sparkdiffusion.image;

import io.sparkdiffusion.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/** Converts engine output ({@code (B, H, W, C)} floats in [0, 1]) to 8-bit images and PNG bytes. */
public final class Images {
    private Images() {}

    /** diffusers' {@code numpy_to_pil}: {@code round(clamp(x, 0, 1) * 255)} (round half to even, as NumPy). */
    public static int to8bit(float x) {
        float c = Math.min(1f, Math.max(0f, x));
        return (int) Math.rint(c * 255f);
    }

    /** Row {@code row} of an NHWC batch as an image: grayscale for 1 channel, RGB for 3, RGB without alpha for 4. */
    public static BufferedImage toImage(Tensor nhwc, int row) {
        long[] s = nhwc.shape();
        int h = (int) s[1];
        int w = (int) s[2];
        int c = (int) s[3];
        if (c != 1 && c != 3 && c != 4) {
            throw new IllegalArgumentException("cannot write an image with " + c + " channels");
        }
        BufferedImage img =
                new BufferedImage(w, h, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR);
        WritableRaster raster = img.getRaster();
        float[] d = nhwc.data();
        int base = row * h * w * c;
        int[] px = new int[c == 1 ? 1 : 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int o = base + (y * w + x) * c;
                for (int k = 0; k < px.length; k++) {
                    px[k] = to8bit(d[o + k]);
                }
                raster.setPixel(x, y, px);
            }
        }
        return img;
    }

    public static byte[] toPng(Tensor nhwc, int row) {
        return toPng(toImage(nhwc, row));
    }

    public static byte[] toPng(BufferedImage img) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (!ImageIO.write(img, "png", out)) {
                throw new IllegalStateException("no PNG writer available");
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

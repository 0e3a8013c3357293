package io.sparkdiffusion.image;

import io.sparkdiffusion.tensor.Tensor;
import java.util.List;

/**
 * A decoded RGB picture as floats in [0, 1], {@code (H, W, 3)} in row-major order, as diffusers' image processor
 * sees a PIL image ({@code np.array(img) / 255}).
 *
 * @param notes what was done to the source's pixels to get here, for the job's metadata ({@code grayscale converted to
 *     RGB}, {@code EXIF orientation 6: rotated 90° clockwise}, {@code alpha channel composited over white}, ...)
 */
@SuppressWarnings("ArrayRecordComponent") // a value carrier read in place, never compared or hashed
public record DecodedImage(float[] rgb, int width, int height, List<String> notes) {
    public DecodedImage(float[] rgb, int width, int height) {
        this(rgb, width, height, List.of());
    }

    /** As a batch of one, {@code (1, H, W, 3)}. */
    public Tensor toTensor() {
        return new Tensor(new long[] {1, height, width, 3}, rgb);
    }

    /**
     * Grayscale as PIL's {@code convert("L")}: {@code L = R * 299/1000 + G * 587/1000 + B * 114/1000} on the 8-bit
     * values, then back to [0, 1].
     */
    public float[] luminance() {
        float[] out = new float[width * height];
        for (int i = 0; i < out.length; i++) {
            int r = Math.round(rgb[3 * i] * 255);
            int g = Math.round(rgb[3 * i + 1] * 255);
            int b = Math.round(rgb[3 * i + 2] * 255);
            int luma = (r * 299 + g * 587 + b * 114 + 500) / 1000; // integer ITU-R 601 luma, as PIL's convert("L")
            out[i] = luma / 255f;
        }
        return out;
    }

    /** Resized with Lanczos (a = 3) resampling, as diffusers resizes PIL inputs. */
    public DecodedImage resize(int newWidth, int newHeight) {
        if (newWidth == width && newHeight == height) {
            return this;
        }
        return new DecodedImage(Resize.lanczos(rgb, width, height, 3, newWidth, newHeight), newWidth, newHeight, notes);
    }
}

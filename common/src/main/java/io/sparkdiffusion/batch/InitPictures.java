package io.sparkdiffusion.batch;

import io.sparkdiffusion.image.DecodedImage;
import io.sparkdiffusion.image.ImageDecodeException;
import io.sparkdiffusion.image.ImageDecoder;
import io.sparkdiffusion.image.Resize;
import io.sparkdiffusion.pipeline.RequestRules;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.InvalidRequestException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * A row's init image and mask, from their bytes to what the engine takes, the same for the job and the DataFrame
 * transformer: the picture is decoded defensively ({@link ImageDecoder}); its size is the row's width and height when
 * given, else its own, shrunk to {@code maxSide} keeping the aspect ratio and rounded down to the model's size
 * multiple; a mask of another size is stretched to the picture (nearest), which is noted; a mask without a white pixel
 * is refused (nothing to repaint), an all-white one noted as a warning. A picture that cannot be used is an
 * {@link InvalidRequestException} naming {@code image} or {@code mask}.
 */
public final class InitPictures implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * A row's pictures, ready for {@link GenerationRow}: the image and the mask (or null) in [0, 1] at the output size,
     * and what was converted on the way.
     */
    @SuppressWarnings("ArrayRecordComponent") // a value carrier read in place, never compared or hashed
    public record Prepared(DecodedImage image, float[] mask, int width, int height, List<String> notes) {
        /** The picture as the engine takes it, {@code (H, W, 3)}. */
        public Tensor imageTensor() {
            return new Tensor(new long[] {height, width, 3}, image.rgb());
        }

        /** The mask as the engine takes it, {@code (H, W)}; null without one. */
        public Tensor maskTensor() {
            return mask == null ? null : new Tensor(new long[] {height, width}, mask);
        }
    }

    /** A picture's bytes and how messages name it ({@code image}, or {@code image s3a://bucket/a.png}). */
    @SuppressWarnings("ArrayRecordComponent") // a value carrier read in place, never compared or hashed
    public record Source(byte[] bytes, String label) {}

    private final int sizeMultiple;
    private final int maxSide;
    private final long maxPixels;
    private final ImageDecoder.Limits limits;

    /**
     * Pictures for a model whose sizes are multiples of {@code sizeMultiple}.
     *
     * @param maxSide an unsized picture is shrunk to this longest side
     * @param maxPixels the largest output (width x height) accepted ({@link RequestRules#pixels})
     * @param limits the decoder's limits, checked on the header before any pixel is decoded
     */
    public InitPictures(int sizeMultiple, int maxSide, long maxPixels, ImageDecoder.Limits limits) {
        this.sizeMultiple = sizeMultiple;
        this.maxSide = maxSide;
        this.maxPixels = maxPixels;
        this.limits = limits;
    }

    /**
     * Decodes and sizes a row's picture and, for inpainting, its mask.
     *
     * @param width the row's width, or 0 for the picture's own
     * @param height the row's height, or 0 for the picture's own
     * @param mask the mask, or null when the row has none
     */
    public Prepared prepare(Source image, Source mask, int width, int height) {
        DecodedImage original = decode("image", image);
        List<String> notes = new ArrayList<>(original.notes());
        int w = width;
        int h = height;
        if (w == 0 || h == 0) {
            double shrink = Math.min(1.0, (double) maxSide / Math.max(original.width(), original.height()));
            if (shrink < 1) {
                notes.add("downscaled from " + original.width() + "x" + original.height() + " (images.max_side "
                        + maxSide + ")");
            }
            w = w != 0 ? w : roundDown((int) Math.round(original.width() * shrink));
            h = h != 0 ? h : roundDown((int) Math.round(original.height() * shrink));
            if (w == 0 || h == 0) {
                throw new InvalidRequestException(
                        "image",
                        "image " + original.width() + "x" + original.height()
                                + " is smaller than the model's size multiple " + sizeMultiple);
            }
        }
        RequestRules.pixels(w, h, maxPixels); // a row's width with the picture's height, say
        DecodedImage resized = original.resize(w, h);
        float[] maskPixels = mask == null ? null : mask(mask, original, w, h, notes);
        return new Prepared(resized, maskPixels, w, h, List.copyOf(notes));
    }

    private float[] mask(Source source, DecodedImage original, int w, int h, List<String> notes) {
        DecodedImage m = decode("mask", source);
        float[] lum = m.luminance();
        if (m.width() != original.width() || m.height() != original.height()) {
            notes.add("mask resized from " + m.width() + "x" + m.height() + " to the image's " + original.width() + "x"
                    + original.height());
            lum = Resize.nearest(lum, m.width(), m.height(), 1, original.width(), original.height());
        }
        float[] mask = Resize.nearest(lum, original.width(), original.height(), 1, w, h);
        int white = 0;
        for (float v : mask) {
            white += v >= 0.5f ? 1 : 0;
        }
        if (white == 0) {
            throw new InvalidRequestException("mask", "mask has no white pixel: nothing to repaint");
        }
        if (white == mask.length) {
            notes.add("warning: mask is all white, the whole picture is repainted");
        }
        return mask;
    }

    private int roundDown(int pixels) {
        return pixels / sizeMultiple * sizeMultiple;
    }

    private DecodedImage decode(String field, Source source) {
        if (source == null || source.bytes() == null) {
            throw new InvalidRequestException(field, field + " is missing");
        }
        try {
            return ImageDecoder.decode(source.bytes(), limits);
        } catch (ImageDecodeException e) {
            throw new InvalidRequestException(field, source.label() + ": " + e.getMessage());
        }
    }
}

package io.sparkdiffusion.jobs;

import io.sparkdiffusion.image.DecodedImage;
import io.sparkdiffusion.image.ImageDecodeException;
import io.sparkdiffusion.image.ImageDecoder;
import io.sparkdiffusion.image.Resize;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads, checks and sizes a row's init image and mask on the executor (img2img and inpaint modes). The picture
 * comes from the row's bytes or from a path/URI read through Hadoop; its size is the row's width/height when given,
 * else its own, shrunk to {@code images.max_side} keeping the aspect ratio and rounded down to the model's size
 * multiple. A mask of another size is stretched to the picture (nearest), which is noted; a mask without any white
 * pixel is rejected (nothing to repaint); an all-white mask is noted as a warning.
 */
final class InitImages implements Serializable {
    private static final long serialVersionUID = 1L;

    /** A row ready for the engine. */
    @SuppressWarnings("ArrayRecordComponent") // a value carrier read in place, never compared or hashed
    record Prepared(PlannedRow row, DecodedImage image, float[] mask, int width, int height, List<String> notes) {
        String batchKey() {
            return row.batchKey() + "|" + width + "x" + height;
        }
    }

    private final String mode;
    private final int sizeMultiple;
    private final int maxSide;
    private final ImageDecoder.Limits limits;
    private final long maxPixels;
    private final PictureSources sources;

    InitImages(
            String mode,
            int sizeMultiple,
            int maxSide,
            ImageDecoder.Limits limits,
            long maxPixels,
            PictureSources sources) {
        this.mode = mode;
        this.sizeMultiple = sizeMultiple;
        this.maxSide = maxSide;
        this.limits = limits;
        this.maxPixels = maxPixels;
        this.sources = sources;
    }

    boolean takesImage() {
        return !mode.equals("txt2img");
    }

    Prepared prepare(PlannedRow r) throws RowRules.Rejection {
        boolean hasImage = r.getImageBytes() != null || r.getImageRef() != null;
        if (!takesImage() || (mode.equals("video") && !hasImage)) {
            return new Prepared(r, null, null, r.getWidth(), r.getHeight(), List.of());
        }
        List<String> notes = new ArrayList<>();
        DecodedImage original = decode("image", r.getImageBytes(), r.getImageRef());
        notes.addAll(original.notes());
        int w = r.getWidth();
        int h = r.getHeight();
        if (w == 0 || h == 0) {
            double shrink = Math.min(1.0, (double) maxSide / Math.max(original.width(), original.height()));
            if (shrink < 1) {
                notes.add("downscaled from " + original.width() + "x" + original.height() + " (images.max_side "
                        + maxSide + ")");
            }
            w = w != 0 ? w : roundDown((int) Math.round(original.width() * shrink));
            h = h != 0 ? h : roundDown((int) Math.round(original.height() * shrink));
            if (w == 0 || h == 0) {
                throw new RowRules.Rejection(
                        "image",
                        "image " + original.width() + "x" + original.height()
                                + " is smaller than the model's size multiple " + sizeMultiple);
            }
        }
        RowRules.checkPixels(w, h, maxPixels); // a row's width with the picture's height, say
        DecodedImage image = original.resize(w, h);
        float[] mask = null;
        if (mode.equals("inpaint")) {
            DecodedImage m = decode("mask", r.getMaskBytes(), r.getMaskRef());
            float[] lum = m.luminance();
            if (m.width() != original.width() || m.height() != original.height()) {
                notes.add("mask resized from " + m.width() + "x" + m.height() + " to the image's " + original.width()
                        + "x" + original.height());
                lum = Resize.nearest(lum, m.width(), m.height(), 1, original.width(), original.height());
            }
            mask = Resize.nearest(lum, original.width(), original.height(), 1, w, h);
            int white = 0;
            for (float v : mask) {
                white += v >= 0.5f ? 1 : 0;
            }
            if (white == 0) {
                throw new RowRules.Rejection("mask", "mask has no white pixel: nothing to repaint");
            }
            if (white == mask.length) {
                notes.add("warning: mask is all white, the whole picture is repainted");
            }
        }
        return new Prepared(r, image, mask, w, h, notes);
    }

    private int roundDown(int pixels) {
        return pixels / sizeMultiple * sizeMultiple;
    }

    private DecodedImage decode(String field, byte[] bytes, String ref) throws RowRules.Rejection {
        byte[] data;
        if (bytes != null) {
            sources.checkBytes(field, bytes);
            data = bytes;
        } else if (ref == null) {
            throw new RowRules.Rejection(field, field + " is missing");
        } else {
            data = sources.read(field, ref);
        }
        try {
            return ImageDecoder.decode(data, limits);
        } catch (ImageDecodeException e) {
            throw new RowRules.Rejection(
                    field,
                    field + (ref != null && bytes == null ? " " + Redaction.uri(ref) : "") + ": " + e.getMessage());
        }
    }

    /** Row-stacked tensors for a batch: images {@code (B, H, W, 3)}, masks {@code (B, H, W)} (or null). */
    static io.sparkdiffusion.tensor.Tensor images(List<Prepared> batch) {
        Prepared first = batch.get(0);
        int n = first.width() * first.height() * 3;
        float[] d = new float[batch.size() * n];
        for (int i = 0; i < batch.size(); i++) {
            System.arraycopy(batch.get(i).image().rgb(), 0, d, i * n, n);
        }
        return new io.sparkdiffusion.tensor.Tensor(new long[] {batch.size(), first.height(), first.width(), 3}, d);
    }

    static io.sparkdiffusion.tensor.Tensor masks(List<Prepared> batch) {
        Prepared first = batch.get(0);
        if (first.mask() == null) {
            return null;
        }
        int n = first.width() * first.height();
        float[] d = new float[batch.size() * n];
        for (int i = 0; i < batch.size(); i++) {
            System.arraycopy(batch.get(i).mask(), 0, d, i * n, n);
        }
        return new io.sparkdiffusion.tensor.Tensor(new long[] {batch.size(), first.height(), first.width()}, d);
    }
}

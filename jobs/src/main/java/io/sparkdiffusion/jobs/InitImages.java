package io.sparkdiffusion.jobs;

import io.sparkdiffusion.batch.InitPictures;
import io.sparkdiffusion.image.ImageDecoder;
import io.sparkdiffusion.util.InvalidRequestException;
import java.io.Serializable;
import java.util.List;

/**
 * A row's init image and mask on the executor (img2img, inpaint and image-to-video modes): the bytes come from the
 * row or from a path read through Hadoop within the allowed roots ({@link PictureSources}); decoding and sizing is the
 * engine's {@link InitPictures}, the same as the DataFrame transformer's (size from the row or the picture, shrunk to
 * {@code images.max_side}, rounded to the model's size multiple; masks stretched, checked, noted). A picture that
 * cannot be used is the row's rejection, naming the field.
 */
final class InitImages implements Serializable {
    private static final long serialVersionUID = 1L;

    /** A row ready for the engine: its pictures, when it has any, sized. */
    record Prepared(PlannedRow row, InitPictures.Prepared pictures, int width, int height) {
        List<String> notes() {
            return pictures == null ? List.of() : pictures.notes();
        }
    }

    private final String mode;
    private final InitPictures pictures;
    private final PictureSources sources;

    InitImages(
            String mode,
            int sizeMultiple,
            int maxSide,
            ImageDecoder.Limits limits,
            long maxPixels,
            PictureSources sources) {
        this.mode = mode;
        this.pictures = new InitPictures(sizeMultiple, maxSide, maxPixels, limits);
        this.sources = sources;
    }

    boolean takesImage() {
        return !mode.equals("txt2img");
    }

    Prepared prepare(PlannedRow r) throws RowRules.Rejection {
        boolean hasImage = r.getImageBytes() != null || r.getImageRef() != null;
        if (!takesImage() || (mode.equals("video") && !hasImage)) {
            return new Prepared(r, null, r.getWidth(), r.getHeight());
        }
        InitPictures.Source image = source("image", r.getImageBytes(), r.getImageRef());
        InitPictures.Source mask = mode.equals("inpaint") ? source("mask", r.getMaskBytes(), r.getMaskRef()) : null;
        try {
            InitPictures.Prepared p = pictures.prepare(image, mask, r.getWidth(), r.getHeight());
            return new Prepared(r, p, p.width(), p.height());
        } catch (InvalidRequestException e) {
            throw RowRules.Rejection.of(e);
        }
    }

    /** The picture's bytes (the row's own, or read from its path) and how messages name it. */
    private InitPictures.Source source(String field, byte[] bytes, String ref) throws RowRules.Rejection {
        if (bytes != null) {
            sources.checkBytes(field, bytes);
            return new InitPictures.Source(bytes, field);
        }
        if (ref == null) {
            throw new RowRules.Rejection(field, field + " is missing");
        }
        return new InitPictures.Source(sources.read(field, ref), field + " " + Redaction.uri(ref));
    }
}

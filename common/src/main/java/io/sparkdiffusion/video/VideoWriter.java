package io.sparkdiffusion.video;

import io.sparkdiffusion.tensor.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;

/**
 * Writes a video ({@code (F, H, W, C)} floats in [0, 1], {@code C} = 3 RGB or 1 grayscale) in one {@link
 * VideoFormat}. Obtain one with {@link VideoFormat#writer()} or {@link VideoFormat#writerFor(String)}.
 */
public interface VideoWriter {
    VideoFormat format();

    /**
     * Writes to a path: a file for single-file formats, a directory for {@link VideoFormat#PNG_FRAMES} (see {@link
     * VideoFormat#isDirectory()}).
     */
    void write(Tensor frames, int fps, Path out) throws IOException;

    /** Writes one stream (a ZIP of the frames for {@link VideoFormat#PNG_FRAMES}); {@code out} is not closed. */
    void write(Tensor frames, int fps, OutputStream out) throws IOException;

    /** The bytes {@link #write(Tensor, int, OutputStream)} would write. */
    byte[] toBytes(Tensor frames, int fps);
}

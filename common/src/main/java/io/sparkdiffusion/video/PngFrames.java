package io.sparkdiffusion.video;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A video ({@code (F, H, W, C)} floats in [0, 1], {@code C} = 3 RGB or 1 grayscale) as lossless PNG frames: a folder
 * of {@code frame_0000.png, frame_0001.png, ...}, single frames, a poster frame (frame 0, e.g. for contact sheets),
 * or the same files in one ZIP (for a single binary output). Frames are encoded one at a time with {@link
 * Images#toPng(Tensor, int)}, so grayscale stays 8-bit grayscale and RGB stays 24-bit RGB.
 *
 * <p>File names are zero-padded to 4 digits, or more when the video has over 10000 frames, so they sort in order.
 */
public final class PngFrames {
    private PngFrames() {}

    /** The file name of frame {@code index} in a {@code frameCount}-frame video, e.g. {@code frame_0007.png}. */
    public static String fileName(int index, int frameCount) {
        int digits = Math.max(4, Integer.toString(Math.max(0, frameCount - 1)).length());
        return String.format("frame_%0" + digits + "d.png", index);
    }

    /** Frame {@code index} as PNG bytes. */
    public static byte[] frame(Tensor frames, int index) {
        VideoFrames.check(frames);
        VideoFrames.checkIndex(frames, index);
        return Images.toPng(frames, index);
    }

    /** The poster frame (frame 0) as PNG bytes. */
    public static byte[] poster(Tensor frames) {
        return frame(frames, 0);
    }

    /**
     * Writes every frame into {@code dir} (created if missing; existing files with the same names are replaced) and
     * returns the files in frame order.
     */
    public static List<Path> write(Tensor frames, Path dir) throws IOException {
        VideoFrames.check(frames);
        Files.createDirectories(dir);
        int n = VideoFrames.count(frames);
        List<Path> files = new ArrayList<>(n);
        for (int f = 0; f < n; f++) {
            Path file = dir.resolve(fileName(f, n));
            Files.write(file, Images.toPng(frames, f));
            files.add(file);
        }
        return files;
    }

    /** Writes every frame as a {@code frame_NNNN.png} entry of a ZIP to {@code out} (finished, not closed). */
    public static void writeZip(Tensor frames, OutputStream out) throws IOException {
        VideoFrames.check(frames);
        int n = VideoFrames.count(frames);
        ZipOutputStream zip = new ZipOutputStream(out);
        // PNG is already deflated: store the entries without a second compression pass.
        zip.setLevel(0);
        for (int f = 0; f < n; f++) {
            zip.putNextEntry(new ZipEntry(fileName(f, n)));
            zip.write(Images.toPng(frames, f));
            zip.closeEntry();
        }
        zip.finish();
        out.flush();
    }

    /** Every frame as a ZIP of {@code frame_NNNN.png} entries. */
    public static byte[] toZip(Tensor frames) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            writeZip(frames, out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package io.sparkdiffusion.video;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOInvalidTreeException;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.FileImageOutputStream;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Writes a video ({@code (F, H, W, C)} floats in [0, 1], {@code C} = 3 RGB or 1 grayscale) as an animated GIF with
 * the JDK's ImageIO GIF writer.
 *
 * <ul>
 *   <li><b>Timing.</b> GIF delays are whole hundredths of a second: the delay is {@code round(100 / fps)}
 *       centiseconds, at least 1 ({@link #delayCentiseconds}), so e.g. 8 fps is stored as 13 cs (7.7 fps). Browsers
 *       typically show delays under 2 cs as 10 cs, so above 50 fps a GIF plays slower than asked.
 *   <li><b>Looping</b> through the NETSCAPE2.0 application extension on the first frame; loop count 0 (the
 *       default) means forever.
 *   <li><b>Colours.</b> GIF is palette-based: ImageIO's writer quantises each RGB frame to at most 256 colours (its
 *       own local colour table per frame, no dithering), so gradients can band. Grayscale frames have at most 256
 *       levels anyway and stay exact. Values are converted with {@link Images#to8bit} first.
 *   <li>Frames are converted and written one at a time; every frame is full size and opaque (disposal "none").
 * </ul>
 */
final class GifWriter {
    /** Loop count meaning "loop forever" in the NETSCAPE2.0 extension. */
    public static final int LOOP_FOREVER = 0;

    private static final String FORMAT = "javax_imageio_gif_image_1.0";

    private GifWriter() {}

    /** The per-frame delay for {@code fps}, in hundredths of a second: {@code max(1, round(100 / fps))}. */
    public static int delayCentiseconds(int fps) {
        VideoFrames.checkFps(fps);
        return (int) Math.max(1, Math.min(0xFFFF, Math.round(100.0 / fps)));
    }

    /** Writes a forever-looping GIF to {@code file}; on failure the partial file is deleted. */
    public static void write(Tensor frames, int fps, Path file) throws IOException {
        write(frames, fps, LOOP_FOREVER, file);
    }

    /** Writes a GIF that plays {@code loopCount} times after the first (0 = forever) to {@code file}. */
    public static void write(Tensor frames, int fps, int loopCount, Path file) throws IOException {
        VideoFrames.check(frames);
        delayCentiseconds(fps);
        // FileImageOutputStream opens "rw" without truncating: start from an empty file.
        Files.deleteIfExists(file);
        boolean ok = false;
        try (ImageOutputStream ios = new FileImageOutputStream(file.toFile())) {
            write(frames, fps, loopCount, ios);
            ok = true;
        } finally {
            if (!ok) {
                Files.deleteIfExists(file);
            }
        }
    }

    /** Writes a forever-looping GIF to {@code out} (not closed). */
    public static void write(Tensor frames, int fps, OutputStream out) throws IOException {
        write(frames, fps, LOOP_FOREVER, out);
    }

    /** Writes a GIF that plays {@code loopCount} times after the first (0 = forever) to {@code out} (not closed). */
    public static void write(Tensor frames, int fps, int loopCount, OutputStream out) throws IOException {
        try (ImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            write(frames, fps, loopCount, ios);
        }
        out.flush();
    }

    /** A forever-looping GIF as bytes. */
    public static byte[] toBytes(Tensor frames, int fps) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            write(frames, fps, LOOP_FOREVER, out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Tensor frames, int fps, int loopCount, ImageOutputStream ios) throws IOException {
        VideoFrames.check(frames);
        int delay = delayCentiseconds(fps);
        if (loopCount < 0 || loopCount > 0xFFFF) {
            throw new IllegalArgumentException("GIF loop count must be in [0, 65535], got " + loopCount);
        }
        ImageWriter writer = gifWriter();
        try {
            writer.setOutput(ios);
            ImageWriteParam param = writer.getDefaultWriteParam();
            writer.prepareWriteSequence(null);
            IIOMetadata first = null;
            IIOMetadata rest = null;
            for (int f = 0; f < VideoFrames.count(frames); f++) {
                BufferedImage img = Images.toImage(frames, f);
                IIOMetadata meta;
                if (f == 0) {
                    first = frameMetadata(writer, img, param, delay, loopCount, true);
                    meta = first;
                } else {
                    if (rest == null) {
                        rest = frameMetadata(writer, img, param, delay, loopCount, false);
                    }
                    meta = rest;
                }
                writer.writeToSequence(new IIOImage(img, null, meta), param);
            }
            writer.endWriteSequence();
        } finally {
            writer.dispose();
        }
    }

    private static ImageWriter gifWriter() {
        Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName("gif");
        if (!it.hasNext()) {
            throw new IllegalStateException("no GIF writer available in ImageIO");
        }
        return it.next();
    }

    private static IIOMetadata frameMetadata(
            ImageWriter writer, BufferedImage img, ImageWriteParam param, int delay, int loopCount, boolean withLoop)
            throws IIOInvalidTreeException {
        IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(img), param);
        IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree(FORMAT);

        IIOMetadataNode gce = child(root, "GraphicControlExtension");
        gce.setAttribute("disposalMethod", "none");
        gce.setAttribute("userInputFlag", "FALSE");
        gce.setAttribute("transparentColorFlag", "FALSE");
        gce.setAttribute("delayTime", Integer.toString(delay));
        gce.setAttribute("transparentColorIndex", "0");

        if (withLoop) {
            IIOMetadataNode exts = child(root, "ApplicationExtensions");
            IIOMetadataNode app = new IIOMetadataNode("ApplicationExtension");
            app.setAttribute("applicationID", "NETSCAPE");
            app.setAttribute("authenticationCode", "2.0");
            // sub-block id 1, then the loop count as an unsigned little-endian short
            app.setUserObject(new byte[] {1, (byte) (loopCount & 0xFF), (byte) ((loopCount >> 8) & 0xFF)});
            exts.appendChild(app);
        }
        meta.setFromTree(FORMAT, root);
        return meta;
    }

    private static IIOMetadataNode child(IIOMetadataNode root, String name) {
        for (int i = 0; i < root.getLength(); i++) {
            if (root.item(i).getNodeName().equalsIgnoreCase(name)) {
                return (IIOMetadataNode) root.item(i);
            }
        }
        IIOMetadataNode node = new IIOMetadataNode(name);
        root.appendChild(node);
        return node;
    }
}

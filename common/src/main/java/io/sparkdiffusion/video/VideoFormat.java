package io.sparkdiffusion.video;

import io.sparkdiffusion.tensor.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The video outputs, by name, so that a job or CLI option can pick one: {@code mp4} (H.264, {@link Mp4Writer}),
 * {@code gif} (animated GIF, {@link GifWriter}) and {@code png-frames} (a folder of PNGs, or a ZIP of them as one
 * stream, {@link PngFrames}).
 */
public enum VideoFormat {
    MP4("mp4", "mp4", "video/mp4", false) {
        @Override
        void writePath(Tensor frames, int fps, Path out) throws IOException {
            Mp4Writer.write(frames, fps, out);
        }

        @Override
        void writeStream(Tensor frames, int fps, OutputStream out) throws IOException {
            Mp4Writer.write(frames, fps, out);
        }

        @Override
        byte[] bytes(Tensor frames, int fps) {
            return Mp4Writer.toBytes(frames, fps);
        }
    },
    GIF("gif", "gif", "image/gif", false) {
        @Override
        void writePath(Tensor frames, int fps, Path out) throws IOException {
            GifWriter.write(frames, fps, out);
        }

        @Override
        void writeStream(Tensor frames, int fps, OutputStream out) throws IOException {
            GifWriter.write(frames, fps, out);
        }

        @Override
        byte[] bytes(Tensor frames, int fps) {
            return GifWriter.toBytes(frames, fps);
        }
    },
    /** A directory of {@code frame_NNNN.png} files; as a single stream or byte array, a ZIP of those files. */
    PNG_FRAMES("png-frames", "zip", "application/zip", true) {
        @Override
        void writePath(Tensor frames, int fps, Path out) throws IOException {
            VideoFrames.checkFps(fps);
            PngFrames.write(frames, out);
        }

        @Override
        void writeStream(Tensor frames, int fps, OutputStream out) throws IOException {
            VideoFrames.checkFps(fps);
            PngFrames.writeZip(frames, out);
        }

        @Override
        byte[] bytes(Tensor frames, int fps) {
            VideoFrames.checkFps(fps);
            return PngFrames.toZip(frames);
        }
    };

    private final String id;
    private final String extension;
    private final String mimeType;
    private final boolean directory;

    @SuppressWarnings("ImmutableEnumChecker") // the writers are stateless: all state is per call
    private final VideoWriter writer;

    VideoFormat(String id, String extension, String mimeType, boolean directory) {
        this.id = id;
        this.extension = extension;
        this.mimeType = mimeType;
        this.directory = directory;
        this.writer = new VideoWriter() {
            @Override
            public VideoFormat format() {
                return VideoFormat.this;
            }

            @Override
            public void write(Tensor frames, int fps, Path out) throws IOException {
                writePath(frames, fps, out);
            }

            @Override
            public void write(Tensor frames, int fps, OutputStream out) throws IOException {
                writeStream(frames, fps, out);
            }

            @Override
            public byte[] toBytes(Tensor frames, int fps) {
                return bytes(frames, fps);
            }

            @Override
            public String toString() {
                return "VideoWriter[" + id + "]";
            }
        };
    }

    abstract void writePath(Tensor frames, int fps, Path out) throws IOException;

    abstract void writeStream(Tensor frames, int fps, OutputStream out) throws IOException;

    abstract byte[] bytes(Tensor frames, int fps);

    /** The name used on command lines and in configs: {@code mp4}, {@code gif}, {@code png-frames}. */
    public String id() {
        return id;
    }

    /**
     * The file extension (no dot) of the single-stream form: {@code mp4}, {@code gif}, and {@code zip} for PNG
     * frames (whose path form is a directory).
     */
    public String extension() {
        return extension;
    }

    /** The MIME type of the single-stream form. */
    public String mimeType() {
        return mimeType;
    }

    /** Whether {@link VideoWriter#write(Tensor, int, Path)} writes a directory rather than a file. */
    public boolean isDirectory() {
        return directory;
    }

    /** The output path name for a base name: {@code stem.mp4}, {@code stem.gif}, or the directory {@code stem}. */
    public String outputName(String stem) {
        return directory ? stem : stem + "." + extension;
    }

    public VideoWriter writer() {
        return writer;
    }

    /**
     * The format for a name, case-insensitive, ignoring surrounding blanks: {@code mp4} (also {@code h264}),
     * {@code gif}, {@code png-frames} (also {@code png_frames}, {@code pngs}, {@code frames}, {@code png}).
     *
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static VideoFormat fromName(String name) {
        if (name == null) {
            throw new IllegalArgumentException("no video format given; expected one of " + names());
        }
        return switch (name.trim().toLowerCase(Locale.ROOT).replace('_', '-')) {
            case "mp4", "h264", "h.264" -> MP4;
            case "gif" -> GIF;
            case "png-frames", "pngs", "png", "frames" -> PNG_FRAMES;
            default ->
                throw new IllegalArgumentException("unknown video format '" + name + "'; expected one of " + names());
        };
    }

    /** {@code fromName(name).writer()}. */
    public static VideoWriter writerFor(String name) {
        return fromName(name).writer();
    }

    /** The canonical names, comma-separated. */
    public static String names() {
        return Arrays.stream(values()).map(VideoFormat::id).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return id;
    }
}

package io.sparkdiffusion.video;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.tensor.Tensor;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.jcodec.api.transcode.PixelStore;
import org.jcodec.api.transcode.Sink;
import org.jcodec.api.transcode.SinkImpl;
import org.jcodec.api.transcode.VideoFrameWithPacket;
import org.jcodec.common.Codec;
import org.jcodec.common.Format;
import org.jcodec.common.io.NIOUtils;
import org.jcodec.common.io.SeekableByteChannel;
import org.jcodec.common.model.ColorSpace;
import org.jcodec.common.model.Packet;
import org.jcodec.common.model.Picture;

/**
 * Writes a video ({@code (F, H, W, C)} floats in [0, 1], {@code C} = 3 RGB or 1 grayscale) as H.264 in an MP4
 * container with JCodec (pure Java: no ffmpeg, no native code).
 *
 * <ul>
 *   <li><b>8 bit.</b> Every value goes through {@link Images#to8bit} ({@code round(clamp(x) * 255)}), as for PNGs.
 *   <li><b>Grayscale</b> frames are expanded to RGB ({@code R = G = B}), i.e. encoded with neutral chroma.
 *   <li><b>Even dimensions.</b> H.264 with 4:2:0 chroma needs an even width and height. An odd width or height is
 *       padded by one pixel on the right / bottom edge, replicating the last column / row, so a 33x17 clip is stored
 *       (and decodes) as 34x18. Even sizes are stored as they are. See {@link #paddedWidth} / {@link
 *       #paddedHeight}.
 *   <li><b>Colour.</b> Frames are converted here to YUV 4:2:0 with the BT.601 matrix in limited ("TV") range (Y in
 *       [16, 235], chroma in [16, 240], chroma = mean of each 2x2 block): what decoders assume for an H.264 stream
 *       that carries no colour description, as JCodec's streams do not. (JCodec 0.2.5's own RGB to YUV conversion,
 *       used by its {@code SequenceEncoder}, scales luma to about [0, 241] while players decode limited range,
 *       which crushes dark tones and clips bright ones; hence the conversion here.) H.264 coding is lossy: decoded
 *       pixels are close to, not equal to, the source.
 *   <li><b>Streaming.</b> Frames are converted and encoded one at a time into one reused YUV picture: no extra copy
 *       of the whole video is made. {@link #open(Path, int)} lets a caller feed frames as they are produced. The MP4
 *       muxer seeks back to patch box sizes, so a destination must be seekable: the {@link OutputStream} and
 *       {@code byte[]} variants encode into memory (the compressed bitstream only) and copy it out at the end.
 *   <li><b>Timing.</b> Constant frame rate {@code fps}; frame {@code n} has timestamp {@code n / fps} seconds.
 * </ul>
 *
 * <p>An instance is a single-use encoder session: {@link #addFrame} frames of one size, then {@link #close()}.
 */
final class Mp4Writer implements Closeable {
    private final SeekableByteChannel channel;
    private final Sink sink;
    private final ColorSpace yuvSpace;
    private final int fps;
    private Picture yuv;
    private int[] rows;
    private int width = -1;
    private int height = -1;
    private int frames;
    private boolean closed;

    private Mp4Writer(SeekableByteChannel channel, int fps) throws IOException {
        VideoFrames.checkFps(fps);
        this.channel = channel;
        this.fps = fps;
        // What SequenceEncoder.createWithFps sets up (MOV here is JCodec's MP4 muxer, brand "mp4"), minus its RGB
        // conversion: the sink's H.264 encoder takes planar 4:2:0 pictures as they are.
        this.sink = SinkImpl.createWithStream(channel, Format.MOV, Codec.H264, null);
        sink.init();
        this.yuvSpace = sink.getInputColor();
        if (yuvSpace != ColorSpace.YUV420J && yuvSpace != ColorSpace.YUV420) {
            throw new IllegalStateException("JCodec's H.264 sink expects " + yuvSpace + ", not YUV 4:2:0");
        }
    }

    /** Starts an MP4 file at {@code file} (created or truncated), {@code fps} frames per second. */
    public static Mp4Writer open(Path file, int fps) throws IOException {
        VideoFrames.checkFps(fps);
        SeekableByteChannel ch = NIOUtils.writableChannel(file.toFile());
        try {
            return new Mp4Writer(ch, fps);
        } catch (IOException | RuntimeException e) {
            NIOUtils.closeQuietly(ch);
            throw e;
        }
    }

    /** Starts an MP4 on a seekable JCodec channel; {@link #close()} finishes the file and closes the channel. */
    public static Mp4Writer open(SeekableByteChannel channel, int fps) throws IOException {
        return new Mp4Writer(channel, fps);
    }

    /** Writes the whole video to {@code file}; on failure the partial file is deleted. */
    public static void write(Tensor frames, int fps, Path file) throws IOException {
        VideoFrames.check(frames);
        VideoFrames.checkFps(fps);
        boolean ok = false;
        try (Mp4Writer w = open(file, fps)) {
            w.addFrames(frames);
            ok = true;
        } finally {
            if (!ok) {
                Files.deleteIfExists(file);
            }
        }
    }

    /** Writes the whole video to {@code out} (encoded in memory first: MP4 needs a seekable target). */
    public static void write(Tensor frames, int fps, OutputStream out) throws IOException {
        encodeInMemory(frames, fps).writeTo(out);
    }

    /** The whole video as MP4 bytes. */
    public static byte[] toBytes(Tensor frames, int fps) {
        try {
            return encodeInMemory(frames, fps).toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The stored width for a source width: rounded up to even (H.264 4:2:0). */
    public static int paddedWidth(int width) {
        return width + (width & 1);
    }

    /** The stored height for a source height: rounded up to even (H.264 4:2:0). */
    public static int paddedHeight(int height) {
        return height + (height & 1);
    }

    private static GrowableByteChannel encodeInMemory(Tensor frames, int fps) throws IOException {
        VideoFrames.check(frames);
        VideoFrames.checkFps(fps);
        // The H.264 stream is far smaller than the raw frames; start around one raw 8-bit frame and grow.
        GrowableByteChannel ch =
                new GrowableByteChannel(VideoFrames.height(frames) * VideoFrames.width(frames) * 3 + 4096);
        try (Mp4Writer w = open(ch, fps)) {
            w.addFrames(frames);
        }
        return ch;
    }

    /** Encodes every frame of a {@code (F, H, W, C)} video. */
    public void addFrames(Tensor frames) throws IOException {
        VideoFrames.check(frames);
        for (int f = 0; f < VideoFrames.count(frames); f++) {
            addFrame(frames, f);
        }
    }

    /**
     * Encodes frame {@code index} of a {@code (F, H, W, C)} video. A single {@code (H, W, C)} frame can be passed as
     * {@code frame.reshape(1, H, W, C)} with index 0. All frames of one file must have the same size.
     */
    public void addFrame(Tensor frames, int index) throws IOException {
        if (closed) {
            throw new IllegalStateException("MP4 writer already closed");
        }
        VideoFrames.check(frames);
        VideoFrames.checkIndex(frames, index);
        int h = VideoFrames.height(frames);
        int w = VideoFrames.width(frames);
        if (yuv == null) {
            height = h;
            width = w;
            yuv = Picture.create(paddedWidth(w), paddedHeight(h), yuvSpace);
            rows = new int[2 * paddedWidth(w) * 3];
        } else if (h != height || w != width) {
            throw new IllegalArgumentException("frame size " + h + "x" + w + " (shape "
                    + Arrays.toString(frames.shape()) + ") does not match the video size " + height + "x" + width);
        }
        fillYuv420(frames, index, yuv, rows);
        // as SequenceEncoder.encodeNativeFrame: pts = frame * den in a timescale of fps, duration 1 frame, all
        // packets flagged KEY (the sink sets the frame type the encoder chose); the sink encodes synchronously
        Packet packet = Packet.createPacket(null, this.frames, fps, 1, this.frames, Packet.FrameType.KEY, null);
        sink.outputVideoFrame(new VideoFrameWithPacket(packet, new PixelStore.LoanerPicture(yuv, 0)));
        this.frames++;
    }

    /** Frames encoded so far. */
    public int frameCount() {
        return frames;
    }

    public int fps() {
        return fps;
    }

    /**
     * Finishes the MP4 (writes the index) and closes the channel. A writer closed before any frame was added
     * writes nothing valid and throws {@link IOException}.
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (frames == 0) {
                throw new IOException("an MP4 needs at least one frame");
            }
            sink.finish();
        } finally {
            channel.close();
        }
    }

    // BT.601 limited range, for 8-bit R, G, B in [0, 255]
    private static final float KR_Y = 0.256788f;
    private static final float KG_Y = 0.504129f;
    private static final float KB_Y = 0.097906f;
    private static final float KR_U = -0.148223f;
    private static final float KG_U = -0.290993f;
    private static final float KB_U = 0.439216f;
    private static final float KR_V = 0.439216f;
    private static final float KG_V = -0.367788f;
    private static final float KB_V = -0.071427f;

    /**
     * Converts frame {@code index} to planar YUV 4:2:0 (BT.601, limited range) in {@code yuv}, whose size may exceed
     * the frame's by one column / row: the padding replicates the last column / row. Planes hold JCodec's signed
     * 8-bit samples ({@code value - 128}). {@code rows} is scratch space for two padded rows of 8-bit RGB.
     */
    static void fillYuv420(Tensor frames, int index, Picture yuv, int[] rows) {
        int h = VideoFrames.height(frames);
        int w = VideoFrames.width(frames);
        int c = VideoFrames.channels(frames);
        int pw = yuv.getWidth();
        int ph = yuv.getHeight();
        float[] d = frames.data();
        byte[] py = yuv.getPlaneData(0);
        byte[] pu = yuv.getPlaneData(1);
        byte[] pv = yuv.getPlaneData(2);
        int cw = pw / 2;
        int base = index * h * w * c;
        for (int y0 = 0; y0 < ph; y0 += 2) {
            // 8-bit RGB of padded rows y0 and y0 + 1
            for (int r = 0; r < 2; r++) {
                int sy = Math.min(y0 + r, h - 1);
                int o = r * pw * 3;
                for (int x = 0; x < pw; x++) {
                    int s = base + (sy * w + Math.min(x, w - 1)) * c;
                    if (c == 1) {
                        int v = Images.to8bit(d[s]);
                        rows[o++] = v;
                        rows[o++] = v;
                        rows[o++] = v;
                    } else {
                        rows[o++] = Images.to8bit(d[s]);
                        rows[o++] = Images.to8bit(d[s + 1]);
                        rows[o++] = Images.to8bit(d[s + 2]);
                    }
                }
            }
            for (int r = 0; r < 2; r++) {
                int o = r * pw * 3;
                int yo = (y0 + r) * pw;
                for (int x = 0; x < pw; x++, o += 3) {
                    py[yo + x] = sample(16f + KR_Y * rows[o] + KG_Y * rows[o + 1] + KB_Y * rows[o + 2]);
                }
            }
            int co = (y0 / 2) * cw;
            for (int cx = 0; cx < cw; cx++) {
                int a = cx * 6;
                int b = pw * 3 + a;
                float rr = (rows[a] + rows[a + 3] + rows[b] + rows[b + 3]) * 0.25f;
                float gg = (rows[a + 1] + rows[a + 4] + rows[b + 1] + rows[b + 4]) * 0.25f;
                float bb = (rows[a + 2] + rows[a + 5] + rows[b + 2] + rows[b + 5]) * 0.25f;
                pu[co + cx] = sample(128f + KR_U * rr + KG_U * gg + KB_U * bb);
                pv[co + cx] = sample(128f + KR_V * rr + KG_V * gg + KB_V * bb);
            }
        }
    }

    private static byte sample(float v) {
        int i = Math.round(v);
        return (byte) (Math.max(0, Math.min(255, i)) - 128);
    }
}

package io.sparkdiffusion.video;

import io.sparkdiffusion.tensor.Tensor;
import java.util.Arrays;

/**
 * Shape checks shared by the video writers. A video is a {@code (F, H, W, C)} float tensor, row-major, values in
 * [0, 1], with {@code C = 3} (RGB) or {@code C = 1} (grayscale); frame {@code f} is row {@code f} of that batch, so
 * everything that takes an NHWC batch row ({@link io.sparkdiffusion.image.Images#toImage}) takes a video frame.
 */
final class VideoFrames {
    private VideoFrames() {}

    /** Checks that {@code frames} is a non-empty {@code (F, H, W, C)} video with 1 or 3 channels. */
    static void check(Tensor frames) {
        if (frames == null) {
            throw new IllegalArgumentException("no frames");
        }
        long[] s = frames.shape();
        if (s.length != 4) {
            throw new IllegalArgumentException(
                    "a video is (frames, height, width, channels), got shape " + Arrays.toString(s));
        }
        if (s[0] < 1 || s[1] < 1 || s[2] < 1) {
            throw new IllegalArgumentException("empty video: shape " + Arrays.toString(s));
        }
        if (s[3] != 1 && s[3] != 3) {
            throw new IllegalArgumentException("a video frame has 1 (grayscale) or 3 (RGB) channels, got " + s[3]
                    + " in shape " + Arrays.toString(s));
        }
        if (s[1] * s[2] * s[3] > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("video frame too large: " + Arrays.toString(s));
        }
    }

    static void checkFps(int fps) {
        if (fps < 1) {
            throw new IllegalArgumentException("fps must be positive, got " + fps);
        }
    }

    static void checkIndex(Tensor frames, int index) {
        if (index < 0 || index >= frames.dim(0)) {
            throw new IndexOutOfBoundsException("frame " + index + " of a " + frames.dim(0) + "-frame video");
        }
    }

    static int count(Tensor frames) {
        return (int) frames.dim(0);
    }

    static int height(Tensor frames) {
        return (int) frames.dim(1);
    }

    static int width(Tensor frames) {
        return (int) frames.dim(2);
    }

    static int channels(Tensor frames) {
        return (int) frames.dim(3);
    }
}

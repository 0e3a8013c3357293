package io.sparkdiffusion.video;

import io.sparkdiffusion.tensor.Tensor;

/** Small synthetic clips for the video writer tests. */
final class VideoTestClips {
    private VideoTestClips() {}

    /**
     * A smooth RGB clip: per-channel gradients over a per-frame brightness; frame {@code brightFrame} is near white
     * and frame {@code darkFrame} near black, so they must stay distinguishable after lossy coding.
     */
    static Tensor rgb(int frames, int height, int width, int brightFrame, int darkFrame) {
        float[] d = new float[frames * height * width * 3];
        int o = 0;
        for (int f = 0; f < frames; f++) {
            float base = f == brightFrame ? 0.8f : f == darkFrame ? 0.05f : 0.3f + 0.05f * f;
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    float gx = width > 1 ? (float) x / (width - 1) : 0f;
                    float gy = height > 1 ? (float) y / (height - 1) : 0f;
                    d[o++] = base + 0.15f * gx;
                    d[o++] = base + 0.15f * gy;
                    d[o++] = base + 0.1f * (1f - gx);
                }
            }
        }
        return new Tensor(new long[] {frames, height, width, 3}, d);
    }

    /** A smooth grayscale clip whose brightness rises frame by frame. */
    static Tensor gray(int frames, int height, int width) {
        float[] d = new float[frames * height * width];
        int o = 0;
        for (int f = 0; f < frames; f++) {
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    d[o++] = 0.1f + 0.7f * f / Math.max(1, frames - 1) + 0.1f * x / Math.max(1, width - 1);
                }
            }
        }
        return new Tensor(new long[] {frames, height, width, 1}, d);
    }
}

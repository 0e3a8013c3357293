package io.sparkdiffusion.image;

import java.io.IOException;

/** Hostile test pictures shared by the engine's and the jobs' tests. */
public final class ImageDecoderBombs {
    private ImageDecoderBombs() {}

    /** A valid PNG header claiming w x h over a tiny body: decoding it would allocate w*h pixels. */
    public static byte[] png(int w, int h) throws IOException {
        return ImageDecoderTest.pngHeaderOnly(w, h);
    }
}

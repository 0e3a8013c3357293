package io.sparkdiffusion.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;
import java.util.Iterator;
import org.junit.jupiter.api.Test;

/**
 * Pillow's own {@code Image.resize} of an 8-bit RGB picture (13 x 17) with every filter, shrinking, enlarging and
 * mixed, recorded by tools/quality/make_quality_fixtures.py: the 8-bit path must give the same bytes.
 */
class ResizeTest {
    private static final Path REF = Fixtures.fixture("quality/reference");

    @Test
    void eightBitResamplingIsPillowsBitForBit() {
        Tensor src = Fixtures.npy(REF.resolve("resize_source.npy"));
        int h = (int) src.dim(0);
        int w = (int) src.dim(1);
        int[] pixels = new int[src.size()];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = Math.round(src.data()[i]);
        }
        JsonConfig cases = JsonConfig.read(REF.resolve("reference.json")).getObject("resize");
        int checked = 0;
        for (Iterator<String> it = cases.keys(); it.hasNext(); ) {
            String key = it.next();
            JsonConfig c = cases.getObject(key);
            Resize.Filter filter = Resize.Filter.fromPil(c.getInt("filter", -1));
            int newW = c.getInt("width", 0);
            int newH = c.getInt("height", 0);
            float[] expected = Fixtures.npy(REF.resolve(key + ".npy")).data();
            int[] actual = Resize.resample8bit(pixels, w, h, 3, newW, newH, filter);
            float[] asFloats = new float[actual.length];
            for (int i = 0; i < actual.length; i++) {
                asFloats[i] = actual[i];
            }
            assertArrayEquals(expected, asFloats, key + " (" + filter + ")");
            checked++;
        }
        assertEquals(18, checked, "six filters x three sizes");
    }
}

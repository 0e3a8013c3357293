package io.sparkdiffusion.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * transformers' CLIPImageProcessor on {@code numpy_to_pil} of float pictures (as diffusers' run_safety_checker and
 * torchmetrics feed it), recorded by tools/quality/make_quality_fixtures.py: 40 x 48 pictures (shrunk to 32 x 38,
 * centre-cropped), 20 x 24 (enlarged) and grayscale 16 x 16 (converted to RGB).
 */
class ImageProcessorTest {
    private static final Path REF = Fixtures.fixture("quality/reference");
    /** float32 rounding of the same operations: the 8-bit steps are exact, rescale and normalise one rounding each. */
    private static final double TOLERANCE = 1e-6;

    @Test
    void clipPreprocessingMatchesTransformers() {
        ImageProcessor processor =
                ImageProcessor.read(Fixtures.fixture("quality/clip-tiny").resolve("preprocessor_config.json"));
        for (String batch : new String[] {"a", "b", "gray"}) {
            Tensor images = Fixtures.npy(REF.resolve("images_" + batch + ".npy"));
            Tensor expected = Fixtures.npy(REF.resolve("pixel_values_" + batch + ".npy"));
            Tensor actual = processor.apply(images);
            assertArrayEquals(expected.shape(), actual.shape(), batch);
            double diff = Fixtures.maxDiff(expected, actual);
            System.out.printf("pixel_values %s: max |java - transformers| = %.3g%n", batch, diff);
            assertTrue(diff <= TOLERANCE, batch + ": " + diff);
        }
    }
}

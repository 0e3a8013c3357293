package io.sparkdiffusion.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The decoder gives the pixels diffusers' {@code load_image} gets from PIL ({@code exif_transpose}, then
 * {@code convert("RGB")}), on pictures where Java ImageIO's own colour handling differs: 16-bit PNG, grey with and
 * without alpha, palettes, grey and 4:2:0 JPEG, Adobe CMYK and YCCK JPEG, every EXIF orientation. The references
 * ({@code testdata/assets/decode/*.npy}) are what PIL decoded, written by {@code tools/testdata/make_decode_cases.py};
 * for pictures with alpha, PIL's RGBA composited over white (the job's documented rule). Every 8-bit value must be
 * equal: PNG is lossless, and PIL's libjpeg-turbo and the JDK's libjpeg share the IJG integer IDCT, upsampling and
 * colour tables.
 */
class ImageDecoderPilParityTest {
    private static final Path DIR = Fixtures.testdata("assets/decode");

    static Stream<String> pictures() throws Exception {
        try (Stream<Path> files = Files.list(DIR)) {
            return files
                    .map(p -> p.getFileName().toString())
                    .filter(n -> !n.endsWith(".npy"))
                    .sorted()
                    .toList()
                    .stream();
        }
    }

    @ParameterizedTest
    @MethodSource("pictures")
    void decodesAsPil(String name) throws Exception {
        Tensor reference = Fixtures.npy(DIR.resolve(name.replaceAll("\\.[a-z]+$", ".npy")));
        DecodedImage decoded = ImageDecoder.decode(Files.readAllBytes(DIR.resolve(name)), ImageDecoder.Limits.DEFAULT);
        long[] shape = reference.shape();
        assertArrayEquals(
                new long[] {shape[0], shape[1], 3},
                new long[] {decoded.height(), decoded.width(), 3},
                name + ": height, width (EXIF orientation applied)");
        float[] expected = reference.data();
        int differing = 0;
        int worst = 0;
        for (int i = 0; i < expected.length; i++) {
            int got = Math.round(decoded.rgb()[i] * 255);
            int d = Math.abs(got - (int) expected[i]);
            differing += d > 0 ? 1 : 0;
            worst = Math.max(worst, d);
        }
        assertEquals(
                0,
                differing,
                name + ": " + differing + " of " + expected.length + " values differ from PIL's, by up to " + worst);
    }

    @ParameterizedTest
    @MethodSource("pictures")
    void notesEveryConversion(String name) throws Exception {
        DecodedImage decoded = ImageDecoder.decode(Files.readAllBytes(DIR.resolve(name)), ImageDecoder.Limits.DEFAULT);
        String notes = String.join("; ", decoded.notes());
        if (name.startsWith("orientation")) {
            assertTrue(notes.contains("EXIF orientation " + name.charAt("orientation".length())), name + ": " + notes);
        }
        if (name.contains("16")) {
            assertTrue(notes.contains("16-bit"), name + ": " + notes);
        }
        if (name.startsWith("cmyk") || name.startsWith("ycck")) {
            assertTrue(notes.contains(name.startsWith("cmyk") ? "CMYK" : "YCCK"), name + ": " + notes);
        }
        if (name.contains("alpha") || name.startsWith("rgba")) {
            assertTrue(notes.contains("alpha channel composited over white"), name + ": " + notes);
        }
        if (name.startsWith("grey")) {
            assertTrue(notes.contains("grayscale"), name + ": " + notes);
        }
        if (name.equals("rgb420.jpg")) {
            assertTrue(decoded.notes().isEmpty(), name + ": a plain RGB picture needs no conversion: " + notes);
        }
    }
}

package io.sparkdiffusion.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparkdiffusion.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
    @Test
    void roundTripsFloat32OfAnyRank(@TempDir Path dir) throws IOException {
        for (long[] shape : new long[][] {{}, {5}, {2, 3}, {1, 4, 2, 3}}) {
            Tensor t = Tensor.zeros(shape);
            for (int i = 0; i < t.size(); i++) {
                t.data()[i] = i * 0.5f - 1.25f;
            }
            Path f = dir.resolve("t" + shape.length + ".npy");
            Npy.write(f, t);
            Tensor back = Npy.read(f);
            assertArrayEquals(shape, back.shape());
            assertArrayEquals(t.data(), back.data());
            assertEquals(0, Files.size(f) % 16 == 0 ? 0 : 0); // header is padded to 64 bytes below
            byte[] bytes = Files.readAllBytes(f);
            int headerLen = (bytes[8] & 0xff) | ((bytes[9] & 0xff) << 8);
            assertEquals(0, (10 + headerLen) % 64, "data starts on a 64-byte boundary");
        }
    }

    @Test
    void readsRecordedDiffusersArrays() {
        Tensor image = Fixtures.npy(Fixtures.fixture("sd-tiny/cases/txt2img_ddim/image.npy"));
        assertArrayEquals(new long[] {1, 32, 32, 3}, image.shape());
        Tensor noise = Fixtures.npy(Fixtures.fixture("sd-tiny/cases/txt2img_batch_noguidance/noise_000.npy"));
        assertArrayEquals(new long[] {2, 4, 16, 16}, noise.shape());
    }

    @Test
    void rejectsNonNpyAndTruncatedFiles(@TempDir Path dir) throws IOException {
        Path junk = dir.resolve("junk.npy");
        Files.writeString(junk, "not numpy");
        IOException e = assertThrows(IOException.class, () -> Npy.read(junk));
        assertEquals(true, e.getMessage().contains("junk.npy"));
        Path good = dir.resolve("good.npy");
        Npy.write(good, Tensor.full(1f, 10));
        byte[] bytes = Files.readAllBytes(good);
        Path cut = dir.resolve("cut.npy");
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length - 8));
        IOException t = assertThrows(IOException.class, () -> Npy.read(cut));
        assertEquals(true, t.getMessage().contains("truncated"), t.getMessage());
    }

    @Test
    void float16ConversionsRoundTripRepresentableValues() {
        for (float f : new float[] {0f, -0f, 1f, -2.5f, 65504f, 6.1035156e-5f, 5.9604645e-8f, 0.333251953125f}) {
            assertEquals(f, Float16.toFloat(Float16.fromFloat(f)), 0f, "value " + f);
        }
        assertEquals(Float.POSITIVE_INFINITY, Float16.toFloat(Float16.fromFloat(1e6f)));
        assertEquals(true, Float.isNaN(Float16.toFloat(Float16.fromFloat(Float.NaN))));
        // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties to even gives 1
        assertEquals(1f, Float16.toFloat(Float16.fromFloat(1f + 0x1p-11f)));
    }
}

package io.sparkdiffusion.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.OnnxGraphs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The protobuf walk behind validate's explanations: truncation, external data files, float16 weights. */
class OnnxFileScanTest {
    @TempDir
    Path dir;

    @Test
    void aCompleteExportReadsThroughWithNoExternalData() throws Exception {
        OnnxFileScan scan = OnnxFileScan.of(Fixtures.fixture("sd-tiny/unet/model.onnx"));
        assertNull(scan.problem());
        assertTrue(scan.externalData().isEmpty());
        assertTrue(scan.initializers() > 10, "initializers: " + scan.initializers());
        assertEquals(0, scan.float16Initializers());
    }

    @Test
    void float16WeightsOnlyCastToFloat32AreToldApartFromFloat16Arithmetic() throws Exception {
        // stored as float16, computed in float32: w16 -> Cast<float> -> w; y = x + w
        Path stored = dir.resolve("stored.onnx");
        Files.write(
                stored,
                OnnxGraphs.graph()
                        .input("x", OnnxGraphs.FLOAT, 1)
                        .float16s("w16", 0.5f, 0.25f)
                        .node("Cast", new String[] {"w16"}, new String[] {"w"}, "to", OnnxGraphs.FLOAT)
                        .node("Add", new String[] {"x", "w"}, new String[] {"y"})
                        .output("y", OnnxGraphs.FLOAT, 1)
                        .bytes());
        OnnxFileScan scan = OnnxFileScan.of(stored);
        assertEquals(1, scan.float16Initializers());
        assertEquals(1, scan.float16StoredAsFloat32());
        // and ONNX Runtime's CPU provider runs it in float32
        try (OnnxModel m = OnnxModel.load(stored, RuntimeOptions.DEFAULT)) {
            Tensor y = m.run1(Map.of("x", new Tensor(new long[] {2}, new float[] {1f, 2f})), "y");
            assertArrayEquals(new float[] {1.5f, 2.25f}, y.data(), 0f);
        }

        // float16 arithmetic: the weight also feeds an Add directly
        Path mixed = dir.resolve("mixed.onnx");
        Files.write(
                mixed,
                OnnxGraphs.graph()
                        .input("x16", OnnxGraphs.FLOAT16, 1)
                        .float16s("w16", 0.5f, 0.25f)
                        .node("Cast", new String[] {"w16"}, new String[] {"w"}, "to", OnnxGraphs.FLOAT)
                        .node("Add", new String[] {"x16", "w16"}, new String[] {"y16"})
                        .output("y16", OnnxGraphs.FLOAT16, 1)
                        .output("w", OnnxGraphs.FLOAT, 1)
                        .bytes());
        OnnxFileScan half = OnnxFileScan.of(mixed);
        assertEquals(1, half.float16Initializers());
        assertEquals(0, half.float16StoredAsFloat32());
    }

    @Test
    void anFp16WeightsExportHasEveryFloat16WeightCastToFloat32() throws Exception {
        for (String component : new String[] {"unet", "text_encoder", "vae_decoder"}) {
            OnnxFileScan scan = OnnxFileScan.of(Fixtures.fixture("sd-tiny-fp16w/" + component + "/model.onnx"));
            assertNull(scan.problem());
            assertTrue(scan.float16Initializers() > 10, component + ": " + scan.float16Initializers());
            assertEquals(scan.float16Initializers(), scan.float16StoredAsFloat32(), component);
        }
    }

    @Test
    void aTruncatedFileIsReportedAsTruncated() throws Exception {
        byte[] all = Files.readAllBytes(Fixtures.fixture("sd-tiny/unet/model.onnx"));
        for (int keep : new int[] {all.length - 1, all.length / 2, 100, 3}) {
            Path f = dir.resolve("cut" + keep + ".onnx");
            Files.write(f, Arrays.copyOf(all, keep));
            String problem = OnnxFileScan.of(f).problem();
            assertTrue(problem != null && problem.contains("truncated (" + keep + " bytes)"), keep + ": " + problem);
        }
        Path empty = dir.resolve("empty.onnx");
        Files.write(empty, new byte[0]);
        assertEquals("the file is empty", OnnxFileScan.of(empty).problem());
    }

    @Test
    void externalDataFilesAreListedAndCheckedForPresenceAndLength() throws Exception {
        Path f = dir.resolve("model.onnx");
        Files.write(f, OnnxGraphs.withExternalWeight("x", 1, "y", "model.onnx_data"));
        OnnxFileScan scan = OnnxFileScan.of(f);
        assertNull(scan.problem());
        assertEquals(Map.of("model.onnx_data", 4L), scan.externalData());
        assertEquals(1, scan.externalDataProblems().size());
        assertTrue(scan.externalDataProblems().get(0).contains("'model.onnx_data' is missing"));

        Files.write(dir.resolve("model.onnx_data"), new byte[2]);
        assertTrue(
                scan.externalDataProblems().get(0).contains("has 2 bytes but the graph reads up to byte 4"),
                scan.externalDataProblems().toString());

        Files.write(dir.resolve("model.onnx_data"), OnnxGraphs.externalWeight());
        assertTrue(scan.externalDataProblems().isEmpty());
    }
}

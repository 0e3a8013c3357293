package io.sparkdiffusion.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

package io.sparkdiffusion.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.pipeline.Pipelines;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFolderTest {
    @TempDir
    Path tmp;

    @Test
    void readsTheLayout() {
        try (ModelFolder m = ModelFolder.open(Fixtures.fixture("sdxl-tiny"))) {
            assertEquals("StableDiffusionXLPipeline", m.pipelineClass());
            assertTrue(m.hasComponent("text_encoder_2"));
            assertEquals(0.13025, m.componentConfig("vae_decoder").getDouble("scaling_factor", 0), 1e-9);
            assertEquals("EulerDiscreteScheduler", m.schedulerConfig().getString("_class_name", null));
            assertTrue(m.session("unet") == m.session("unet"), "one session per component, reused");
        }
    }

    @Test
    void aMissingFolderOrIndexIsNamed() {
        Path nowhere = tmp.resolve("nowhere");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelFolder.open(nowhere));
        assertTrue(e.getMessage().contains(nowhere.toString()), e.getMessage());
        ModelLoadException e2 = assertThrows(ModelLoadException.class, () -> ModelFolder.open(tmp));
        assertTrue(e2.getMessage().contains("model_index.json"), e2.getMessage());
    }

    @Test
    void aMissingComponentNamesFolderAndFile() throws IOException {
        Path copy = copyOf(Fixtures.model("digits-t2i"));
        deleteTree(copy.resolve("unet"));
        ModelLoadException e =
                assertThrows(ModelLoadException.class, () -> Pipelines.open(copy, RuntimeOptions.DEFAULT));
        assertTrue(e.getMessage().contains(copy.toString()) && e.getMessage().contains("unet"), e.getMessage());
    }

    @Test
    void aTruncatedGraphNamesTheFile() throws IOException {
        Path copy = copyOf(Fixtures.model("digits-t2i"));
        Path unet = copy.resolve("unet/model.onnx");
        byte[] bytes = Files.readAllBytes(unet);
        Files.write(unet, java.util.Arrays.copyOf(bytes, bytes.length / 3));
        ModelLoadException e =
                assertThrows(ModelLoadException.class, () -> Pipelines.open(copy, RuntimeOptions.DEFAULT));
        assertTrue(e.getMessage().contains(unet.toString()), e.getMessage());
    }

    @Test
    void badRuntimeOptionsAreRejectedWithTheirName() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new RuntimeOptions(0, 0, "fastest", "cpu", 0));
        assertTrue(e.getMessage().contains("optimization"), e.getMessage());
        IllegalArgumentException p = assertThrows(
                IllegalArgumentException.class,
                () -> RuntimeOptions.fromMap(java.util.Map.of("intra_op_threads", "many")));
        assertTrue(p.getMessage().contains("intra_op_threads"), p.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new RuntimeOptions(0, 0, "all", "tpu", 0));
    }

    private Path copyOf(Path src) throws IOException {
        Path dst = tmp.resolve(src.getFileName());
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path target = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return dst;
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder())
                    .forEach(f -> f.toFile().delete());
        }
    }
}

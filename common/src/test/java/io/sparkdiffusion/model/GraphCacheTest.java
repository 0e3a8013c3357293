package io.sparkdiffusion.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.pipeline.ImagePipeline;
import io.sparkdiffusion.pipeline.ImageRequest;
import io.sparkdiffusion.pipeline.Pipelines;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code runtime.graph_cache}: what an open stores and reads, that it changes no output, and what it refuses. */
class GraphCacheTest {
    @TempDir
    Path tmp;

    private RuntimeOptions cached(Path cache) {
        return new RuntimeOptions(1, 1, "all", "cpu", 0).withGraphCache(true, cache.toString());
    }

    /** The sd-tiny UNet copied into its own folder (the tests change its files). */
    private Path unet() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("model/unet"));
        try (Stream<Path> files = Files.list(Fixtures.fixture("sd-tiny/unet"))) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        return dir.resolve("model.onnx");
    }

    private static Map<String, Tensor> unetInputs() {
        Random r = new Random(5);
        float[] x = new float[2 * 4 * 16 * 16];
        float[] e = new float[2 * 77 * 16];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < e.length; i++) {
            e[i] = (float) r.nextGaussian();
        }
        return Map.of(
                "sample", new Tensor(new long[] {2, 4, 16, 16}, x),
                "timestep", new Tensor(new long[] {2}, new float[] {999, 999}),
                "encoder_hidden_states", new Tensor(new long[] {2, 77, 16}, e));
    }

    private static float[] run(OnnxModel m) {
        return m.run(unetInputs()).values().iterator().next().data();
    }

    private static List<Path> entries(Path cache) throws IOException {
        try (Stream<Path> s = Files.list(cache)) {
            return s.toList();
        }
    }

    @Test
    void theFirstOpenStoresTheGraphTheNextReadsItAndTheOutputsAreTheSame() throws Exception {
        assumeTrue(GraphCache.cpuIdentity() != null, "needs /proc/cpuinfo");
        Path file = unet();
        Path cache = tmp.resolve("cache");
        float[] plain;
        try (OnnxModel m = OnnxModel.load(file, cached(cache).withGraphCache(false, null))) {
            assertEquals(GraphCache.Outcome.UNUSED, m.graphCache());
            plain = run(m);
        }
        assertTrue(Files.notExists(cache), "the cache off writes nothing");
        try (OnnxModel m = OnnxModel.load(file, cached(cache))) {
            assertEquals(GraphCache.Outcome.STORED, m.graphCache());
            assertArrayEquals(plain, run(m));
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)));
        List<Path> entries = entries(cache);
        assertEquals(1, entries.size(), "one entry, no temporary folder left: " + entries);
        Path entry = entries.get(0);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(entry)));
        assertTrue(Files.isRegularFile(entry.resolve(GraphCache.MODEL)));
        assertTrue(Files.readString(entry.resolve(GraphCache.KEY)).contains("optimization all"));
        try (OnnxModel m = OnnxModel.load(file, cached(cache))) {
            assertEquals(GraphCache.Outcome.HIT, m.graphCache());
            assertArrayEquals(plain, run(m), "a cached graph computes what the model computes");
        }
    }

    @Test
    void aPipelineOpenedFromTheCacheMakesTheSamePictures() throws IOException {
        assumeTrue(GraphCache.cpuIdentity() != null, "needs /proc/cpuinfo");
        Path cache = tmp.resolve("cache");
        Path model = Fixtures.fixture("sd-tiny");
        RuntimeOptions off = new RuntimeOptions(1, 1, "all", "cpu", 0);
        ImageRequest request = ImageRequest.builder()
                .prompts(List.of("a red cube", "a blue sphere"))
                .steps(3)
                .guidanceScale(7.5)
                .scheduler("euler_a")
                .size(32, 32)
                .build();
        float[] expected;
        try (ImagePipeline p = Pipelines.openImage(model, off)) {
            expected = p.generate(request, new SeededNoise(new long[] {1, 2})).data();
        }
        for (int open = 0; open < 2; open++) { // the first open stores, the second reads
            try (ImagePipeline p = Pipelines.openImage(model, cached(cache))) {
                assertArrayEquals(
                        expected,
                        p.generate(request, new SeededNoise(new long[] {1, 2})).data());
            }
            assertEquals(3, entries(cache).size(), "text encoder, UNet and VAE decoder");
        }
    }

    @Test
    void aForeignOrCorruptEntryIsLeftAloneAndTheModelOpensWithoutIt() throws Exception {
        assumeTrue(GraphCache.cpuIdentity() != null, "needs /proc/cpuinfo");
        Path file = unet();
        Path cache = tmp.resolve("cache");
        float[] stored;
        try (OnnxModel m = OnnxModel.load(file, cached(cache))) {
            stored = run(m);
        }
        Path entry = entries(cache).get(0);
        String key = Files.readString(entry.resolve(GraphCache.KEY));

        Files.writeString(entry.resolve(GraphCache.KEY), key.replace("optimization all", "optimization basic"));
        try (OnnxModel m = OnnxModel.load(file, cached(cache))) {
            assertEquals(GraphCache.Outcome.FALLBACK, m.graphCache(), "an entry of another key");
            assertArrayEquals(stored, run(m));
        }
        Files.writeString(entry.resolve(GraphCache.KEY), key);
        byte[] garbage = "not a graph".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Files.write(entry.resolve(GraphCache.MODEL), garbage);
        try (OnnxModel m = OnnxModel.load(file, cached(cache))) {
            assertEquals(GraphCache.Outcome.FALLBACK, m.graphCache(), "a graph ONNX Runtime refuses");
            assertArrayEquals(stored, run(m));
        }
        assertArrayEquals(garbage, Files.readAllBytes(entry.resolve(GraphCache.MODEL)), "the entry is not touched");
        Files.setPosixFilePermissions(entry, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertNotNull(GraphCache.problem(entry, key), "an entry others can read");
    }

    @Test
    void aCacheFolderOthersCanAccessIsNotUsed() throws Exception {
        assumeTrue(GraphCache.cpuIdentity() != null, "needs /proc/cpuinfo");
        Path file = unet();
        Path cache = Files.createDirectory(
                tmp.resolve("shared"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (OnnxModel m = OnnxModel.load(file, cached(cache))) {
            assertEquals(GraphCache.Outcome.UNUSED, m.graphCache());
        }
        assertEquals(List.of(), entries(cache), "nothing written into it");
        assertNull(GraphCache.root(cache.toString()));
    }

    @Test
    void theKeyChangesWithTheModelFilesOnnxRuntimeAndTheLevel() throws Exception {
        assumeTrue(GraphCache.cpuIdentity() != null, "needs /proc/cpuinfo");
        Path file = unet();
        RuntimeOptions all = cached(tmp.resolve("cache"));
        String key = GraphCache.key("1.29.0", file, all);
        assertEquals(key, GraphCache.key("1.29.0", file, all), "the same model and settings, the same key");
        assertTrue(key.contains(GraphCache.cpuIdentity()), "the CPU is part of it");
        assertNotEquals(key, GraphCache.key("1.30.0", file, all));
        assertNotEquals(key, GraphCache.key("1.29.0", file, new RuntimeOptions(1, 1, "extended", "cpu", 0)));
        Path config = file.resolveSibling("config.json");
        Files.setLastModifiedTime(
                config, FileTime.fromMillis(Files.getLastModifiedTime(config).toMillis() + 5000));
        assertNotEquals(key, GraphCache.key("1.29.0", file, all), "a file of the folder changed");
        assertTrue(
                Stream.of(key.split("\n")).anyMatch(l -> l.startsWith("file model.onnx ")),
                "every file of the folder is listed");
    }
}

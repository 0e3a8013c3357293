package io.sparkdiffusion.testing;

import io.sparkdiffusion.tensor.Npy;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the project's bundled test data ({@code testdata/}) and models ({@code models/}) from any module. */
public final class Fixtures {
    private Fixtures() {}

    /** The repository root: the {@code project.root} system property, else the nearest ancestor with testdata/. */
    public static Path root() {
        String p = System.getProperty("project.root");
        if (p != null && Files.isDirectory(Path.of(p, "testdata"))) {
            return Path.of(p).toAbsolutePath();
        }
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            if (Files.isDirectory(dir.resolve("testdata")) && Files.isDirectory(dir.resolve("models"))) {
                return dir;
            }
            dir = dir.getParent();
        }
        throw new IllegalStateException("cannot find the project root (a folder with testdata/ and models/)");
    }

    /** {@code testdata/fixtures/<relative>}. */
    public static Path fixture(String relative) {
        return root().resolve("testdata").resolve("fixtures").resolve(relative);
    }

    /** {@code testdata/exported/<relative>}: models made by tools/export/export_onnx.py (see its README). */
    public static Path exported(String relative) {
        return root().resolve("testdata").resolve("exported").resolve(relative);
    }

    /** {@code testdata/<relative>}. */
    public static Path testdata(String relative) {
        return root().resolve("testdata").resolve(relative);
    }

    public static Path model(String name) {
        return root().resolve("models").resolve(name);
    }

    public static Tensor npy(Path file) {
        try {
            return Npy.read(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Max |a - b|, failing on shape mismatch with both shapes in the message. */
    public static double maxDiff(Tensor a, Tensor b) {
        return Tensors.maxAbsDiff(a, b);
    }
}

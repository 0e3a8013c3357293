package io.sparkdiffusion.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the bundled models live: {@code -Dspark.diffusion.home} (set by the launcher), else the working directory. */
final class ProjectHome {
    private ProjectHome() {}

    static Path home() {
        String p = System.getProperty("spark.diffusion.home");
        if (p != null) {
            return Path.of(p);
        }
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            if (Files.isDirectory(dir.resolve("models").resolve("digits-t2i"))) {
                return dir;
            }
            dir = dir.getParent();
        }
        return Path.of("").toAbsolutePath();
    }

    /** The bundled default text-to-image model. */
    static Path defaultModel() {
        return home().resolve("models").resolve("digits-t2i");
    }
}

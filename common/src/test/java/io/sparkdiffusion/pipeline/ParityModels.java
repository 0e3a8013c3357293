package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.testing.Fixtures;
import java.nio.file.Path;

/** "testdata:NAME" is a fixture folder with its own cases/; "models:NAME" a bundled model whose cases live in testdata. */
final class ParityModels {
    private ParityModels() {}

    static Path model(String spec) {
        String name = spec.substring(spec.indexOf(':') + 1);
        return spec.startsWith("models:") ? Fixtures.model(name) : Fixtures.fixture(name);
    }

    static Path cases(String spec) {
        String name = spec.substring(spec.indexOf(':') + 1);
        return spec.startsWith("models:")
                ? Fixtures.fixture("digits/" + name + "/cases")
                : Fixtures.fixture(name + "/cases");
    }
}

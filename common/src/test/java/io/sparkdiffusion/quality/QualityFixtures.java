package io.sparkdiffusion.quality;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;

/** testdata/fixtures/quality: tiny scorer models and PyTorch references (tools/quality/make_quality_fixtures.py). */
final class QualityFixtures {
    static final Path ROOT = Fixtures.fixture("quality");
    static final Path CLIP = ROOT.resolve("clip-tiny");
    static final Path SAFETY = ROOT.resolve("safety-tiny");
    static final Path SAFETY_FLAGS = ROOT.resolve("safety-tiny-flags");

    private QualityFixtures() {}

    static JsonConfig reference() {
        return JsonConfig.read(ROOT.resolve("reference/reference.json"));
    }

    static Tensor npy(String name) {
        return Fixtures.npy(ROOT.resolve("reference").resolve(name + ".npy"));
    }
}

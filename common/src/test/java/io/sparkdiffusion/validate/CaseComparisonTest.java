package io.sparkdiffusion.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.tensor.Npy;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import io.sparkdiffusion.validate.CaseComparison.Difference;
import io.sparkdiffusion.validate.CaseComparison.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one case comparison on a recorded SD case and on doctored copies of it: each doctoring must show up as the
 * first divergence, at the component or step it touches, and only the final output decides {@code reproduces()}.
 */
@Slow
class CaseComparisonTest {
    private static final Path MODEL = Fixtures.fixture("sd-tiny");
    private static final Path CASE = Fixtures.fixture("sd-tiny/cases/txt2img_ddim");

    @TempDir
    Path tmp;

    @Test
    void theRecordedCaseMatchesEverywhere() throws IOException {
        Result r = replay(CASE);
        assertTrue(r.reproduces(), r.figures());
        assertTrue(r.firstDivergence().isEmpty(), r.figures());
        assertEquals(
                List.of("prompt_embeds", "negative_prompt_embeds"),
                r.embeddings().stream().map(Difference::name).toList());
        assertEquals(4, r.stepsRecorded());
        assertEquals(4, r.stepsRun());
        assertEquals(4, r.steps().size());
        assertEquals("image.npy", r.outputDifference().name());
        assertEquals("StableDiffusionPipeline", r.pipeline());
    }

    @Test
    void differentEmbeddingsAreTheFirstDivergenceEvenWhenThePixelsMatch() throws IOException {
        Path c = copyCase();
        negate(c.resolve("negative_prompt_embeds.npy"));
        Result r = replay(c);
        assertTrue(r.reproduces(), "the pixels alone decide validate's verdict");
        Difference first = r.firstDivergence().orElseThrow();
        assertEquals("negative_prompt_embeds", first.name());
        assertTrue(first.maxDiff() > CaseComparison.INTERMEDIATE_TOLERANCE, first.describe());
    }

    @Test
    void negatedInitialNoiseDivergesAtTheFirstStep() throws IOException {
        Path c = copyCase();
        negate(c.resolve("noise_000.npy"));
        Result r = replay(c);
        assertFalse(r.reproduces());
        assertTrue(r.outputDifference().maxDiff() > CaseComparison.PIXEL_TOLERANCE, r.figures());
        assertEquals("latents after step 0", r.firstDivergence().orElseThrow().name());
    }

    @Test
    void anUnreadableStepRecordingIsADivergence() throws IOException {
        Path c = copyCase();
        Files.writeString(c.resolve("latents_step_002.npy"), "not an array");
        Result r = replay(c);
        Difference first = r.firstDivergence().orElseThrow();
        assertEquals("latents after step 2", first.name());
        assertTrue(first.problem().contains("latents_step_002.npy"), first.describe());
    }

    @Test
    void anotherStepCountIsADivergence() throws IOException {
        Path c = copyCase();
        Path json = c.resolve("case.json");
        Files.writeString(
                json, Files.readString(json).replace("\"latents_steps_recorded\": 4", "\"latents_steps_recorded\": 3"));
        Result r = replay(c);
        assertEquals(3, r.steps().size());
        Difference first = r.firstDivergence().orElseThrow();
        assertEquals("denoising steps", first.name());
        assertEquals(first, r.stepCount().orElseThrow());
    }

    @Test
    void anOutputOfAnotherShapeIsNotCompared() throws IOException {
        Path c = copyCase();
        Files.copy(
                Fixtures.fixture("sd-tiny/cases/txt2img_batch_noguidance/image.npy"),
                c.resolve("image.npy"),
                StandardCopyOption.REPLACE_EXISTING);
        Result r = replay(c);
        assertFalse(r.reproduces());
        assertTrue(r.outputDifference()
                .problem()
                .contains("[1,32,32,3] does not have the shape of image.npy [2,32,32,3]"));
        assertEquals("image.npy", r.firstDivergence().orElseThrow().name());
    }

    @Test
    void aCaseWithoutItsOutputIsNotReproduced() throws IOException {
        Path c = copyCase();
        Files.delete(c.resolve("image.npy"));
        Result r = replay(c);
        assertNull(r.outputDifference());
        assertFalse(r.reproduces());
        assertEquals("final output", r.firstDivergence().orElseThrow().name());
    }

    private static Result replay(Path caseDir) throws IOException {
        return CaseComparison.replay(MODEL, caseDir, RuntimeOptions.DEFAULT);
    }

    private Path copyCase() throws IOException {
        Path to = Files.createDirectories(tmp.resolve(CASE.getFileName()));
        try (Stream<Path> s = Files.list(CASE)) {
            for (Path f : s.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    private static void negate(Path npy) throws IOException {
        Tensor t = Npy.read(npy);
        float[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) {
            d[i] = -d[i];
        }
        Npy.write(npy, new Tensor(t.shape(), d));
    }
}

package io.sparkdiffusion.quality;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.image.ImageProcessor;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The safety checker against diffusers' StableDiffusionPipeline.run_safety_checker (StableDiffusionSafetyChecker
 * .forward) and forward_onnx on the tiny random checker of testdata/fixtures/quality, whose concepts are placed so
 * that picture 0 is flagged by a concept, picture 1 only through the special-care adjustment, and picture 2 has a
 * concept score of +0.0003: forward rounds it to 0.0 (clean), forward_onnx does not (flagged).
 */
class SafetyCheckerTest {
    /** The graph's cosines minus thresholds against torch's: the exported graph matches torch within ~2e-6. */
    private static final double RAW_SCORES = 1e-5;

    private static boolean[] flags(List<SafetyResult> results) {
        boolean[] f = new boolean[results.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = results.get(i).nsfw();
        }
        return f;
    }

    /** Row {@code i} of a per-picture array of scores in the reference. */
    private static double[] row(JsonConfig ref, String key, int i) {
        JsonNode r = ref.node().get(key).get(i);
        double[] out = new double[r.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = r.get(k).asDouble();
        }
        return out;
    }

    private static boolean[] booleans(JsonConfig c, String key) {
        List<String> v = c.getStringList(key);
        boolean[] out = new boolean[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = Boolean.parseBoolean(v.get(i));
        }
        return out;
    }

    @Test
    void scoresGraphGivesDiffusersFlagsAndScores() {
        JsonConfig ref = QualityFixtures.reference().getObject("safety");
        Tensor images = QualityFixtures.npy("images_a");
        try (SafetyChecker checker = SafetyChecker.open(QualityFixtures.SAFETY, RuntimeOptions.DEFAULT)) {
            assertTrue(checker.givesScores());
            ImageProcessor processor =
                    ImageProcessor.read(QualityFixtures.SAFETY.resolve("feature_extractor/preprocessor_config.json"));
            Map<String, Tensor> raw = checker.rawScores(processor.apply(images));
            double concept =
                    Fixtures.maxDiff(QualityFixtures.npy("safety_concept_scores_a"), raw.get("concept_scores"));
            double special =
                    Fixtures.maxDiff(QualityFixtures.npy("safety_special_scores_a"), raw.get("special_scores"));
            System.out.printf(
                    "safety checker cosine - threshold: max |java - torch| = %.3g (concepts), %.3g (special care)%n",
                    concept, special);
            assertTrue(concept <= RAW_SCORES && special <= RAW_SCORES, concept + " / " + special);

            List<SafetyResult> results = checker.check(images);
            assertArrayEquals(booleans(ref, "nsfw"), flags(results));
            for (int i = 0; i < results.size(); i++) {
                assertScores(ref, "concept_scores", i, results.get(i).conceptScores(), raw.get("concept_scores"));
                assertScores(ref, "special_scores", i, results.get(i).specialScores(), raw.get("special_scores"));
            }
        }
    }

    /**
     * diffusers' 3-decimal scores of picture {@code i}, exactly, except where torch's own unrounded value lies within
     * the graphs' float noise of a rounding boundary (then one step of 0.001 apart).
     */
    private static void assertScores(JsonConfig ref, String key, int i, float[] actual, Tensor unrounded) {
        double[] expected = row(ref, key, i);
        assertEquals(expected.length, actual.length, key);
        for (int k = 0; k < expected.length; k++) {
            float e = (float) expected[k];
            if (e != actual[k]) {
                double x = unrounded.data()[i * actual.length + k] * 1000.0;
                double toBoundary = Math.abs(x - Math.floor(x) - 0.5);
                assertTrue(
                        toBoundary < 0.01 && Math.abs(e - actual[k]) <= 0.0010001,
                        key + "[" + i + "][" + k + "]: " + actual[k] + " vs diffusers " + e);
            }
        }
    }

    @Test
    void flagsGraphGivesForwardOnnxFlagsWithoutScores() {
        JsonConfig ref = QualityFixtures.reference().getObject("safety");
        try (SafetyChecker checker = SafetyChecker.open(QualityFixtures.SAFETY_FLAGS, RuntimeOptions.DEFAULT)) {
            assertFalse(checker.givesScores());
            List<SafetyResult> results = checker.check(QualityFixtures.npy("images_a"));
            assertArrayEquals(booleans(ref, "nsfw_forward_onnx"), flags(results));
            assertFalse(results.get(0).hasScores());
            List<Map<String, Object>> rows = checker.score(ScoringBatch.of(QualityFixtures.npy("images_a"), null));
            assertEquals(true, rows.get(0).get(SafetyChecker.NSFW));
            assertNull(rows.get(0).get(SafetyChecker.NSFW_SCORE));
        }
    }

    @Test
    void blackOutIsDiffusersOutput() {
        Tensor images = QualityFixtures.npy("images_a");
        try (SafetyChecker checker = SafetyChecker.open(QualityFixtures.SAFETY, RuntimeOptions.DEFAULT)) {
            List<SafetyResult> results = checker.check(images);
            Tensor out = SafetyChecker.blackOut(images, results);
            assertArrayEquals(QualityFixtures.npy("safety_checked_a").data(), out.data());
            assertFalse(images.data()[0] == 0f && images.data()[1] == 0f, "the input is left as it was");
            List<SafetyResult> clean = results.subList(2, 5);
            Tensor rest = Tensors.sliceBatch(images, 2, 5);
            assertSame(rest, SafetyChecker.blackOut(rest, clean));
        }
    }

    @Test
    void scoreRowsCarryTheFlagAndTheHighestScores() {
        JsonConfig ref = QualityFixtures.reference().getObject("safety");
        Tensor images = QualityFixtures.npy("images_a");
        try (SafetyChecker checker = SafetyChecker.open(QualityFixtures.SAFETY, RuntimeOptions.DEFAULT)) {
            assertEquals(
                    List.of(SafetyChecker.NSFW, SafetyChecker.NSFW_SCORE, SafetyChecker.NSFW_SPECIAL_SCORE),
                    checker.fields().stream().map(ScoreField::name).toList());
            List<Map<String, Object>> rows = checker.score(ScoringBatch.of(images, null));
            boolean[] nsfw = booleans(ref, "nsfw");
            for (int i = 0; i < rows.size(); i++) {
                double[] concepts = row(ref, "concept_scores", i);
                double max = Double.NEGATIVE_INFINITY;
                for (double c : concepts) {
                    max = Math.max(max, c);
                }
                assertEquals(nsfw[i], rows.get(i).get(SafetyChecker.NSFW));
                assertEquals(max, (Double) rows.get(i).get(SafetyChecker.NSFW_SCORE), 1e-6, "picture " + i);
                assertEquals(nsfw[i], (Double) rows.get(i).get(SafetyChecker.NSFW_SCORE) > 0);
            }
        }
    }

    @Test
    void presenceSaysWhatIsMissing(@TempDir Path dir) throws IOException {
        assertTrue(SafetyChecker.presence(QualityFixtures.SAFETY).usable());
        SafetyChecker.Presence none = SafetyChecker.presence(dir);
        assertFalse(none.usable());
        assertTrue(none.detail().contains("no safety_checker/"), none.detail());

        Files.createDirectories(dir.resolve("safety_checker"));
        Files.writeString(dir.resolve("safety_checker/model.safetensors"), "");
        SafetyChecker.Presence torch = SafetyChecker.presence(dir);
        assertFalse(torch.usable());
        assertTrue(torch.detail().contains("PyTorch weights"), torch.detail());

        Files.copy(
                QualityFixtures.SAFETY.resolve("safety_checker/model.onnx"), dir.resolve("safety_checker/model.onnx"));
        SafetyChecker.Presence noExtractor = SafetyChecker.presence(dir);
        assertFalse(noExtractor.usable());
        assertTrue(noExtractor.detail().contains("feature_extractor/preprocessor_config.json"), noExtractor.detail());
        ModelLoadException e =
                assertThrows(ModelLoadException.class, () -> SafetyChecker.open(dir, RuntimeOptions.DEFAULT));
        assertEquals(noExtractor.detail(), e.getMessage());
    }
}

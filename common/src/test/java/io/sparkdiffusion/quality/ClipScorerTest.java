package io.sparkdiffusion.quality;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.text.ClipTokenizer;
import io.sparkdiffusion.util.JsonConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The CLIP scorer against transformers' CLIPModel and torchmetrics' CLIPScore on the tiny random CLIP of
 * testdata/fixtures/quality (tools/quality/make_quality_fixtures.py).
 */
class ClipScorerTest {
    /** Embeddings: the exported graphs match torch within ~2e-6; 1e-4 is the bound. */
    private static final double EMBEDDINGS = 1e-4;
    /**
     * CLIP scores: 100 x a cosine. torchmetrics itself gives the same pair 1e-5 apart batched or alone (float32
     * sums), so 1e-3 (a cosine within 1e-5) separates arithmetic noise from a wrong formula.
     */
    private static final double SCORES = 1e-3;

    private static List<String> prompts(JsonConfig ref) {
        return ref.getStringList("prompts");
    }

    @Test
    void tokenizerGivesTransformersIds() {
        try (ClipTokenizer tokenizer = ClipTokenizer.load(QualityFixtures.CLIP.resolve("tokenizer"))) {
            Tensor ids = tokenizer.encodeBatch(prompts(QualityFixtures.reference()));
            assertArrayEquals(QualityFixtures.npy("input_ids").data(), ids.data());
        }
    }

    @Test
    void embeddingsAndScoresMatchTheReference() {
        JsonConfig ref = QualityFixtures.reference();
        try (ClipScorer scorer = ClipScorer.open(QualityFixtures.CLIP, RuntimeOptions.DEFAULT)) {
            double text = Fixtures.maxDiff(QualityFixtures.npy("text_embeds"), scorer.textEmbeds(prompts(ref)));
            System.out.printf("CLIP text embeddings: max |java - torch| = %.3g%n", text);
            assertTrue(text <= EMBEDDINGS, "text embeddings differ by " + text);
            for (String batch : new String[] {"a", "b", "gray"}) {
                Tensor images = QualityFixtures.npy("images_" + batch);
                double d = Fixtures.maxDiff(QualityFixtures.npy("image_embeds_" + batch), scorer.imageEmbeds(images));
                System.out.printf("CLIP image embeddings %s: max |java - torch| = %.3g%n", batch, d);
                assertTrue(d <= EMBEDDINGS, batch + ": image embeddings differ by " + d);
            }
            double[] expected = ref.getObject("clip_score").getDoubleArray("scores");
            double[] actual = scorer.clipScores(QualityFixtures.npy("images_a"), prompts(ref));
            double worst = 0;
            for (int i = 0; i < expected.length; i++) {
                worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
                // the floor: a negative cosine is 0 on both sides, exactly
                assertEquals(expected[i] == 0, actual[i] == 0, "pair " + i + ": " + actual[i] + " vs " + expected[i]);
            }
            System.out.printf("CLIP scores: max |java - torchmetrics| = %.3g%n", worst);
            assertArrayEquals(expected, actual, SCORES);
        }
    }

    @Test
    void scorerRowsAreTheScoresOfOneBatchWhateverTheCaller() throws Exception {
        JsonConfig ref = QualityFixtures.reference();
        Tensor images = QualityFixtures.npy("images_a");
        try (ClipScorer scorer = ClipScorer.open(QualityFixtures.CLIP, RuntimeOptions.DEFAULT)) {
            assertEquals(
                    List.of(ClipScorer.CLIP_SCORE),
                    scorer.fields().stream().map(ScoreField::name).toList());
            double[] batch = scorer.clipScores(images, prompts(ref));
            List<Map<String, Object>> rows = scorer.score(ScoringBatch.of(images, prompts(ref)));
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                List<Future<double[]>> singles = new ArrayList<>();
                for (int i = 0; i < batch.length; i++) {
                    int row = i;
                    singles.add(pool.submit(() -> scorer.clipScores(
                            Tensors.sliceBatch(images, row, row + 1),
                            List.of(prompts(ref).get(row)))));
                }
                for (int i = 0; i < batch.length; i++) {
                    assertEquals(batch[i], (Double) rows.get(i).get(ClipScorer.CLIP_SCORE), 0.0);
                    // one picture alone, on another thread, scores as in the batch (to float rounding of the graphs)
                    assertEquals(batch[i], singles.get(i).get()[0], 1e-4);
                }
            } finally {
                pool.shutdown();
            }
        }
    }
}

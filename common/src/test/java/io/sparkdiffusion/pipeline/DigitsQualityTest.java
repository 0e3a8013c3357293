package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.quality.DigitClassifier;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import java.util.Collections;
import org.junit.jupiter.api.Test;

/**
 * The bundled real model draws the digit it is asked for: 10 digits x 5 seeds, 20 steps, guidance 3, production
 * noise, scored by the bundled classifier. The PyTorch reference reaches 100 % at guidance 3.
 */
@Slow
class DigitsQualityTest {
    private static final int SEEDS = 5;

    @Test
    void atLeast95PercentShowThePromptedDigit() {
        int correct = 0;
        int total = 0;
        int[][] confusion = new int[10][10];
        try (ImagePipeline pipeline = Pipelines.openImage(Fixtures.model("digits-t2i"), RuntimeOptions.DEFAULT);
                DigitClassifier classifier =
                        new DigitClassifier(Fixtures.model("digits-classifier"), RuntimeOptions.DEFAULT)) {
            for (int digit = 0; digit < 10; digit++) {
                String prompt = "a handwritten digit " + DigitClassifier.word(digit);
                long[] seeds = new long[SEEDS];
                for (int s = 0; s < SEEDS; s++) {
                    seeds[s] = 1000L * digit + s;
                }
                Tensor images = pipeline.generate(
                        ImageRequest.builder()
                                .prompts(Collections.nCopies(SEEDS, prompt))
                                .steps(20)
                                .guidanceScale(3.0)
                                .build(),
                        new SeededNoise(seeds));
                for (int p : classifier.predict(images)) {
                    confusion[digit][p]++;
                    correct += p == digit ? 1 : 0;
                    total++;
                }
            }
        }
        double accuracy = correct / (double) total;
        StringBuilder table = new StringBuilder();
        for (int d = 0; d < 10; d++) {
            table.append(d)
                    .append(": ")
                    .append(java.util.Arrays.toString(confusion[d]))
                    .append('\n');
        }
        System.out.printf(
                "digits-t2i quality: %d/%d = %.1f %% show the prompted digit%n%s",
                correct, total, 100 * accuracy, table);
        assertTrue(accuracy >= 0.95, "accuracy " + accuracy + " below 95 %; confusion (row = prompted):\n" + table);
    }
}

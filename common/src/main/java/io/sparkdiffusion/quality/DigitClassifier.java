package io.sparkdiffusion.quality;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The bundled digit classifier ({@code models/digits-classifier}: input {@code image} (B, 1, 16, 16) in [0, 1],
 * output {@code logits} (B, 10), labels {@code 0..9} with the digit words as aliases) as the digits models' quality
 * figure: the share of generated images that show the prompted digit. An {@link ImageClassifier} with digit-shaped
 * helpers; images are classified as written, i.e. after 8-bit rounding.
 */
public final class DigitClassifier implements AutoCloseable {
    private static final List<String> WORDS =
            List.of("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine");
    /** The classes 0..9 named by numeral and word, as the folder's labels.txt names them. */
    static final Labels DIGITS = digits();

    private final ImageClassifier classifier;

    public DigitClassifier(Path folder, RuntimeOptions options) {
        this.classifier = ImageClassifier.open(folder, options);
    }

    private static Labels digits() {
        List<List<String>> names = new ArrayList<>();
        for (int d = 0; d < WORDS.size(); d++) {
            names.add(List.of(String.valueOf(d), WORDS.get(d)));
        }
        return Labels.of(names);
    }

    /** The word of a digit as the digits model was trained on ("a handwritten digit seven"). */
    public static String word(int digit) {
        return WORDS.get(digit);
    }

    /** The digit a prompt asks for (a digit word or numeral), or -1. */
    public static int promptedDigit(String prompt) {
        return DIGITS.find(prompt).map(Integer::parseInt).orElse(-1);
    }

    /** Predicted digit of each image of a {@code (B, 16, 16, 1)} batch in [0, 1]. */
    public int[] predict(Tensor images) {
        return classifier.classify(images).stream()
                .mapToInt(ImageClassifier.Classification::index)
                .toArray();
    }

    @Override
    public void close() {
        classifier.close();
    }
}

package io.sparkdiffusion.quality;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.tensor.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The bundled digit classifier ({@code models/digits-classifier}: input {@code image} (B, 1, 16, 16) in [0, 1],
 * output {@code logits} (B, 10)). It turns the digits models' pictures into a quality figure: the share of
 * generated images that show the prompted digit. Images are classified as written, i.e. after 8-bit rounding.
 */
public final class DigitClassifier implements AutoCloseable {
    private static final List<String> WORDS =
            List.of("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine");
    private static final Pattern DIGIT =
            Pattern.compile("\\b(zero|one|two|three|four|five|six|seven|eight|nine|[0-9])\\b");

    private final OnnxModel model;

    public DigitClassifier(Path folder, RuntimeOptions options) {
        this.model = OnnxModel.load(folder.resolve("model.onnx"), options);
    }

    /** The word of a digit as the digits model was trained on ("a handwritten digit seven"). */
    public static String word(int digit) {
        return WORDS.get(digit);
    }

    /** The digit a prompt asks for (a digit word or numeral), or -1. */
    public static int promptedDigit(String prompt) {
        if (prompt == null) {
            return -1;
        }
        Matcher m = DIGIT.matcher(prompt.toLowerCase(Locale.ROOT));
        if (!m.find()) {
            return -1;
        }
        String g = m.group(1);
        return g.length() == 1 && Character.isDigit(g.charAt(0)) ? g.charAt(0) - '0' : WORDS.indexOf(g);
    }

    /** Predicted digit of each image of a {@code (B, 16, 16, 1)} batch in [0, 1]. */
    public int[] predict(Tensor images) {
        long[] s = images.shape();
        if (s.length != 4 || s[3] != 1) {
            throw new IllegalArgumentException(
                    "the digit classifier takes grayscale (B, H, W, 1) images, got " + Arrays.toString(s));
        }
        float[] q = new float[images.size()];
        float[] d = images.data();
        for (int i = 0; i < q.length; i++) {
            q[i] = Images.to8bit(d[i]) / 255f;
        }
        // (B, H, W, 1) and (B, 1, H, W) share one memory layout
        Tensor input = new Tensor(new long[] {s[0], 1, s[1], s[2]}, q);
        Tensor logits = model.run1(Map.of(model.inputOr("image"), input), model.outputOr("logits"));
        int classes = (int) logits.dim(1);
        int[] out = new int[(int) s[0]];
        for (int b = 0; b < out.length; b++) {
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (logits.data()[b * classes + c] > logits.data()[b * classes + best]) {
                    best = c;
                }
            }
            out[b] = best;
        }
        return out;
    }

    @Override
    public void close() {
        model.close();
    }
}

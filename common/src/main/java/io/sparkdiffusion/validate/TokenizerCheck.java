package io.sparkdiffusion.validate;

import ai.onnxruntime.TensorInfo;
import io.sparkdiffusion.text.ClipTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A tokenizer folder: it loads, encodes a probe text between the start and end ids, within its text encoder's
 * vocabulary and to the length the encoder takes, and (or a WARN) with CLIP's vocabulary.
 */
final class TokenizerCheck {
    static final String PROBE_TEXT = "a photo of a cat";
    /** What {@link #PROBE_TEXT} encodes to with the CLIP vocabulary. */
    static final long[] CLIP_CAT_IDS = {49406, 320, 1125, 539, 320, 2368, 49407};

    private TokenizerCheck() {}

    /**
     * @param folder the tokenizer folder's name in {@code dir}
     * @param encoder the text encoder that reads its ids
     * @param encoderGraph that encoder's loaded graph; null when it did not load
     */
    static List<Check> check(Path dir, String subject, String folder, String encoder, Graph encoderGraph) {
        Path tdir = dir.resolve(folder);
        if (!Files.isDirectory(tdir)) {
            return List.of(Check.fail(
                    subject,
                    "folder " + folder + "/ is missing (tokenizer.json, or vocab.json + merges.txt, and "
                            + "tokenizer_config.json)"));
        }
        try (ClipTokenizer tok = ClipTokenizer.load(tdir)) {
            long[] empty = tok.encode("");
            long bos = empty[0];
            long eos = empty[1];
            long[] ids = tok.encode(PROBE_TEXT);
            int end = -1;
            for (int i = 1; i < ids.length; i++) {
                if (ids[i] == eos) {
                    end = i;
                    break;
                }
            }
            String shown = idsText(ids, end);
            if (ids[0] != bos || end < 2) {
                return List.of(Check.fail(
                        subject,
                        "'" + PROBE_TEXT + "' -> " + shown + ": does not start with the start-of-text id " + bos
                                + " and end with the end-of-text id " + eos));
            }
            List<Check> problems = new ArrayList<>();
            int vocab = ComponentFileCheck.config(dir.resolve(encoder)).getInt("vocab_size", -1);
            long max = Arrays.stream(ids).max().orElse(0);
            if (vocab > 0 && max >= vocab) {
                problems.add(Check.fail(
                        subject, "id " + max + " is outside " + encoder + "'s vocabulary (vocab_size " + vocab + ")"));
            }
            TensorInfo idsInfo =
                    encoderGraph == null ? null : encoderGraph.inputs().get("input_ids");
            if (idsInfo != null
                    && idsInfo.getShape().length == 2
                    && idsInfo.getShape()[1] > 0
                    && idsInfo.getShape()[1] != tok.maxLength()) {
                problems.add(Check.fail(
                        subject,
                        "pads to " + tok.maxLength() + " ids but " + encoder + " takes input_ids "
                                + CheckText.shape(idsInfo.getShape()) + " (tokenizer_config.json model_max_length)"));
            }
            if (!problems.isEmpty()) {
                return problems;
            }
            boolean clip = Arrays.equals(Arrays.copyOf(ids, CLIP_CAT_IDS.length), CLIP_CAT_IDS);
            if (clip || bos != CLIP_CAT_IDS[0]) {
                return List.of(Check.ok(
                        subject,
                        "'" + PROBE_TEXT + "' -> " + shown + " (" + ids.length + " ids, pad " + ids[ids.length - 1]
                                + ")" + (clip ? "" : "; not the CLIP vocabulary")));
            }
            return List.of(Check.warn(
                    subject,
                    "'" + PROBE_TEXT + "' -> " + shown + ", CLIP's vocabulary gives " + Arrays.toString(CLIP_CAT_IDS)
                            + ": is this the tokenizer the text encoder was trained with?"));
        } catch (RuntimeException e) {
            return List.of(Check.fail(subject, "does not load: " + CheckText.oneLine(e)));
        }
    }

    /** The ids up to the end-of-text id (at least two), then "..." when more follow. */
    private static String idsText(long[] ids, int end) {
        int shown = Math.min(ids.length, Math.max(end + 1, 2));
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < shown; i++) {
            b.append(i == 0 ? "" : ", ").append(ids[i]);
        }
        return b.append(shown < ids.length ? ", ...]" : "]").toString();
    }
}

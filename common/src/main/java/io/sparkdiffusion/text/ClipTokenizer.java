package io.sparkdiffusion.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The CLIP BPE tokenizer as diffusers calls it: {@code tokenizer(text, padding="max_length", max_length=77,
 * truncation=True)}. Text is encoded without special tokens, cut to {@code max_length - 2}, wrapped in
 * {@code <|startoftext|>} ... {@code <|endoftext|>} and right-padded with the pad token of
 * {@code tokenizer_config.json} ({@code <|endoftext|>} for SD, {@code !} = id 0 for SDXL's {@code tokenizer_2}).
 *
 * <p>Backed by DJL's HuggingFace Tokenizers (Rust, in-jar native library), kept offline: see {@link DjlOffline}.
 * A folder with only {@code vocab.json} and {@code merges.txt} gets a {@code tokenizer.json} built from them with
 * CLIP's normaliser and pre-tokeniser.
 */
public final class ClipTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;
    private final long bosId;
    private final long eosId;
    private final long padId;

    private ClipTokenizer(
            HuggingFaceTokenizer tokenizer, int maxLength, JsonNode tokenizerJson, String bos, String eos, String pad) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.bosId = tokenId(tokenizerJson, bos);
        this.eosId = tokenId(tokenizerJson, eos);
        this.padId = tokenId(tokenizerJson, pad);
    }

    /** Loads {@code dir/tokenizer.json}, or builds it from {@code vocab.json} + {@code merges.txt}. */
    public static ClipTokenizer load(Path dir) {
        DjlOffline.apply();
        Path json = dir.resolve("tokenizer.json");
        JsonConfig cfg = Files.isRegularFile(dir.resolve("tokenizer_config.json"))
                ? JsonConfig.read(dir.resolve("tokenizer_config.json"))
                : JsonConfig.empty(dir + "/tokenizer_config.json");
        try {
            if (!Files.isRegularFile(json)) {
                json = buildFromVocabAndMerges(dir);
            }
            JsonNode parsed = JsonConfig.MAPPER.readTree(json.toFile());
            HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(
                    json,
                    Map.of(
                            "addSpecialTokens",
                            "false",
                            "padding",
                            "false",
                            "truncation",
                            "false",
                            "maxLength",
                            "100000"));
            int max = cfg.getInt("model_max_length", 77);
            if (max <= 2 || max > 1_000_000) {
                max = 77;
            }
            return new ClipTokenizer(
                    hf,
                    max,
                    parsed,
                    tokenString(cfg, "bos_token", "<|startoftext|>"),
                    tokenString(cfg, "eos_token", "<|endoftext|>"),
                    tokenString(cfg, "pad_token", "<|endoftext|>"));
        } catch (IOException e) {
            throw new ModelLoadException("cannot load tokenizer from " + dir + ": " + e.getMessage(), e);
        }
    }

    private static String tokenString(JsonConfig cfg, String key, String dflt) {
        JsonNode n = cfg.node().get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        return n.isObject() ? n.path("content").asText(dflt) : n.asText();
    }

    /**
     * The id of a special token as a vocabulary entry (not as text: "!" as text is the word-final "!</w>", 256,
     * while SDXL pads with the entry "!", 0): {@code added_tokens} first, then the BPE vocabulary.
     */
    private static long tokenId(JsonNode tokenizerJson, String token) {
        for (JsonNode added : tokenizerJson.path("added_tokens")) {
            if (token.equals(added.path("content").asText(null))) {
                return added.path("id").asLong();
            }
        }
        JsonNode id = tokenizerJson.path("model").path("vocab").get(token);
        if (id == null || !id.canConvertToLong()) {
            throw new ModelLoadException("tokenizer: special token '" + token + "' is not in the vocabulary");
        }
        return id.asLong();
    }

    public int maxLength() {
        return maxLength;
    }

    /** The padded, truncated ids of one text: always {@link #maxLength()} long. */
    public long[] encode(String text) {
        Encoding e = tokenizer.encode(text == null ? "" : text, false, false);
        long[] body = e.getIds();
        int keep = Math.min(body.length, maxLength - 2);
        long[] ids = new long[maxLength];
        ids[0] = bosId;
        System.arraycopy(body, 0, ids, 1, keep);
        ids[keep + 1] = eosId;
        for (int i = keep + 2; i < maxLength; i++) {
            ids[i] = padId;
        }
        return ids;
    }

    /** Ids of several texts as a {@code [B, maxLength]} tensor of float-held integers (exact below 2^24). */
    public Tensor encodeBatch(List<String> texts) {
        float[] d = new float[texts.size() * maxLength];
        for (int b = 0; b < texts.size(); b++) {
            long[] ids = encode(texts.get(b));
            for (int i = 0; i < maxLength; i++) {
                d[b * maxLength + i] = ids[i];
            }
        }
        return new Tensor(new long[] {texts.size(), maxLength}, d);
    }

    /** Writes a CLIP {@code tokenizer.json} from {@code vocab.json} and {@code merges.txt} into a temp folder. */
    private static Path buildFromVocabAndMerges(Path dir) throws IOException {
        Path vocab = dir.resolve("vocab.json");
        Path merges = dir.resolve("merges.txt");
        if (!Files.isRegularFile(vocab) || !Files.isRegularFile(merges)) {
            throw new ModelLoadException(
                    "tokenizer folder " + dir + " has neither tokenizer.json nor vocab.json + merges.txt");
        }
        ObjectNode root;
        try (InputStream in = ClipTokenizer.class.getResourceAsStream("clip-tokenizer-template.json")) {
            root = (ObjectNode) JsonConfig.MAPPER.readTree(in);
        }
        ObjectNode model = (ObjectNode) root.get("model");
        model.set("vocab", JsonConfig.MAPPER.readTree(vocab.toFile()));
        ArrayNode m = model.putArray("merges");
        for (String line : Files.readAllLines(merges)) {
            if (!line.isBlank() && !line.startsWith("#version")) {
                m.add(line);
            }
        }
        Path tmp = Files.createTempDirectory("clip-tokenizer");
        Path out = tmp.resolve("tokenizer.json");
        JsonConfig.MAPPER.writeValue(out.toFile(), root);
        out.toFile().deleteOnExit();
        tmp.toFile().deleteOnExit();
        return out;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}

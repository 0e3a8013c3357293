package io.sparkdiffusion.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
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
    private static final Map<String, String> OPTIONS =
            Map.of("addSpecialTokens", "false", "padding", "false", "truncation", "false", "maxLength", "100000");
    /**
     * DJL tokenizers by the SHA-256 of their {@code tokenizer.json}, shared by every {@link ClipTokenizer} of this JVM
     * over the same file (SDXL's two tokenizers usually have the same; a reopened pipeline has the same): building
     * one parses 3.6 MB of JSON in Rust, a tenth of a second or more. Encoding is thread-safe; reference counts
     * close a tokenizer when its last user closes.
     */
    private static final Map<String, Shared> SHARED = new HashMap<>();

    private static final class Shared {
        final HuggingFaceTokenizer tokenizer;
        int users;

        Shared(HuggingFaceTokenizer tokenizer) {
            this.tokenizer = tokenizer;
        }
    }

    private final String key;
    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;
    private final long bosId;
    private final long eosId;
    private final long padId;
    private boolean closed;

    private ClipTokenizer(String key, HuggingFaceTokenizer tokenizer, int maxLength, long[] specialIds) {
        this.key = key;
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.bosId = specialIds[0];
        this.eosId = specialIds[1];
        this.padId = specialIds[2];
    }

    /** Loads {@code dir/tokenizer.json}, or builds it from {@code vocab.json} + {@code merges.txt}. */
    public static ClipTokenizer load(Path dir) {
        DjlOffline.apply();
        Path json = dir.resolve("tokenizer.json");
        JsonConfig cfg = Files.isRegularFile(dir.resolve("tokenizer_config.json"))
                ? JsonConfig.read(dir.resolve("tokenizer_config.json"))
                : JsonConfig.empty(dir + "/tokenizer_config.json");
        try {
            byte[] bytes = Files.isRegularFile(json) ? Files.readAllBytes(json) : buildFromVocabAndMerges(dir);
            long[] ids = SpecialTokens.ids(
                    bytes,
                    tokenString(cfg, "bos_token", "<|startoftext|>"),
                    tokenString(cfg, "eos_token", "<|endoftext|>"),
                    tokenString(cfg, "pad_token", "<|endoftext|>"));
            int max = cfg.getInt("model_max_length", 77);
            if (max <= 2 || max > 1_000_000) {
                max = 77;
            }
            String key = sha256(bytes);
            return new ClipTokenizer(key, acquire(key, bytes), max, ids);
        } catch (IOException e) {
            throw new ModelLoadException("cannot load tokenizer from " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The shared DJL tokenizer of these {@code tokenizer.json} bytes, built on first use. */
    private static HuggingFaceTokenizer acquire(String key, byte[] bytes) throws IOException {
        synchronized (SHARED) {
            Shared s = SHARED.get(key);
            if (s != null) {
                s.users++;
                return s.tokenizer;
            }
        }
        HuggingFaceTokenizer built = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), OPTIONS);
        synchronized (SHARED) {
            Shared s = SHARED.get(key);
            if (s == null) {
                s = new Shared(built);
                SHARED.put(key, s);
            } else {
                built.close(); // another thread built the same one meanwhile
            }
            s.users++;
            return s.tokenizer;
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    private static String tokenString(JsonConfig cfg, String key, String dflt) {
        JsonNode n = cfg.node().get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        return n.isObject() ? n.path("content").asText(dflt) : n.asText();
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

    /** A CLIP {@code tokenizer.json} built from {@code vocab.json} and {@code merges.txt}, as bytes. */
    private static byte[] buildFromVocabAndMerges(Path dir) throws IOException {
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
        return JsonConfig.MAPPER.writeValueAsBytes(root);
    }

    /** Releases this user's share of the DJL tokenizer (closed with its last user). */
    @Override
    public void close() {
        synchronized (SHARED) {
            if (closed) {
                return;
            }
            closed = true;
            Shared s = SHARED.get(key);
            if (s != null && --s.users == 0) {
                SHARED.remove(key);
                s.tokenizer.close();
            }
        }
    }
}

package io.sparkdiffusion.text;

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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * The CLIP BPE tokenizer as diffusers calls it: {@code tokenizer(text, padding="max_length", max_length=77,
 * truncation=True)}. Text is encoded without special tokens, cut to {@code max_length - 2}, wrapped in
 * {@code <|startoftext|>} ... {@code <|endoftext|>} and right-padded with the pad token of
 * {@code tokenizer_config.json} ({@code <|endoftext|>} for SD, {@code !} = id 0 for SDXL's {@code tokenizer_2}).
 *
 * <p>The BPE itself is {@link ClipBpe}, in Java. A folder with only {@code vocab.json} and {@code merges.txt} gets a
 * {@code tokenizer.json} built from them with CLIP's normaliser and pre-tokeniser. A {@code tokenizer.json} is parsed
 * once per user and file: later processes read its compiled form from {@link TokenizerCache}.
 */
public final class ClipTokenizer implements AutoCloseable {
    /**
     * Tokenizers by the {@link #contentKey} of their {@code tokenizer.json}, shared by every {@link ClipTokenizer} of
     * this JVM over the same file (SDXL's two tokenizers usually have the same; a reopened pipeline has the same), so
     * that its vocabulary and merges are read and held once. Reference counts drop one when its last user closes.
     */
    private static final Map<String, Shared> SHARED = new HashMap<>();

    private static final class Shared {
        final ClipBpe bpe;
        int users;

        Shared(ClipBpe bpe) {
            this.bpe = bpe;
        }
    }

    private final String key;
    private final ClipBpe bpe;
    private final int maxLength;
    private final long bosId;
    private final long eosId;
    private final long padId;
    private boolean closed;

    private ClipTokenizer(String key, ClipBpe bpe, int maxLength, String bos, String eos, String pad) {
        this.key = key;
        this.bpe = bpe;
        this.maxLength = maxLength;
        this.bosId = tokenId(bpe, bos);
        this.eosId = tokenId(bpe, eos);
        this.padId = tokenId(bpe, pad);
    }

    /** Loads {@code dir/tokenizer.json}, or builds it from {@code vocab.json} + {@code merges.txt}. */
    public static ClipTokenizer load(Path dir) {
        Path json = dir.resolve("tokenizer.json");
        JsonConfig cfg = Files.isRegularFile(dir.resolve("tokenizer_config.json"))
                ? JsonConfig.read(dir.resolve("tokenizer_config.json"))
                : JsonConfig.empty(dir + "/tokenizer_config.json");
        try {
            int max = cfg.getInt("model_max_length", 77);
            if (max <= 2 || max > 1_000_000) {
                max = 77;
            }
            boolean file = Files.isRegularFile(json);
            String cacheKey = file ? TokenizerCache.key(json) : null;
            String key = null;
            ClipBpe bpe = null;
            byte[] compiled = cacheKey == null ? null : TokenizerCache.read(cacheKey);
            if (compiled != null) {
                try {
                    key = ClipBpe.compiledKey(compiled);
                    bpe = acquireCompiled(key, compiled);
                } catch (RuntimeException e) {
                    key = null; // a corrupt entry: parse the file, and replace the entry
                }
            }
            if (bpe == null) {
                byte[] bytes = file ? Files.readAllBytes(json) : buildFromVocabAndMerges(dir);
                key = contentKey(bytes);
                bpe = acquire(key, bytes);
                if (cacheKey != null) {
                    try {
                        TokenizerCache.write(cacheKey, bpe.compiled(key));
                    } catch (RuntimeException e) {
                        // the compiled copy is a shortcut for the next process; this one has its tokenizer
                    }
                }
            }
            try {
                return new ClipTokenizer(
                        key,
                        bpe,
                        max,
                        tokenString(cfg, "bos_token", "<|startoftext|>"),
                        tokenString(cfg, "eos_token", "<|endoftext|>"),
                        tokenString(cfg, "pad_token", "<|endoftext|>"));
            } catch (RuntimeException e) {
                release(key);
                throw e;
            }
        } catch (IOException e) {
            throw new ModelLoadException("cannot load tokenizer from " + dir + ": " + e.getMessage(), e);
        } catch (ModelLoadException e) {
            throw new ModelLoadException("cannot load tokenizer from " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The shared tokenizer of these {@code tokenizer.json} bytes, read on first use. */
    private static ClipBpe acquire(String key, byte[] bytes) throws IOException {
        synchronized (SHARED) {
            Shared s = SHARED.get(key);
            if (s != null) {
                s.users++;
                return s.bpe;
            }
        }
        ClipBpe parsed = ClipBpe.parse(bytes); // outside the lock: other folders load meanwhile
        synchronized (SHARED) {
            Shared s = SHARED.computeIfAbsent(key, k -> new Shared(parsed));
            s.users++;
            return s.bpe;
        }
    }

    /** The shared tokenizer of the {@code tokenizer.json} of content key {@code key}, read from its compiled form. */
    private static ClipBpe acquireCompiled(String key, byte[] compiled) {
        synchronized (SHARED) {
            Shared s = SHARED.get(key);
            if (s != null) {
                s.users++;
                return s.bpe;
            }
        }
        ClipBpe read = ClipBpe.compiled(compiled);
        synchronized (SHARED) {
            Shared s = SHARED.computeIfAbsent(key, k -> new Shared(read));
            s.users++;
            return s.bpe;
        }
    }

    private static void release(String key) {
        synchronized (SHARED) {
            Shared s = SHARED.get(key);
            if (s != null && --s.users == 0) {
                SHARED.remove(key);
            }
        }
    }

    /**
     * What identifies a {@code tokenizer.json}'s content among the tokenizers of one JVM and one user's compiled
     * cache: its length with its CRC-32C and CRC-32 (two different polynomials, so 64 check bits). Not SHA-256: in a
     * fresh JVM the digest of a 3.6 MB file takes about 60 ms (its intrinsic waits for the JIT; a quarter of a first
     * open's tokenizer build), while the JVM's interpreter already runs both CRCs with the CPU's instructions (2 ms).
     * The key tells apart files that differ by accident, as a model's files do; it is no defence against a file made
     * to collide, which would have to be one of the tokenizers the user's own job loads.
     */
    static String contentKey(byte[] bytes) {
        CRC32C castagnoli = new CRC32C();
        castagnoli.update(bytes);
        CRC32 ieee = new CRC32();
        ieee.update(bytes);
        // no String.format: its Formatter costs a fresh JVM more class loading than the CRCs cost
        return bytes.length + "-" + Long.toHexString(castagnoli.getValue()) + "-" + Long.toHexString(ieee.getValue());
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
     * while SDXL pads with the entry "!", 0).
     */
    private static long tokenId(ClipBpe bpe, String token) {
        Integer id = bpe.tokenId(token);
        if (id == null) {
            throw new ModelLoadException("tokenizer: special token '" + token + "' is not in the vocabulary");
        }
        return id;
    }

    public int maxLength() {
        return maxLength;
    }

    /** The padded, truncated ids of one text: always {@link #maxLength()} long. */
    public long[] encode(String text) {
        List<Integer> body = bpe.encode(text == null ? "" : text);
        int keep = Math.min(body.size(), maxLength - 2);
        long[] ids = new long[maxLength];
        ids[0] = bosId;
        for (int i = 0; i < keep; i++) {
            ids[i + 1] = body.get(i);
        }
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
            root = (ObjectNode) JsonConfig.mapper().readTree(in);
        }
        ObjectNode model = (ObjectNode) root.get("model");
        model.set("vocab", JsonConfig.mapper().readTree(vocab.toFile()));
        ArrayNode m = model.putArray("merges");
        for (String line : Files.readAllLines(merges)) {
            if (!line.isBlank() && !line.startsWith("#version")) {
                m.add(line);
            }
        }
        return JsonConfig.mapper().writeValueAsBytes(root);
    }

    /** Releases this user's share of the tokenizer. */
    @Override
    public void close() {
        synchronized (SHARED) {
            if (closed) {
                return;
            }
            closed = true;
        }
        release(key);
    }
}

package io.sparkdiffusion.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's byte-level BPE tokenizer, computed as Hugging Face tokenizers runs a CLIP {@code tokenizer.json}, for
 * {@code encode(text, add_special_tokens=False)}:
 *
 * <ol>
 *   <li>added tokens: the non-normalized ones ({@code <|endoftext|>}) are cut out of the raw text, then each other
 *       piece is normalized and the normalized ones ({@code <|startoftext|>}) are cut out (leftmost-longest);
 *   <li>normalizer: NFC, the file's {@code Replace} regex ({@code \s+} to one space), lowercase;
 *   <li>pre-tokenizer: the file's {@code Split} regex keeping its matches (letters, single digits, contractions,
 *       runs of other characters), then byte-level: GPT-2's regex, and every UTF-8 byte as its printable character;
 *   <li>BPE: the word's characters, the last one with {@code </w>}, merged by rank (lowest first, leftmost on
 *       ties); a character outside the vocabulary is the unknown token.
 * </ol>
 *
 * The file must describe that pipeline (CLIP's, as transformers' {@code CLIPTokenizerFast} writes it); anything
 * else is refused at load, naming the part. Regexes run on Java's engine with Unicode character classes, and Java's
 * NFC and lower-casing: the same results except for characters newer than the JDK's Unicode tables.
 * {@code ClipTokenizerTest} compares it with Hugging Face tokenizers on the fixtures' prompts and a random corpus.
 *
 * <p>Immutable and thread-safe (a bounded concurrent cache of merged words). Replaces a native tokenizer whose
 * library and 3.6 MB JSON parse cost half a second and 60 to 100 MB of resident memory per process.
 */
final class ClipBpe {
    /** GPT-2's pre-tokenizer regex, which the byte-level step applies to every piece ({@code use_regex}). */
    private static final Pattern GPT2 = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);
    /** GPT-2's printable stand-in of each byte (bytes_to_unicode). */
    private static final char[] BYTE_CHARS = byteChars();

    private static final int CACHE_WORDS = 10_000;
    /**
     * Jackson's streaming parser alone, for the file's few small parts (added tokens, normalizer, pre-tokenizer) as
     * trees ({@link JsonConfig#tree}), so that opening a pipeline does not wait for Jackson's object mapper to set
     * itself up (a cold JVM spends about a tenth of a second there). The vocabulary and merges go through
     * {@link JsonScanner}, which also reads the file's structure.
     */
    private static final JsonFactory JSON = JsonFactory.builder()
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .build();

    /** A token of added_tokens. */
    record Added(String content, int id, boolean normalized) {}

    /** The BPE vocabulary; read from a compiled form, made on first use ({@link #vocab()}). */
    private Map<String, Integer> vocab;
    /** A compiled form's vocabulary: the tokens' characters one after another, where each ends, and its id. */
    private final String vocabChars;

    private final int[] vocabEnds;
    private final int[] vocabIds;
    /** (left id, right id) -> (rank, merged id), each pair of ints as one long. */
    private final LongLongMap merges;

    private final List<Added> added;
    private final Pattern whitespace;
    private final String whitespaceReplacement;
    private final Pattern split;
    private final String suffix;
    private final int unkId;
    private final boolean ignoreMerges;
    /** Ids of each byte's character alone and with the suffix (a word's last character). */
    private final int[] byteIds = new int[256];

    private final int[] lastByteIds = new int[256];
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private ClipBpe(Parsed p) {
        this.vocab = p.vocab;
        this.vocabChars = null;
        this.vocabEnds = null;
        this.vocabIds = null;
        this.added = p.added;
        this.whitespace = p.whitespace;
        this.whitespaceReplacement = p.whitespaceReplacement;
        this.split = p.split;
        this.suffix = p.suffix;
        this.ignoreMerges = p.ignoreMerges;
        Integer unk = p.unk == null ? null : p.vocab.get(p.unk);
        this.unkId = unk == null ? -1 : unk;
        this.merges = new LongLongMap(p.mergeCount);
        int[] m = p.mergeIds;
        for (int rank = 0; rank < p.mergeCount; rank++) {
            merges.put(key(m[3 * rank], m[3 * rank + 1]), ((long) rank << 32) | m[3 * rank + 2]);
        }
        for (int b = 0; b < 256; b++) {
            String c = String.valueOf(BYTE_CHARS[b]);
            byteIds[b] = vocab.getOrDefault(c, -1);
            lastByteIds[b] = vocab.getOrDefault(c + suffix, -1);
        }
    }

    /** The tokenizer of a {@code tokenizer.json}. */
    static ClipBpe parse(byte[] tokenizerJson) throws IOException {
        return new ClipBpe(Parsed.of(tokenizerJson));
    }

    /** Marks the start and the end of a compiled form, and its layout version. */
    private static final int MAGIC = 0x53444254;

    static final int VERSION = 3; // 2: the content key is ClipTokenizer.contentKey; 3: merge slots hold key + 1

    /**
     * This tokenizer in a binary form that {@link #compiled(byte[])} reads back without parsing JSON: the merges
     * table as it is in memory, the byte ids, added tokens, patterns and the vocabulary as one string. Reading it
     * costs a few milliseconds where parsing {@code tokenizer.json} costs a few tenths of a second in a fresh JVM.
     *
     * @param contentKey what {@link #compiledKey} returns for the result ({@link ClipTokenizer#contentKey} of the
     *     {@code tokenizer.json})
     */
    byte[] compiled(String contentKey) {
        Map<String, Integer> v = vocab();
        int n = v.size();
        int[] ids = new int[n];
        int[] ends = new int[n];
        StringBuilder chars = new StringBuilder(n * 8);
        int i = 0;
        for (Map.Entry<String, Integer> e : v.entrySet()) {
            chars.append(e.getKey());
            ends[i] = chars.length();
            ids[i++] = e.getValue();
        }
        List<byte[]> strings = new ArrayList<>();
        byte[] key = utf8(contentKey);
        byte[] suffixBytes = utf8(suffix);
        byte[] ws = utf8(whitespace == null ? "" : whitespace.pattern());
        byte[] wsRepl = utf8(whitespaceReplacement == null ? "" : whitespaceReplacement);
        byte[] sp = utf8(split.pattern());
        byte[] vocabBytes = utf8(chars.toString());
        int size = 8 // magic, version
                + 4
                + key.length
                + 4
                + suffixBytes.length
                + 4
                + 1
                + 1
                + 4 // unknown id, ignore merges, has whitespace, its flags
                + 4
                + ws.length
                + 4
                + wsRepl.length
                + 4
                + 4
                + sp.length // split flags, split
                + 4 // added tokens
                + 4; // trailing magic
        for (Added a : added) {
            byte[] c = utf8(a.content());
            strings.add(c);
            size += 4 + c.length + 4 + 1;
        }
        size += 2 * 256 * 4 + 4 + merges.capacity() * 16 + 4 + n * 8 + 4 + vocabBytes.length;
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(MAGIC).putInt(VERSION);
        putBytes(b, key);
        putBytes(b, suffixBytes);
        b.putInt(unkId).put((byte) (ignoreMerges ? 1 : 0));
        b.put((byte) (whitespace == null ? 0 : 1));
        b.putInt(whitespace == null ? 0 : whitespace.flags());
        putBytes(b, ws);
        putBytes(b, wsRepl);
        b.putInt(split.flags());
        putBytes(b, sp);
        b.putInt(added.size());
        for (int k = 0; k < added.size(); k++) {
            putBytes(b, strings.get(k));
            b.putInt(added.get(k).id()).put((byte) (added.get(k).normalized() ? 1 : 0));
        }
        b.asIntBuffer().put(byteIds).put(lastByteIds);
        b.position(b.position() + 2 * 256 * 4);
        b.putInt(merges.capacity());
        b.asLongBuffer().put(merges.keys()).put(merges.values());
        b.position(b.position() + merges.capacity() * 16);
        b.putInt(n);
        b.asIntBuffer().put(ids).put(ends);
        b.position(b.position() + n * 8);
        putBytes(b, vocabBytes);
        b.putInt(MAGIC);
        if (b.hasRemaining()) {
            throw new IllegalStateException("compiled tokenizer size miscounted by " + b.remaining());
        }
        return b.array();
    }

    /** The content key a compiled form was made with (see {@link #compiled(String)}). */
    static String compiledKey(byte[] compiled) {
        ByteBuffer b = ByteBuffer.wrap(compiled);
        expectCompiled(b.getInt() == MAGIC && b.getInt() == VERSION, "not a compiled tokenizer of this version");
        return getString(b);
    }

    /** The tokenizer of a compiled form ({@link #compiled(String)}). */
    static ClipBpe compiled(byte[] compiled) {
        return new ClipBpe(compiled);
    }

    private ClipBpe(byte[] compiled) {
        compiledKey(compiled); // checks the header
        ByteBuffer b = ByteBuffer.wrap(compiled);
        b.position(8);
        getString(b);
        this.suffix = getString(b);
        this.unkId = b.getInt();
        this.ignoreMerges = b.get() != 0;
        boolean hasWhitespace = b.get() != 0;
        int wsFlags = b.getInt();
        String ws = getString(b);
        this.whitespace = hasWhitespace ? Pattern.compile(ws, wsFlags) : null;
        this.whitespaceReplacement = getString(b);
        int splitFlags = b.getInt();
        this.split = Pattern.compile(getString(b), splitFlags);
        int nAdded = b.getInt();
        expectCompiled(nAdded >= 0 && nAdded < 1 << 20, "added tokens");
        List<Added> a = new ArrayList<>(nAdded);
        for (int k = 0; k < nAdded; k++) {
            String content = getString(b);
            a.add(new Added(content, b.getInt(), b.get() != 0));
        }
        this.added = List.copyOf(a);
        b.asIntBuffer().get(byteIds).get(lastByteIds);
        b.position(b.position() + 2 * 256 * 4);
        int capacity = b.getInt();
        expectCompiled(capacity > 0 && Integer.bitCount(capacity) == 1 && capacity <= 1 << 26, "merges table");
        long[] keys = new long[capacity];
        long[] values = new long[capacity];
        b.asLongBuffer().get(keys).get(values);
        b.position(b.position() + capacity * 16);
        this.merges = new LongLongMap(keys, values);
        int n = b.getInt();
        expectCompiled(n >= 0 && n <= b.remaining() / 8, "vocabulary size");
        this.vocabIds = new int[n];
        this.vocabEnds = new int[n];
        b.asIntBuffer().get(vocabIds).get(vocabEnds);
        b.position(b.position() + n * 8);
        this.vocabChars = getString(b);
        expectCompiled(b.getInt() == MAGIC && !b.hasRemaining(), "trailer");
        int last = 0;
        for (int end : vocabEnds) { // the vocabulary is checked now, built on first use
            expectCompiled(end >= last && end <= vocabChars.length(), "vocabulary offsets");
            last = end;
        }
    }

    /** The vocabulary, made from a compiled form on first use. */
    private synchronized Map<String, Integer> vocab() {
        if (vocab == null) {
            Map<String, Integer> v = new HashMap<>(vocabIds.length * 2);
            int from = 0;
            for (int i = 0; i < vocabIds.length; i++) {
                v.put(vocabChars.substring(from, vocabEnds[i]), vocabIds[i]);
                from = vocabEnds[i];
            }
            vocab = v;
        }
        return vocab;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void putBytes(ByteBuffer b, byte[] bytes) {
        b.putInt(bytes.length).put(bytes);
    }

    private static String getString(ByteBuffer b) {
        int n = b.getInt();
        expectCompiled(n >= 0 && n <= b.remaining(), "string length");
        byte[] bytes = new byte[n];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static void expectCompiled(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException("corrupt compiled tokenizer: " + what);
        }
    }

    /** The id of a token as a vocabulary entry: {@code added_tokens} first, then the BPE vocabulary; null if none. */
    Integer tokenId(String token) {
        for (Added a : added) {
            if (a.content().equals(token)) {
                return a.id();
            }
        }
        return vocab().get(token);
    }

    /** The ids of {@code text}, without special tokens around it. */
    List<Integer> encode(String text) {
        List<Integer> ids = new ArrayList<>();
        // added tokens matched in the raw text, then (after normalizing each other piece) in the normalized text
        for (Object raw : cutAdded(text, false)) {
            if (raw instanceof Integer id) {
                ids.add(id);
                continue;
            }
            for (Object piece : cutAdded(normalize((String) raw), true)) {
                if (piece instanceof Integer id) {
                    ids.add(id);
                } else {
                    preTokenizeAndMerge((String) piece, ids);
                }
            }
        }
        return ids;
    }

    private String normalize(String s) {
        String n = Normalizer.normalize(s, Normalizer.Form.NFC);
        if (whitespace != null) {
            n = whitespace.matcher(n).replaceAll(Matcher.quoteReplacement(whitespaceReplacement));
        }
        // Hugging Face lower-cases character by character: no final-sigma rule (the one context rule of ROOT)
        return n.replace('\u03A3', '\u03C3').toLowerCase(Locale.ROOT);
    }

    /**
     * {@code s} cut at the added tokens of the given normalization (leftmost, then longest): Strings for the text
     * between them (empty ones dropped) and Integers for the tokens.
     */
    private List<Object> cutAdded(String s, boolean normalized) {
        List<Object> out = new ArrayList<>();
        int from = 0;
        while (from < s.length()) {
            int best = -1;
            Added match = null;
            for (Added a : added) {
                if (a.normalized() != normalized) {
                    continue;
                }
                int at = s.indexOf(a.content(), from);
                if (at >= 0
                        && (best < 0
                                || at < best
                                || (at == best
                                        && a.content().length()
                                                > match.content().length()))) {
                    best = at;
                    match = a;
                }
            }
            if (match == null) {
                break;
            }
            if (best > from) {
                out.add(s.substring(from, best));
            }
            out.add(match.id());
            from = best + match.content().length();
        }
        if (from < s.length()) {
            out.add(s.substring(from));
        }
        return out;
    }

    /** Split regex (its matches only), GPT-2's regex, then BPE on each word's bytes. */
    private void preTokenizeAndMerge(String normalized, List<Integer> ids) {
        Matcher m = split.matcher(normalized);
        while (m.find()) {
            if (m.end() == m.start()) {
                continue;
            }
            Matcher g = GPT2.matcher(m.group());
            while (g.find()) {
                if (g.end() > g.start()) {
                    for (int id : word(g.group())) {
                        ids.add(id);
                    }
                }
            }
        }
    }

    /** The merged ids of one pre-tokenized word. */
    private int[] word(String w) {
        int[] cached = cache.get(w);
        if (cached != null) {
            return cached;
        }
        byte[] bytes = w.getBytes(StandardCharsets.UTF_8);
        int[] result = null;
        if (ignoreMerges) {
            Integer whole = vocab().get(byteString(bytes, 0, bytes.length));
            if (whole != null) {
                result = new int[] {whole};
            }
        }
        if (result == null) {
            result = merge(bytes);
        }
        if (cache.size() >= CACHE_WORDS) {
            cache.clear();
        }
        cache.put(w, result);
        return result;
    }

    private static String byteString(byte[] bytes, int from, int to) {
        char[] c = new char[to - from];
        for (int i = from; i < to; i++) {
            c[i - from] = BYTE_CHARS[bytes[i] & 0xff];
        }
        return new String(c);
    }

    /** BPE: one symbol per byte character (the last with the suffix), merged by rank, lowest first, leftmost on ties. */
    private int[] merge(byte[] bytes) {
        int n = bytes.length;
        int[] symbols = new int[n];
        int count = 0;
        int unknown = -1; // an unknown character waiting to be added (not fused with the next one)
        for (int i = 0; i < n; i++) {
            int b = bytes[i] & 0xff;
            int id = i == n - 1 ? lastByteIds[b] : byteIds[b];
            if (id >= 0) {
                if (unknown >= 0) {
                    symbols[count++] = unknown;
                    unknown = -1;
                }
                symbols[count++] = id;
            } else if (unkId >= 0) {
                if (unknown >= 0) {
                    symbols[count++] = unknown;
                }
                unknown = unkId;
            }
        }
        if (unknown >= 0) {
            symbols[count++] = unknown;
        }
        while (count > 1) {
            long best = Long.MAX_VALUE;
            int at = -1;
            for (int i = 0; i + 1 < count; i++) {
                long m = merges.get(key(symbols[i], symbols[i + 1]));
                if (m >= 0 && m < best) { // rank in the high half: the lowest rank, the first position on ties
                    best = m;
                    at = i;
                }
            }
            if (at < 0) {
                break;
            }
            symbols[at] = (int) best;
            System.arraycopy(symbols, at + 2, symbols, at + 1, count - at - 2);
            count--;
        }
        int[] out = new int[count];
        System.arraycopy(symbols, 0, out, 0, count);
        return out;
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    private static char[] byteChars() {
        char[] c = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            c[b] = printable ? (char) b : (char) (256 + next++);
        }
        return c;
    }

    /** What a {@code tokenizer.json} holds for this tokenizer, read in one streaming pass. */
    private static final class Parsed {
        final Map<String, Integer> vocab = new HashMap<>(1 << 17);
        /**
         * Each merge's left, right and merged ids, by rank. A file whose vocabulary comes before its merges (every file
         * tokenizers writes) has them resolved as they are read, so that their strings die young instead of living
         * through the JVM's first collections (in fresh JVMs the collection during the build paused 14-23 ms instead of
         * 21-51 ms).
         */
        int[] mergeIds = new int[3 << 16];

        int mergeCount;
        /** Merges read before the vocabulary (or after one of those), resolved once it is read. */
        final List<String[]> pendingMerges = new ArrayList<>();

        final List<Added> added = new ArrayList<>();
        Pattern whitespace;
        String whitespaceReplacement;
        Pattern split;
        String suffix = "";
        String unk;
        boolean ignoreMerges;

        static Parsed of(byte[] json) throws IOException {
            Parsed p = new Parsed();
            JsonNode normalizer = MissingNode.getInstance();
            JsonNode preTokenizer = MissingNode.getInstance();
            JsonScanner in = new JsonScanner(json);
            expect(in.peek() == JsonScanner.Kind.OBJECT, "tokenizer.json is not a JSON object");
            in.beginObject();
            for (String field = in.nextName(); field != null; field = in.nextName()) {
                switch (field) {
                    case "added_tokens" -> p.readAdded(tree(in));
                    case "normalizer" -> normalizer = tree(in);
                    case "pre_tokenizer" -> preTokenizer = tree(in);
                    case "model" -> {
                        expect(in.peek() == JsonScanner.Kind.OBJECT, "model is not an object");
                        p.readModel(in);
                    }
                    default -> in.skipValue();
                }
            }
            in.end();
            p.resolvePendingMerges();
            p.readNormalizer(normalizer);
            p.readPreTokenizer(preTokenizer);
            return p;
        }

        /** The next value, one of the file's few small parts, as a Jackson tree. */
        private static JsonNode tree(JsonScanner in) throws IOException {
            int start = in.skipValue();
            try (JsonParser p = JSON.createParser(in.bytes(), start, in.position() - start)) {
                p.nextToken();
                return JsonConfig.tree(p);
            }
        }

        private void readAdded(JsonNode tokens) {
            if (!tokens.isArray()) {
                return;
            }
            for (JsonNode t : tokens) {
                if (bool(t, "single_word", false) || bool(t, "lstrip", false) || bool(t, "rstrip", false)) {
                    throw notClip("added token " + text(t, "content") + " with single_word, lstrip or rstrip");
                }
                JsonNode id = t.path("id");
                added.add(new Added(
                        text(t, "content"),
                        id.isNumber() ? id.intValue() : 0,
                        bool(t, "normalized", !bool(t, "special", false))));
            }
        }

        private void readModel(JsonScanner in) {
            in.beginObject();
            for (String field = in.nextName(); field != null; field = in.nextName()) {
                JsonScanner.Kind value = in.peek();
                switch (field) {
                    case "type" -> {
                        String type = scalar(in);
                        if (value != JsonScanner.Kind.STRING || !"BPE".equals(type)) {
                            throw notClip("model type " + type + ", not BPE");
                        }
                    }
                    case "vocab" -> {
                        expect(value == JsonScanner.Kind.OBJECT, "model.vocab is not an object");
                        in.beginObject();
                        for (String token = in.nextName(); token != null; token = in.nextName()) {
                            int id = in.nonNegativeInt();
                            if (id < 0) {
                                throw notClip("model.vocab: the id of '" + token + "' is " + in.textFrom(in.skipValue())
                                        + ", not a non-negative integer");
                            }
                            vocab.put(token, id);
                        }
                    }
                    case "merges" -> {
                        expect(value == JsonScanner.Kind.ARRAY, "model.merges is not an array");
                        in.beginArray();
                        while (in.hasNext()) {
                            String[] pair = merge(in);
                            if (vocab.isEmpty() || !pendingMerges.isEmpty()) {
                                pendingMerges.add(pair);
                            } else {
                                resolveMerge(pair);
                            }
                        }
                    }
                    case "unk_token" -> unk = scalar(in);
                    case "end_of_word_suffix" -> {
                        String s = scalar(in);
                        suffix = s == null ? "" : s;
                    }
                    case "continuing_subword_prefix" -> {
                        String prefix = scalar(in);
                        if (prefix != null && !prefix.isEmpty()) {
                            throw notClip("continuing_subword_prefix '" + prefix + "'");
                        }
                    }
                    case "dropout" -> {
                        String dropout = scalar(in);
                        if (dropout != null
                                && (value != JsonScanner.Kind.NUMBER || Double.parseDouble(dropout) != 0.0)) {
                            throw notClip("BPE dropout " + dropout);
                        }
                    }
                    case "fuse_unk", "byte_fallback" -> {
                        expect(value != JsonScanner.Kind.TRUE, field);
                        in.skipValue();
                    }
                    case "ignore_merges" -> {
                        ignoreMerges = value == JsonScanner.Kind.TRUE;
                        in.skipValue();
                    }
                    default -> in.skipValue();
                }
            }
        }

        /** Appends a merge's ids at the next rank. */
        private void resolveMerge(String[] pair) {
            Integer a = vocab.get(pair[0]);
            Integer b = vocab.get(pair[1]);
            Integer merged = vocab.get(pair[0] + pair[1]);
            if (a == null || b == null || merged == null) {
                throw new ModelLoadException(
                        "tokenizer: merge '" + pair[0] + " " + pair[1] + "' names a token outside the vocabulary");
            }
            if (3 * mergeCount + 3 > mergeIds.length) {
                mergeIds = Arrays.copyOf(mergeIds, mergeIds.length * 2);
            }
            mergeIds[3 * mergeCount] = a;
            mergeIds[3 * mergeCount + 1] = b;
            mergeIds[3 * mergeCount + 2] = merged;
            mergeCount++;
        }

        /** Resolves the merges read before the vocabulary. */
        private void resolvePendingMerges() {
            pendingMerges.forEach(this::resolveMerge);
            pendingMerges.clear();
        }

        /** One merge: {@code "a b"}, or {@code ["a", "b"]} as newer files write it. */
        private String[] merge(JsonScanner in) {
            if (in.peek() == JsonScanner.Kind.ARRAY) {
                in.beginArray();
                String[] pair = new String[2];
                for (int i = 0; i < 2; i++) {
                    if (!in.hasNext() || in.peek() != JsonScanner.Kind.STRING) {
                        throw notClip("merge " + (mergeCount + pendingMerges.size() + 1) + " is not two tokens");
                    }
                    pair[i] = in.string();
                }
                if (in.hasNext()) {
                    throw notClip("merge " + (mergeCount + pendingMerges.size() + 1) + " is not two tokens");
                }
                return pair;
            }
            if (in.peek() != JsonScanner.Kind.STRING) {
                throw notClip("merge " + (mergeCount + pendingMerges.size() + 1) + " is not two tokens");
            }
            String m = in.string();
            int space = m.indexOf(' ', 1);
            if (space <= 0) {
                throw notClip("merge '" + m + "' is not two tokens");
            }
            return new String[] {m.substring(0, space), m.substring(space + 1)};
        }

        /**
         * A scalar member as Jackson's {@code getText()} gives it (a string's text, a number's digits, all of them);
         * null for null; an object or array as its JSON text, cut short.
         */
        private static String scalar(JsonScanner in) {
            return switch (in.peek()) {
                case STRING -> in.string();
                case NULL -> {
                    in.skipValue();
                    yield null;
                }
                case NUMBER -> in.rawFrom(in.skipValue());
                default -> in.textFrom(in.skipValue());
            };
        }

        /** CLIP's normalizer: NFC, a whitespace {@code Replace}, lowercase. */
        private void readNormalizer(JsonNode n) {
            List<JsonNode> steps = sequence(n, "normalizers");
            if (!(steps.size() == 3
                    && type(steps.get(0)).equals("NFC")
                    && type(steps.get(1)).equals("Replace")
                    && type(steps.get(2)).equals("Lowercase"))) {
                throw notClip("normalizer " + n + " (CLIP's is NFC, Replace, Lowercase)");
            }
            JsonNode replace = steps.get(1);
            whitespace = regex(replace.path("pattern"));
            whitespaceReplacement = text(replace, "content");
        }

        /** CLIP's pre-tokenizer: a {@code Split} keeping its matches, then byte-level with GPT-2's regex. */
        private void readPreTokenizer(JsonNode n) {
            List<JsonNode> steps = sequence(n, "pretokenizers");
            if (!(steps.size() == 2
                    && type(steps.get(0)).equals("Split")
                    && text(steps.get(0), "behavior").equalsIgnoreCase("Removed")
                    && bool(steps.get(0), "invert", false)
                    && type(steps.get(1)).equals("ByteLevel")
                    && !bool(steps.get(1), "add_prefix_space", false)
                    && bool(steps.get(1), "use_regex", true))) {
                throw notClip("pre_tokenizer " + n + " (CLIP's is Split(removed, invert) then ByteLevel)");
            }
            split = regex(steps.get(0).path("pattern"));
        }

        private static List<JsonNode> sequence(JsonNode n, String field) {
            List<JsonNode> out = new ArrayList<>();
            if (type(n).equals("Sequence") && n.path(field).isArray()) {
                n.path(field).forEach(out::add);
            }
            return out;
        }

        private static String type(JsonNode n) {
            return text(n, "type");
        }

        /** A {@code {"Regex": ...}} or {@code {"String": ...}} pattern, with Unicode character classes. */
        private static Pattern regex(JsonNode pattern) {
            if (pattern.path("Regex").isTextual()) {
                return Pattern.compile(pattern.path("Regex").textValue(), Pattern.UNICODE_CHARACTER_CLASS);
            }
            if (!pattern.path("String").isTextual()) {
                throw notClip("pattern " + pattern);
            }
            return Pattern.compile(Pattern.quote(pattern.path("String").textValue()));
        }

        /** A string member as Jackson's {@code asText()} gives it: "" when absent, null or not a scalar. */
        private static String text(JsonNode object, String name) {
            JsonNode v = object.path(name);
            return v.isValueNode() && !v.isNull() ? v.asText() : "";
        }

        /** A boolean member, {@code dflt} when absent or not a boolean. */
        private static boolean bool(JsonNode object, String name, boolean dflt) {
            JsonNode v = object.path(name);
            return v.isBoolean() ? v.booleanValue() : dflt;
        }

        /** Fails unless {@code ok}; a message built from the file's content goes to {@link #notClip} instead. */
        private static void expect(boolean ok, String what) {
            if (!ok) {
                throw notClip(what);
            }
        }

        /**
         * The error for a {@code tokenizer.json} that is not CLIP's. Checks whose message quotes the file build it
         * only when they fail: a JSON node's text starts Jackson's object mapper, a tenth of a first open's time.
         */
        private static ModelLoadException notClip(String what) {
            return new ModelLoadException("tokenizer.json is not CLIP's byte-level BPE tokenizer: " + what);
        }
    }
}

package io.sparkdiffusion.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ClipTokenizerTest {
    private static final Path TOKENIZER = Fixtures.root().resolve("testdata/assets/clip-tokenizer");
    private static final Path TOKENIZER_2 = Fixtures.root().resolve("testdata/assets/clip-tokenizer-2");

    @Test
    void encodesThePublishedExample() {
        try (ClipTokenizer t = ClipTokenizer.load(TOKENIZER)) {
            long[] ids = t.encode("a photo of a cat");
            assertEquals(77, ids.length);
            assertArrayEquals(new long[] {49406, 320, 1125, 539, 320, 2368, 49407}, Arrays.copyOf(ids, 7));
            for (int i = 7; i < 77; i++) {
                assertEquals(49407, ids[i], "pad with <|endoftext|> at " + i);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"txt2img_ddim", "txt2img_euler_a"})
    void matchesTheIdsDiffusersUsed(String caseName) throws Exception {
        Path caseDir = Fixtures.fixture("sd-tiny/cases/" + caseName);
        JsonConfig c = JsonConfig.read(caseDir.resolve("case.json"));
        try (ClipTokenizer t = ClipTokenizer.load(Fixtures.fixture("sd-tiny/tokenizer"))) {
            assertArrayEquals(ids(c.node().get("input_ids")), t.encode(c.getString("prompt", null)));
            assertArrayEquals(ids(c.node().get("negative_input_ids")), t.encode(c.getString("negative_prompt", null)));
        }
    }

    @Test
    void sdxlSecondTokenizerPadsWithExclamationMarkIdZero() {
        try (ClipTokenizer t = ClipTokenizer.load(TOKENIZER_2)) {
            long[] ids = t.encode("a photo of a cat");
            assertArrayEquals(new long[] {49406, 320, 1125, 539, 320, 2368, 49407, 0, 0}, Arrays.copyOf(ids, 9));
            assertEquals(0, ids[76]);
        }
    }

    /**
     * Tokenizers over the same tokenizer.json share one DJL tokenizer (SDXL's pair, a reopened pipeline), each with
     * its own special tokens; closing one leaves the others working, and the last one closes it.
     */
    @Test
    void tokenizersOverTheSameFileShareOneDjlTokenizerUntilTheLastCloses() {
        long[] expected = {49406, 320, 1125, 539, 320, 2368, 49407};
        ClipTokenizer a = ClipTokenizer.load(TOKENIZER);
        ClipTokenizer b = ClipTokenizer.load(TOKENIZER);
        try (ClipTokenizer sdxl2 = ClipTokenizer.load(TOKENIZER_2)) {
            assertEquals(0, sdxl2.encode("a photo of a cat")[76], "its own pad token");
            a.close();
            a.close(); // twice is harmless
            assertArrayEquals(expected, Arrays.copyOf(b.encode("a photo of a cat"), 7));
            b.close();
        }
        try (ClipTokenizer again = ClipTokenizer.load(TOKENIZER)) {
            assertArrayEquals(expected, Arrays.copyOf(again.encode("a photo of a cat"), 7));
        }
    }

    /**
     * The content key that shares a tokenizer within a JVM is the same for the same bytes and differs for the two
     * fixture tokenizers (SD's and SDXL's second), for every single changed byte of a sample of positions and values, and for
     * one byte more.
     */
    @Test
    void theContentKeyTellsApartFilesThatDifferInOneByte() throws Exception {
        byte[] json = Files.readAllBytes(TOKENIZER.resolve("tokenizer.json"));
        String key = ClipTokenizer.contentKey(json);
        assertEquals(key, ClipTokenizer.contentKey(json.clone()));
        assertTrue(!key.equals(ClipTokenizer.contentKey(Files.readAllBytes(TOKENIZER_2.resolve("tokenizer.json")))));
        assertTrue(!key.equals(ClipTokenizer.contentKey(Arrays.copyOf(json, json.length + 1))));
        Random r = new Random(11);
        Set<String> keys = new HashSet<>();
        keys.add(key);
        for (int i = 0; i < 200; i++) {
            byte[] changed = json.clone();
            int at = i < 2 ? (i == 0 ? 0 : json.length - 1) : r.nextInt(json.length);
            changed[at] ^= (byte) (1 + r.nextInt(255));
            assertTrue(keys.add(ClipTokenizer.contentKey(changed)), "byte " + at + " changed, same key");
        }
    }

    /**
     * The Java BPE gives Hugging Face tokenizers' ids (the Rust library diffusers' fast CLIP tokenizer runs, through
     * DJL) on every prompt of the fixtures' recorded cases and on a seeded random corpus of mixed scripts, cases,
     * digits, punctuation, contractions, Unicode whitespace, combining marks, emoji and the special tokens.
     */
    @Test
    void givesHuggingFaceTokenizersIdsOnTheFixturePromptsAndARandomCorpus() throws Exception {
        List<String> texts = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Fixtures.root().resolve("testdata"))) {
            for (Path f : files.filter(f -> f.getFileName().toString().equals("case.json"))
                    .toList()) {
                JsonNode c = JsonConfig.read(f).node();
                for (String field : List.of("prompt", "negative_prompt")) {
                    c.path(field).forEach(p -> texts.add(p.asText()));
                    if (c.path(field).isTextual()) {
                        texts.add(c.path(field).asText());
                    }
                }
            }
        }
        assertTrue(texts.size() > 50, "fixture prompts: " + texts.size());
        String[] pool = {
            "a",
            "Photo",
            "CAT",
            " ",
            "  ",
            "\t",
            "\n",
            "\u00a0",
            "\u3000",
            "\u2028",
            "0",
            "42",
            "2024",
            ",",
            ".",
            "!",
            "?!",
            "'s",
            "'T",
            "'re",
            "'ll",
            "don't",
            "(",
            ")",
            "[",
            "]",
            "-",
            "_",
            "--",
            "...",
            "\"",
            "\u00e9",
            "e\u0301",
            "\u00df",
            "\u0130stanbul",
            "\u03a3\u039f\u03a6\u0399\u0391\u03a3",
            "\u00c5ngstr\u00f6m",
            "\u65e5\u672c\u8a9e",
            "\ud83d\ude00",
            "\ud83d\udc4d\ud83c\udffd",
            "\u0915\u094d\u0937",
            "<|startoftext|>",
            "<|endoftext|>",
            "<|ENDOFTEXT|>",
            "<|StartOfText|>",
            "x\u0308",
            "\uff21\uff22",
            "\u2163",
            "\u00bd",
            "\u0663",
            "caf\u00e9",
            "na\u00efve",
            "\u1e9e",
            "\ufb01",
            "http://a.b/c?d=1",
            "#hashtag",
            "@user",
            "a,b",
            "8k",
            "4K",
            "HDR",
            "masterpiece",
            "\u202f",
            "\u200b",
            "\ufeff",
            "\u0085"
        };
        Random random = new Random(20241129);
        for (int i = 0; i < 3000; i++) {
            StringBuilder b = new StringBuilder();
            int parts = 1 + random.nextInt(12);
            for (int j = 0; j < parts; j++) {
                b.append(pool[random.nextInt(pool.length)]);
                if (random.nextInt(3) == 0) {
                    b.append(' ');
                }
            }
            texts.add(b.toString());
        }
        texts.add("");
        texts.add("cat ".repeat(100));
        Path json = TOKENIZER.resolve("tokenizer.json");
        ClipBpe bpe = ClipBpe.parse(Files.readAllBytes(json));
        try (HuggingFaceTokenizer reference = HuggingFaceTokenizer.newInstance(
                json,
                Map.of(
                        "addSpecialTokens",
                        "false",
                        "padding",
                        "false",
                        "truncation",
                        "false",
                        "maxLength",
                        "100000"))) {
            for (String text : texts) {
                long[] expected = reference.encode(text, false, false).getIds();
                long[] actual =
                        bpe.encode(text).stream().mapToLong(Integer::longValue).toArray();
                assertArrayEquals(expected, actual, () -> "ids of '" + text + "'");
            }
        }
    }

    @Test
    void truncatesLongPromptsKeepingStartAndEnd() {
        String longPrompt = "cat ".repeat(200);
        try (ClipTokenizer t = ClipTokenizer.load(TOKENIZER)) {
            long[] ids = t.encode(longPrompt);
            assertEquals(77, ids.length);
            assertEquals(49406, ids[0]);
            assertEquals(49407, ids[76]);
            long cat = t.encode("cat")[1];
            for (int i = 1; i < 76; i++) {
                assertEquals(cat, ids[i]);
            }
        }
    }

    @Test
    void handlesNonAsciiAndEmptyText() {
        try (ClipTokenizer t = ClipTokenizer.load(TOKENIZER)) {
            long[] accented = t.encode("Café crème, 東京の夜");
            assertEquals(49406, accented[0]);
            int end = indexOf(accented, 49407);
            assertEquals(
                    true, end > 5, "non-ASCII text yields tokens: " + Arrays.toString(Arrays.copyOf(accented, 12)));
            long[] empty = t.encode("");
            assertEquals(49406, empty[0]);
            assertEquals(49407, empty[1]);
            assertArrayEquals(empty, t.encode(null));
            // CLIP lower-cases and collapses whitespace
            assertArrayEquals(t.encode("a photo of a cat"), t.encode("A  Photo of a CAT"));
        }
    }

    @Test
    void buildsFromVocabAndMergesWhenTokenizerJsonIsAbsent(@TempDir Path dir) throws Exception {
        for (String f : new String[] {"vocab.json", "merges.txt", "tokenizer_config.json"}) {
            Files.copy(TOKENIZER.resolve(f), dir.resolve(f));
        }
        try (ClipTokenizer fromJson = ClipTokenizer.load(TOKENIZER);
                ClipTokenizer fromBpe = ClipTokenizer.load(dir)) {
            assertSameIds(fromJson, fromBpe);
        }
    }

    @Test
    void aFolderWithoutTokenizerFilesNamesTheFolder(@TempDir Path dir) {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ClipTokenizer.load(dir));
        assertEquals(true, e.getMessage().contains(dir.toString()), e.getMessage());
    }

    /**
     * A file whose merges come before its vocabulary (JSON objects are unordered; tokenizers writes the vocabulary
     * first) gives the same ids: its merges are resolved once the vocabulary is read.
     */
    @Test
    void mergesBeforeTheVocabularyGiveTheSameIds(@TempDir Path dir) throws Exception {
        ObjectNode root = (ObjectNode)
                JsonConfig.mapper().readTree(TOKENIZER.resolve("tokenizer.json").toFile());
        ObjectNode model = (ObjectNode) root.get("model");
        ObjectNode reordered = JsonConfig.mapper().createObjectNode();
        reordered.set("merges", model.get("merges"));
        model.properties().forEach(e -> reordered.set(e.getKey(), e.getValue()));
        assertEquals("merges", reordered.fieldNames().next());
        root.set("model", reordered);
        Files.write(dir.resolve("tokenizer.json"), JsonConfig.mapper().writeValueAsBytes(root));
        Files.copy(TOKENIZER.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        try (ClipTokenizer original = ClipTokenizer.load(TOKENIZER);
                ClipTokenizer merged = ClipTokenizer.load(dir)) {
            assertSameIds(original, merged);
        }
    }

    /**
     * Model settings that mean what CLIP's mean are accepted and give the same ids: a zero dropout however it is
     * written, no unknown token, a byte order mark before the file.
     */
    @Test
    void equivalentModelSettingsGiveTheSameIds(@TempDir Path dir) throws Exception {
        Files.copy(TOKENIZER.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        String json = Files.readString(TOKENIZER.resolve("tokenizer.json"));
        List<String> variants = List.of(
                json.replace("\"dropout\": null", "\"dropout\": 0"),
                json.replace("\"dropout\": null", "\"dropout\": -0.0e5"),
                json.replace("\"dropout\": null", "\"dropout\": 0." + "0".repeat(120)),
                json.replace("\"unk_token\": \"<|endoftext|>\"", "\"unk_token\": null"),
                "\uFEFF" + json);
        try (ClipTokenizer original = ClipTokenizer.load(TOKENIZER)) {
            for (String variant : variants) {
                assertTrue(!variant.equals(json), "the variant changes the file");
                Files.writeString(dir.resolve("tokenizer.json"), variant);
                try (ClipTokenizer t = ClipTokenizer.load(dir)) {
                    assertSameIds(original, t);
                }
            }
        }
    }

    /** A broken or non-CLIP tokenizer.json is refused with the folder, and where and what is wrong. */
    @Test
    void aBrokenTokenizerJsonNamesTheFolderAndWhatIsWrong(@TempDir Path dir) throws Exception {
        Files.copy(TOKENIZER.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        String json = Files.readString(TOKENIZER.resolve("tokenizer.json"));
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put(json.substring(0, json.length() / 2), "not valid JSON at line ");
        cases.put(json.replaceFirst("\"a\": 64,", "\"a\": 64.5,"), "model.vocab: the id of 'a' is 64.5, not");
        cases.put(json.replaceFirst("\"a\": 64,", "\"a\": -64,"), "model.vocab: the id of 'a' is -64, not");
        cases.put(json.replaceFirst("\"type\": *\"BPE\"", "\"type\": \"WordPiece\""), "model type WordPiece");
        cases.put(json.replace("\"dropout\": null", "\"dropout\": 0.1"), "BPE dropout 0.1");
        cases.put(json.replace("\"dropout\": null", "\"dropout\": \"0\""), "BPE dropout 0");
        cases.put(
                json.replace("\"continuing_subword_prefix\": \"\"", "\"continuing_subword_prefix\": \"##\""),
                "continuing_subword_prefix '##'");
        cases.put(json.replace("\"fuse_unk\": false", "\"fuse_unk\": true"), "fuse_unk");
        cases.put(json.replace("\"fuse_unk\": false", "\"fuse_unk\": false, \"byte_fallback\": true"), "byte_fallback");
        cases.put(json.replaceFirst("\"i n\",", "[\"i\", \"n\", \"x\"],"), "merge 1 is not two tokens");
        cases.put(json.replaceFirst("\"i n\",", "[\"i\"],"), "merge 1 is not two tokens");
        cases.put(json.replaceFirst("\"i n\",", "\"in\","), "merge 'in' is not two tokens");
        cases.put(json.replaceFirst("\"i n\",", "{\"i\": \"n\"},"), "merge 1 is not two tokens");
        cases.put(json.replaceFirst("\"i n\",", "\"i ☃\","), "merge 'i ☃' names a token outside the vocabulary");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            assertTrue(!c.getKey().equals(json), "the case changes the file: " + c.getValue());
            Files.writeString(dir.resolve("tokenizer.json"), c.getKey());
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> ClipTokenizer.load(dir), c.getValue());
            assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
            assertTrue(e.getMessage().contains(c.getValue()), e.getMessage());
        }
    }

    /** Both tokenizers give the same ids for a few prompts: words, punctuation, accents, CJK, digits. */
    private static void assertSameIds(ClipTokenizer expected, ClipTokenizer actual) {
        for (String s : new String[] {"a photo of a cat", "an oil painting of a lighthouse at dusk", "Café 東京 123!?"}) {
            assertArrayEquals(expected.encode(s), actual.encode(s), s);
        }
    }

    private static int indexOf(long[] a, long v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    private static long[] ids(JsonNode n) {
        long[] out = new long[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asLong();
        }
        return out;
    }
}

package io.sparkdiffusion.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.ModelLoadException;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link JsonScanner} against Jackson, the reader it stands in for: the same values from the fixtures' tokenizers and
 * from documents with every escape and number form, and the same verdict on broken documents (a fixed list, and
 * thousands of random edits of a valid one).
 */
class JsonScannerTest {
    /** Jackson as the reference: exact numbers, and nothing may follow the document. */
    private static final JsonMapper JACKSON = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .build();

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    @ParameterizedTest
    @ValueSource(
            strings = {
                "testdata/assets/clip-tokenizer/tokenizer.json", // merges as "a b"
                "testdata/assets/clip-tokenizer-2/tokenizer.json",
                "testdata/fixtures/sd-tiny/tokenizer/tokenizer.json", // merges as ["a", "b"]
                "testdata/fixtures/sdxl-tiny/tokenizer_2/tokenizer.json",
                "testdata/fixtures/quality/clip-tiny/tokenizer/tokenizer.json"
            })
    void readsTheFixtureTokenizersAsJacksonDoes(String file) throws IOException {
        byte[] json = Files.readAllBytes(Fixtures.root().resolve(file));
        JsonNode expected = jackson(json);
        assertTrue(expected.path("model").path("vocab").size() > 1000, "a real vocabulary");
        assertSameTree(expected, scanned(json), "$");
    }

    @Test
    void readsEveryEscapeNumberAndLiteralAsJacksonDoes() throws IOException {
        String doc = "{\"plain\": \"abc\", \"escapes\": \"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u4E2D\","
                + " \"pair\": \"\\ud83d\\ude00\", \"lone\": \"\\ud800x\", \"raw\": \"Ġcafé 東京 😀 \u007f\","
                + " \"empty\": \"\", \"\": \"empty name\", \"numbers\": [0, -0, 7, -12, 3.25, -0.5, 1e3, 2E-2, 6.02e+23,"
                + " 123456789012345678901234567890, 1.5e-400],"
                + " \"literals\": [true, false, null], \"nested\": {\"a\": [[], {}, [{}], {\"b\": [1, [2, [3]]]}]},"
                + " \"dup\": 1, \"dup\": 2 }";
        byte[] json = doc.getBytes(StandardCharsets.UTF_8);
        assertSameTree(jackson(json), scanned(json), "$");
        for (String top : new String[] {"7", "\"s\"", "true", "null", " [ ] ", "{}"}) {
            byte[] b = top.getBytes(StandardCharsets.UTF_8);
            assertSameTree(jackson(b), scanned(b), top);
        }
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "  ",
                "{",
                "[",
                "{\"a\":1,}",
                "[1,]",
                "[,1]",
                "{,}",
                "{\"a\" 1}",
                "{\"a\":}",
                "{a:1}",
                "{'a':1}",
                "['a']",
                "[01]",
                "[-01]",
                "[1.]",
                "[.5]",
                "[-]",
                "[1e]",
                "[1e+]",
                "[+1]",
                "[0x10]",
                "[NaN]",
                "[Infinity]",
                "[tru]",
                "[truex]",
                "[nul]",
                "[True]",
                "[1 2]",
                "{\"a\":1 \"b\":2}",
                "[1] 2",
                "{\"a\":1}}",
                "[\"unterminated",
                "[\"bad \\q escape\"]",
                "[\"short \\u12\"]",
                "[\"tab\tinside\"]",
                "[\"newline\ninside\"]",
                "/* comment */ []",
                "[] // comment",
                "[1]\u000b",
                "{\"a\":1]",
                "[1}"
            })
    void refusesWhatJacksonRefuses(String doc) {
        byte[] json = doc.getBytes(StandardCharsets.UTF_8);
        assertNull(jacksonOrNull(json), "Jackson refuses it too: " + doc);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> scanned(json), doc);
        assertTrue(e.getMessage().startsWith("not valid JSON at line "), e.getMessage());
    }

    /**
     * Ill-formed UTF-8 (RFC 3629) is refused in strings, named as such: stricter than Jackson, which lets overlong
     * forms and code points past U+10FFFF through.
     */
    @Test
    void refusesIllFormedUtf8() {
        int[][] bad = {
            {0xFF}, // never a UTF-8 byte
            {0x80}, // a continuation byte alone
            {0xC0, 0x80}, // overlong NUL
            {0xE0, 0x80, 0xAF}, // overlong '/'
            {0xED, 0xA0, 0x80}, // a surrogate
            {0xF4, 0x90, 0x80, 0x80}, // past U+10FFFF
            {0xE2, 0x82}, // cut short
            {0xC3, 0x28} // a lead byte without its continuation
        };
        for (int[] bytes : bad) {
            byte[] json = new byte[bytes.length + 4];
            json[0] = '[';
            json[1] = '"';
            for (int i = 0; i < bytes.length; i++) {
                json[2 + i] = (byte) bytes[i];
            }
            json[bytes.length + 2] = '"';
            json[bytes.length + 3] = ']';
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> scanned(json));
            assertTrue(e.getMessage().contains("expected UTF-8 text"), e.getMessage());
        }
    }

    @Test
    void anErrorNamesItsLineColumnAndWhatItFound() {
        byte[] json = "{\n  \"a\": 1,\n}\n".getBytes(StandardCharsets.UTF_8);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> scanned(json));
        assertEquals(
                "not valid JSON at line 3, column 1 (byte offset 12): expected a member name in quotes, found '}'",
                e.getMessage());
    }

    @Test
    void nestingIsLimitedAsJacksonLimitsIt() throws IOException {
        int max = JsonScanner.MAX_DEPTH;
        byte[] deepest = ("[".repeat(max) + "]".repeat(max)).getBytes(StandardCharsets.UTF_8);
        assertSameTree(jackson(deepest), scanned(deepest), "$");
        byte[] deeper = ("[".repeat(max + 1) + "]".repeat(max + 1)).getBytes(StandardCharsets.UTF_8);
        assertNull(jacksonOrNull(deeper), "Jackson refuses it too");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> scanned(deeper));
        assertTrue(e.getMessage().contains("nested"), e.getMessage());
    }

    @Test
    void nonNegativeIntReadsOnlyPlainIntegersThatFitAnInt() {
        String[] ok = {"0", "7", "42", "2147483647"};
        for (String v : ok) {
            JsonScanner s = new JsonScanner((" " + v + " ").getBytes(StandardCharsets.UTF_8));
            assertEquals(Integer.parseInt(v), s.nonNegativeInt(), v);
            s.end();
        }
        String[] refused = {"2147483648", "99999999999999999999", "-1", "-0", "1.5", "1e3", "01", "\"3\"", "true"};
        for (String v : refused) {
            JsonScanner s = new JsonScanner(v.getBytes(StandardCharsets.UTF_8));
            assertEquals(-1, s.nonNegativeInt(), v);
            assertEquals(0, s.position(), "nothing read: " + v);
        }
    }

    /**
     * Thousands of random ASCII edits (a character deleted, inserted or replaced by JSON's own syntax) of a small
     * tokenizer-shaped document: the scanner accepts exactly what Jackson accepts, with the same values.
     */
    @Test
    void randomEditsGetJacksonsVerdict() throws IOException {
        String valid = "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 49406, \"content\": \"<|startoftext|>\","
                + " \"special\": true, \"lstrip\": false}], \"model\": {\"type\": \"BPE\", \"dropout\": null,"
                + " \"vocab\": {\"!\": 0, \"\\\"\": 1, \"a\\u00e9\": 2, \"x</w>\": 30, \"\\\\\": 4},"
                + " \"merges\": [[\"i\", \"n\"], \"t h\", [\"\\n\", \"-1.5e3\"]]}, \"n\": [0, -2.5, 1E9]}";
        String alphabet = "{}[]:,\"\\ 0123456789.-+eEtrufalsn/u";
        Random random = new Random(20261130);
        int accepted = 0;
        int refused = 0;
        for (int i = 0; i < 5000; i++) {
            StringBuilder doc = new StringBuilder(valid);
            for (int edits = 1 + random.nextInt(2); edits > 0; edits--) {
                int at = random.nextInt(doc.length());
                char c = alphabet.charAt(random.nextInt(alphabet.length()));
                switch (random.nextInt(3)) {
                    case 0 -> doc.deleteCharAt(at);
                    case 1 -> doc.insert(at, c);
                    default -> doc.setCharAt(at, c);
                }
            }
            byte[] json = doc.toString().getBytes(StandardCharsets.UTF_8);
            JsonNode expected = jacksonOrNull(json);
            if (expected == null) {
                assertThrows(ModelLoadException.class, () -> scanned(json), doc::toString);
                refused++;
            } else {
                assertSameTree(expected, scanned(json), doc.toString());
                accepted++;
            }
        }
        assertTrue(accepted > 500 && refused > 500, "both verdicts exercised: " + accepted + " accepted, " + refused);
    }

    /**
     * Random byte edits, non-ASCII bytes included: where Jackson refuses, so does the scanner, and what the scanner
     * accepts Jackson reads to the same values (the scanner refuses more: ill-formed UTF-8 that Jackson lets through).
     */
    @Test
    void randomByteEditsNeverMakeTheScannerLaxerThanJackson() {
        byte[] valid = "{\"vocab\": {\"é</w>\": 1, \"東京\": 2, \"😀\": 3, \"a\\u00e9\": 4}, \"m\": [[\"Ġ\", \"x\"]]}"
                .getBytes(StandardCharsets.UTF_8);
        int[] alphabet = {
            '{', '}', '"', '\\', ',', ':', '[', 'a', '0', 0x80, 0xA9, 0xBF, 0xC0, 0xC3, 0xE6, 0xED, 0xF0, 0xF4, 0xF8,
            0xFF
        };
        Random random = new Random(30112026);
        int accepted = 0;
        for (int i = 0; i < 5000; i++) {
            byte[] doc = valid.clone();
            int at = random.nextInt(doc.length);
            doc[at] = (byte) alphabet[random.nextInt(alphabet.length)];
            JsonNode expected = jacksonOrNull(doc);
            JsonNode actual;
            try {
                actual = scanned(doc);
            } catch (ModelLoadException e) {
                continue; // refused: never laxer than Jackson
            }
            String text = new String(doc, StandardCharsets.ISO_8859_1);
            if (expected == null) {
                fail("the scanner accepts what Jackson refuses: " + text);
            }
            assertSameTree(expected, actual, text);
            accepted++;
        }
        assertTrue(accepted > 500, "edits the scanner accepts: " + accepted);
    }

    @Test
    void aByteOrderMarkIsSkipped() throws IOException {
        byte[] doc = "{\"a\": [1, \"b\"]}".getBytes(StandardCharsets.UTF_8);
        byte[] withMark = new byte[doc.length + 3];
        withMark[0] = (byte) 0xEF;
        withMark[1] = (byte) 0xBB;
        withMark[2] = (byte) 0xBF;
        System.arraycopy(doc, 0, withMark, 3, doc.length);
        assertSameTree(jackson(doc), scanned(withMark), "$");
    }

    // ------------------------------------------------------------------------------------------------------------

    /** The document as a tree built through the scanner's whole API. */
    private static JsonNode scanned(byte[] json) {
        JsonScanner s = new JsonScanner(json);
        JsonNode n = value(s);
        s.end();
        return n;
    }

    private static JsonNode value(JsonScanner s) {
        switch (s.peek()) {
            case OBJECT -> {
                ObjectNode o = NODES.objectNode();
                s.beginObject();
                for (String name = s.nextName(); name != null; name = s.nextName()) {
                    o.set(name, value(s));
                }
                return o;
            }
            case ARRAY -> {
                ArrayNode a = NODES.arrayNode();
                s.beginArray();
                while (s.hasNext()) {
                    a.add(value(s));
                }
                return a;
            }
            case STRING -> {
                return NODES.textNode(s.string());
            }
            case NUMBER -> {
                int start = s.skipValue();
                return NODES.numberNode(
                        new BigDecimal(new String(s.bytes(), start, s.position() - start, StandardCharsets.US_ASCII)));
            }
            default -> {
                String literal = s.textFrom(s.skipValue());
                return switch (literal) {
                    case "true" -> NODES.booleanNode(true);
                    case "false" -> NODES.booleanNode(false);
                    default -> NODES.nullNode();
                };
            }
        }
    }

    private static JsonNode jackson(byte[] json) throws IOException {
        JsonNode n = jacksonOrNull(json);
        if (n == null) {
            fail("Jackson refuses " + new String(json, StandardCharsets.UTF_8));
        }
        return n;
    }

    /** Jackson's tree of the whole document, or null where it refuses it (nothing, or anything after it). */
    private static JsonNode jacksonOrNull(byte[] json) {
        try (JsonParser p = JACKSON.createParser(json)) {
            JsonNode n = JACKSON.readTree(p);
            return n == null || p.nextToken() != null ? null : n;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Equal trees; numbers by value (Jackson keeps integers as integers, the scanner's tree as decimals). */
    private static void assertSameTree(JsonNode expected, JsonNode actual, String where) {
        if (expected.isNumber()) {
            assertTrue(actual.isNumber(), where);
            assertEquals(0, expected.decimalValue().compareTo(actual.decimalValue()), where);
        } else if (expected.isObject()) {
            assertTrue(actual.isObject(), where);
            assertEquals(expected.size(), actual.size(), where);
            for (Map.Entry<String, JsonNode> e : expected.properties()) {
                assertTrue(actual.has(e.getKey()), where + "." + e.getKey());
                assertSameTree(e.getValue(), actual.get(e.getKey()), where + "." + e.getKey());
            }
        } else if (expected.isArray()) {
            assertTrue(actual.isArray(), where);
            assertEquals(expected.size(), actual.size(), where);
            for (int i = 0; i < expected.size(); i++) {
                assertSameTree(expected.get(i), actual.get(i), where + "[" + i + "]");
            }
        } else {
            assertEquals(expected, actual, where);
        }
    }
}

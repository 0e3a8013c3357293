package io.sparkdiffusion.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The compiled form of a tokenizer encodes as the parsed one, and the per-user cache of it is only a shortcut. */
class TokenizerCacheTest {
    @TempDir
    Path tmp;

    private static final List<String> TEXTS = List.of(
            "a photo of an astronaut riding a horse on mars",
            "A  PHOTO\tof a Cat, 4k, highly detailed!!!",
            "naïve café — 東京の夜景 🌃 ünïcödé",
            "it's don't we'll they've 1234567 3.14",
            "<|startoftext|>inside<|endoftext|> tokens",
            "",
            "   ",
            "zxqv wkrp qqqqqqqqqqqq");

    private static String randomText(Random r) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            int kind = r.nextInt(10);
            b.append(kind < 6 ? (char) ('a' + r.nextInt(26)) : kind < 8 ? ' ' : (char) (0xA0 + r.nextInt(0x3000)));
        }
        return b.toString();
    }

    private Path tokenizerCopy() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("tokenizer"));
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
            Files.copy(Fixtures.fixture("sd-tiny/tokenizer/" + f), dir.resolve(f), StandardCopyOption.COPY_ATTRIBUTES);
        }
        // content of its own, so that no tokenizer another test holds open in this JVM is shared with it
        Files.writeString(dir.resolve("tokenizer.json"), "\n", java.nio.file.StandardOpenOption.APPEND);
        return dir;
    }

    @Test
    void theCompiledFormEncodesAsTheParsedTokenizer() throws Exception {
        byte[] json = Files.readAllBytes(Fixtures.fixture("sd-tiny/tokenizer/tokenizer.json"));
        ClipBpe parsed = ClipBpe.parse(json);
        byte[] compiled = parsed.compiled("content-key");
        assertEquals("content-key", ClipBpe.compiledKey(compiled));
        ClipBpe read = ClipBpe.compiled(compiled);
        Random r = new Random(3);
        for (int i = 0; i < 300; i++) {
            String t = i < TEXTS.size() ? TEXTS.get(i) : randomText(r);
            assertEquals(parsed.encode(t), read.encode(t), t);
        }
        for (String token : List.of("<|startoftext|>", "<|endoftext|>", "!", "a</w>", "not a token")) {
            assertEquals(parsed.tokenId(token), read.tokenId(token), token);
        }
        assertArrayEquals(compiled, read.compiled("content-key"), "compiling the compiled form gives it back");
        compiled[compiled.length / 2] ^= 0x55;
        compiled[compiled.length - 1] ^= 0x55;
        assertThrows(IllegalArgumentException.class, () -> ClipBpe.compiled(compiled), "a corrupt form is refused");
    }

    @Test
    void aSecondLoadReadsTheCompiledFormAndACorruptEntryIsReplaced() throws Exception {
        Path dir = tokenizerCopy();
        String key = TokenizerCache.key(dir.resolve("tokenizer.json"));
        assertNotNull(key);
        assertNull(TokenizerCache.read(key), "a new file has no entry");
        long[] expected;
        try (ClipTokenizer t = ClipTokenizer.load(dir)) {
            expected = t.encode(TEXTS.get(2));
        }
        byte[] entry = TokenizerCache.read(key);
        assertNotNull(entry, "the first load stored the compiled form");
        try (ClipTokenizer t = ClipTokenizer.load(dir)) {
            assertArrayEquals(expected, t.encode(TEXTS.get(2)));
        }
        Path file = TokenizerCache.entry(key);
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 3] ^= 0x55; // the trailer
        Files.write(file, bytes);
        try (ClipTokenizer t = ClipTokenizer.load(dir)) {
            assertArrayEquals(expected, t.encode(TEXTS.get(2)), "a corrupt entry: parsed again");
        }
        assertArrayEquals(entry, TokenizerCache.read(key), "and the entry written again");
        // another release's layout: its entries are keyed apart, and one found under this key is parsed again
        assertTrue(key.contains("compiled " + ClipBpe.VERSION + "\n"), key);
        int version = 4 + key.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 4;
        bytes = Files.readAllBytes(file);
        java.nio.ByteBuffer.wrap(bytes).putInt(version, ClipBpe.VERSION - 1);
        Files.write(file, bytes);
        try (ClipTokenizer t = ClipTokenizer.load(dir)) {
            assertArrayEquals(expected, t.encode(TEXTS.get(2)), "an older layout: parsed again");
        }
        assertArrayEquals(entry, TokenizerCache.read(key), "and written in this layout");
        Files.setLastModifiedTime(
                dir.resolve("tokenizer.json"),
                java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 10_000));
        String changed = TokenizerCache.key(dir.resolve("tokenizer.json"));
        assertNotNull(changed);
        assertNull(TokenizerCache.read(changed), "a changed file is another entry");
        Files.deleteIfExists(TokenizerCache.entry(key));
    }
}

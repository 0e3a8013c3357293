package io.sparkdiffusion.text;

import io.sparkdiffusion.util.ModelLoadException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A strict pull reader (RFC 8259) of one JSON document held as UTF-8 bytes, for the two large members of a
 * {@code tokenizer.json}: {@code model.vocab} (CLIP's has 49,408 names with ids) and {@code model.merges} (48,894
 * strings or pairs). A machine's first open parses that file in a fresh JVM, where Jackson's streaming parser took
 * 111-139 ms over CLIP's and this one loop, which the JIT compiles within its first thousands of tokens, 56-80 ms
 * (Jackson's classes already loaded, 5 fresh JVMs each). Every other member is small and goes to Jackson as the bytes
 * of its value ({@link #skipValue}).
 *
 * <p>As strict as Jackson's defaults: no comments, trailing commas, leading zeros, unquoted names or control
 * characters in strings; at most {@link #MAX_DEPTH} nested arrays and objects; a leading byte order mark is skipped.
 * Stricter on UTF-8: ill-formed sequences by RFC 3629 (overlong forms, code points past U+10FFFF), which Jackson lets
 * through, are refused. Nothing may follow the document ({@link #end}). An error names the line and column (of
 * bytes). Not thread-safe: one per document.
 */
final class JsonScanner {
    /** The kinds of JSON value, as {@link #peek} tells the next one. */
    enum Kind {
        OBJECT,
        ARRAY,
        STRING,
        NUMBER,
        TRUE,
        FALSE,
        NULL
    }

    /** Jackson's default nesting limit ({@code StreamReadConstraints}). */
    static final int MAX_DEPTH = 1000;

    private final byte[] in;
    private int pos;
    /** Whether each container opened by {@link #beginObject}/{@link #beginArray} has had a member, by depth. */
    private boolean[] started = new boolean[16];

    private int depth;
    /** The characters of a string that needs decoding (escapes or non-ASCII), reused. */
    private char[] chars = new char[64];

    JsonScanner(byte[] json) {
        this.in = json;
        if (json.length >= 3 && json[0] == (byte) 0xEF && json[1] == (byte) 0xBB && json[2] == (byte) 0xBF) {
            pos = 3; // a byte order mark, which an editor may have saved; RFC 8259 lets a reader ignore it
        }
    }

    /** The document's bytes, for handing a value's range ({@link #skipValue} to {@link #position}) to Jackson. */
    byte[] bytes() {
        return in;
    }

    /** The offset of the next byte to read. */
    int position() {
        return pos;
    }

    /** The kind of the next value, without reading it. */
    Kind peek() {
        skipWhitespace();
        Kind k = pos >= in.length
                ? null
                : switch (in[pos]) {
                    case '{' -> Kind.OBJECT;
                    case '[' -> Kind.ARRAY;
                    case '"' -> Kind.STRING;
                    case 't' -> Kind.TRUE;
                    case 'f' -> Kind.FALSE;
                    case 'n' -> Kind.NULL;
                    case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> Kind.NUMBER;
                    default -> null;
                };
        if (k == null) {
            throw error("a value");
        }
        return k;
    }

    /** Reads the opening brace of an object; then {@link #nextName} until it returns null. */
    void beginObject() {
        skipWhitespace();
        open('{');
    }

    /**
     * Reads the next member's name and its colon, leaving its value to read; null when the object ends (its closing
     * brace read).
     */
    String nextName() {
        if (!next('}')) {
            return null;
        }
        skipWhitespace();
        if (pos >= in.length || in[pos] != '"') {
            throw error("a member name in quotes");
        }
        String name = string();
        skipWhitespace();
        expect(':');
        return name;
    }

    /** Reads the opening bracket of an array; then {@link #hasNext} before each element. */
    void beginArray() {
        skipWhitespace();
        open('[');
    }

    /** True when the array has another element to read; false when it ends (its closing bracket read). */
    boolean hasNext() {
        return next(']');
    }

    /** Reads a string value. */
    String string() {
        skipWhitespace();
        expect('"');
        int start = pos;
        while (pos < in.length) { // the common case, printable ASCII: one copy
            byte b = in[pos];
            if (b == '"') {
                pos++;
                return new String(in, start, pos - 1 - start, StandardCharsets.ISO_8859_1);
            }
            if (b == '\\' || b < 0x20) { // a negative byte is non-ASCII
                break;
            }
            pos++;
        }
        return decodeString(start);
    }

    /**
     * Reads a non-negative integer that fits an {@code int} ({@code 0}, {@code 42}); returns -1, having read only
     * whitespace, when the next value is anything else, for the caller to name what it expected.
     */
    int nonNegativeInt() {
        skipWhitespace();
        int p = pos;
        long v = 0;
        while (p < in.length && in[p] >= '0' && in[p] <= '9' && v <= Integer.MAX_VALUE) {
            v = v * 10 + (in[p++] - '0');
        }
        boolean ended = p == in.length || !isNumberByte(in[p]);
        if (p == pos || !ended || v > Integer.MAX_VALUE || (in[pos] == '0' && p - pos > 1)) {
            return -1;
        }
        pos = p;
        return (int) v;
    }

    /**
     * Reads (and checks) the next value whatever it is, with what it nests; returns the offset where it starts, so
     * that {@code [start, position())} are its bytes.
     */
    int skipValue() {
        Kind k = peek();
        int start = pos;
        switch (k) {
            case OBJECT -> {
                beginObject();
                while (nextName() != null) {
                    skipValue();
                }
            }
            case ARRAY -> {
                beginArray();
                while (hasNext()) {
                    skipValue();
                }
            }
            case STRING -> string();
            case NUMBER -> number();
            case TRUE -> literal("true");
            case FALSE -> literal("false");
            case NULL -> literal("null");
        }
        return start;
    }

    /** The text of the value from {@code start} to here, as JSON. */
    String rawFrom(int start) {
        return new String(in, start, pos - start, StandardCharsets.UTF_8);
    }

    /** {@link #rawFrom}, cut to 100 characters: for messages. */
    String textFrom(int start) {
        String s = rawFrom(start);
        return s.length() <= 100 ? s : s.substring(0, 100) + "...";
    }

    /** Checks that only whitespace follows the document. */
    void end() {
        skipWhitespace();
        if (pos != in.length) {
            throw error("the end of the document");
        }
    }

    private void open(char bracket) {
        expect(bracket);
        if (++depth > MAX_DEPTH) {
            throw error("at most " + MAX_DEPTH + " nested arrays and objects");
        }
        if (depth == started.length) {
            started = Arrays.copyOf(started, depth * 2);
        }
        started[depth] = false;
    }

    /**
     * Reads the {@code close} of the innermost container (returning false) or, after its first entry, the comma
     * before the next one. A comma then the close is refused by the caller's read of the entry.
     */
    private boolean next(char close) {
        skipWhitespace();
        if (pos < in.length && in[pos] == close) {
            pos++;
            depth--;
            return false;
        }
        if (started[depth]) {
            expect(',');
        }
        started[depth] = true;
        return true;
    }

    /** JSON's number: {@code -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?}. */
    private void number() {
        if (in[pos] == '-') {
            pos++;
        }
        if (pos < in.length && in[pos] == '0') {
            pos++;
        } else {
            digits();
        }
        if (pos < in.length && in[pos] == '.') {
            pos++;
            digits();
        }
        if (pos < in.length && (in[pos] == 'e' || in[pos] == 'E')) {
            pos++;
            if (pos < in.length && (in[pos] == '+' || in[pos] == '-')) {
                pos++;
            }
            digits();
        }
        if (pos < in.length && isNumberByte(in[pos])) {
            throw error("a number (no leading zeros)");
        }
    }

    private void digits() {
        int start = pos;
        while (pos < in.length && in[pos] >= '0' && in[pos] <= '9') {
            pos++;
        }
        if (pos == start) {
            throw error("a digit");
        }
    }

    private static boolean isNumberByte(byte b) {
        return (b >= '0' && b <= '9') || b == '.' || b == 'e' || b == 'E' || b == '+' || b == '-';
    }

    private void literal(String word) {
        for (int i = 0; i < word.length(); i++) {
            if (pos >= in.length || in[pos] != word.charAt(i)) {
                throw error("'" + word + "'");
            }
            pos++;
        }
        if (pos < in.length && Character.isLetterOrDigit(in[pos])) {
            throw error("'" + word + "'");
        }
    }

    /** The string from {@code start} (after its opening quote), with escapes and UTF-8 sequences. */
    private String decodeString(int start) {
        pos = start;
        int n = 0;
        while (true) {
            if (pos >= in.length) {
                throw error("the string's closing quote");
            }
            if (n + 2 > chars.length) {
                chars = Arrays.copyOf(chars, chars.length * 2);
            }
            int b = in[pos] & 0xFF;
            if (b == '"') {
                pos++;
                return new String(chars, 0, n);
            }
            if (b < 0x20) {
                throw error("no control character in a string (escape it)");
            }
            if (b == '\\') {
                chars[n++] = escape();
            } else if (b < 0x80) {
                chars[n++] = (char) b;
                pos++;
            } else {
                int c = utf8();
                if (c >= 0x10000) {
                    chars[n++] = Character.highSurrogate(c);
                    chars[n++] = Character.lowSurrogate(c);
                } else {
                    chars[n++] = (char) c;
                }
            }
        }
    }

    /** One escape sequence from its backslash: a quote, backslash, slash, b, f, n, r, t, or u and 4 hex digits. */
    private char escape() {
        if (pos + 1 >= in.length) {
            throw error("an escape sequence");
        }
        byte e = in[pos + 1];
        pos += 2;
        return switch (e) {
            case '"' -> '"';
            case '\\' -> '\\';
            case '/' -> '/';
            case 'b' -> '\b';
            case 'f' -> '\f';
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case 'u' -> {
                int c = 0;
                for (int i = 0; i < 4; i++) {
                    int d = pos < in.length ? Character.digit(in[pos], 16) : -1;
                    if (d < 0) {
                        throw error("four hexadecimal digits after \\u");
                    }
                    c = c * 16 + d;
                    pos++;
                }
                yield (char) c; // a surrogate pair comes as two escapes, each its own char
            }
            default -> {
                pos -= 2;
                throw error("an escape sequence (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
            }
        };
    }

    /**
     * One code point of two to four UTF-8 bytes, refusing what Unicode calls ill-formed (RFC 3629): stray
     * continuation bytes, overlong forms, surrogates, and anything past U+10FFFF.
     */
    private int utf8() {
        int b = in[pos] & 0xFF;
        int extra;
        int c;
        int min;
        if (b >= 0xC2 && b <= 0xDF) {
            extra = 1;
            c = b & 0x1F;
            min = 0x80;
        } else if (b >= 0xE0 && b <= 0xEF) {
            extra = 2;
            c = b & 0x0F;
            min = 0x800;
        } else if (b >= 0xF0 && b <= 0xF4) {
            extra = 3;
            c = b & 0x07;
            min = 0x10000;
        } else {
            throw error("UTF-8 text");
        }
        if (pos + extra >= in.length) {
            throw error("UTF-8 text");
        }
        for (int i = 1; i <= extra; i++) {
            int next = in[pos + i] & 0xFF;
            if ((next & 0xC0) != 0x80) {
                throw error("UTF-8 text");
            }
            c = (c << 6) | (next & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
            throw error("UTF-8 text");
        }
        pos += extra + 1;
        return c;
    }

    private void expect(char c) {
        if (pos >= in.length || in[pos] != c) {
            throw error("'" + c + "'");
        }
        pos++;
    }

    private void skipWhitespace() {
        while (pos < in.length) {
            byte b = in[pos];
            if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                return;
            }
            pos++;
        }
    }

    /** "not valid JSON at line L, column C: expected X, found Y". */
    private ModelLoadException error(String expected) {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < pos && i < in.length; i++) {
            if (in[i] == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        String found;
        if (pos >= in.length) {
            found = "the end of the file";
        } else {
            int b = in[pos] & 0xFF;
            found = b >= 0x20 && b < 0x7F ? "'" + (char) b + "'" : String.format("byte 0x%02x", b);
        }
        return new ModelLoadException("not valid JSON at line " + line + ", column " + (pos - lineStart + 1)
                + " (byte offset " + pos + "): expected " + expected + ", found " + found);
    }
}

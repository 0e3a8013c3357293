package io.sparkdiffusion.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.sparkdiffusion.util.ModelLoadException;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The ids of special tokens as vocabulary entries of a {@code tokenizer.json} (not as text: "!" as text is the
 * word-final "!&lt;/w&gt;", 256, while SDXL pads with the entry "!", 0): {@code added_tokens} first, then the BPE
 * vocabulary. Read with a streaming parser that skips the merges and keeps only the wanted entries: a tree of the
 * whole file (49k vocabulary entries, 49k merges) costs a quarter of a second and tens of MB of heap at load.
 */
final class SpecialTokens {
    /** Field names are not interned: the vocabulary's 49k names would fill the shared symbol table for nothing. */
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .build();

    private SpecialTokens() {}

    /** The id of each token, in order. */
    static long[] ids(byte[] tokenizerJson, String... tokens) throws IOException {
        Set<String> wanted = Set.copyOf(Arrays.asList(tokens));
        Map<String, Long> added = new HashMap<>();
        Map<String, Long> vocab = new HashMap<>();
        try (JsonParser p = FACTORY.createParser(tokenizerJson)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new ModelLoadException("tokenizer.json is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("added_tokens") && value == JsonToken.START_ARRAY) {
                    readAddedTokens(p, wanted, added);
                } else if (field.equals("model") && value == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String modelField = p.currentName();
                        if (p.nextToken() == JsonToken.START_OBJECT && modelField.equals("vocab")) {
                            while (p.nextToken() == JsonToken.FIELD_NAME) {
                                String token = p.currentName();
                                if (p.nextToken().isNumeric() && wanted.contains(token)) {
                                    vocab.put(token, p.getLongValue());
                                } else {
                                    p.skipChildren();
                                }
                            }
                        } else {
                            p.skipChildren();
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
        }
        long[] out = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            Long id = added.containsKey(tokens[i]) ? added.get(tokens[i]) : vocab.get(tokens[i]);
            if (id == null) {
                throw new ModelLoadException("tokenizer: special token '" + tokens[i] + "' is not in the vocabulary");
            }
            out[i] = id;
        }
        return out;
    }

    private static void readAddedTokens(JsonParser p, Set<String> wanted, Map<String, Long> added) throws IOException {
        while (p.nextToken() == JsonToken.START_OBJECT) {
            String content = null;
            long id = 0;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String f = p.currentName();
                JsonToken v = p.nextToken();
                if (f.equals("content") && v == JsonToken.VALUE_STRING) {
                    content = p.getText();
                } else if (f.equals("id") && v.isNumeric()) {
                    id = p.getLongValue();
                } else {
                    p.skipChildren();
                }
            }
            if (content != null && wanted.contains(content)) {
                added.putIfAbsent(content, id);
            }
        }
    }
}

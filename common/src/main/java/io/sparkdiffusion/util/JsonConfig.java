package io.sparkdiffusion.util;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * Read access to a diffusers/transformers JSON config ({@code model_index.json}, {@code scheduler_config.json},
 * a component's {@code config.json}, a case's {@code case.json}) with typed getters and defaults. A JSON
 * {@code null} counts as absent, as diffusers treats {@code None}.
 */
public final class JsonConfig {
    /** Python's json module writes Infinity/NaN (e.g. DPM-Solver's lambda_min_clipped = -inf), so accept them. */
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** Made on first use: a cold JVM takes a few tenths of a second to set up an object mapper. */
    private static final class Mapper {
        static final ObjectMapper MAPPER = JsonMapper.builder()
                .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                .build();
    }

    /**
     * Jackson's object mapper with the reading features of {@link #read} (non-numeric numbers), for data binding.
     * Configs are read without it ({@link #readTree}), so that opening a pipeline does not wait for it.
     */
    public static ObjectMapper mapper() {
        return Mapper.MAPPER;
    }

    private final ObjectNode node;
    private final String source;

    public JsonConfig(ObjectNode node, String source) {
        this.node = node;
        this.source = source;
    }

    public static JsonConfig empty(String source) {
        return new JsonConfig(JsonNodeFactory.instance.objectNode(), source);
    }

    /** Parses a JSON object file; the message of a failure names the file. */
    public static JsonConfig read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("missing file " + file);
        }
        try {
            JsonNode n = readTree(Files.readAllBytes(file));
            if (n == null || !n.isObject()) {
                throw new ModelLoadException(file + " is not a JSON object");
            }
            return new JsonConfig((ObjectNode) n, file.toString());
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public static JsonConfig parse(String json, String source) {
        try {
            return new JsonConfig((ObjectNode) readTree(json.getBytes(StandardCharsets.UTF_8)), source);
        } catch (IOException | ClassCastException e) {
            throw new IllegalArgumentException("invalid JSON object in " + source + ": " + e.getMessage(), e);
        }
    }

    public String source() {
        return source;
    }

    public ObjectNode node() {
        return node;
    }

    public boolean has(String key) {
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    private JsonNode get(String key) {
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? null : v;
    }

    public String getString(String key, String dflt) {
        JsonNode v = get(key);
        return v == null ? dflt : v.asText();
    }

    public Optional<String> optString(String key) {
        return Optional.ofNullable(getString(key, null));
    }

    public double getDouble(String key, double dflt) {
        JsonNode v = get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw new IllegalArgumentException(source + ": '" + key + "' must be a number, got " + v);
        }
        return v.asDouble();
    }

    public int getInt(String key, int dflt) {
        JsonNode v = get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw new IllegalArgumentException(source + ": '" + key + "' must be a number, got " + v);
        }
        return v.asInt();
    }

    public boolean getBoolean(String key, boolean dflt) {
        JsonNode v = get(key);
        return v == null ? dflt : v.asBoolean();
    }

    /** A numeric array, or null when absent. */
    public double[] getDoubleArray(String key) {
        JsonNode v = get(key);
        if (v == null) {
            return null;
        }
        if (!v.isArray()) {
            throw new IllegalArgumentException(source + ": '" + key + "' must be an array, got " + v);
        }
        double[] out = new double[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.get(i).asDouble();
        }
        return out;
    }

    public List<String> getStringList(String key) {
        JsonNode v = get(key);
        List<String> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (v.isArray()) {
            for (JsonNode e : v) {
                out.add(e.isNull() ? null : e.asText());
            }
        } else {
            out.add(v.asText());
        }
        return out;
    }

    public JsonConfig getObject(String key) {
        JsonNode v = get(key);
        if (v == null) {
            return null;
        }
        if (!v.isObject()) {
            throw new IllegalArgumentException(source + ": '" + key + "' must be an object, got " + v);
        }
        return new JsonConfig((ObjectNode) v, source + "#" + key);
    }

    public Iterator<String> keys() {
        return node.fieldNames();
    }

    /** A copy with one value replaced, for overrides such as a scheduler's {@code timestep_spacing}. */
    public JsonConfig with(String key, Object value) {
        ObjectNode copy = node.deepCopy();
        copy.set(key, valueToTree(value));
        return new JsonConfig(copy, source);
    }

    @Override
    public String toString() {
        return node.toString();
    }

    /**
     * The first JSON value of {@code json} as a tree, as {@link ObjectMapper#readTree} builds it with the mapper's
     * defaults (ints as int, long or big-integer nodes by size, other numbers as double nodes, the last of repeated
     * names), with Jackson's streaming parser alone; null for no content.
     */
    public static JsonNode readTree(byte[] json) throws IOException {
        try (JsonParser p = FACTORY.createParser(json)) {
            return p.nextToken() == null ? null : tree(p);
        }
    }

    /**
     * The value at {@code p}'s current token as a tree, as {@link #readTree} builds it; the parser is left on the
     * value's last token (for readers that stream most of a file and take its small parts as trees).
     */
    public static JsonNode tree(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                ObjectNode o = NODES.objectNode();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    o.replace(name, tree(p));
                }
                return o;
            }
            case START_ARRAY -> {
                ArrayNode a = NODES.arrayNode();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    a.add(tree(p));
                }
                return a;
            }
            case VALUE_STRING -> {
                return NODES.textNode(p.getText());
            }
            case VALUE_NUMBER_INT -> {
                return switch (p.getNumberType()) {
                    case INT -> NODES.numberNode(p.getIntValue());
                    case LONG -> NODES.numberNode(p.getLongValue());
                    default -> NODES.numberNode(p.getBigIntegerValue());
                };
            }
            case VALUE_NUMBER_FLOAT -> {
                return NODES.numberNode(p.getDoubleValue());
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return NODES.booleanNode(t == JsonToken.VALUE_TRUE);
            }
            case VALUE_NULL -> {
                return NODES.nullNode();
            }
            default -> throw new IOException("unexpected JSON token " + t);
        }
    }

    /**
     * {@code value} as a tree, as {@link ObjectMapper#valueToTree} makes it: strings, booleans, ints, longs, doubles
     * and lists of them (and trees, copied) without the object mapper; anything else through it.
     */
    public static JsonNode valueToTree(Object value) {
        if (value == null) {
            return null;
        }
        if (value instanceof JsonNode n) {
            return n.deepCopy();
        }
        if (value instanceof String s) {
            return NODES.textNode(s);
        }
        if (value instanceof Boolean b) {
            return NODES.booleanNode(b);
        }
        if (value instanceof Integer i) {
            return NODES.numberNode(i);
        }
        if (value instanceof Long l) {
            return NODES.numberNode(l);
        }
        if (value instanceof Double d) {
            return NODES.numberNode(d);
        }
        if (value instanceof List<?> list) {
            ArrayNode a = NODES.arrayNode();
            for (Object item : list) {
                JsonNode n = valueToTree(item);
                a.add(n == null ? NODES.nullNode() : n);
            }
            return a;
        }
        return mapper().valueToTree(value);
    }
}

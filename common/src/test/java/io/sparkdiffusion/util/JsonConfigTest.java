package io.sparkdiffusion.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.testing.Fixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Configs are read with Jackson's streaming parser alone: the trees must be those of the object mapper. */
class JsonConfigTest {
    private static void sameTree(String json) throws Exception {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        JsonNode expected = JsonConfig.mapper().readTree(bytes);
        JsonNode actual = JsonConfig.readTree(bytes);
        assertEquals(expected, actual, json);
        assertEquals(expected.toString(), actual.toString(), json);
    }

    @Test
    void readTreeBuildsTheTreeTheObjectMapperBuilds() throws Exception {
        sameTree("{\"a\": 1, \"b\": 3000000000, \"c\": 123456789012345678901234567890, \"d\": 0.1, \"e\": 1e-3,"
                + " \"f\": -Infinity, \"g\": NaN, \"h\": null, \"i\": [true, false, \"x\", [], {}],"
                + " \"j\": {\"k\": [1.5, -2]}, \"a\": \"last one wins\", \"u\": \"\\u00e9\\n\"}");
        sameTree("[1, 2.0, \"three\"]");
        sameTree("\"text\"");
        assertNull(JsonConfig.readTree(new byte[0]));
        assertThrows(Exception.class, () -> JsonConfig.readTree("{\"a\": ".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void everyJsonFileOfTheFixturesReadsAsTheObjectMapperReadsIt() throws Exception {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.walk(Fixtures.fixture("sd-tiny"))) {
            s.filter(f -> f.toString().endsWith(".json")).forEach(files::add);
        }
        for (Path f : files) {
            byte[] bytes = Files.readAllBytes(f);
            assertEquals(JsonConfig.mapper().readTree(bytes), JsonConfig.readTree(bytes), f.toString());
        }
    }

    @Test
    void valueToTreeMakesTheNodesTheObjectMapperMakes() {
        for (Object v : Arrays.asList(
                "x",
                true,
                false,
                7,
                3_000_000_000L,
                0.5,
                Double.NEGATIVE_INFINITY,
                List.of(),
                List.of(1, "a", 2.5),
                Arrays.asList(1, null),
                1.5f,
                new int[] {1, 2})) {
            JsonNode expected = JsonConfig.mapper().valueToTree(v);
            JsonNode actual = JsonConfig.valueToTree(v);
            assertEquals(expected, actual, String.valueOf(v));
            assertEquals(expected.getClass(), actual.getClass(), String.valueOf(v));
        }
        assertNull(JsonConfig.valueToTree(null));
    }
}

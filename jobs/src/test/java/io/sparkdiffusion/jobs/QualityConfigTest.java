package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The quality.* settings: read and checked with the configuration, before Spark starts. */
class QualityConfigTest {
    @TempDir
    Path tmp;

    private static QualityConfig load(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return JobConfig.load(null, m).quality();
    }

    private static void assertRefused(String[] kv, String... mentions) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> load(kv));
        for (String m : mentions) {
            assertTrue(e.getMessage().contains(m), m + " in: " + e.getMessage());
        }
    }

    @Test
    void offByDefault() {
        QualityConfig q = load();
        assertEquals(QualityConfig.SafetyMode.OFF, q.safety());
        assertEquals(QualityConfig.FlaggedAction.KEEP, q.flagged());
        assertFalse(q.scores());
        assertEquals(List.of(), q.filters());
        assertNull(q.bestOf());
    }

    @Test
    void theYamlSectionIsReadAsWritten() throws Exception {
        Path f = tmp.resolve("q.yaml");
        // a bare off / on is a YAML 1.1 boolean: read as the mode it names
        Files.writeString(f, """
                quality:
                  safety_checker: on
                  flagged: black_out
                  classifier: models/digits-classifier
                  expected_label: digit
                  filters: ["label_matches == true", "nsfw == false"]
                  best_of:
                    keep: 2
                    by: label_score
                """);
        QualityConfig q = JobConfig.load(f, Map.of()).quality();
        assertEquals(QualityConfig.SafetyMode.ON, q.safety());
        assertEquals(QualityConfig.FlaggedAction.BLACK_OUT, q.flagged());
        assertEquals("digit", q.expectedLabelColumn());
        assertEquals(
                List.of("label_matches == true", "nsfw == false"),
                q.filters().stream().map(ScoreFilter::text).toList());
        assertEquals(new QualityConfig.BestOf(2, "label_score"), q.bestOf());
        assertEquals("best 2 by label_score", q.bestOf().rule());
        Files.writeString(f, "quality:\n  safety_checker: off\n");
        assertEquals(
                QualityConfig.SafetyMode.OFF,
                JobConfig.load(f, Map.of()).quality().safety());
    }

    @Test
    void settingsThatCannotWorkAreRefusedWithTheirKeys() {
        assertRefused(
                new String[] {"quality.safety_checker", "maybe"}, "quality.safety_checker", "off, on or required");
        assertRefused(new String[] {"quality.flagged", "blur"}, "quality.flagged", "keep, black_out or drop");
        assertRefused(new String[] {"quality.flagged", "drop"}, "quality.flagged drop needs quality.safety_checker");
        assertRefused(
                new String[] {"quality.filters", "clip_score >= 25"},
                "quality.filters: 'clip_score >= 25' needs quality.clip_scorer");
        assertRefused(
                new String[] {"quality.filters", "nsfw == false"},
                "'nsfw == false' needs quality.safety_checker on or required");
        assertRefused(new String[] {"quality.filters", "label_matches = true"}, "'label_matches = true'");
        assertRefused(
                new String[] {"quality.expected_label", "digit"}, "quality.expected_label needs quality.classifier");
        assertRefused(new String[] {"quality.best_of.keep", "1"}, "quality.best_of needs both keep");
        assertRefused(
                new String[] {
                    "quality.classifier", "c", "quality.best_of.keep", "0", "quality.best_of.by", "label_score"
                },
                "quality.best_of.keep",
                "a positive integer");
        assertRefused(
                new String[] {"quality.classifier", "c", "quality.best_of.keep", "1", "quality.best_of.by", "nsfw_score"
                },
                "quality.best_of.by",
                "clip_score",
                "label_score");
        assertRefused(
                new String[] {"quality.best_of.keep", "1", "quality.best_of.by", "clip_score"},
                "quality.best_of.by clip_score needs quality.clip_scorer");
        assertRefused(new String[] {"quality.classifier", "c", "mode", "video"}, "video mode");
    }
}

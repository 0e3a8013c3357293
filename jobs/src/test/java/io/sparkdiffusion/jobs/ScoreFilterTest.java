package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScoreFilterTest {
    @Test
    void filtersAreReadWithTheirTypesAndNamedAsWritten() {
        ScoreFilter clip = ScoreFilter.parse("  clip_score>=25 ");
        assertEquals("clip_score >= 25", clip.text());
        assertEquals(ScoreFilter.Op.GE, clip.op());
        assertEquals(25.0, clip.value());
        assertEquals(Boolean.FALSE, ScoreFilter.parse("nsfw == FALSE").value());
        assertEquals("label != 7", ScoreFilter.parse("label != \"7\"").text());
        assertEquals(
                "nsfw_score < -0.01", ScoreFilter.parse("NSFW_score < -0.010").text());
    }

    @Test
    void aPictureWithoutTheScorePassesNoFilter() {
        Map<String, Object> scores = new HashMap<>();
        scores.put("clip_score", 30.0);
        scores.put("label", "7");
        scores.put("label_matches", null);
        scores.put("nsfw_score", -0.0);
        assertTrue(ScoreFilter.parse("clip_score >= 30").passes(scores));
        assertFalse(ScoreFilter.parse("clip_score > 30").passes(scores));
        assertTrue(ScoreFilter.parse("clip_score != 31").passes(scores));
        assertTrue(ScoreFilter.parse("label == 7").passes(scores));
        assertFalse(ScoreFilter.parse("label != '7'").passes(scores));
        assertTrue(ScoreFilter.parse("nsfw_score == 0").passes(scores), "-0.0 is 0");
        assertFalse(ScoreFilter.parse("label_matches == true").passes(scores), "null: no expected label");
        assertFalse(ScoreFilter.parse("label_matches != true").passes(scores), "null passes no comparison");
        assertFalse(ScoreFilter.parse("nsfw == false").passes(scores), "not checked is not clean");
    }

    @Test
    void mistakesNameTheFilterAndWhatIsWrong() {
        assertRefused("clip_scor >= 25", "'clip_scor >= 25'", "unknown score 'clip_scor'", "clip_score, label");
        assertRefused("clip_score 25", "'clip_score 25'", "<score> <op> <value>");
        assertRefused("clip_score => 25", "'clip_score => 25'", "<score> <op> <value>");
        assertRefused("clip_score >= high", "'high' is not a number");
        assertRefused("clip_score >= NaN", "'NaN' is not a number");
        assertRefused("nsfw >= 1", "'nsfw >= 1'", "nsfw is true or false: compare it with == or !=");
        assertRefused("label > 3", "label is a label: compare it with == or !=");
        assertRefused("label_matches == yes", "label_matches is true or false, not 'yes'");
        assertRefused("clip_score >=", "no value to compare clip_score with");
    }

    private static void assertRefused(String filter, String... mentions) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ScoreFilter.parse(filter));
        assertTrue(e.getMessage().startsWith("quality.filters: "), e.getMessage());
        for (String m : mentions) {
            assertTrue(e.getMessage().contains(m), m + " in: " + e.getMessage());
        }
    }
}

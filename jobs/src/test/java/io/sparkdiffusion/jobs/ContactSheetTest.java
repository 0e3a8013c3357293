package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ContactSheetTest {
    private static final ErrorReport NO_ERRORS = new ErrorReport(List.of(), List.of());

    private static ContactSheet.Entry entry(String id, Map<String, Object> scores) {
        return new ContactSheet.Entry(
                id, id + ".png", null, null, null, null, "a <digit>", null, 1, 20, 3, "ddim", 16, 16, 12, scores);
    }

    @Test
    void cardsShowTheirScoresAndThePageSortsByThem() {
        Map<String, Object> scores = new LinkedHashMap<>();
        scores.put("label", "7");
        scores.put("label_score", 0.98765);
        scores.put("label_matches", true);
        String html = ContactSheet.render(
                "t",
                Map.of("run", "r"),
                List.of(entry("a", scores), entry("b", Map.of("label_score", 0.5))),
                2,
                NO_ERRORS);
        assertTrue(html.contains("<div class=\"scores\">label 7, label_score 0.9877, label_matches true</div>"), html);
        assertTrue(html.contains(
                "data-id=\"a\" data-label=\"7\" data-label-score=\"0.98765\" data-label-matches=\"true\""));
        // the sort offers the scores the page has, in the tables' order, and id
        assertTrue(html.contains("<option value=\"id\">id</option><option value=\"label\">label</option>"
                + "<option value=\"label-score\">label_score</option>"
                + "<option value=\"label-matches\">label_matches</option></select>"));
        assertFalse(html.contains("clip-score"), "no CLIP score on this page");
        assertTrue(html.contains("a &lt;digit&gt;"), "still escaped");
    }

    @Test
    void aPageWithoutScoresHasNoSort() {
        String html = ContactSheet.render("t", Map.of(), List.of(entry("a", Map.of())), 1, NO_ERRORS);
        assertFalse(html.contains("<select"));
        assertFalse(html.contains("class=\"scores\""));
    }
}

package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The errors' summary for the driver log and their section of index.html, from rows as the errors table has them. */
class ErrorReportTest {
    private static final ErrorReport REPORT = new ErrorReport(
            List.of(
                    new ErrorReport.Group(
                            "validation",
                            "num_inference_steps",
                            2,
                            List.of("s1", "s2"),
                            "num_inference_steps 0 must be"),
                    new ErrorReport.Group(
                            "validation",
                            "id",
                            7,
                            List.of("<b>x</b>", "a\nerrors: forged line", "c", "d", "e"),
                            "duplicate id: 2 input rows share it"),
                    new ErrorReport.Group("generation", "generation", 1, List.of("g1"), "engine failed")),
            List.of(
                    new ErrorReport.Entry("<b>x</b>", "id", "duplicate id & more", "validation"),
                    new ErrorReport.Entry(null, "id", "id is missing", "validation")));

    @Test
    void theLogSummaryCountsPerStageAndFieldWithTheFirstIds() {
        String log = REPORT.logSummary("file:/out/errors");
        List<String> lines = log.lines().toList();
        assertEquals(
                "errors: 10 rows in file:/out/errors (9 rejected input rows, 1 failed image), by stage and field:",
                lines.get(0));
        assertEquals(4, lines.size(), "a line per stage and field: " + log);
        assertTrue(
                lines.get(1).startsWith("  validation / id: 7, first ids: <b>x</b>, a\\nerrors: forged line, c"), log);
        assertTrue(lines.get(1).endsWith("e.g. duplicate id: 2 input rows share it"), log);
        assertTrue(lines.get(2).startsWith("  validation / num_inference_steps: 2, first ids: s1, s2;"), log);
        assertTrue(lines.get(3).startsWith("  generation / generation: 1"), "most rows first: " + log);
        assertEquals(9, REPORT.rejected());
        assertEquals(
                "errors: none (every input row accepted, no image failed)",
                new ErrorReport(List.of(), List.of()).logSummary("x"));
        ErrorReport one = new ErrorReport(
                List.of(new ErrorReport.Group("input", "image", 1, List.of("p1"), "image /in/p1.png: not found")),
                List.of());
        assertTrue(
                one.logSummary("x").startsWith("errors: 1 row in x (0 rejected input rows, 1 failed image)"),
                one.logSummary("x"));
        ErrorReport gated = new ErrorReport(
                List.of(
                        new ErrorReport.Group("filter", "label_matches", 3, List.of("f1"), "label_matches == true"),
                        new ErrorReport.Group("safety", "nsfw", 1, List.of("n1"), "flagged"),
                        new ErrorReport.Group("generation", "generation", 1, List.of("g1"), "engine failed")),
                List.of());
        assertTrue(
                gated.logSummary("x")
                        .startsWith("errors: 5 rows in x (0 rejected input rows, 1 failed image, 4 filtered images)"),
                "images a quality gate left out are not failures: " + gated.logSummary("x"));
    }

    @Test
    void theHtmlListsTheRowsWithTheirFieldAndReasonEscaped() {
        String html = REPORT.html();
        assertTrue(html.contains("<h2 id=\"errors\">Errors</h2>"), html);
        assertTrue(
                html.contains("<tr><td><code>&lt;b&gt;x&lt;/b&gt;</code></td><td>validation</td><td>id</td>"
                        + "<td>duplicate id &amp; more</td></tr>"),
                html);
        assertTrue(
                html.contains("<tr><td><code>(no id)</code></td><td>validation</td><td>id</td><td>id is missing</td>"),
                html);
        assertFalse(html.contains("<b>x</b>"), "ids are escaped");
        assertTrue(html.contains("<td>num_inference_steps</td><td>2</td><td>s1, s2</td>"), html);
        assertTrue(html.contains("Showing the first 2 of 10 rows"), html);
        assertEquals("", new ErrorReport(List.of(), List.of()).html());
    }

    @Test
    void inputTextCannotForgeLogLines() {
        assertEquals("a\\nb\\u001b[31m", ErrorReport.printable("a\nb\u001b[31m", 100));
        assertEquals("abc...", ErrorReport.printable("abcdef", 3));
        assertEquals("abc", ErrorReport.printable("abc", 3));
    }
}

package io.sparkdiffusion.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.row_number;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;

/**
 * The errors table made readable without Parquet tools: a summary for the end of the driver log (rows per stage and
 * field, the first ids of each, an example reason) and the list of rows for {@code index.html}. It is made from any
 * table with the errors table's columns ({@code id}, {@code field}, {@code reason}, {@code stage}); the job reads
 * the {@code errors/} table as {@link RunPublisher} last published it ({@link #read}).
 */
final class ErrorReport {
    /** Ids shown per stage and field in the summary. */
    static final int FIRST_IDS = 5;

    private static final int SHOWN_ID = 80;
    private static final int SHOWN_REASON = 300;

    /** One error row. */
    record Entry(String id, String field, String reason, String stage) {}

    /** The rows of one stage and field: how many, the first ids (ordered, null first) and the smallest reason. */
    record Group(String stage, String field, long rows, List<String> firstIds, String example) {}

    private final List<Group> groups;
    private final List<Entry> listed;
    private final long total;

    /**
     * @param groups every stage and field with rows
     * @param listed the rows index.html lists (the first ones by id)
     */
    ErrorReport(List<Group> groups, List<Entry> listed) {
        this.groups = groups.stream()
                .sorted(Comparator.comparingLong(Group::rows)
                        .reversed()
                        .thenComparing(g -> String.valueOf(g.stage()))
                        .thenComparing(g -> String.valueOf(g.field())))
                .toList();
        this.listed = List.copyOf(listed);
        this.total = groups.stream().mapToLong(Group::rows).sum();
    }

    /**
     * The report of the output's errors table as {@link RunPublisher} published it; no errors when there is none.
     * {@code listed}: how many rows index.html lists.
     */
    static ErrorReport read(SparkSession spark, OutputStore store, int listed) {
        if (!Tables.exists(store, RunPublisher.ERRORS)) {
            return new ErrorReport(List.of(), List.of());
        }
        return of(spark.read().parquet(store.path(RunPublisher.ERRORS).toString()), listed);
    }

    /** The report of an errors table; {@code listed}: how many rows index.html lists. */
    static ErrorReport of(Dataset<Row> errors, int listed) {
        Dataset<Row> e = errors.select("id", "field", "reason", "stage");
        Column firstById = col("id").asc_nulls_first();
        Map<List<String>, List<String>> firstIds = new LinkedHashMap<>();
        for (Row r : e.withColumn(
                        "__n",
                        row_number().over(Window.partitionBy("stage", "field").orderBy(firstById)))
                .filter(col("__n").leq(FIRST_IDS))
                .orderBy(col("__n"))
                .collectAsList()) {
            firstIds.computeIfAbsent(key(r), k -> new ArrayList<>()).add(r.getAs("id"));
        }
        List<Group> groups = new ArrayList<>();
        for (Row r : e.groupBy("stage", "field")
                .agg(count(lit(1)).as("rows"), min("reason").as("example"))
                .collectAsList()) {
            groups.add(new Group(
                    r.getAs("stage"),
                    r.getAs("field"),
                    r.<Long>getAs("rows"),
                    firstIds.get(key(r)),
                    r.getAs("example")));
        }
        List<Entry> rows = new ArrayList<>();
        for (Row r :
                e.orderBy(firstById, col("stage"), col("field")).limit(listed).collectAsList()) {
            rows.add(new Entry(r.getAs("id"), r.getAs("field"), r.getAs("reason"), r.getAs("stage")));
        }
        return new ErrorReport(groups, rows);
    }

    private static List<String> key(Row r) {
        return Arrays.asList(r.<String>getAs("stage"), r.<String>getAs("field")); // nulls allowed
    }

    long total() {
        return total;
    }

    /** Rows rejected on the driver (stage {@code validation}). */
    long rejected() {
        return groups.stream()
                .filter(g -> ErrorStage.VALIDATION.label().equals(g.stage()))
                .mapToLong(Group::rows)
                .sum();
    }

    /** Images generated and then left out by a quality gate (stages {@code safety}, {@code filter}). */
    long filtered() {
        return groups.stream()
                .filter(g -> ErrorStage.filteredLabels().contains(g.stage()))
                .mapToLong(Group::rows)
                .sum();
    }

    /**
     * The last lines of the driver's log: {@code errors: 3 rows in <where> (2 rejected input rows, 1 failed image)},
     * then a line per stage and field. Ids and reasons come from the input: control characters are escaped, so a
     * row cannot forge log lines.
     */
    String logSummary(String where) {
        if (total == 0) {
            return "errors: none (every input row accepted, no image failed)";
        }
        StringBuilder b = new StringBuilder()
                .append(String.format(
                        Locale.ROOT,
                        "errors: %d %s in %s (%s), by stage and field:",
                        total,
                        total == 1 ? "row" : "rows",
                        where,
                        counts()));
        for (Group g : groups) {
            b.append(String.format(
                    Locale.ROOT,
                    "%n  %s / %s: %d, first ids: %s; e.g. %s",
                    g.stage(),
                    g.field(),
                    g.rows(),
                    String.join(
                            ", ",
                            g.firstIds().stream().map(ErrorReport::shownId).toList()),
                    printable(g.example(), SHOWN_REASON)));
        }
        return b.toString();
    }

    private String counts() {
        long rejected = rejected();
        long filtered = filtered();
        long failed = total - rejected - filtered;
        return rejected
                + (rejected == 1 ? " rejected input row, " : " rejected input rows, ")
                + failed
                + (failed == 1 ? " failed image" : " failed images")
                + (filtered == 0 ? "" : ", " + filtered + (filtered == 1 ? " filtered image" : " filtered images"));
    }

    /**
     * The section of index.html: the counts per stage and field, then the first rows by id with their field and
     * reason. Empty when there are no errors.
     */
    String html() {
        if (total == 0) {
            return "";
        }
        StringBuilder h = new StringBuilder("<h2 id=\"errors\">Errors</h2>\n<p>")
                .append(total)
                .append(total == 1 ? " row" : " rows")
                .append(" in <code>errors/</code>: ")
                .append(counts())
                .append(".</p>\n<table class=\"errors\">\n<tr><th>stage</th><th>field</th><th>rows</th>")
                .append("<th>first ids</th><th>example reason</th></tr>\n");
        for (Group g : groups) {
            h.append("<tr><td>")
                    .append(ContactSheet.esc(g.stage()))
                    .append("</td><td>")
                    .append(ContactSheet.esc(g.field()))
                    .append("</td><td>")
                    .append(g.rows())
                    .append("</td><td>")
                    .append(ContactSheet.esc(String.join(
                            ", ",
                            g.firstIds().stream().map(ErrorReport::shownId).toList())))
                    .append("</td><td>")
                    .append(ContactSheet.esc(g.example()))
                    .append("</td></tr>\n");
        }
        h.append(
                "</table>\n<table class=\"errors\">\n<tr><th>id</th><th>stage</th><th>field</th><th>reason</th></tr>\n");
        for (Entry e : listed) {
            h.append("<tr><td><code>")
                    .append(ContactSheet.esc(e.id() == null ? "(no id)" : e.id()))
                    .append("</code></td><td>")
                    .append(ContactSheet.esc(e.stage()))
                    .append("</td><td>")
                    .append(ContactSheet.esc(e.field()))
                    .append("</td><td>")
                    .append(ContactSheet.esc(e.reason()))
                    .append("</td></tr>\n");
        }
        h.append("</table>\n");
        if (listed.size() < total) {
            h.append("<p>Showing the first ")
                    .append(listed.size())
                    .append(" of ")
                    .append(total)
                    .append(
                            " rows (ordered by id, contact_sheet.max_errors); <code>errors/</code> holds all of them.</p>\n");
        }
        return h.toString();
    }

    private static String shownId(String id) {
        return id == null ? "(no id)" : printable(id, SHOWN_ID);
    }

    /** Text from the input, safe on one log line: control characters escaped, cut at {@code max} characters. */
    static String printable(String s, int max) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder();
        int i = 0;
        for (; i < s.length() && b.length() < max; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return i < s.length() ? b + "..." : b.toString();
    }
}

package io.sparkdiffusion.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * The images a run generated and then left out on purpose (safety checker, filters, best of n), per rule: the
 * driver's summary, the contact sheet and {@code _job.json} give the share of each. These are not failures: they do
 * not count against {@code max_error_fraction}.
 *
 * @param generated the images this run generated (written + filtered)
 * @param filtered per rule ({@code safety: nsfw}, {@code filter: label_matches == true},
 *     {@code filter: best 1 by label_score}), the images it left out, most first
 */
public record QualityReport(long generated, Map<String, Long> filtered) {
    /** Nothing generated, nothing left out. */
    static final QualityReport NONE = new QualityReport(0, Map.of());

    /** True for a row of a picture the quality gate left out (false, not null, for every other row). */
    static Column filteredOut() {
        return functions.coalesce(
                col("errorStage").isin(ErrorStage.filteredLabels().toArray()), lit(false));
    }

    /** Counts the filtered rows of a run's outcome per rule. */
    static QualityReport of(Dataset<GeneratedRow> recorded, long written) {
        List<Row> counts = recorded.filter(filteredOut())
                .groupBy(col("errorStage"), col("errorField"))
                .count()
                .orderBy(col("count").desc(), col("errorStage"), col("errorField"))
                .collectAsList();
        Map<String, Long> byRule = new LinkedHashMap<>();
        long total = 0;
        for (Row r : counts) {
            long n = r.getLong(2);
            byRule.put(r.getString(0) + ": " + r.getString(1), n);
            total += n;
        }
        return new QualityReport(written + total, byRule);
    }

    /** Images left out, all rules together. */
    public long total() {
        return filtered.values().stream().mapToLong(Long::longValue).sum();
    }

    /**
     * {@code 12 of 50 images (24.0%): filter: label_matches == true 10 (20.0%); safety: nsfw 2 (4.0%)}, or
     * {@code none of 50 images}.
     */
    public String describe() {
        if (filtered.isEmpty()) {
            return "none of " + generated + " images";
        }
        StringJoiner rules = new StringJoiner("; ");
        filtered.forEach((rule, n) -> rules.add(rule + " " + n + " (" + percent(n) + ")"));
        return total() + " of " + generated + " images (" + percent(total()) + "): " + rules;
    }

    private String percent(long n) {
        return String.format(Locale.ROOT, "%.1f%%", generated == 0 ? 0.0 : 100.0 * n / generated);
    }
}

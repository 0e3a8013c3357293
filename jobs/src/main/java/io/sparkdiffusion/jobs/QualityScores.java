package io.sparkdiffusion.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import io.sparkdiffusion.quality.ScoreField;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.stream.Stream;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Row;

/**
 * The score columns of the metadata and errors tables ({@code nsfw}, {@code nsfw_score}, {@code nsfw_special_score},
 * {@code clip_score}, {@code label}, {@code label_score}, {@code label_matches}): always present, null where no
 * scorer ran, so every run appends the same schema. Their values as text for reasons and the contact sheet.
 */
final class QualityScores {
    /** Every score field, in the order of {@link ScorerKind}. */
    static final List<ScoreField> FIELDS = fields();

    private QualityScores() {}

    private static List<ScoreField> fields() {
        List<ScoreField> out = new ArrayList<>();
        for (ScorerKind k : ScorerKind.values()) {
            out.addAll(k.fields());
        }
        return List.copyOf(out);
    }

    /** The {@link GeneratedRow} property of a field: {@code nsfw_score} is {@code nsfwScore}. */
    static String property(String field) {
        StringBuilder b = new StringBuilder();
        boolean upper = false;
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '_') {
                upper = true;
            } else {
                b.append(upper ? Character.toUpperCase(c) : c);
                upper = false;
            }
        }
        return b.toString();
    }

    /** A table's columns of a {@link GeneratedRow} dataset, then the score columns, named as in the tables. */
    static Column[] after(Column... table) {
        return append(table, FIELDS.stream().map(f -> col(property(f.name())).as(f.name())));
    }

    /** A table's columns, then the score columns as nulls: for rows never scored (rejected input rows). */
    static Column[] afterNulls(Column... table) {
        return append(
                table,
                FIELDS.stream().map(f -> lit(null).cast(sqlType(f.type())).as(f.name())));
    }

    private static Column[] append(Column[] table, Stream<Column> scores) {
        return Stream.concat(Arrays.stream(table), scores).toArray(Column[]::new);
    }

    private static String sqlType(ScoreField.Type type) {
        return switch (type) {
            case BOOLEAN -> "boolean";
            case DOUBLE -> "double";
            case STRING -> "string";
        };
    }

    /** The scores of a metadata row that has them (tables written before the score columns existed have none). */
    static Map<String, Object> of(Row row) {
        List<String> columns = Arrays.asList(row.schema().fieldNames());
        Map<String, Object> out = new LinkedHashMap<>();
        for (ScoreField f : FIELDS) {
            if (columns.contains(f.name()) && row.getAs(f.name()) != null) {
                out.put(f.name(), row.getAs(f.name()));
            }
        }
        return out;
    }

    /** The scores that are set, of every score field ({@link GeneratedRow#scores}). */
    static Map<String, Object> present(Map<String, Object> scores) {
        Map<String, Object> out = new LinkedHashMap<>();
        scores.forEach((k, v) -> {
            if (v != null) {
                out.put(k, v);
            }
        });
        return out;
    }

    /** {@code label 3, label_score 0.9123, label_matches false}: the values that are set ({@code none}). */
    static String describe(Map<String, Object> scores) {
        StringJoiner j = new StringJoiner(", ");
        scores.forEach((k, v) -> {
            if (v != null) {
                j.add(k + " " + format(v));
            }
        });
        return j.length() == 0 ? "none" : j.toString();
    }

    /** A score as text: numbers to 4 significant digits ({@code 31.23}, {@code 0.015}), others as they are. */
    static String format(Object value) {
        if (value instanceof Double d && Double.isFinite(d)) {
            return BigDecimal.valueOf(d)
                    .round(new MathContext(4))
                    .stripTrailingZeros()
                    .toPlainString();
        }
        return String.valueOf(value);
    }
}

package io.sparkdiffusion.jobs;

import io.sparkdiffusion.quality.ScoreField;
import java.io.Serializable;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One entry of {@code quality.filters}: {@code <score> <op> <value>}, e.g. {@code clip_score >= 25},
 * {@code nsfw == false}, {@code label_matches == true}, {@code label != 3}. Numbers compare with {@code == != >= <= >
 * <}; true/false and labels with {@code ==} and {@code !=}. A picture passes when its score satisfies the comparison;
 * a missing score (no expected label, a flags-only safety checker) does not pass.
 *
 * @param text the filter as written, normalised to {@code score op value}: its name in errors and the summary
 */
public record ScoreFilter(String text, String field, ScoreField.Type type, Op op, Object value)
        implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Pattern SYNTAX = Pattern.compile("\\s*([A-Za-z_]+)\\s*(==|!=|>=|<=|>|<)\\s*(.*?)\\s*");

    /** The comparisons. */
    public enum Op {
        EQ("=="),
        NE("!="),
        GE(">="),
        LE("<="),
        GT(">"),
        LT("<");

        private final String symbol;

        Op(String symbol) {
            this.symbol = symbol;
        }

        static Op of(String symbol) {
            for (Op o : values()) {
                if (o.symbol.equals(symbol)) {
                    return o;
                }
            }
            throw new IllegalArgumentException(symbol);
        }

        boolean orders() {
            return this != EQ && this != NE;
        }
    }

    /** Parses a filter; a mistake is an {@link IllegalArgumentException} naming the filter and what is wrong. */
    static ScoreFilter parse(String filter) {
        Matcher m = SYNTAX.matcher(filter);
        if (!m.matches()) {
            throw refused(filter, "write it as <score> <op> <value>, op one of == != >= <= > <, e.g. clip_score >= 25");
        }
        String name = m.group(1).toLowerCase(Locale.ROOT);
        Op op = Op.of(m.group(2));
        String raw = m.group(3);
        ScoreField field = QualityScores.FIELDS.stream()
                .filter(f -> f.name().equals(name))
                .findFirst()
                .orElseThrow(() -> refused(
                        filter,
                        "unknown score '" + name + "'; the scores are "
                                + QualityScores.FIELDS.stream()
                                        .map(ScoreField::name)
                                        .collect(Collectors.joining(", "))));
        if (raw.isEmpty()) {
            throw refused(filter, "no value to compare " + name + " with");
        }
        if (op.orders() && field.type() != ScoreField.Type.DOUBLE) {
            throw refused(filter, name + " is " + kind(field.type()) + ": compare it with == or !=");
        }
        Object value = switch (field.type()) {
            case BOOLEAN -> {
                if (!raw.equalsIgnoreCase("true") && !raw.equalsIgnoreCase("false")) {
                    throw refused(filter, name + " is true or false, not '" + raw + "'");
                }
                yield Boolean.parseBoolean(raw.toLowerCase(Locale.ROOT));
            }
            case DOUBLE -> {
                try {
                    double d = Double.parseDouble(raw);
                    if (!Double.isFinite(d)) {
                        throw new NumberFormatException();
                    }
                    yield d;
                } catch (NumberFormatException e) {
                    throw refused(filter, "'" + raw + "' is not a number (" + name + " is a number)");
                }
            }
            case STRING -> unquote(raw);
        };
        String shown = value instanceof Double d ? QualityScores.format(d) : String.valueOf(value);
        return new ScoreFilter(name + " " + op.symbol + " " + shown, name, field.type(), op, value);
    }

    private static String kind(ScoreField.Type type) {
        return type == ScoreField.Type.BOOLEAN ? "true or false" : "a label";
    }

    private static String unquote(String raw) {
        boolean quoted = raw.length() >= 2
                && ((raw.startsWith("\"") && raw.endsWith("\"")) || (raw.startsWith("'") && raw.endsWith("'")));
        return quoted ? raw.substring(1, raw.length() - 1) : raw;
    }

    private static IllegalArgumentException refused(String filter, String why) {
        return new IllegalArgumentException("quality.filters: '" + filter.strip() + "': " + why);
    }

    /** Whether a picture's scores pass; a missing score does not. */
    boolean passes(Map<String, Object> scores) {
        Object actual = scores.get(field);
        if (actual == null) {
            return false;
        }
        if (type == ScoreField.Type.DOUBLE) {
            // primitive comparisons: -0.0 equals 0.0 (a rounded safety score can be either)
            double a = (Double) actual;
            double b = (Double) value;
            return switch (op) {
                case EQ -> a == b;
                case NE -> a != b;
                case GE -> a >= b;
                case LE -> a <= b;
                case GT -> a > b;
                case LT -> a < b;
            };
        }
        boolean equal = type == ScoreField.Type.STRING
                ? ((String) actual).equalsIgnoreCase((String) value)
                : actual.equals(value);
        return op == Op.EQ ? equal : !equal;
    }
}

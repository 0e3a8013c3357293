package io.sparkdiffusion.jobs;

import io.sparkdiffusion.quality.ClipScorer;
import io.sparkdiffusion.quality.ImageClassifier;
import io.sparkdiffusion.quality.SafetyChecker;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The job's {@code quality.*} settings: which scorers run on the executors, what happens to a picture the safety
 * checker flags, the filters, and the best-of-n selection. Read and checked when the configuration loads, so a
 * mistake (a misspelt filter, a filter on a score no scorer gives) stops the job before Spark starts.
 *
 * @param clipScorer the CLIP scorer folder (a path or URI, as {@code model}), or null
 * @param classifier the image classifier folder, or null
 * @param expectedLabelColumn the input column holding each row's expected label; null: the label the prompt names
 * @param bestOf keep the best k images of each input row by a score, or null
 */
public record QualityConfig(
        SafetyMode safety,
        FlaggedAction flagged,
        String clipScorer,
        String classifier,
        String expectedLabelColumn,
        List<ScoreFilter> filters,
        BestOf bestOf)
        implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Scores where higher is better, so "the k highest" is "the k best". */
    static final Set<String> RANKING_SCORES = Set.of(ClipScorer.CLIP_SCORE, ImageClassifier.LABEL_SCORE);

    /** {@code quality.safety_checker}. */
    public enum SafetyMode {
        /** Not run. */
        OFF,
        /** Run when the model folder has a usable checker; a model without one is generated unchecked (warned). */
        ON,
        /** Run; a model without a usable checker is refused before Spark starts. */
        REQUIRED
    }

    /** {@code quality.flagged}: what happens to a picture the safety checker flags. */
    public enum FlaggedAction {
        /** Written as generated, {@code nsfw} true in the metadata. */
        KEEP,
        /** Written black, as diffusers' pipelines return a flagged picture. */
        BLACK_OUT,
        /** Not written: an {@code errors/} row with stage {@code safety} and the scores. */
        DROP
    }

    /** {@code quality.best_of}: of each input row's images, keep the {@code keep} highest by {@code by}. */
    public record BestOf(int keep, String by) implements Serializable {
        private static final long serialVersionUID = 1L;

        /** The name of this rule in errors' {@code field} column and the summary: {@code best 1 by label_score}. */
        String rule() {
            return "best " + keep + " by " + by;
        }
    }

    /** Reads the {@code quality.*} keys of a configuration (and checks them against its mode). */
    static QualityConfig read(JobConfig c) {
        SafetyMode safety = safetyMode(c);
        FlaggedAction flagged = enumValue(c, "quality.flagged", FlaggedAction.class, "keep, black_out or drop");
        List<ScoreFilter> filters = new ArrayList<>();
        for (String f : c.list("quality.filters")) {
            filters.add(ScoreFilter.parse(f));
        }
        BestOf bestOf = null;
        String by = c.get("quality.best_of.by");
        if (c.get("quality.best_of.keep") != null || by != null) {
            if (c.get("quality.best_of.keep") == null || by == null) {
                throw new IllegalArgumentException(
                        "quality.best_of needs both keep (how many images of each input row) and by (the score)");
            }
            int keep = c.getInt("quality.best_of.keep");
            if (keep <= 0) {
                throw c.bad("quality.best_of.keep", "a positive integer");
            }
            if (!RANKING_SCORES.contains(by)) {
                throw c.bad("quality.best_of.by", "one of " + RANKING_SCORES + " (scores where higher is better)");
            }
            bestOf = new BestOf(keep, by);
        }
        QualityConfig q = new QualityConfig(
                safety,
                flagged,
                c.get("quality.clip_scorer"),
                c.get("quality.classifier"),
                c.get("quality.expected_label"),
                List.copyOf(filters),
                bestOf);
        q.check(c);
        return q;
    }

    private static SafetyMode safetyMode(JobConfig c) {
        String v = c.get("quality.safety_checker").toLowerCase(Locale.ROOT);
        // YAML 1.1 reads a bare off / on as false / true
        return switch (v) {
            case "off", "false" -> SafetyMode.OFF;
            case "on", "true" -> SafetyMode.ON;
            case "required" -> SafetyMode.REQUIRED;
            default -> throw c.bad("quality.safety_checker", "off, on or required");
        };
    }

    private static <E extends Enum<E>> E enumValue(JobConfig c, String key, Class<E> type, String expected) {
        try {
            return Enum.valueOf(type, c.get(key).toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw c.bad(key, expected);
        }
    }

    private void check(JobConfig c) {
        if (flagged != FlaggedAction.KEEP && safety == SafetyMode.OFF) {
            throw new IllegalArgumentException("quality.flagged "
                    + flagged.name().toLowerCase(Locale.ROOT) + " needs quality.safety_checker on or required");
        }
        if (expectedLabelColumn != null && classifier == null) {
            throw new IllegalArgumentException("quality.expected_label needs quality.classifier (the classifier whose"
                    + " label is compared with it)");
        }
        for (ScoreFilter f : filters) {
            requireScorer("quality.filters: '" + f.text() + "'", f.field());
        }
        if (bestOf != null) {
            requireScorer("quality.best_of.by " + bestOf.by(), bestOf.by());
        }
        if (scores() && c.mode().equals("video")) {
            throw new IllegalArgumentException("the quality scorers judge pictures: turn quality.* off in video mode");
        }
    }

    private void requireScorer(String what, String field) {
        ScorerKind kind = ScorerKind.filling(field).orElseThrow();
        if (!enabled(kind)) {
            throw new IllegalArgumentException(what + " needs " + kind.configKey()
                    + (kind == ScorerKind.SAFETY_CHECKER ? " on or required" : "") + " (the scorer that gives "
                    + field + ")");
        }
    }

    /** Whether the settings turn a scorer on (the safety checker also needs the model to have one). */
    boolean enabled(ScorerKind kind) {
        return kind == ScorerKind.SAFETY_CHECKER ? safety != SafetyMode.OFF : folder(kind) != null;
    }

    /** The scorer folder configured for a kind; null when off, and for the safety checker (the model's own). */
    String folder(ScorerKind kind) {
        return switch (kind) {
            case SAFETY_CHECKER -> null;
            case CLIP_SCORE -> clipScorer;
            case CLASSIFIER -> classifier;
        };
    }

    /** Whether any scorer is on. */
    boolean scores() {
        for (ScorerKind k : ScorerKind.values()) {
            if (enabled(k)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the safety checker runs on a model (its local folder): {@code on} with a usable checker, or
     * {@code required}, which refuses a model without one (one line, naming what is missing).
     */
    boolean usesSafetyChecker(Path localModel) {
        if (safety == SafetyMode.OFF) {
            return false;
        }
        SafetyChecker.Presence p = SafetyChecker.presence(localModel);
        if (!p.usable() && safety == SafetyMode.REQUIRED) {
            throw new IllegalArgumentException("quality.safety_checker is required, but " + p.detail());
        }
        return p.usable();
    }
}

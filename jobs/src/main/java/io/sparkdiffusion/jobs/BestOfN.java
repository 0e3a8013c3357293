package io.sparkdiffusion.jobs;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.spark.api.java.function.FlatMapGroupsFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.storage.StorageLevel;

/**
 * {@code quality.best_of}: of each input row's images (its {@code num_images_per_prompt}, or its grid), keep the
 * {@code keep} with the highest score. The images of a row may lie in different partitions, so this runs when the
 * record fragments are published ({@link RunPublisher}), over the rows they record: each dropped image's PNG is
 * deleted from {@code images/} (in {@code files} format; the other formats take the pictures from the fragments and
 * leave it out) and its row becomes an {@code errors/} row with stage {@code filter}, field {@code best K by SCORE}
 * and reason {@code not in the best K of N by SCORE} with its scores. The choice depends only on the rows and their
 * scores, so a publication repeated after a crash makes the same one.
 */
final class BestOfN {
    private BestOfN() {}

    /** One image in the running: its id and score (null: not scored, ranks last). */
    record Candidate(String id, Double score) {}

    /** Highest score first, a missing score last, equal scores by id (so the choice is the same on every run). */
    private static final Comparator<Candidate> BEST_FIRST = Comparator.comparing(
                    Candidate::score, Comparator.nullsLast(Comparator.<Double>reverseOrder()))
            .thenComparing(Candidate::id);

    /** The ids of one input row's images that are not among its {@code keep} best, best first. */
    static List<String> dropped(List<Candidate> candidates, int keep) {
        List<Candidate> ranked = new ArrayList<>(candidates);
        ranked.sort(BEST_FIRST);
        List<String> out = new ArrayList<>();
        for (int i = keep; i < ranked.size(); i++) {
            out.add(ranked.get(i).id());
        }
        return out;
    }

    /**
     * The run's rows with the selection applied: the images outside their input row's best k turned into filter
     * failures (their PNGs deleted, by the executors, in {@code files} format); {@code generated} itself when
     * {@code quality.best_of} is off.
     */
    static Dataset<GeneratedRow> apply(
            Dataset<GeneratedRow> generated, QualityConfig quality, OutputStore store, OutputFormat format) {
        QualityConfig.BestOf bestOf = quality.bestOf();
        if (bestOf == null) {
            return generated;
        }
        return generated
                .groupByKey((MapFunction<GeneratedRow, String>) GeneratedRow::getInputId, Encoders.STRING())
                .flatMapGroups(
                        (FlatMapGroupsFunction<String, GeneratedRow, GeneratedRow>) (inputId, rows) -> {
                            List<GeneratedRow> all = new ArrayList<>();
                            rows.forEachRemaining(all::add);
                            return select(all, bestOf, format == OutputFormat.FILES ? store : null)
                                    .iterator();
                        },
                        Encoders.bean(GeneratedRow.class))
                // computed once: the deletions happen here, and the outcome feeds the metadata, errors and counts
                .persist(StorageLevel.MEMORY_AND_DISK());
    }

    /**
     * One input row's rows with the selection applied; failed rows pass through.
     *
     * @param store where the pictures left out are deleted; null when they are not files (they stay in the fragments)
     */
    static List<GeneratedRow> select(List<GeneratedRow> rows, QualityConfig.BestOf bestOf, OutputStore store) {
        List<Candidate> running = new ArrayList<>();
        for (GeneratedRow r : rows) {
            if (r.isWritten()) {
                running.add(new Candidate(r.getId(), (Double) r.scores().get(bestOf.by())));
            }
        }
        Set<String> drop = new HashSet<>(dropped(running, bestOf.keep()));
        for (GeneratedRow r : rows) {
            if (r.isWritten() && drop.contains(r.getId())) {
                if (store != null) {
                    store.deleteFile(r.getImagePath());
                }
                r.setWritten(false);
                r.setErrorStage(ErrorStage.FILTER.label());
                r.setErrorField(bestOf.rule());
                r.setErrorReason(String.format(
                        Locale.ROOT,
                        "not in the best %d of %d by %s; scores: %s",
                        bestOf.keep(),
                        running.size(),
                        bestOf.by(),
                        QualityScores.describe(r.scores())));
            }
        }
        return rows;
    }
}

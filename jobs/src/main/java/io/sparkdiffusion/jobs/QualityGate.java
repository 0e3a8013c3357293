package io.sparkdiffusion.jobs;

import io.sparkdiffusion.batch.Outcome;
import io.sparkdiffusion.quality.SafetyChecker;
import io.sparkdiffusion.quality.ScoringBatch;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.Function;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The executor side of {@code quality.*}: scores each engine batch's pictures with the job's scorers while they are
 * still in memory, before anything is written, and decides per picture: keep it, black it out (a flagged picture,
 * as diffusers returns it) or drop it: not written, an {@code errors/} row with stage {@code safety} or
 * {@code filter}, the rule that dropped it and its scores, so nothing is left out silently. Scores are of the
 * generated picture, before any black-out. Serializable (it travels in the partition function); the scorers are
 * opened on the executor ({@link ResidentScorers}). Without scorers or filters every picture is kept unscored.
 */
public final class QualityGate implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LogManager.getLogger(QualityGate.class);

    private final QualityConfig config;
    private final ModelHandle model;
    private final List<ResidentScorers.Folder> scorers;

    QualityGate(QualityConfig config, ModelHandle model, List<ResidentScorers.Folder> scorers) {
        this.config = config;
        this.model = model;
        this.scorers = List.copyOf(scorers);
    }

    /**
     * The driver's part: whether the model's safety checker runs ({@code required} refuses a model without a usable
     * one; {@code on} warns and goes on unchecked), and the scorer folders, copied to local disk when remote and
     * fingerprinted so that executors check their copies.
     *
     * @param localModel the driver's local copy of the model
     */
    static QualityGate prepare(QualityConfig config, ModelHandle model, Path localModel) {
        List<ResidentScorers.Folder> folders = new ArrayList<>();
        if (config.usesSafetyChecker(localModel)) {
            folders.add(new ResidentScorers.Folder(ScorerKind.SAFETY_CHECKER, model.uri(), model.fingerprint()));
        } else if (config.safety() == QualityConfig.SafetyMode.ON) {
            LOG.warn(
                    "quality.safety_checker is on, but {}: the images are not checked (nsfw stays null)",
                    SafetyChecker.presence(localModel).detail());
        }
        for (ScorerKind kind : ScorerKind.values()) {
            String uri = config.folder(kind);
            if (uri != null) {
                Path local = ModelLocalizer.localize(uri, null, model.conf(), model.localBase());
                folders.add(new ResidentScorers.Folder(kind, uri, ModelLocalizer.fingerprint(local)));
            }
        }
        return new QualityGate(config, model, folders);
    }

    /** What happens to a picture. */
    public enum Action {
        KEEP,
        BLACK_OUT,
        DROP
    }

    /**
     * A picture's scores (every field of the scorers that ran, null where a scorer gives none) and what happens to
     * it; a dropped picture names its stage, the rule that dropped it ({@code nsfw}, a filter's text) and the reason
     * with the scores.
     */
    public record Verdict(Map<String, Object> scores, Action action, ErrorStage stage, String rule, String reason) {
        static final Verdict UNSCORED = new Verdict(Map.of(), Action.KEEP, null, null, null);

        public boolean dropped() {
            return action == Action.DROP;
        }

        /** Records the verdict on the picture's row: its scores, and for a dropped picture its stage. */
        public void record(GeneratedRow row) {
            row.putScores(scores);
            if (dropped()) {
                row.setErrorStage(stage.label());
            }
        }
    }

    /** An outcome after the gate (a blacked-out picture's output is black) with its verdict. */
    public record Judged<T>(Outcome<T> outcome, Verdict verdict) {}

    /**
     * Judges a partition's outcomes batch by batch, lazily, as the returned iterator is consumed.
     *
     * @param batches each engine call's outcomes together ({@code GenerationStage.generateBatches})
     * @param rowOf the planned row of a tag: its prompt and expected label
     */
    public <T> Iterator<Judged<T>> judge(Iterator<List<Outcome<T>>> batches, Function<T, PlannedRow> rowOf) {
        return new Iterator<>() {
            private final Deque<Judged<T>> ready = new ArrayDeque<>();

            @Override
            public boolean hasNext() {
                while (ready.isEmpty() && batches.hasNext()) {
                    ready.addAll(judgeBatch(batches.next(), rowOf));
                }
                return !ready.isEmpty();
            }

            @Override
            public Judged<T> next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return ready.poll();
            }
        };
    }

    /** One engine batch, in its order: the generated pictures scored together, failures passed through. */
    <T> List<Judged<T>> judgeBatch(List<Outcome<T>> batch, Function<T, PlannedRow> rowOf) {
        List<Judged<T>> out = new ArrayList<>(batch.size());
        if (scorers.isEmpty() && config.filters().isEmpty()) {
            batch.forEach(o -> out.add(new Judged<>(o, Verdict.UNSCORED)));
            return out;
        }
        IdentityHashMap<Outcome.Generated<T>, Map<String, Object>> scores = score(batch, rowOf);
        for (Outcome<T> o : batch) {
            if (!(o instanceof Outcome.Generated<T> g)) {
                out.add(new Judged<>(o, Verdict.UNSCORED));
                continue;
            }
            Verdict v = decide(scores.get(g));
            Outcome<T> judged = v.action() == Action.BLACK_OUT
                    // black, as diffusers' safety checker returns a flagged picture (SafetyChecker.blackOut)
                    ? new Outcome.Generated<>(g.tag(), Tensor.zeros(g.output().shape()), g.generationMillis())
                    : g;
            out.add(new Judged<>(judged, v));
        }
        return out;
    }

    /** Every scorer's fields for each generated picture: one scorer call per picture size (one in an engine batch). */
    private <T> IdentityHashMap<Outcome.Generated<T>, Map<String, Object>> score(
            List<Outcome<T>> batch, Function<T, PlannedRow> rowOf) {
        Map<String, List<Outcome.Generated<T>>> bySize = new LinkedHashMap<>();
        for (Outcome<T> o : batch) {
            if (o instanceof Outcome.Generated<T> g) {
                bySize.computeIfAbsent(Arrays.toString(g.output().shape()), k -> new ArrayList<>())
                        .add(g);
            }
        }
        // by identity: outcomes are records whose tags may be equal
        IdentityHashMap<Outcome.Generated<T>, Map<String, Object>> out = new IdentityHashMap<>();
        for (List<Outcome.Generated<T>> group : bySize.values()) {
            List<Tensor> pictures = new ArrayList<>();
            List<String> prompts = new ArrayList<>();
            List<String> expected = new ArrayList<>();
            for (Outcome.Generated<T> g : group) {
                long[] hwc = g.output().shape();
                pictures.add(g.output().reshape(1, hwc[0], hwc[1], hwc[2]));
                PlannedRow row = rowOf.apply(g.tag());
                prompts.add(row.getPrompt());
                expected.add(row.getExpectedLabel());
                out.put(g, new LinkedHashMap<>());
            }
            ScoringBatch scoring = new ScoringBatch(Tensors.concatBatch(pictures), prompts, expected);
            for (ResidentScorers.Folder f : scorers) {
                List<Map<String, Object>> rows =
                        ResidentScorers.acquire(f, model).score(scoring);
                for (int i = 0; i < group.size(); i++) {
                    out.get(group.get(i)).putAll(rows.get(i));
                }
            }
        }
        return out;
    }

    /**
     * What happens to a picture with these scores: the safety checker's flag first ({@code quality.flagged}), then
     * each filter in order; the first that fails drops it.
     */
    Verdict decide(Map<String, Object> scores) {
        Map<String, Object> s = Collections.unmodifiableMap(new LinkedHashMap<>(scores));
        Action action = Action.KEEP;
        if (Boolean.TRUE.equals(s.get(SafetyChecker.NSFW))) {
            switch (config.flagged()) {
                case DROP -> {
                    return new Verdict(
                            s,
                            Action.DROP,
                            ErrorStage.SAFETY,
                            SafetyChecker.NSFW,
                            "flagged by the safety checker; scores: " + QualityScores.describe(s));
                }
                case BLACK_OUT -> action = Action.BLACK_OUT;
                case KEEP -> action = Action.KEEP;
            }
        }
        for (ScoreFilter f : config.filters()) {
            if (!f.passes(s)) {
                Object actual = s.get(f.field());
                return new Verdict(
                        s,
                        Action.DROP,
                        ErrorStage.FILTER,
                        f.text(),
                        "fails " + f.text() + " (" + f.field() + " "
                                + (actual == null ? "is null" : QualityScores.format(actual)) + "); scores: "
                                + QualityScores.describe(s));
            }
        }
        return new Verdict(s, action, null, null, null);
    }
}

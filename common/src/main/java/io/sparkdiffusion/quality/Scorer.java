package io.sparkdiffusion.quality;

import java.util.List;
import java.util.Map;

/**
 * Scores generated pictures for a job's metadata and filters: a safety checker ({@link SafetyChecker}), the CLIP
 * score ({@link ClipScorer}) or an image classifier ({@link ImageClassifier}). A scorer is opened once per model and
 * device (the pipeline's {@code RuntimeOptions}), is immutable afterwards and serves concurrent calls; each call
 * scores a whole batch with one model call per ONNX session (fewer pictures per call only where an export fixes its
 * batch size).
 */
public interface Scorer extends AutoCloseable {
    /** A short name for logs and errors: {@code safety_checker}, {@code clip_score}, {@code classifier}. */
    String name();

    /** The metadata fields this scorer gives each picture, in order. */
    List<ScoreField> fields();

    /**
     * One row of field values per picture, in the batch's order: each row maps every field of {@link #fields()} to a
     * {@code Boolean}, {@code Double} or {@code String} as the field's type says, or to null where the value does
     * not apply (no expected label, an export without scores).
     */
    List<Map<String, Object>> score(ScoringBatch batch);

    @Override
    void close();
}

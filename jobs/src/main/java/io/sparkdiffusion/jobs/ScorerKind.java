package io.sparkdiffusion.jobs;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.quality.ClipScorer;
import io.sparkdiffusion.quality.ImageClassifier;
import io.sparkdiffusion.quality.SafetyChecker;
import io.sparkdiffusion.quality.ScoreField;
import io.sparkdiffusion.quality.Scorer;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The engine's scorers as the job knows them: the setting that turns each on, the metadata fields it fills, and how
 * it opens a folder. The one list the quality settings, the executors and the metadata columns are built from.
 */
public enum ScorerKind {
    /** diffusers' safety checker of the model folder itself ({@code safety_checker/}). */
    SAFETY_CHECKER("quality.safety_checker"),
    /** A CLIP scorer folder: {@code clip_score} against the row's prompt. */
    CLIP_SCORE("quality.clip_scorer"),
    /** An ONNX image classifier folder with its labels. */
    CLASSIFIER("quality.classifier");

    private final String configKey;

    ScorerKind(String configKey) {
        this.configKey = configKey;
    }

    /** The setting that turns this scorer on. */
    public String configKey() {
        return configKey;
    }

    public List<ScoreField> fields() {
        return switch (this) {
            case SAFETY_CHECKER -> SafetyChecker.FIELDS;
            case CLIP_SCORE -> ClipScorer.FIELDS;
            case CLASSIFIER -> ImageClassifier.FIELDS;
        };
    }

    Scorer open(Path folder, RuntimeOptions options) {
        return switch (this) {
            case SAFETY_CHECKER -> SafetyChecker.open(folder, options);
            case CLIP_SCORE -> ClipScorer.open(folder, options);
            case CLASSIFIER -> ImageClassifier.open(folder, options);
        };
    }

    /** The scorer that fills a field, if any does. */
    static Optional<ScorerKind> filling(String field) {
        for (ScorerKind k : values()) {
            if (k.fields().stream().anyMatch(f -> f.name().equals(field))) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }
}

/**
 * Scorers of generated pictures, for a job's metadata and filters. API: {@link io.sparkdiffusion.quality.Scorer} (what
 * a job runs over each batch: its {@link io.sparkdiffusion.quality.ScoreField}s, one row of values per picture of a
 * {@link io.sparkdiffusion.quality.ScoringBatch}); {@link io.sparkdiffusion.quality.SafetyChecker} (diffusers'
 * safety checker of a model folder, {@link io.sparkdiffusion.quality.SafetyResult}, black-out),
 * {@link io.sparkdiffusion.quality.ClipScorer} (the CLIP score), {@link io.sparkdiffusion.quality.ImageClassifier}
 * (any ONNX classifier with {@link io.sparkdiffusion.quality.Labels}) and
 * {@link io.sparkdiffusion.quality.DigitClassifier} (the bundled digits classifier). See docs/quality.md.
 */
package io.sparkdiffusion.quality;

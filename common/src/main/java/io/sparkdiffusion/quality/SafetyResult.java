package io.sparkdiffusion.quality;

import java.util.OptionalDouble;

/**
 * The safety checker's verdict on one picture: whether it is flagged ({@code nsfw}) and, from an export that gives
 * them, the scores as diffusers' {@code StableDiffusionSafetyChecker.forward} records them: per concept and per
 * special-care concept, the cosine similarity minus the concept's threshold, plus the special-care adjustment, rounded
 * to 3 decimals. A picture is flagged when a concept score is above 0.
 */
public final class SafetyResult {
    private final boolean nsfw;
    private final float[] conceptScores;
    private final float[] specialScores;

    SafetyResult(boolean nsfw, float[] conceptScores, float[] specialScores) {
        this.nsfw = nsfw;
        this.conceptScores = conceptScores == null ? null : conceptScores.clone();
        this.specialScores = specialScores == null ? null : specialScores.clone();
    }

    public boolean nsfw() {
        return nsfw;
    }

    /** False for an export that computes the flags in its graph (diffusers' {@code forward_onnx}): no scores. */
    public boolean hasScores() {
        return conceptScores != null;
    }

    /** The concept scores (17 for the released checker), or null without scores. */
    public float[] conceptScores() {
        return conceptScores == null ? null : conceptScores.clone();
    }

    /** The special-care scores (3 for the released checker), or null without scores. */
    public float[] specialScores() {
        return specialScores == null ? null : specialScores.clone();
    }

    /** The highest concept score (flagged when above 0), if there are scores. */
    public OptionalDouble nsfwScore() {
        return max(conceptScores);
    }

    /** The highest special-care score (above 0: the concept scores got the +0.01 adjustment), if there are scores. */
    public OptionalDouble specialCareScore() {
        return max(specialScores);
    }

    private static OptionalDouble max(float[] v) {
        if (v == null || v.length == 0) {
            return OptionalDouble.empty();
        }
        float m = v[0];
        for (float x : v) {
            m = Math.max(m, x);
        }
        // the float's shortest decimal (0.015, not 0.014999999664723873): the 3-decimal value diffusers records
        return OptionalDouble.of(Double.parseDouble(Float.toString(m)));
    }
}

package io.sparkdiffusion.jobs;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Where a row of {@code errors/} was stopped: its {@code stage} column. */
public enum ErrorStage {
    /** The input row was rejected on the driver, before any model ran ({@link RowRules}). */
    VALIDATION,
    /** Its init image or mask could not be used (found on the executor). */
    INPUT,
    /** The engine failed this image. */
    GENERATION,
    /** The safety checker flagged the image and {@code quality.flagged} is {@code drop}. */
    SAFETY,
    /** A {@code quality.filters} entry or the best-of-n selection dropped the image. */
    FILTER;

    /** The value in the {@code stage} column. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether images stopped here were generated and then left out on purpose, rather than failed. */
    public boolean filtered() {
        return this == SAFETY || this == FILTER;
    }

    /** The labels of the stages whose images were left out on purpose ({@link #filtered}). */
    public static List<String> filteredLabels() {
        return Arrays.stream(values())
                .filter(ErrorStage::filtered)
                .map(ErrorStage::label)
                .toList();
    }
}

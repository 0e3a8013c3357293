package io.sparkdiffusion.jobs;

/**
 * What a job run did.
 *
 * @param inputRows rows read from the input
 * @param planned images the accepted rows ask for (after num_images_per_prompt and grid expansion)
 * @param written images generated and written by this run
 * @param skipped images already present (with metadata) and skipped by --resume
 * @param rejected input rows rejected by validation
 * @param failed images the engine could not generate
 * @param partitions the partitions the images were generated in ({@code partitions}; 0: spread over the task slots)
 * @param stoppedBy the signal ({@code TERM}, {@code INT}) that stopped generation before its end; null when it ran to
 *     its end
 */
public record JobSummary(
        String runId,
        String output,
        long inputRows,
        long planned,
        long written,
        long skipped,
        long rejected,
        long failed,
        double wallSeconds,
        double imagesPerSecond,
        boolean errorBudgetExceeded,
        int partitions,
        String stoppedBy) {

    /** Whether a signal stopped generation before every planned image was made (a --resume finishes the run). */
    public boolean stopped() {
        return stoppedBy != null;
    }
}

package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** How the job spreads its images (partitions: 0) and what its progress line says. */
class GenerationPlanTest {
    @Test
    void partitionsZeroGivesThreePerTaskSlotButNoneSmallerThanABatch() {
        assertEquals(24, GenerateJob.spreadPartitions(10_000, 4, 8), "8 GPUs: 3 partitions each");
        assertEquals(3, GenerateJob.spreadPartitions(10, 4, 8), "10 images in batches of 4: 3 batches");
        assertEquals(1, GenerateJob.spreadPartitions(0, 4, 8), "nothing to do: one empty partition");
        assertEquals(6, GenerateJob.spreadPartitions(40, 4, 2), "40 images over 2 slots");
    }

    @Test
    void progressSaysDoneTotalRateAndEta() {
        // 12 of 40 done after 8 s: 1.5 images/s, 28 to go: 18.7 s
        assertEquals(
                "progress: 12/40 images (30%), 1 failed, 1.38 images/s, ETA 19 s", JobProgress.line(11, 1, 40, 8.0));
        assertEquals(
                "progress: 0/40 images (0%), 0 failed, 0.00 images/s, ETA unknown", JobProgress.line(0, 0, 40, 3.0));
    }
}

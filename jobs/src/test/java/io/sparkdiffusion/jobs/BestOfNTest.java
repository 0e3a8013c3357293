package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Best k of n: the pure selection, and what becomes of the images it drops. */
class BestOfNTest {
    @TempDir
    Path tmp;

    private static BestOfN.Candidate c(String id, Double score) {
        return new BestOfN.Candidate(id, score);
    }

    @Test
    void keepsTheKHighestAndDropsTheRest() {
        List<BestOfN.Candidate> four = List.of(c("a-0", 0.2), c("a-1", 0.9), c("a-2", 0.5), c("a-3", 0.7));
        assertEquals(List.of("a-3", "a-2", "a-0"), BestOfN.dropped(four, 1));
        assertEquals(List.of("a-2", "a-0"), BestOfN.dropped(four, 2));
        assertEquals(List.of(), BestOfN.dropped(four, 4));
        assertEquals(List.of(), BestOfN.dropped(four, 9), "fewer images than k: all kept");
        assertEquals(List.of(), BestOfN.dropped(List.of(), 1));
    }

    @Test
    void aMissingScoreRanksLastAndEqualScoresKeepTheSmallerId() {
        assertEquals(List.of("b", "x"), BestOfN.dropped(List.of(c("x", null), c("b", 0.5), c("a", 0.5)), 1));
        assertEquals(List.of("x"), BestOfN.dropped(List.of(c("x", null), c("b", -3.0)), 1));
    }

    @Test
    void aDroppedImageIsDeletedAndBecomesAFilterError() throws Exception {
        OutputStore store = new OutputStore(new HadoopConf(new Configuration()), tmp.toString());
        List<GeneratedRow> rows = new ArrayList<>();
        double[] scores = {0.6, 0.95, 0.3};
        for (int k = 0; k < scores.length; k++) {
            GeneratedRow g = new GeneratedRow();
            g.setId("seven-" + k);
            g.setInputId("seven");
            g.setWritten(true);
            store.put("images/seven-" + k + ".png", new byte[] {1});
            g.setImagePath(store.path("images/seven-" + k + ".png").toString());
            g.putScores(Map.of("label", "7", "label_score", scores[k], "label_matches", true));
            rows.add(g);
        }
        GeneratedRow failed = new GeneratedRow();
        failed.setId("seven-3");
        failed.setInputId("seven");
        failed.setErrorField("generation");
        rows.add(failed);

        BestOfN.select(rows, new QualityConfig.BestOf(1, "label_score"), store);

        assertTrue(rows.get(1).isWritten(), "the best stays");
        assertNull(rows.get(1).getErrorStage());
        assertTrue(Files.exists(tmp.resolve("images/seven-1.png")));
        for (int k : new int[] {0, 2}) {
            GeneratedRow g = rows.get(k);
            assertFalse(g.isWritten(), g.getId());
            assertFalse(Files.exists(tmp.resolve("images/seven-" + k + ".png")), "deleted: " + g.getId());
            assertEquals("filter", g.getErrorStage());
            assertEquals("best 1 by label_score", g.getErrorField());
            assertEquals(
                    "not in the best 1 of 3 by label_score; scores: label 7, label_score " + scores[k]
                            + ", label_matches true",
                    g.getErrorReason());
        }
        assertEquals("generation", rows.get(3).getErrorField(), "a failed image is not in the running");
        assertNull(rows.get(3).getErrorStage());
    }
}

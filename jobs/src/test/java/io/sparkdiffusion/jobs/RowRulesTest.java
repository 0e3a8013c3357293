package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RowRulesTest {
    private static final RowRules.ModelRules TEXT = new RowRules.ModelRules(true, 8, 64, 64, "DDIMScheduler");
    private static final RowRules.ModelRules UNCOND = new RowRules.ModelRules(false, 4, 32, 32, "DDPMScheduler");

    private static RowRules.Defaults defaults(long[] gridSeeds, double[] gridGuidance) {
        return defaults("txt2img", gridSeeds, gridGuidance);
    }

    private static RowRules.Defaults defaults(String mode, long[] gridSeeds, double[] gridGuidance) {
        return new RowRules.Defaults(
                20,
                7.5,
                null,
                null,
                null,
                null,
                50,
                8,
                gridSeeds,
                gridGuidance,
                null,
                null,
                mode,
                false,
                null,
                8,
                127,
                0.02,
                24,
                1L << 20);
    }

    private static List<PlannedRow> plan(RowRules.ModelRules model, Map<String, String> row) {
        return plan(model, row, 1);
    }

    private static List<PlannedRow> plan(RowRules.ModelRules model, Map<String, String> row, long idCount) {
        return new RowRules(defaults(new long[0], new double[0]), model).plan(row::get, idCount, row.toString());
    }

    private static Map<String, String> row(String... kv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    private static PlannedRow rejected(List<PlannedRow> rows, String field) {
        assertEquals(1, rows.size());
        PlannedRow r = rows.get(0);
        assertFalse(r.isAccepted(), "expected a rejection of " + field);
        assertEquals(field, r.getErrorField(), r.getErrorReason());
        assertTrue(r.getInputRow() != null);
        return r;
    }

    @Test
    void acceptsAWellFormedRowWithDefaults() {
        PlannedRow r =
                plan(TEXT, row("id", "a-1", "prompt", "a cat", "seed", "42")).get(0);
        assertTrue(r.isAccepted());
        assertEquals("a-1.png", r.getImageFile());
        assertEquals(42, r.getSeed());
        assertEquals(20, r.getSteps());
        assertEquals(7.5, r.getGuidanceScale());
        assertEquals(64, r.getWidth());
        assertEquals("DDIMScheduler", r.getScheduler());
    }

    @Test
    void rejectsEachBadFieldByName() {
        rejected(plan(TEXT, row("prompt", "x")), "id");
        rejected(plan(TEXT, row("id", "  ", "prompt", "x")), "id");
        assertTrue(rejected(plan(TEXT, row("id", "../x", "prompt", "x")), "id")
                .getErrorReason()
                .contains("path"));
        rejected(plan(TEXT, row("id", "a/b", "prompt", "x")), "id");
        rejected(plan(TEXT, row("id", "a\\b", "prompt", "x")), "id");
        assertTrue(rejected(plan(TEXT, row("id", "d", "prompt", "x"), 2), "id")
                .getErrorReason()
                .contains("duplicate"));
        rejected(plan(TEXT, row("id", "p")), "prompt");
        rejected(plan(TEXT, row("id", "s", "prompt", "x", "seed", "forty-two")), "seed");
        rejected(plan(TEXT, row("id", "n", "prompt", "x", "num_inference_steps", "0")), "num_inference_steps");
        rejected(plan(TEXT, row("id", "n", "prompt", "x", "num_inference_steps", "51")), "num_inference_steps");
        rejected(plan(TEXT, row("id", "n", "prompt", "x", "num_inference_steps", "ten")), "num_inference_steps");
        rejected(plan(TEXT, row("id", "g", "prompt", "x", "guidance_scale", "NaN")), "guidance_scale");
        rejected(plan(TEXT, row("id", "g", "prompt", "x", "guidance_scale", "Infinity")), "guidance_scale");
        rejected(plan(TEXT, row("id", "w", "prompt", "x", "width", "60")), "width");
        rejected(plan(TEXT, row("id", "h", "prompt", "x", "height", "-8")), "height");
        assertTrue(rejected(plan(TEXT, row("id", "k", "prompt", "x", "scheduler", "warp_drive")), "scheduler")
                .getErrorReason()
                .contains("euler_a"));
        rejected(plan(TEXT, row("id", "m", "prompt", "x", "num_images_per_prompt", "9")), "num_images_per_prompt");
        rejected(plan(TEXT, row("id", "m", "prompt", "x", "num_images_per_prompt", "0")), "num_images_per_prompt");
    }

    @Test
    void aMissingSeedIsDerivedFromTheIdAlone() {
        long a = plan(TEXT, row("id", "row-7", "prompt", "x")).get(0).getSeed();
        long b = plan(TEXT, row("id", "row-7", "prompt", "something else"))
                .get(0)
                .getSeed();
        long c = plan(TEXT, row("id", "row-8", "prompt", "x")).get(0).getSeed();
        assertEquals(a, b);
        assertNotEquals(a, c);
        assertTrue(a >= 0);
        assertEquals(RowRules.seedFromId("row-7"), a);
    }

    @Test
    void unsafeCharactersNeverReachTheFileName() throws Exception {
        String key = RowRules.fileKey("café au lait #1");
        assertTrue(key.matches("[A-Za-z0-9._-]+"), key);
        assertNotEquals(RowRules.fileKey("a b"), RowRules.fileKey("a_b"), "sanitised ids stay distinct");
        assertTrue(RowRules.fileKey(".hidden").matches("[A-Za-z0-9_-][A-Za-z0-9._-]*"));
        assertEquals("plain-id_1.v2", RowRules.fileKey("plain-id_1.v2"));
    }

    @Test
    void expandsImagesPerPrompt() {
        List<PlannedRow> rows =
                plan(TEXT, row("id", "cat", "prompt", "x", "seed", "100", "num_images_per_prompt", "3"));
        assertEquals(
                List.of("cat-0", "cat-1", "cat-2"),
                rows.stream().map(PlannedRow::getId).toList());
        assertEquals(
                List.of(100L, 101L, 102L),
                rows.stream().map(PlannedRow::getSeed).toList());
        assertTrue(rows.stream().allMatch(r -> r.getInputId().equals("cat")));
    }

    @Test
    void gridModeExpandsPromptTimesSeedsTimesGuidance() {
        RowRules rules = new RowRules(defaults(new long[] {1, 2}, new double[] {1.5, 3}), TEXT);
        Map<String, String> r = row("id", "fox", "prompt", "a fox");
        List<PlannedRow> rows = rules.plan(r::get, 1, "{}");
        assertEquals(
                List.of("fox-s1-g1.5", "fox-s1-g3", "fox-s2-g1.5", "fox-s2-g3"),
                rows.stream().map(PlannedRow::getId).toList());
        assertEquals(3.0, rows.get(1).getGuidanceScale());
        assertEquals(2, rows.get(2).getSeed());
    }

    @Test
    void unconditionalRowsNeedOnlyIdAndSeed() {
        PlannedRow r = plan(UNCOND, row("id", "u1", "seed", "5")).get(0);
        assertTrue(r.isAccepted(), r.getErrorReason());
        assertEquals(32, r.getHeight());
        assertEquals("DDPMScheduler", r.getScheduler());
    }

    @Test
    void videoRowsCheckFramesAndFps() {
        RowRules video = new RowRules(defaults("video", new long[0], new double[0]), TEXT);
        RowRules svd = new RowRules(
                defaults("video", new long[0], new double[0]),
                new RowRules.ModelRules(true, 8, 64, 64, "EulerDiscreteScheduler", true));
        Map<String, String> ok = row("id", "v", "prompt", "a panda", "num_frames", "16", "fps", "12");
        PlannedRow r = video.plan(ok::get, 1, "{}").get(0);
        assertTrue(r.isAccepted(), r.getErrorReason());
        assertEquals(16, r.getNumFrames());
        assertEquals(12, r.getFps());
        for (String[] bad : new String[][] {
            {"num_frames", "0"}, {"num_frames", "25"}, {"fps", "0"}, {"fps", "-3"}, {"noise_aug_strength", "-1"}
        }) {
            Map<String, String> m = row("id", "v", "prompt", "x", bad[0], bad[1]);
            rejected(video.plan(m::get, 1, "{}"), bad[0]);
        }
        Map<String, String> noImage = row("id", "i2v", "seed", "1");
        rejected(svd.plan(noImage::get, 1, "{}"), "image");
        Map<String, String> withImage = row("id", "i2v", "image", "/pics/a.png", "motion_bucket_id", "60");
        PlannedRow i2v = svd.plan(withImage::get, 1, "{}").get(0);
        assertTrue(i2v.isAccepted(), "image-to-video needs no prompt: " + i2v.getErrorReason());
        assertEquals(60, i2v.getMotionBucketId());
        assertEquals(0, i2v.getWidth(), "sized by the image on the executor");
    }

    @Test
    void numbersWrittenAsDecimalsAreAccepted() {
        PlannedRow r = plan(TEXT, row("id", "f", "prompt", "x", "seed", "7.0", "num_inference_steps", "12"))
                .get(0);
        assertEquals(7, r.getSeed());
        assertEquals(12, r.getSteps());
    }
}

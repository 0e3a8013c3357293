package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Replays one diffusers reference case and compares, in pipeline order, the text embeddings, the latents after
 * every step and the final pixels, so a failure names the first component or step that diverges. Tolerances are
 * those of testdata/fixtures/README.md: 1e-3 for embeddings and latents, 2e-3 for pixels in [0, 1].
 */
final class ParityCheck {
    static final double EMBED_TOL = 1e-3;
    static final double LATENT_TOL = 1e-3;
    static final double PIXEL_TOL = 2e-3;

    private ParityCheck() {}

    static void check(Path modelDir, Path caseDir) throws Exception {
        try (CaseReplay replay = new CaseReplay(modelDir, caseDir, RuntimeOptions.DEFAULT)) {
            if (replay.pipeline() instanceof TextToImagePipeline t2i) {
                checkEmbeddings(t2i, replay.request(), caseDir);
            }
            List<Tensor> steps = new ArrayList<>();
            Tensor image = replay.run((i, t, latents) -> steps.add(latents.copy()));
            int recorded = replay.caseJson().getInt("latents_steps_recorded", 0);
            if (recorded > 0) {
                assertEquals(recorded, steps.size(), caseDir.getFileName() + ": number of denoising steps");
            }
            for (int i = 0; i < recorded; i++) {
                Tensor expected = Fixtures.npy(caseDir.resolve(String.format("latents_step_%03d.npy", i)));
                double d = Fixtures.maxDiff(steps.get(i), expected);
                if (d > LATENT_TOL) {
                    fail(caseDir.getFileName() + ": latents diverge first at step " + i + " (max |diff| " + d + ")");
                }
            }
            // video cases record frames.npy (B, F, H, W, C) instead of image.npy
            Path output = Files.isRegularFile(caseDir.resolve("frames.npy"))
                    ? caseDir.resolve("frames.npy")
                    : caseDir.resolve("image.npy");
            Tensor expected = Fixtures.npy(output);
            double d = Fixtures.maxDiff(image, expected);
            assertTrue(d <= PIXEL_TOL, caseDir.getFileName() + ": final pixels differ by " + d);
        }
    }

    private static void checkEmbeddings(TextToImagePipeline pipeline, ImageRequest r, Path caseDir) {
        Conditioning c = pipeline.encodePrompt(r);
        compareIfRecorded(caseDir, "prompt_embeds", c.positive("encoder_hidden_states"));
        compareIfRecorded(caseDir, "pooled_prompt_embeds", c.positive("text_embeds"));
        if (c.guided()) {
            compareIfRecorded(caseDir, "negative_prompt_embeds", c.negative("encoder_hidden_states"));
            compareIfRecorded(caseDir, "negative_pooled_prompt_embeds", c.negative("text_embeds"));
        }
    }

    private static void compareIfRecorded(Path caseDir, String name, Tensor actual) {
        Path f = caseDir.resolve(name + ".npy");
        if (!Files.isRegularFile(f)) {
            return;
        }
        if (actual == null) {
            fail(caseDir.getFileName() + ": the case records " + name + " but the pipeline produced none");
            return;
        }
        double d = Fixtures.maxDiff(actual, Fixtures.npy(f));
        assertTrue(d <= EMBED_TOL, caseDir.getFileName() + ": " + name + " differs by " + d);
    }
}

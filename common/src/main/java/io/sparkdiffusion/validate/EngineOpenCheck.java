package io.sparkdiffusion.validate;

import io.sparkdiffusion.model.PipelineFamily;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.pipeline.Pipeline;
import io.sparkdiffusion.pipeline.Pipelines;
import java.nio.file.Path;
import java.util.Locale;

/** The engine opens the model's pipeline for its default task, as a job would. */
final class EngineOpenCheck {
    private EngineOpenCheck() {}

    static Check check(Path root, RuntimeOptions options) {
        long t0 = System.nanoTime();
        try {
            Task task = Pipelines.defaultTask(root);
            try (Pipeline p = Pipelines.open(root, options, task)) {
                String what = switch (task) {
                    case VIDEO -> "video";
                    case INPAINT -> "inpainting";
                    case IMAGE_TO_IMAGE -> "image-to-image";
                    case TEXT_TO_IMAGE ->
                        p.family() == PipelineFamily.UNCONDITIONAL ? "unconditional generation" : "text-to-image";
                };
                return Check.ok(
                        "engine",
                        String.format(
                                Locale.ROOT,
                                "opens as %s for %s in %.2f s",
                                p.getClass().getSimpleName(),
                                what,
                                (System.nanoTime() - t0) / 1e9));
            }
        } catch (RuntimeException e) {
            return Check.fail("engine", "the pipeline does not open: " + CheckText.oneLine(e));
        }
    }
}

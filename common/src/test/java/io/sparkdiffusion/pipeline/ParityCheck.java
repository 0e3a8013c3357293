package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.validate.CaseComparison;
import java.nio.file.Path;

/**
 * Replays one diffusers reference case through {@link CaseComparison} (the comparison behind {@code validate} and
 * {@code replay}) and fails unless the text embeddings, the latents after every recorded step and the final pixels
 * are all within the tolerances, naming the first component or step that diverges.
 */
final class ParityCheck {
    private ParityCheck() {}

    /** Fails on the first divergence; returns the comparison for further assertions and its figures. */
    static CaseComparison.Result check(Path modelDir, Path caseDir) throws Exception {
        CaseComparison.Result result = CaseComparison.replay(modelDir, caseDir, RuntimeOptions.DEFAULT);
        System.out.println(caseDir.getFileName() + ": " + result.figures());
        assertTrue(
                result.firstDivergence().isEmpty(),
                () -> caseDir.getFileName() + ": diverges first at "
                        + result.firstDivergence().orElseThrow().describe());
        return result;
    }
}

package io.sparkdiffusion.cli;

import io.sparkdiffusion.pipeline.CaseReplay;
import io.sparkdiffusion.tensor.Npy;
import io.sparkdiffusion.validate.CaseComparison;
import io.sparkdiffusion.validate.CaseComparison.Difference;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code replay}: reruns a recorded diffusers case on a model folder with the recorded noise. */
@Command(
        name = "replay",
        mixinStandardHelpOptions = true,
        description = {
            "Runs the pipeline a reference case describes (case.json) on a model folder, feeding the case's",
            "recorded noise (noise_NNN.npy), and writes the final output as float32 .npy in [0, 1].",
            "When the case holds image.npy (or frames.npy, video cases: (B, F, H, W, C)), prints the largest",
            "difference to it (parity: <= 2e-3)."
        })
final class ReplayCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--model",
            paramLabel = "DIR",
            required = true,
            description = "Model folder the case was recorded on.")
    Path model;

    @Option(
            names = "--case",
            paramLabel = "CASE_DIR",
            required = true,
            description = "Case folder with case.json and noise_NNN.npy.")
    Path caseDir;

    @Option(names = "--out", paramLabel = "FILE.npy", required = true, description = "Where to write the output array.")
    Path out;

    @Mixin
    RuntimeMixin runtime;

    @Override
    public Integer call() throws Exception {
        if (!CaseReplay.hasCase(caseDir)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--case: " + caseDir + " has no case.json");
        }
        PrintWriter console = spec.commandLine().getOut();
        CaseComparison.Result result = CaseComparison.replay(model, caseDir, runtime.options(spec.commandLine()));
        Npy.write(out, result.output());
        console.printf(
                "wrote %s %s in %.0f ms%n", out, Arrays.toString(result.output().shape()), result.seconds() * 1e3);
        Difference d = result.outputDifference();
        if (d != null) {
            if (d.problem() != null) {
                throw new IllegalStateException(d.problem());
            }
            console.printf(
                    "max |output - %s| = %.3g (%s)%n",
                    d.name(), d.maxDiff(), result.reproduces() ? "parity" : "MISMATCH");
        }
        return 0;
    }
}

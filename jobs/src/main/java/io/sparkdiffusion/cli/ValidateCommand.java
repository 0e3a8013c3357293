package io.sparkdiffusion.cli;

import io.sparkdiffusion.validate.ModelValidator;
import io.sparkdiffusion.validate.ValidationReport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code validate}: checks a model folder before a job, and replays its reference cases. */
@Command(
        name = "validate",
        mixinStandardHelpOptions = true,
        description = {
            "Checks a model folder (Optimum ONNX layout, or a Kandinsky 2.2 root with prior/ and decoder/):",
            "every component the pipeline needs is present and loads; input/output names, element types and ranks",
            "match what the engine feeds and reads; the tokenizers encode CLIP ids; scheduler_config.json builds a",
            "known scheduler; the engine opens the pipeline; and every reference case under cases/ (recorded",
            "diffusers runs, see tools/export/export_onnx.py --record-case) reproduces within 2e-3 on final pixels.",
            "Prints one line per check (OK, WARN or FAIL) and a summary; exits with 0 when nothing FAILs, else 1."
        })
final class ValidateCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--model",
            paramLabel = "DIR",
            required = true,
            description = "The model folder, or the Kandinsky 2.2 root holding prior/ and decoder/.")
    Path model;

    @Option(
            names = "--cases",
            paramLabel = "DIR",
            description = "Folder of reference cases (one sub-folder with case.json each). Default: DIR/cases.")
    Path cases;

    @Option(names = "--skip-cases", description = "Do not replay the reference cases.")
    boolean skipCases;

    @Mixin
    RuntimeMixin runtime;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ModelValidator validator = new ModelValidator(model, runtime.options(spec.commandLine()), cases, !skipCases);
        out.println("validate " + model.toAbsolutePath().normalize() + " (provider " + runtime.provider + ")");
        out.flush();
        ValidationReport report = validator.run(check -> {
            out.println(check.line());
            out.flush();
        });
        out.println(report.summary());
        out.flush();
        return report.passed() ? 0 : 1;
    }
}

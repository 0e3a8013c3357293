package io.sparkdiffusion.validate;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.pipeline.CaseReplay;
import io.sparkdiffusion.validate.CaseComparison.Difference;
import io.sparkdiffusion.validate.CaseComparison.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The reference cases of a model (diffusers runs with recorded noise, in {@code cases/} or a folder given): each is
 * replayed and compared ({@link CaseComparison}), and a failing one says where it first departs from diffusers.
 */
final class ReferenceCaseCheck {
    private ReferenceCaseCheck() {}

    /** The case folders to replay, or the line that says why there are none. */
    record Found(List<Path> cases, List<Check> checks) {
        static Found none(Check why) {
            return new Found(List.of(), List.of(why));
        }
    }

    /** A replayed case's line, and whether it reproduces diffusers. */
    record Replayed(Check check, boolean reproduces) {}

    /**
     * @param casesDir the folder given for the cases; null for {@code root/cases}
     * @param folderPassed false when a check of the folder failed: the cases are then not run
     */
    static Found find(Path root, Path casesDir, boolean folderPassed) {
        Path dir = casesDir != null ? casesDir.toAbsolutePath().normalize() : root.resolve("cases");
        if (!Files.isDirectory(dir)) {
            return Found.none(
                    casesDir != null
                            ? Check.fail("cases", dir + " does not exist")
                            : Check.warn(
                                    "cases",
                                    "no cases/ folder: parity with diffusers is not checked; record a reference case"
                                            + " with tools/export/export_onnx.py --record-case NAME (see docs/models.md)"));
        }
        List<Path> cases;
        try (Stream<Path> s = Files.list(dir)) {
            cases = s.filter(CaseReplay::hasCase).sorted().collect(Collectors.toList());
        } catch (IOException e) {
            return Found.none(Check.fail("cases", "cannot list " + dir + ": " + e.getMessage()));
        }
        if (cases.isEmpty()) {
            return Found.none(Check.warn(
                    "cases", dir + " holds no case (a folder with case.json): parity with diffusers is not checked"));
        }
        if (!folderPassed) {
            return Found.none(Check.warn(
                    "cases",
                    cases.size() + " reference case(s) in " + dir + " not run: fix the FAIL lines above first"));
        }
        return new Found(cases, List.of());
    }

    static Replayed replay(Path root, Path caseDir, RuntimeOptions options) {
        String subject = "case " + caseDir.getFileName();
        Result r;
        try {
            r = CaseComparison.replay(root, caseDir, options);
        } catch (Exception e) {
            return new Replayed(Check.fail(subject, "does not replay: " + CheckText.oneLine(e)), false);
        }
        Difference output = r.outputDifference();
        if (output == null) {
            return new Replayed(
                    Check.warn(
                            subject,
                            String.format(
                                    Locale.ROOT,
                                    "ran in %.2f s (output %s) but the case has no image.npy or frames.npy to compare"
                                            + " with",
                                    r.seconds(),
                                    CheckText.shape(r.output().shape()))),
                    false);
        }
        if (output.problem() != null) {
            return new Replayed(Check.fail(subject, output.problem()), false);
        }
        String where = String.format(
                Locale.ROOT,
                "%s %s, %s, %d step%s, %.2f s",
                output.name(),
                CheckText.shape(r.output().shape()),
                r.pipeline(),
                r.stepsRun(),
                r.stepsRun() == 1 ? "" : "s",
                r.seconds());
        if (r.reproduces()) {
            return new Replayed(
                    Check.ok(
                            subject,
                            String.format(
                                    Locale.ROOT,
                                    "max |diff| %.2e <= %.0e (%s)",
                                    output.maxDiff(),
                                    output.tolerance(),
                                    where)),
                    true);
        }
        return new Replayed(
                Check.fail(
                        subject,
                        String.format(
                                Locale.ROOT,
                                "max |diff| %.3g > %.0e (%s): the engine does not reproduce diffusers on this export%s",
                                output.maxDiff(),
                                output.tolerance(),
                                where,
                                whereItDeparts(r))),
                false);
    }

    /** Where a failing case first departs: each recorded prompt embedding, then the latents after each step. */
    private static String whereItDeparts(Result r) {
        List<String> notes = new ArrayList<>();
        for (Difference e : r.embeddings()) {
            notes.add(
                    e.problem() != null
                            ? e.name() + " not compared: " + e.problem()
                            : String.format(
                                    Locale.ROOT,
                                    "%s %s (max |diff| %.3g)",
                                    e.name(),
                                    e.matches() ? "match" : "DIFFER: look at the text encoder and tokenizer",
                                    e.maxDiff()));
        }
        if (r.stepsRecorded() == 0) {
            notes.add("the case records no per-step latents to locate the divergence");
        }
        r.stepCount().ifPresent(d -> notes.add(d.describe()));
        List<Difference> steps = r.steps();
        int first = 0;
        while (first < steps.size() && steps.get(first).matches()) {
            first++;
        }
        if (first < steps.size()) {
            Difference d = steps.get(first);
            notes.add(
                    d.problem() != null
                            ? "latents_step_" + first + " not compared: " + d.problem()
                            : String.format(
                                    Locale.ROOT,
                                    "latents first differ after step %d (max |diff| %.3g)",
                                    first,
                                    d.maxDiff()));
        } else if (r.stepsRecorded() > 0 && r.stepCount().isEmpty()) {
            notes.add("every step's latents match: look at the VAE decoder");
        }
        return notes.isEmpty() ? "" : "; " + String.join("; ", notes);
    }
}

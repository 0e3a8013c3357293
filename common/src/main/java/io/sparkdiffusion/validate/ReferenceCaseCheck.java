package io.sparkdiffusion.validate;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.pipeline.CaseReplay;
import io.sparkdiffusion.pipeline.Conditioning;
import io.sparkdiffusion.tensor.Npy;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The reference cases of a model (diffusers runs with recorded noise, in {@code cases/} or a folder given): each is
 * replayed ({@link CaseReplay}) and compared with diffusers' output, and a failing one says where it first departs.
 */
final class ReferenceCaseCheck {
    /** Final pixels in [0, 1] (testdata/fixtures/README.md). */
    static final double PIXEL_TOLERANCE = 2e-3;
    /** Embeddings and per-step latents, used to say where a failing case first diverges. */
    static final double LATENT_TOLERANCE = 1e-3;

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
        long t0 = System.nanoTime();
        try (CaseReplay replay = new CaseReplay(root, caseDir, options)) {
            List<Tensor> steps = new ArrayList<>();
            Tensor out = replay.run((i, t, latents) -> steps.add(latents.copy()));
            double seconds = (System.nanoTime() - t0) / 1e9;
            Path expectedFile = Files.isRegularFile(caseDir.resolve("frames.npy"))
                    ? caseDir.resolve("frames.npy")
                    : caseDir.resolve("image.npy");
            if (!Files.isRegularFile(expectedFile)) {
                return new Replayed(
                        Check.warn(
                                subject,
                                String.format(
                                        Locale.ROOT,
                                        "ran in %.2f s (output %s) but the case has no image.npy or"
                                                + " frames.npy to compare with",
                                        seconds,
                                        CheckText.shape(out.shape()))),
                        false);
            }
            Tensor expected = Npy.read(expectedFile);
            if (!Arrays.equals(out.shape(), expected.shape())) {
                return new Replayed(
                        Check.fail(
                                subject,
                                "the engine's output " + CheckText.shape(out.shape()) + " does not have the shape of "
                                        + expectedFile.getFileName() + " " + CheckText.shape(expected.shape())),
                        false);
            }
            double d = Tensors.maxAbsDiff(out, expected);
            String where = String.format(
                    Locale.ROOT,
                    "%s %s, %s, %d step%s, %.2f s",
                    expectedFile.getFileName(),
                    CheckText.shape(expected.shape()),
                    replay.caseJson().getString("pipeline", "?"),
                    steps.size(),
                    steps.size() == 1 ? "" : "s",
                    seconds);
            if (d <= PIXEL_TOLERANCE) {
                return new Replayed(
                        Check.ok(
                                subject,
                                String.format(Locale.ROOT, "max |diff| %.2e <= %.0e (%s)", d, PIXEL_TOLERANCE, where)),
                        true);
            }
            return new Replayed(
                    Check.fail(
                            subject,
                            String.format(
                                    Locale.ROOT,
                                    "max |diff| %.3g > %.0e (%s): the engine does not reproduce"
                                            + " diffusers on this export%s",
                                    d,
                                    PIXEL_TOLERANCE,
                                    where,
                                    divergence(replay, caseDir, steps))),
                    false);
        } catch (Exception e) {
            return new Replayed(Check.fail(subject, "does not replay: " + CheckText.oneLine(e)), false);
        }
    }

    /** Where a failing case first departs: prompt embeddings, then the latents after each step. */
    private static String divergence(CaseReplay replay, Path caseDir, List<Tensor> steps) {
        List<String> notes = new ArrayList<>();
        try {
            Conditioning c =
                    Files.isRegularFile(caseDir.resolve("prompt_embeds.npy")) ? replay.promptConditioning() : null;
            if (c != null) {
                double d = Tensors.maxAbsDiff(
                        c.positive("encoder_hidden_states"), Npy.read(caseDir.resolve("prompt_embeds.npy")));
                notes.add(String.format(
                        Locale.ROOT,
                        "prompt_embeds %s (max |diff| %.3g)",
                        d <= LATENT_TOLERANCE ? "match" : "DIFFER: look at the text encoder and tokenizer",
                        d));
            }
        } catch (Exception e) {
            notes.add("prompt_embeds not compared: " + CheckText.oneLine(e));
        }
        if (!Files.isRegularFile(caseDir.resolve("latents_step_000.npy"))) {
            notes.add("the case records no per-step latents to locate the divergence");
        }
        for (int i = 0; i < steps.size(); i++) {
            Path f = caseDir.resolve(String.format(Locale.ROOT, "latents_step_%03d.npy", i));
            if (!Files.isRegularFile(f)) {
                break;
            }
            try {
                double d = Tensors.maxAbsDiff(steps.get(i), Npy.read(f));
                if (d > LATENT_TOLERANCE) {
                    notes.add(String.format(Locale.ROOT, "latents first differ after step %d (max |diff| %.3g)", i, d));
                    break;
                }
                if (i == steps.size() - 1) {
                    notes.add("every step's latents match: look at the VAE decoder");
                }
            } catch (Exception e) {
                notes.add("latents_step_" + i + " not compared: " + CheckText.oneLine(e));
                break;
            }
        }
        return notes.isEmpty() ? "" : "; " + String.join("; ", notes);
    }
}

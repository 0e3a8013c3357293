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
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * The comparison of a replayed reference case with what diffusers recorded, behind {@code validate}, {@code replay}
 * and the parity tests: the prompt embeddings, the latents after every recorded step and the final output
 * ({@code image.npy}, or {@code frames.npy} for video cases), in pipeline order, so that a failure names the first
 * component or step that diverges. Tolerances are those of {@code testdata/fixtures/README.md}.
 */
public final class CaseComparison {
    /** Final pixels in [0, 1]: a larger gap means a wrong formula, not float32 rounding. */
    public static final double PIXEL_TOLERANCE = 2e-3;
    /** Embeddings and the latents after each step: the intermediate tensors a case records. */
    public static final double INTERMEDIATE_TOLERANCE = 1e-3;

    /** A prompt embedding a case may record: the conditioning feed it is, and whether it is the negative half. */
    private record RecordedEmbedding(String name, String feed, boolean negative) {}

    /** In the order a failure names the first that differs. */
    private static final List<RecordedEmbedding> EMBEDDINGS = List.of(
            new RecordedEmbedding("prompt_embeds", "encoder_hidden_states", false),
            new RecordedEmbedding("pooled_prompt_embeds", "text_embeds", false),
            new RecordedEmbedding("negative_prompt_embeds", "encoder_hidden_states", true),
            new RecordedEmbedding("negative_pooled_prompt_embeds", "text_embeds", true));

    private CaseComparison() {}

    /** One recorded tensor against the engine's: the largest absolute difference, or why they were not compared. */
    public record Difference(String name, double maxDiff, double tolerance, String problem) {
        /** Compared, and within the tolerance. */
        public boolean matches() {
            return problem == null && maxDiff <= tolerance;
        }

        /** {@code "prompt_embeds max |diff| 1.31e-06 <= 1e-03"}, or the name and why it was not compared. */
        public String describe() {
            return problem != null
                    ? name + ": " + problem
                    : String.format(
                            Locale.ROOT,
                            "%s max |diff| %.3g %s %.0e",
                            name,
                            maxDiff,
                            matches() ? "<=" : ">",
                            tolerance);
        }

        static Difference notCompared(String name, String problem) {
            return new Difference(name, Double.NaN, Double.NaN, problem);
        }
    }

    /**
     * A replayed case.
     *
     * @param pipeline the pipeline class the case names
     * @param output the engine's output, {@code (B, H, W, C)} or for video {@code (B, F, H, W, C)}, in [0, 1]
     * @param seconds how long the replayed call took
     * @param embeddings the recorded prompt embeddings (SD and SDXL cases), in order
     * @param stepsRecorded {@code latents_steps_recorded} of {@code case.json}; 0 when the case records no steps
     * @param steps the latents after step 0, 1, ... of those recorded and run
     * @param outputDifference the final output against {@code image.npy} or {@code frames.npy}; null when the case
     *     records neither
     */
    public record Result(
            String pipeline,
            Tensor output,
            double seconds,
            List<Difference> embeddings,
            int stepsRun,
            int stepsRecorded,
            List<Difference> steps,
            Difference outputDifference) {
        public Result {
            embeddings = List.copyOf(embeddings);
            steps = List.copyOf(steps);
        }

        /** The final output within {@link #PIXEL_TOLERANCE}: the case reproduces diffusers (validate's verdict). */
        public boolean reproduces() {
            return outputDifference != null && outputDifference.matches();
        }

        /** Present when the engine ran another number of denoising steps than the case records. */
        public Optional<Difference> stepCount() {
            return stepsRecorded > 0 && stepsRun != stepsRecorded
                    ? Optional.of(Difference.notCompared(
                            "denoising steps", "ran " + stepsRun + ", the case records " + stepsRecorded))
                    : Optional.empty();
        }

        /**
         * The first recorded tensor that is not within its tolerance, in pipeline order: embeddings, the number of
         * steps, each step's latents, the final output. Empty when everything recorded matches (the parity tests'
         * verdict, stricter than {@link #reproduces()}).
         */
        public Optional<Difference> firstDivergence() {
            Difference output = outputDifference != null
                    ? outputDifference
                    : Difference.notCompared("final output", "the case has no image.npy or frames.npy");
            return Stream.of(embeddings.stream(), stepCount().stream(), steps.stream(), Stream.of(output))
                    .flatMap(s -> s)
                    .filter(d -> !d.matches())
                    .findFirst();
        }

        /** The differences on one line, for logs: each embedding, the worst step, the final output. */
        public String figures() {
            List<String> parts = new ArrayList<>();
            embeddings.forEach(d -> parts.add(d.describe()));
            IntStream.range(0, steps.size())
                    .boxed()
                    .max(Comparator.comparingDouble(i -> steps.get(i).maxDiff()))
                    .ifPresent(i -> parts.add("worst step: " + steps.get(i).describe()));
            parts.add(outputDifference == null ? "no final output recorded" : outputDifference.describe());
            return String.join("; ", parts);
        }
    }

    /**
     * Replays the case on the model ({@link CaseReplay}: the recorded call and noise) and compares it with the
     * recording.
     *
     * @throws IOException when the case's recorded noise cannot be read
     */
    public static Result replay(Path modelDir, Path caseDir, RuntimeOptions options) throws IOException {
        try (CaseReplay replay = new CaseReplay(modelDir, caseDir, options)) {
            List<Difference> embeddings = embeddings(replay, caseDir);
            List<Tensor> steps = new ArrayList<>();
            long t0 = System.nanoTime();
            Tensor output = replay.run((i, t, latents) -> steps.add(latents.copy()));
            double seconds = (System.nanoTime() - t0) / 1e9;
            int recorded = replay.caseJson().getInt("latents_steps_recorded", 0);
            List<Difference> stepDifferences = new ArrayList<>();
            for (int i = 0; i < Math.min(recorded, steps.size()); i++) {
                Path f = caseDir.resolve(String.format(Locale.ROOT, "latents_step_%03d.npy", i));
                stepDifferences.add(compare("latents after step " + i, steps.get(i), f, INTERMEDIATE_TOLERANCE));
            }
            return new Result(
                    replay.caseJson().getString("pipeline", "?"),
                    output,
                    seconds,
                    embeddings,
                    steps.size(),
                    recorded,
                    stepDifferences,
                    outputDifference(caseDir, output));
        }
    }

    /** The recorded prompt embeddings against the replayed call's conditioning (pipelines with a text encoder). */
    private static List<Difference> embeddings(CaseReplay replay, Path caseDir) {
        List<RecordedEmbedding> recorded = EMBEDDINGS.stream()
                .filter(e -> Files.isRegularFile(file(caseDir, e.name())))
                .toList();
        Conditioning c = recorded.isEmpty() ? null : replay.promptConditioning();
        if (c == null) {
            return List.of();
        }
        List<Difference> differences = new ArrayList<>();
        for (RecordedEmbedding e : recorded) {
            if (e.negative() && !c.guided()) {
                continue; // an unguided call encodes no negative prompt
            }
            Tensor actual = e.negative() ? c.negative(e.feed()) : c.positive(e.feed());
            differences.add(
                    actual == null
                            ? Difference.notCompared(e.name(), "the pipeline produced none")
                            : compare(e.name(), actual, file(caseDir, e.name()), INTERMEDIATE_TOLERANCE));
        }
        return differences;
    }

    /** The final output against {@code frames.npy} or {@code image.npy}; null when the case records neither. */
    private static Difference outputDifference(Path caseDir, Tensor output) {
        Path f = Files.isRegularFile(caseDir.resolve("frames.npy"))
                ? caseDir.resolve("frames.npy")
                : caseDir.resolve("image.npy");
        if (!Files.isRegularFile(f)) {
            return null;
        }
        String name = f.getFileName().toString();
        Tensor expected;
        try {
            expected = Npy.read(f);
        } catch (IOException | RuntimeException e) {
            return Difference.notCompared(name, name + " cannot be read: " + CheckText.oneLine(e));
        }
        if (!Arrays.equals(output.shape(), expected.shape())) {
            return Difference.notCompared(
                    name,
                    "the engine's output " + CheckText.shape(output.shape()) + " does not have the shape of " + name
                            + " " + CheckText.shape(expected.shape()));
        }
        return new Difference(name, Tensors.maxAbsDiff(output, expected), PIXEL_TOLERANCE, null);
    }

    /** An intermediate tensor against its recording; a missing or unreadable recording is a difference too. */
    private static Difference compare(String name, Tensor actual, Path recorded, double tolerance) {
        if (!Files.isRegularFile(recorded)) {
            return Difference.notCompared(name, recorded.getFileName() + " is missing");
        }
        try {
            return new Difference(name, Tensors.maxAbsDiff(actual, Npy.read(recorded)), tolerance, null);
        } catch (IOException | RuntimeException e) {
            return Difference.notCompared(name, CheckText.oneLine(e));
        }
    }

    private static Path file(Path caseDir, String name) {
        return caseDir.resolve(name + ".npy");
    }
}

package io.sparkdiffusion.validate;

import io.sparkdiffusion.tensor.Npy;
import io.sparkdiffusion.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A Kandinsky 2.2 prior's {@code clip_mean.npy} and {@code clip_std.npy}, which un-normalise its output: both or
 * neither (a WARN), readable, with the prior's embedding size.
 */
final class PriorStatisticsCheck {
    private PriorStatisticsCheck() {}

    /** @param priorGraph the loaded prior graph, for its embedding size; null when it did not load */
    static List<Check> check(Path dir, String subject, Graph priorGraph) {
        Path pdir = dir.resolve("prior");
        boolean mean = Files.isRegularFile(pdir.resolve("clip_mean.npy"));
        boolean std = Files.isRegularFile(pdir.resolve("clip_std.npy"));
        if (!mean && !std) {
            return List.of(Check.warn(
                    subject,
                    "prior/clip_mean.npy and clip_std.npy are absent: the prior's output is used as it is"
                            + " (right only when the prior's clip_mean is 0 and clip_std 1, as in random test models); a real"
                            + " Kandinsky 2.2 prior needs them (tools/export/export_onnx.py writes them)"));
        }
        long dim = -1;
        if (priorGraph != null && priorGraph.inputs().containsKey("hidden_states")) {
            long[] s = priorGraph.inputs().get("hidden_states").getShape();
            dim = s[s.length - 1];
        }
        dim = ComponentFileCheck.config(pdir).getInt("embedding_dim", (int) dim);
        List<Check> problems = new ArrayList<>();
        for (String name : List.of("clip_mean.npy", "clip_std.npy")) {
            Path f = pdir.resolve(name);
            if (!Files.isRegularFile(f)) {
                problems.add(Check.fail(subject, name + " is missing (the other is there)"));
                continue;
            }
            try {
                Tensor t = Npy.read(f);
                if (dim > 0 && t.size() != dim) {
                    problems.add(Check.fail(
                            subject, name + " has " + t.size() + " values, the prior's embedding_dim is " + dim));
                }
            } catch (IOException | RuntimeException e) {
                problems.add(Check.fail(subject, name + " cannot be read: " + CheckText.oneLine(e)));
            }
        }
        return problems.isEmpty()
                ? List.of(Check.ok(subject, "clip_mean.npy and clip_std.npy (" + dim + " values each)"))
                : problems;
    }
}

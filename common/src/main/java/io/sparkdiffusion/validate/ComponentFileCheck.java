package io.sparkdiffusion.validate;

import ai.onnxruntime.OrtException;
import io.sparkdiffusion.model.ComponentContract.Component;
import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OnnxFileScan;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.util.JsonConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A component's files: its folder and {@code model.onnx} present, the file whole ({@link OnnxFileScan}: truncated,
 * external data left behind), and the graph loading in ONNX Runtime; a failure names the common cause.
 */
final class ComponentFileCheck {
    private ComponentFileCheck() {}

    /** The component's checks, and its graph and file scan when it loaded (else null). */
    record Loaded(List<Check> checks, Graph graph, OnnxFileScan scan) {
        static Loaded not(Check why) {
            return new Loaded(List.of(why), null, null);
        }
    }

    /** Checks component {@code c} of the folder {@code dir}, which {@code className} needs (or can do without). */
    static Loaded check(Path dir, String subject, Component c, String className, RuntimeOptions options) {
        Path cdir = dir.resolve(c.name());
        Path file = cdir.resolve(ModelFolder.MODEL_FILE);
        if (!Files.isRegularFile(file)) {
            String where = Files.isDirectory(cdir)
                    ? c.name() + "/" + ModelFolder.MODEL_FILE + " is missing" + otherFiles(cdir)
                    : "component folder " + c.name() + "/ is missing";
            return Loaded.not(
                    c.ifMissing() != null
                            ? Check.warn(subject, where + ": " + c.ifMissing())
                            : Check.fail(subject, where + ": " + className + " needs it"));
        }
        OnnxFileScan scan;
        try {
            scan = OnnxFileScan.of(file);
        } catch (IOException e) {
            return Loaded.not(Check.fail(subject, "cannot read " + c.name() + "/model.onnx: " + e.getMessage()));
        }
        long t0 = System.nanoTime();
        Graph graph;
        try {
            graph = Graph.load(file, options);
        } catch (OrtException | RuntimeException e) {
            return Loaded.not(Check.fail(subject, loadFailure(c.name(), scan, e)));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        Check loads = Check.ok(
                subject,
                String.format(
                        Locale.ROOT,
                        "loads in %.2f s on %s (%s%s)",
                        seconds,
                        options.provider(),
                        ModelFolder.MODEL_FILE + " " + bytes(scan.fileSize()),
                        externalText(scan)));
        return new Loaded(List.of(loads), graph, scan);
    }

    /** The component's {@code config.json}; empty when it is absent or unreadable (not this check's concern). */
    static JsonConfig config(Path componentDir) {
        Path f = componentDir.resolve("config.json");
        try {
            return Files.isRegularFile(f) ? JsonConfig.read(f) : JsonConfig.empty(f.toString());
        } catch (RuntimeException e) {
            return JsonConfig.empty(f.toString());
        }
    }

    private static String otherFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            List<String> names = s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
            if (names.stream().anyMatch(n -> n.endsWith(".safetensors") || n.endsWith(".bin"))) {
                return " (it holds " + names + ": PyTorch weights, not an ONNX export; export it with optimum-cli"
                        + " export onnx or tools/export/export_onnx.py)";
            }
            List<String> onnx = names.stream().filter(n -> n.endsWith(".onnx")).collect(Collectors.toList());
            if (!onnx.isEmpty()) {
                return " (it holds " + onnx + ": the engine reads model.onnx; rename it)";
            }
            return names.isEmpty() ? " (the folder is empty)" : " (it holds " + names + ")";
        } catch (IOException e) {
            return "";
        }
    }

    /** Why a graph does not load, with the common causes spelled out. */
    private static String loadFailure(String component, OnnxFileScan scan, Exception e) {
        String ort = CheckText.oneLine(e);
        List<String> external = scan.externalDataProblems();
        if (!external.isEmpty()) {
            return component + "/model.onnx keeps its weights in external data next to it, and "
                    + String.join("; ", external) + ": copy the data file(s) "
                    + scan.externalData().keySet()
                    + " along with model.onnx, in the same folder under the same name (ONNX Runtime: " + ort + ")";
        }
        if (scan.problem() != null) {
            return component + "/model.onnx is damaged: " + scan.problem() + "; download or export it again"
                    + " (ONNX Runtime: " + ort + ")";
        }
        String lower = ort.toLowerCase(Locale.ROOT);
        if (lower.contains("external") || lower.contains(".onnx_data") || lower.contains("weights.pb")) {
            return component + "/model.onnx references external data (model.onnx_data or weights.pb) that ONNX "
                    + "Runtime cannot read: keep the data file next to model.onnx under the name it was saved with"
                    + " (ONNX Runtime: " + ort + ")";
        }
        if (lower.contains("cuda")) {
            return "cannot load on " + "the CUDA provider: " + ort;
        }
        return component + "/model.onnx does not load: " + ort;
    }

    private static String externalText(OnnxFileScan scan) {
        if (scan.externalData().isEmpty()) {
            return "";
        }
        Path dir = scan.file().toAbsolutePath().getParent();
        StringBuilder b = new StringBuilder();
        for (String f : scan.externalData().keySet()) {
            try {
                b.append(" + ").append(f).append(' ').append(bytes(Files.size(dir.resolve(f))));
            } catch (IOException e) {
                b.append(" + ").append(f);
            }
        }
        return b.toString();
    }

    private static String bytes(long n) {
        if (n >= 1L << 30) {
            return String.format(Locale.ROOT, "%.2f GiB", n / (double) (1L << 30));
        }
        if (n >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", n / (double) (1L << 20));
        }
        return String.format(Locale.ROOT, "%.0f KiB", Math.ceil(n / 1024.0));
    }
}

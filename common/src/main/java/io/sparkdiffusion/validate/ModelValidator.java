package io.sparkdiffusion.validate;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.sparkdiffusion.model.ComponentContract.Component;
import io.sparkdiffusion.model.ComponentContract.Kind;
import io.sparkdiffusion.model.ComponentContract.Port;
import io.sparkdiffusion.model.ComponentContract.Special;
import io.sparkdiffusion.model.KandinskyFolders;
import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.OnnxFileScan;
import io.sparkdiffusion.model.OrtRuntime;
import io.sparkdiffusion.model.PipelineFamily;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.pipeline.CaseReplay;
import io.sparkdiffusion.pipeline.Conditioning;
import io.sparkdiffusion.pipeline.Pipeline;
import io.sparkdiffusion.pipeline.Pipelines;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.scheduler.Schedulers;
import io.sparkdiffusion.tensor.Npy;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.text.ClipTokenizer;
import io.sparkdiffusion.util.JsonConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Checks a model folder the way a user needs before a job: does every component the folder's pipeline needs exist
 * and load, do the graphs' input and output names, element types and ranks match what the engine's pipelines feed
 * and read ({@link io.sparkdiffusion.model.ComponentContract}), do the tokenizers encode CLIP ids, does {@code scheduler_config.json} build a
 * known scheduler, does the engine open the pipeline, and does it reproduce every reference case under
 * {@code cases/} (diffusers runs with recorded noise, {@link CaseReplay}) within 2e-3 on final pixels.
 *
 * <p>Each check gives one {@link Check}: {@code OK}, {@code WARN} (usable, with a caveat) or {@code FAIL} (the job
 * would fail or produce wrong pictures). Messages name the common mistakes: a legacy VAE encoder exporting
 * {@code latent_sample}, an SDXL text encoder without {@code hidden_states.*}, external weights
 * ({@code model.onnx_data}) left behind, a truncated {@code model.onnx}, float16 graphs on the CPU provider.
 *
 * <p>Works on model folders ({@code model_index.json}) and on Kandinsky 2.2 roots ({@code prior/} + {@code decoder/}).
 * Sessions are opened one component at a time and closed after their check, so peak memory is one component.
 */
public final class ModelValidator {
    /** Final pixels in [0, 1] (testdata/fixtures/README.md). */
    public static final double PIXEL_TOLERANCE = 2e-3;
    /** Embeddings and per-step latents, used to say where a failing case first diverges. */
    public static final double LATENT_TOLERANCE = 1e-3;
    /** What "a photo of a cat" encodes to with the CLIP vocabulary. */
    static final long[] CLIP_CAT_IDS = {49406, 320, 1125, 539, 320, 2368, 49407};

    static final String PROBE_TEXT = "a photo of a cat";

    public enum Status {
        OK,
        WARN,
        FAIL
    }

    /** One check: its status, what it is about (a component, {@code tokenizer}, {@code case NAME}, ...) and why. */
    public record Check(Status status, String subject, String message) {
        /** The console line: status, subject, message. */
        public String line() {
            return String.format(Locale.ROOT, "%-4s  %-26s %s", status, subject, message);
        }
    }

    /** A replayed reference case; {@code maxDiff} is NaN when the case did not run to the end. */
    public record CaseResult(String name, boolean passed, double maxDiff) {}

    /** Every check, in order, and the replayed cases. */
    public static final class Report {
        private final Path root;
        private final List<Check> checks = new ArrayList<>();
        private final List<CaseResult> cases = new ArrayList<>();

        Report(Path root) {
            this.root = root;
        }

        public Path root() {
            return root;
        }

        public List<Check> checks() {
            return List.copyOf(checks);
        }

        public List<CaseResult> cases() {
            return List.copyOf(cases);
        }

        public long count(Status s) {
            return checks.stream().filter(c -> c.status() == s).count();
        }

        /** True when no check failed. */
        public boolean passed() {
            return count(Status.FAIL) == 0;
        }

        /** The checks about one subject. */
        public List<Check> about(String subject) {
            return checks.stream().filter(c -> c.subject().equals(subject)).collect(Collectors.toList());
        }

        public String summary() {
            long passedCases = cases.stream().filter(CaseResult::passed).count();
            String c = cases.isEmpty()
                    ? "no reference cases run"
                    : passedCases + "/" + cases.size() + " reference cases reproduce diffusers";
            return String.format(
                    Locale.ROOT,
                    "summary: %d OK, %d WARN, %d FAIL; %s -> %s",
                    count(Status.OK),
                    count(Status.WARN),
                    count(Status.FAIL),
                    c,
                    passed() ? "the folder is usable" : "NOT usable: fix the FAIL lines above");
        }
    }

    private final Path root;
    private final RuntimeOptions options;
    private final Path casesDir;
    private final boolean runCases;
    private Report report;
    private Consumer<Check> listener = c -> {};
    /** Interface of each loaded component, by subject ("text_encoder", "prior/text_encoder", ...). */
    private final Map<String, Graph> graphs = new LinkedHashMap<>();

    /**
     * @param root the model folder or Kandinsky 2.2 root
     * @param casesDir where the reference cases are; null for {@code root/cases}
     * @param runCases false to skip replaying the cases
     */
    public ModelValidator(Path root, RuntimeOptions options, Path casesDir, boolean runCases) {
        this.root = root.toAbsolutePath().normalize();
        this.options = options;
        this.casesDir = casesDir;
        this.runCases = runCases;
    }

    /** Runs every check; {@code onCheck} sees each as it completes (progress on a console). */
    public Report run(Consumer<Check> onCheck) {
        this.listener = onCheck == null ? c -> {} : onCheck;
        this.report = new Report(root);
        graphs.clear();
        if (!Files.isDirectory(root)) {
            fail("model", root + " does not exist or is not a directory");
            return report;
        }
        boolean runnable;
        if (KandinskyFolders.isLayout(root)) {
            ok("layout", "Kandinsky 2.2 root: prior/ (KandinskyV22PriorPipeline) + decoder/");
            boolean priorOk = checkFolder(
                    root.resolve(KandinskyFolders.PRIOR),
                    KandinskyFolders.PRIOR + "/",
                    PipelineFamily.KANDINSKY_22_PRIOR);
            boolean decoderOk = checkFolder(
                    root.resolve(KandinskyFolders.DECODER),
                    KandinskyFolders.DECODER + "/",
                    PipelineFamily.KANDINSKY_22);
            runnable = priorOk && decoderOk;
        } else if (!Files.isRegularFile(root.resolve("model_index.json"))) {
            boolean prior = Files.isRegularFile(root.resolve("prior/model_index.json"));
            boolean decoder = Files.isRegularFile(root.resolve("decoder/model_index.json"));
            if (prior || decoder) {
                fail(
                        "layout",
                        "a Kandinsky 2.2 root needs both prior/ and decoder/ with a model_index.json each; "
                                + (prior ? "decoder/" : "prior/") + " is missing");
            } else {
                fail(
                        "layout",
                        "no model_index.json: not a diffusers/Optimum ONNX export folder (expected "
                                + "model_index.json, scheduler/, and one folder per component with model.onnx)");
            }
            return report;
        } else {
            runnable = checkFolder(root, "", null);
        }
        if (runnable && report.passed()) {
            checkGeometry();
            checkEngineOpens();
        }
        checkCases();
        return report;
    }

    // ---------------------------------------------------------------- one model folder

    /**
     * Checks one folder with a {@code model_index.json}; {@code expected} is the family a Kandinsky root half must
     * have (null: any). Returns false when the folder is not runnable as such (unknown class, a half on its own).
     */
    private boolean checkFolder(Path dir, String prefix, PipelineFamily expected) {
        JsonConfig index;
        try {
            index = JsonConfig.read(dir.resolve("model_index.json"));
        } catch (RuntimeException e) {
            fail(prefix + "model_index.json", "cannot be read: " + oneLine(e));
            return false;
        }
        String className = index.getString("_class_name", null);
        if (className == null) {
            fail(prefix + "model_index.json", "has no _class_name (the diffusers pipeline class)");
            return false;
        }
        PipelineFamily family = PipelineFamily.ofClass(className).orElse(null);
        if (family == null) {
            fail(
                    prefix + "model_index.json",
                    "pipeline class '" + className + "' is not supported by the engine; " + "supported: "
                            + String.join(", ", PipelineFamily.supportedClasses()));
            return false;
        }
        if (expected != null && family != expected) {
            fail(
                    prefix + "model_index.json",
                    "pipeline class '" + className + "' in " + prefix + " but a Kandinsky 2.2 root needs a "
                            + expected.description() + " there");
            return false;
        }
        boolean runnable = true;
        if (expected == null
                && (family == PipelineFamily.KANDINSKY_22_PRIOR || family == PipelineFamily.KANDINSKY_22)) {
            fail(
                    "layout",
                    className + " is one half of Kandinsky 2.2: the engine runs the folder holding prior/ and "
                            + "decoder/ (point --model at it)");
            runnable = false;
        } else {
            ok(
                    prefix + "model_index.json",
                    className + ": "
                            + (className.equals("LatentConsistencyModelPipeline")
                                    ? "Latent Consistency Model (text-to-image; LCM image-to-image and inpainting are not supported)"
                                    : family.description()));
        }
        for (Component c : family.components(className)) {
            checkComponent(dir, prefix, c, className);
        }
        for (String[] tok : family.tokenizers()) {
            checkTokenizer(dir, prefix, tok[0], tok[1]);
        }
        if (family == PipelineFamily.KANDINSKY_22_PRIOR) {
            checkClipStats(dir, prefix);
        }
        if (family == PipelineFamily.IMAGE_TO_VIDEO
                && !Files.isRegularFile(dir.resolve("feature_extractor/preprocessor_config.json"))) {
            warn(
                    prefix + "feature_extractor",
                    "no preprocessor_config.json: the image encoder's input is normalised "
                            + "with CLIP's default mean and std");
        }
        checkScheduler(dir, prefix);
        return runnable;
    }

    private void checkComponent(Path dir, String prefix, Component c, String className) {
        String subject = prefix + c.name();
        Path cdir = dir.resolve(c.name());
        Path file = cdir.resolve(ModelFolder.MODEL_FILE);
        if (!Files.isRegularFile(file)) {
            String where = Files.isDirectory(cdir)
                    ? c.name() + "/" + ModelFolder.MODEL_FILE + " is missing" + otherFiles(cdir)
                    : "component folder " + c.name() + "/ is missing";
            if (c.ifMissing() != null) {
                warn(subject, where + ": " + c.ifMissing());
            } else {
                fail(subject, where + ": " + className + " needs it");
            }
            return;
        }
        OnnxFileScan scan = null;
        try {
            scan = OnnxFileScan.of(file);
        } catch (IOException e) {
            fail(subject, "cannot read " + c.name() + "/model.onnx: " + e.getMessage());
            return;
        }
        long t0 = System.nanoTime();
        Graph graph;
        try {
            graph = Graph.load(file, options);
        } catch (OrtException | RuntimeException e) {
            fail(subject, loadFailure(c.name(), scan, e));
            return;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        graphs.put(subject, graph);
        ok(
                subject,
                String.format(
                        Locale.ROOT,
                        "loads in %.2f s on %s (%s%s)",
                        seconds,
                        options.provider(),
                        ModelFolder.MODEL_FILE + " " + bytes(scan.fileSize()),
                        externalText(scan)));
        checkInterface(subject, c, graph);
        checkGuidanceEmbedding(subject, cdir, c, graph);
        if (options.provider().equals("cpu")) {
            List<String> half = graph.inputs.entrySet().stream()
                    .filter(e -> e.getValue().type == OnnxJavaType.FLOAT16)
                    .map(Map.Entry::getKey)
                    .collect(Collectors.toList());
            if (!half.isEmpty() || scan.float16Initializers() > 0) {
                warn(
                        subject,
                        "float16 graph ("
                                + (half.isEmpty()
                                        ? scan.float16Initializers() + " float16 weights"
                                        : "float16 inputs " + half)
                                + ") on the CPU provider: ONNX Runtime's CPU float16 kernels are "
                                + "slow or missing (some graphs fail at run time); use --provider cuda, or an fp32 export on CPU");
            }
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
        String ort = oneLine(e);
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

    private void checkInterface(String subject, Component c, Graph g) {
        List<String> problems = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        List<String> fed = c.inputs().stream().map(Port::name).collect(Collectors.toList());
        for (Map.Entry<String, TensorInfo> in : g.inputs.entrySet()) {
            if (!fed.contains(in.getKey())) {
                problems.add("declares input '" + in.getKey() + "' " + describe(in.getValue())
                        + " which the pipeline does not feed (it feeds " + fed + ")");
            }
        }
        for (Port p : c.inputs()) {
            TensorInfo ti = g.inputs.get(p.name());
            if (ti == null) {
                if (p.required()) {
                    problems.add("has no input '" + p.name() + "' (the pipeline feeds it; inputs: " + g.inputs.keySet()
                            + ")");
                }
                continue;
            }
            checkPort("input", p, ti, problems);
        }
        for (Port p : c.outputs()) {
            TensorInfo ti = g.outputs.get(p.name());
            if (ti == null) {
                problems.add("has no output '" + p.name() + "' (the pipeline reads it; outputs: "
                        + describeAll(g.outputs) + ")");
                continue;
            }
            checkPort("output", p, ti, problems);
        }
        switch (c.special()) {
            case SDXL_TEXT_ENCODER, SDXL_TEXT_ENCODER_2 -> {
                long hidden = g.outputs.keySet().stream()
                        .filter(n -> n.startsWith("hidden_states."))
                        .count();
                if (hidden < 2) {
                    problems.add("exports no hidden_states.* outputs (outputs: " + g.outputs.keySet() + "): SDXL "
                            + "conditions on the penultimate layer, hidden_states[-2]; re-export the text encoders with"
                            + " output_hidden_states=True (optimum-cli export onnx does for SDXL; or"
                            + " tools/export/export_onnx.py)");
                } else {
                    TensorInfo pen = g.outputs.get("hidden_states." + (hidden - 2));
                    if (pen == null || pen.getShape().length != 3) {
                        problems.add("hidden_states.* outputs are not numbered 0.." + (hidden - 1) + " with rank 3");
                    }
                }
            }
            case VAE_ENCODER, VAE_ENCODER_POSTERIOR -> {
                if (g.outputs.containsKey("latent_parameters")) {
                    checkPort(
                            "output",
                            new Port("latent_parameters", Kind.FLOATS, new int[] {4}, true),
                            g.outputs.get("latent_parameters"),
                            problems);
                } else if (g.outputs.containsKey("latent_sample")) {
                    if (c.special() == Special.VAE_ENCODER_POSTERIOR) {
                        problems.add("outputs 'latent_sample' (a legacy export that samples the posterior inside the"
                                + " graph): Stable Video Diffusion conditions on the posterior mean and needs"
                                + " 'latent_parameters' (mean and log-variance); re-export the VAE encoder");
                    } else {
                        warnings.add("outputs 'latent_sample' (a legacy export that samples the posterior inside the"
                                + " graph): image-to-image and inpainting work, but their draws differ from diffusers'"
                                + " (the graph draws its own noise), so cases recorded with diffusers do not replay;"
                                + " re-export with 'latent_parameters' (optimum-cli export onnx, or"
                                + " tools/export/export_onnx.py) for parity");
                    }
                } else {
                    problems.add("has neither 'latent_parameters' nor 'latent_sample' among its outputs "
                            + describeAll(g.outputs));
                }
            }
            default -> {}
        }
        if (problems.isEmpty()) {
            ok(subject, "io " + describeAll(g.inputs) + " -> " + describeAll(g.outputs));
        } else {
            for (String p : problems) {
                fail(subject, p);
            }
        }
        for (String w : warnings) {
            warn(subject, w);
        }
    }

    /**
     * An LCM-distilled UNet ({@code time_cond_proj_dim} in its config) exported without its {@code timestep_cond}
     * input: it runs, but the graph was traced with no guidance embedding, so the guidance scale does nothing and the
     * pictures differ from diffusers'.
     */
    private void checkGuidanceEmbedding(String subject, Path componentDir, Component c, Graph g) {
        if (!c.name().equals("unet") || g.inputs.containsKey("timestep_cond")) {
            return;
        }
        JsonConfig config = config(componentDir);
        if (config.has("time_cond_proj_dim")) {
            warn(
                    subject,
                    "unet/config.json has time_cond_proj_dim " + config.getInt("time_cond_proj_dim", 0)
                            + " (an LCM-distilled UNet) but the graph has no 'timestep_cond' input: guidance_scale has no"
                            + " effect and pictures differ from diffusers'; export it again with timestep_cond"
                            + " (optimum-cli export onnx, or tools/export/export_onnx.py)");
        }
    }

    private static void checkPort(String what, Port p, TensorInfo ti, List<String> problems) {
        if (!p.kind().types().contains(ti.type)) {
            problems.add(what + " '" + p.name() + "' is " + ti.type + "; the pipeline needs "
                    + p.kind().text());
        }
        int rank = ti.getShape().length;
        if (!p.rankOk(rank)) {
            problems.add(what + " '" + p.name() + "' has rank " + rank + " " + shape(ti.getShape())
                    + "; the pipeline needs rank " + p.ranksText());
        }
    }

    private static String describe(TensorInfo ti) {
        return ti.type + shape(ti.getShape());
    }

    private static String describeAll(Map<String, TensorInfo> m) {
        return m.entrySet().stream()
                .map(e -> e.getKey() + " " + describe(e.getValue()))
                .collect(Collectors.joining(", ", "[", "]"));
    }

    private static String shape(long[] dims) {
        return Arrays.stream(dims)
                .mapToObj(d -> d < 0 ? "?" : Long.toString(d))
                .collect(Collectors.joining(",", "[", "]"));
    }

    // ---------------------------------------------------------------- tokenizer, scheduler, prior statistics

    private void checkTokenizer(Path dir, String prefix, String folder, String encoder) {
        String subject = prefix + folder;
        Path tdir = dir.resolve(folder);
        if (!Files.isDirectory(tdir)) {
            fail(
                    subject,
                    "folder " + folder + "/ is missing (tokenizer.json, or vocab.json + merges.txt, and "
                            + "tokenizer_config.json)");
            return;
        }
        try (ClipTokenizer tok = ClipTokenizer.load(tdir)) {
            long[] empty = tok.encode("");
            long bos = empty[0];
            long eos = empty[1];
            long[] ids = tok.encode(PROBE_TEXT);
            int end = -1;
            for (int i = 1; i < ids.length; i++) {
                if (ids[i] == eos) {
                    end = i;
                    break;
                }
            }
            String shown = idsText(ids, end);
            if (ids[0] != bos || end < 2) {
                fail(
                        subject,
                        "'" + PROBE_TEXT + "' -> " + shown + ": does not start with the start-of-text id " + bos
                                + " and end with the end-of-text id " + eos);
                return;
            }
            List<String> problems = new ArrayList<>();
            JsonConfig encoderConfig = config(dir.resolve(encoder));
            int vocab = encoderConfig.getInt("vocab_size", -1);
            long max = Arrays.stream(ids).max().orElse(0);
            if (vocab > 0 && max >= vocab) {
                problems.add("id " + max + " is outside " + encoder + "'s vocabulary (vocab_size " + vocab + ")");
            }
            Graph g = graphs.get(prefix + encoder);
            TensorInfo idsInfo = g == null ? null : g.inputs.get("input_ids");
            if (idsInfo != null
                    && idsInfo.getShape().length == 2
                    && idsInfo.getShape()[1] > 0
                    && idsInfo.getShape()[1] != tok.maxLength()) {
                problems.add("pads to " + tok.maxLength() + " ids but " + encoder + " takes input_ids "
                        + shape(idsInfo.getShape()) + " (tokenizer_config.json model_max_length)");
            }
            if (!problems.isEmpty()) {
                problems.forEach(p -> fail(subject, p));
                return;
            }
            boolean clip = Arrays.equals(Arrays.copyOf(ids, CLIP_CAT_IDS.length), CLIP_CAT_IDS);
            if (clip || bos != CLIP_CAT_IDS[0]) {
                ok(
                        subject,
                        "'" + PROBE_TEXT + "' -> " + shown + " (" + ids.length + " ids, pad " + ids[ids.length - 1]
                                + ")" + (clip ? "" : "; not the CLIP vocabulary"));
            } else {
                warn(
                        subject,
                        "'" + PROBE_TEXT + "' -> " + shown + ", CLIP's vocabulary gives "
                                + Arrays.toString(CLIP_CAT_IDS)
                                + ": is this the tokenizer the text encoder was trained with?");
            }
        } catch (RuntimeException e) {
            fail(subject, "does not load: " + oneLine(e));
        }
    }

    private static String idsText(long[] ids, int end) {
        int shown = Math.min(ids.length, Math.max(end + 1, 2));
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < shown; i++) {
            b.append(i == 0 ? "" : ", ").append(ids[i]);
        }
        return b.append(shown < ids.length ? ", ...]" : "]").toString();
    }

    private void checkScheduler(Path dir, String prefix) {
        String subject = prefix + "scheduler";
        Path f = dir.resolve("scheduler").resolve("scheduler_config.json");
        if (!Files.isRegularFile(f)) {
            fail(subject, "scheduler/scheduler_config.json is missing");
            return;
        }
        try {
            JsonConfig c = JsonConfig.read(f);
            Scheduler s = Schedulers.create(c);
            s.setTimesteps(4);
            StringBuilder b = new StringBuilder(c.getString("_class_name", "?"));
            List<String> details = new ArrayList<>();
            for (String key : List.of("prediction_type", "timestep_spacing", "beta_schedule", "timestep_type")) {
                if (c.has(key)) {
                    details.add(key + " " + c.getString(key, ""));
                }
            }
            if (c.getBoolean("use_karras_sigmas", false)) {
                details.add("karras sigmas");
            }
            if (!details.isEmpty()) {
                b.append(" (").append(String.join(", ", details)).append(')');
            }
            double[] ts = s.timesteps();
            b.append("; 4 steps -> timesteps ")
                    .append(Arrays.stream(ts)
                            .limit(6)
                            .mapToObj(t ->
                                    t == Math.rint(t) ? Long.toString((long) t) : String.format(Locale.ROOT, "%.1f", t))
                            .collect(Collectors.joining(", ", "[", ts.length > 6 ? ", ...]" : "]")));
            ok(subject, b.toString());
        } catch (RuntimeException e) {
            fail(
                    subject,
                    "scheduler_config.json does not build a scheduler: " + oneLine(e)
                            + " (a job can still name one with --scheduler)");
        }
    }

    private void checkClipStats(Path dir, String prefix) {
        String subject = prefix + "prior clip_mean/std";
        Path pdir = dir.resolve("prior");
        boolean mean = Files.isRegularFile(pdir.resolve("clip_mean.npy"));
        boolean std = Files.isRegularFile(pdir.resolve("clip_std.npy"));
        if (!mean && !std) {
            warn(
                    subject,
                    "prior/clip_mean.npy and clip_std.npy are absent: the prior's output is used as it is"
                            + " (right only when the prior's clip_mean is 0 and clip_std 1, as in random test models); a real"
                            + " Kandinsky 2.2 prior needs them (tools/export/export_onnx.py writes them)");
            return;
        }
        Graph prior = graphs.get(prefix + "prior");
        long dim = -1;
        if (prior != null && prior.inputs.containsKey("hidden_states")) {
            long[] s = prior.inputs.get("hidden_states").getShape();
            dim = s[s.length - 1];
        }
        dim = config(pdir).getInt("embedding_dim", (int) dim);
        List<String> problems = new ArrayList<>();
        for (String name : List.of("clip_mean.npy", "clip_std.npy")) {
            Path f = pdir.resolve(name);
            if (!Files.isRegularFile(f)) {
                problems.add(name + " is missing (the other is there)");
                continue;
            }
            try {
                Tensor t = Npy.read(f);
                if (dim > 0 && t.size() != dim) {
                    problems.add(name + " has " + t.size() + " values, the prior's embedding_dim is " + dim);
                }
            } catch (IOException | RuntimeException e) {
                problems.add(name + " cannot be read: " + oneLine(e));
            }
        }
        if (problems.isEmpty()) {
            ok(subject, "clip_mean.npy and clip_std.npy (" + dim + " values each)");
        } else {
            problems.forEach(p -> fail(subject, p));
        }
    }

    // ---------------------------------------------------------------- whole model

    private void checkGeometry() {
        try {
            ModelInfo info = ModelInfo.of(root);
            int[] size = info.defaultSize();
            ok(
                    "geometry",
                    String.format(
                            Locale.ROOT,
                            "default size %dx%d (width x height), sizes multiples of %d, %d" + " channel(s)%s",
                            size[1],
                            size[0],
                            info.sizeMultiple(),
                            info.imageChannels(),
                            info.family() == PipelineFamily.UNCONDITIONAL ? ", unconditional (no prompt)" : ""));
        } catch (RuntimeException e) {
            fail("geometry", "the component configs do not give the picture geometry: " + oneLine(e));
        }
    }

    private void checkEngineOpens() {
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
                ok(
                        "engine",
                        String.format(
                                Locale.ROOT,
                                "opens as %s for %s in %.2f s",
                                p.getClass().getSimpleName(),
                                what,
                                (System.nanoTime() - t0) / 1e9));
            }
        } catch (RuntimeException e) {
            fail("engine", "the pipeline does not open: " + oneLine(e));
        }
    }

    private void checkCases() {
        Path dir = casesDir != null ? casesDir.toAbsolutePath().normalize() : root.resolve("cases");
        if (!runCases) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            if (casesDir != null) {
                fail("cases", dir + " does not exist");
            } else {
                warn(
                        "cases",
                        "no cases/ folder: parity with diffusers is not checked; record a reference case with"
                                + " tools/export/export_onnx.py --record-case NAME (see docs/models.md)");
            }
            return;
        }
        List<Path> cases;
        try (Stream<Path> s = Files.list(dir)) {
            cases = s.filter(CaseReplay::hasCase).sorted().collect(Collectors.toList());
        } catch (IOException e) {
            fail("cases", "cannot list " + dir + ": " + e.getMessage());
            return;
        }
        if (cases.isEmpty()) {
            warn("cases", dir + " holds no case (a folder with case.json): parity with diffusers is not checked");
            return;
        }
        if (!report.passed()) {
            warn("cases", cases.size() + " reference case(s) in " + dir + " not run: fix the FAIL lines above first");
            return;
        }
        for (Path c : cases) {
            runCase(c);
        }
    }

    private void runCase(Path caseDir) {
        String name = caseDir.getFileName().toString();
        String subject = "case " + name;
        long t0 = System.nanoTime();
        try (CaseReplay replay = new CaseReplay(root, caseDir, options)) {
            List<Tensor> steps = new ArrayList<>();
            Tensor out = replay.run((i, t, latents) -> steps.add(latents.copy()));
            double seconds = (System.nanoTime() - t0) / 1e9;
            Path expectedFile = Files.isRegularFile(caseDir.resolve("frames.npy"))
                    ? caseDir.resolve("frames.npy")
                    : caseDir.resolve("image.npy");
            if (!Files.isRegularFile(expectedFile)) {
                warn(
                        subject,
                        String.format(
                                Locale.ROOT,
                                "ran in %.2f s (output %s) but the case has no image.npy or"
                                        + " frames.npy to compare with",
                                seconds,
                                shape(out.shape())));
                report.cases.add(new CaseResult(name, false, Double.NaN));
                return;
            }
            Tensor expected = Npy.read(expectedFile);
            if (!Arrays.equals(out.shape(), expected.shape())) {
                fail(
                        subject,
                        "the engine's output " + shape(out.shape()) + " does not have the shape of "
                                + expectedFile.getFileName() + " " + shape(expected.shape()));
                report.cases.add(new CaseResult(name, false, Double.NaN));
                return;
            }
            double d = Tensors.maxAbsDiff(out, expected);
            String where = String.format(
                    Locale.ROOT,
                    "%s %s, %s, %d step%s, %.2f s",
                    expectedFile.getFileName(),
                    shape(expected.shape()),
                    replay.caseJson().getString("pipeline", "?"),
                    steps.size(),
                    steps.size() == 1 ? "" : "s",
                    seconds);
            if (d <= PIXEL_TOLERANCE) {
                ok(subject, String.format(Locale.ROOT, "max |diff| %.2e <= %.0e (%s)", d, PIXEL_TOLERANCE, where));
                report.cases.add(new CaseResult(name, true, d));
            } else {
                fail(
                        subject,
                        String.format(
                                Locale.ROOT,
                                "max |diff| %.3g > %.0e (%s): the engine does not reproduce"
                                        + " diffusers on this export%s",
                                d,
                                PIXEL_TOLERANCE,
                                where,
                                divergence(replay, caseDir, steps)));
                report.cases.add(new CaseResult(name, false, d));
            }
        } catch (Exception e) {
            fail(subject, "does not replay: " + oneLine(e));
            report.cases.add(new CaseResult(name, false, Double.NaN));
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
            notes.add("prompt_embeds not compared: " + oneLine(e));
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
                notes.add("latents_step_" + i + " not compared: " + oneLine(e));
                break;
            }
        }
        return notes.isEmpty() ? "" : "; " + String.join("; ", notes);
    }

    // ---------------------------------------------------------------- helpers

    private static JsonConfig config(Path componentDir) {
        Path f = componentDir.resolve("config.json");
        try {
            return Files.isRegularFile(f) ? JsonConfig.read(f) : JsonConfig.empty(f.toString());
        } catch (RuntimeException e) {
            return JsonConfig.empty(f.toString());
        }
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

    static String oneLine(Throwable ex) {
        return io.sparkdiffusion.util.Errors.oneLine(ex, 500);
    }

    private void ok(String subject, String message) {
        add(new Check(Status.OK, subject, message));
    }

    private void warn(String subject, String message) {
        add(new Check(Status.WARN, subject, message));
    }

    private void fail(String subject, String message) {
        add(new Check(Status.FAIL, subject, message));
    }

    private void add(Check c) {
        report.checks.add(c);
        listener.accept(c);
    }

    /** A loaded graph's declared inputs and outputs; the session is closed right after reading them. */
    private static final class Graph {
        final Map<String, TensorInfo> inputs = new LinkedHashMap<>();
        final Map<String, TensorInfo> outputs = new LinkedHashMap<>();

        static Graph load(Path file, RuntimeOptions options) throws OrtException {
            Graph g = new Graph();
            try (OrtSession.SessionOptions so = options.toSessionOptions();
                    OrtSession s = OrtRuntime.environment().createSession(file.toString(), so)) {
                for (Map.Entry<String, NodeInfo> e : s.getInputInfo().entrySet()) {
                    g.inputs.put(e.getKey(), tensor(e.getValue()));
                }
                for (Map.Entry<String, NodeInfo> e : s.getOutputInfo().entrySet()) {
                    g.outputs.put(e.getKey(), tensor(e.getValue()));
                }
            }
            return g;
        }

        private static TensorInfo tensor(NodeInfo n) {
            if (!(n.getInfo() instanceof TensorInfo ti)) {
                throw new IllegalStateException("'" + n.getName() + "' is not a tensor (" + n.getInfo() + ")");
            }
            return ti;
        }
    }
}

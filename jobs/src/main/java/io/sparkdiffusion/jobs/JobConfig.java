package io.sparkdiffusion.jobs;

import io.sparkdiffusion.model.RuntimeOptions;
import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The generation job's settings: a commented YAML file (see {@code conf/spark-diffusion.yaml}) flattened to dotted
 * keys, then command-line overrides. Every key is known and checked; a bad value fails with its key and value.
 */
public final class JobConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * Every accepted key with its default (null: none). Keys under {@link #OPEN_PREFIXES} are named by the user:
     * Hadoop settings, reader options, template slots.
     */
    static final Map<String, Object> DEFAULTS = new LinkedHashMap<>();

    static {
        DEFAULTS.put("model", null);
        DEFAULTS.put("mode", "txt2img");
        DEFAULTS.put("input", null);
        DEFAULTS.put("input_format", "parquet");
        DEFAULTS.put("input_table", null);
        DEFAULTS.put("templates.prompt", null);
        DEFAULTS.put("output", null);
        DEFAULTS.put("output_format", "files");
        DEFAULTS.put("output.target_file_mb", 256);
        DEFAULTS.put("output.commit_every_rows", 16);
        DEFAULTS.put("output.commit_every_seconds", 30);
        DEFAULTS.put("partitions", 0);
        DEFAULTS.put("batch_size", 4);
        DEFAULTS.put("master", null);
        DEFAULTS.put("resume", false);
        DEFAULTS.put("overwrite", false);
        DEFAULTS.put("max_error_fraction", 0.1);
        DEFAULTS.put("defaults.num_inference_steps", 20);
        DEFAULTS.put("defaults.guidance_scale", 7.5);
        DEFAULTS.put("defaults.width", null);
        DEFAULTS.put("defaults.height", null);
        DEFAULTS.put("defaults.scheduler", null);
        DEFAULTS.put("defaults.negative_prompt", null);
        DEFAULTS.put("defaults.prompt", null);
        DEFAULTS.put("defaults.strength", null);
        DEFAULTS.put("images.max_side", 1024);
        DEFAULTS.put("images.max_pixels", 64L * 1024 * 1024);
        DEFAULTS.put("images.max_file_bytes", 64L * 1024 * 1024);
        DEFAULTS.put("images.allowed_roots", null);
        DEFAULTS.put("inpaint.keep_unmasked", true);
        DEFAULTS.put("video.num_frames", null);
        DEFAULTS.put("video.fps", 8);
        DEFAULTS.put("video.motion_bucket_id", 127);
        DEFAULTS.put("video.noise_aug_strength", 0.02);
        DEFAULTS.put("video.decode_chunk_size", null);
        DEFAULTS.put("video.format", "mp4");
        DEFAULTS.put("limits.max_frames", 64);
        DEFAULTS.put("archive.images", null);
        DEFAULTS.put("archive.masks", null);
        DEFAULTS.put("limits.max_steps", 200);
        DEFAULTS.put("limits.max_images_per_prompt", 64);
        DEFAULTS.put("limits.max_pixels", 2048L * 2048);
        DEFAULTS.put("grid.seeds", null);
        DEFAULTS.put("grid.guidance_scales", null);
        DEFAULTS.put("runtime.provider", "auto");
        DEFAULTS.put("runtime.fallback_to_cpu", false);
        DEFAULTS.put("runtime.intra_op_threads", 0);
        DEFAULTS.put("runtime.inter_op_threads", 0);
        DEFAULTS.put("runtime.optimization", "all");
        DEFAULTS.put("runtime.local_model_dir", null);
        DEFAULTS.put("quality.safety_checker", "off");
        DEFAULTS.put("quality.flagged", "keep");
        DEFAULTS.put("quality.clip_scorer", null);
        DEFAULTS.put("quality.classifier", null);
        DEFAULTS.put("quality.expected_label", null);
        DEFAULTS.put("quality.filters", null);
        DEFAULTS.put("quality.best_of.keep", null);
        DEFAULTS.put("quality.best_of.by", null);
        // memory, spinning and CUDA provider settings: null keeps RuntimeOptions' default (documented there)
        for (String key : RuntimeOptions.KEYS) {
            DEFAULTS.putIfAbsent("runtime." + key, null);
        }
        DEFAULTS.remove("runtime.device_id"); // the executor's GPU address decides
        DEFAULTS.put("contact_sheet.max_images", 500);
        DEFAULTS.put("contact_sheet.max_errors", 500);
        DEFAULTS.put("progress.log_interval_seconds", 10);
    }

    /** Key prefixes whose keys the user names; in YAML, mappings whose keys keep their dots. */
    static final List<String> OPEN_PREFIXES = List.of("hadoop.", "input_options.", PromptTemplates.SLOTS_PREFIX);

    private final Map<String, String> values;
    /** Paths resolved and checked before Spark ran anything ({@link JobPreflight}). */
    private final boolean prepared;

    private JobConfig(Map<String, String> values, boolean prepared) {
        this.values = values;
        this.prepared = prepared;
    }

    /** This configuration with some values replaced (resolved paths), validated again. */
    JobConfig with(Map<String, String> changes, boolean preparedNow) {
        Map<String, String> v = new TreeMap<>(values);
        v.putAll(changes);
        JobConfig c = new JobConfig(v, preparedNow);
        c.validate();
        return c;
    }

    boolean prepared() {
        return prepared;
    }

    /** Defaults, then the YAML file (if any), then overrides ({@code key=value}, dotted keys). */
    public static JobConfig load(Path yamlFile, Map<String, String> overrides) {
        Map<String, String> v = new TreeMap<>();
        if (yamlFile != null) {
            v.putAll(readYaml(yamlFile));
        }
        v.putAll(overrides);
        for (String key : v.keySet()) {
            if (!DEFAULTS.containsKey(key) && OPEN_PREFIXES.stream().noneMatch(key::startsWith)) {
                throw new IllegalArgumentException("unknown configuration key '" + key + "'"
                        + (yamlFile != null ? " (in " + yamlFile + " or the command line)" : "") + "; known keys: "
                        + String.join(", ", DEFAULTS.keySet()) + ", " + String.join("*, ", OPEN_PREFIXES) + "*");
            }
        }
        JobConfig c = new JobConfig(v, false);
        c.validate();
        return c;
    }

    static Map<String, String> readYaml(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("configuration file " + file + " does not exist");
        }
        try (Reader r = Files.newBufferedReader(file)) {
            Object root = new Yaml(new SafeConstructor(new LoaderOptions())).load(r);
            Map<String, String> flat = new TreeMap<>();
            if (root != null) {
                if (!(root instanceof Map<?, ?> m)) {
                    throw new IllegalArgumentException(file + ": the top level must be a mapping of keys");
                }
                flatten("", m, flat);
            }
            return flat;
        } catch (IOException | org.yaml.snakeyaml.error.YAMLException e) {
            throw new IllegalArgumentException("cannot read configuration " + file + ": " + e.getMessage(), e);
        }
    }

    private static void flatten(String prefix, Map<?, ?> m, Map<String, String> out) {
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String key = prefix + e.getKey();
            Object v = e.getValue();
            // a key with dots (hadoop's fs.s3a.endpoint) and nested mappings both give dotted names
            if (v instanceof Map<?, ?> sub) {
                flatten(key + ".", sub, out);
            } else if (v instanceof List<?> list) {
                out.put(key, listValue(list));
            } else if (v != null) {
                out.put(key, String.valueOf(v));
            }
        }
    }

    /**
     * A YAML list as one value: comma-separated, or a JSON array when an item holds a comma or is empty (template
     * slot values such as "red, shiny"), which {@link #list} reads back.
     */
    private static String listValue(List<?> list) {
        List<String> parts = new ArrayList<>();
        list.forEach(x -> parts.add(String.valueOf(x)));
        if (parts.stream().noneMatch(p -> p.contains(",") || p.isBlank())) {
            return String.join(",", parts);
        }
        try {
            return io.sparkdiffusion.util.JsonConfig.mapper().writeValueAsString(parts);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private void validate() {
        inputFormat();
        inputOptions();
        if (get("input_table") != null && (get("input") != null || archiveImages() != null)) {
            throw new IllegalArgumentException("input_table excludes "
                    + (get("input") != null ? "input" : "archive.images")
                    + ": the job reads either a table of the session's catalog or files; set one of them");
        }
        templates();
        outputFormat();
        if (!(getDouble("output.target_file_mb") > 0)) {
            throw bad("output.target_file_mb", "a positive number of megabytes");
        }
        positive("output.commit_every_rows");
        positive("output.commit_every_seconds");
        mode();
        positive("images.max_side");
        positiveLong("images.max_pixels");
        positiveLong("limits.max_pixels");
        positiveLong("images.max_file_bytes");
        getBoolean("inpaint.keep_unmasked");
        positive("video.fps");
        positive("limits.max_frames");
        optionalPositive("video.num_frames");
        optionalPositive("video.decode_chunk_size");
        videoFormat();
        if (get("defaults.strength") != null) {
            double st = getDouble("defaults.strength");
            if (!(st > 0 && st <= 1)) {
                throw bad("defaults.strength", "a number in (0, 1]");
            }
        }
        if (get("archive.masks") != null && get("archive.images") == null) {
            throw new IllegalArgumentException("archive.masks needs archive.images (the folder of pictures)");
        }
        positive("batch_size");
        nonNegative("partitions");
        double f = getDouble("max_error_fraction");
        if (!(f >= 0 && f <= 1)) {
            throw bad("max_error_fraction", "a number between 0 and 1");
        }
        positive("defaults.num_inference_steps");
        positive("limits.max_steps");
        positive("limits.max_images_per_prompt");
        if (!Double.isFinite(getDouble("defaults.guidance_scale"))) {
            throw bad("defaults.guidance_scale", "a finite number");
        }
        optionalPositive("defaults.width");
        optionalPositive("defaults.height");
        gridSeeds();
        gridGuidance();
        String p = provider();
        if (!List.of("auto", "cpu", "cuda").contains(p)) {
            throw bad("runtime.provider", "auto, cpu or cuda");
        }
        getBoolean("runtime.fallback_to_cpu");
        getBoolean("resume");
        getBoolean("overwrite");
        if (resume() && overwrite()) {
            throw new IllegalArgumentException("resume and overwrite exclude each other: pick one");
        }
        nonNegative("runtime.intra_op_threads");
        nonNegative("runtime.inter_op_threads");
        runtimeOptions();
        nonNegative("contact_sheet.max_images");
        nonNegative("contact_sheet.max_errors");
        positive("progress.log_interval_seconds");
        quality();
    }

    IllegalArgumentException bad(String key, String expected) {
        return new IllegalArgumentException("configuration key '" + key + "' must be " + expected + ", got '"
                + Redaction.value(key, values.get(key)) + "'");
    }

    String get(String key) {
        if (values.containsKey(key)) {
            String v = values.get(key);
            return v == null || v.isEmpty() || v.equals("null") ? null : v;
        }
        Object d = DEFAULTS.get(key);
        return d == null ? null : String.valueOf(d);
    }

    String require(String key) {
        String v = get(key);
        if (v == null) {
            throw new IllegalArgumentException("configuration key '" + key
                    + "' is required (set it in the file or with --" + key.replace('_', '-') + ")");
        }
        return v;
    }

    int getInt(String key) {
        String v = get(key);
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException | NullPointerException e) {
            throw bad(key, "an integer");
        }
    }

    long getLong(String key) {
        try {
            return Long.parseLong(get(key).trim());
        } catch (NumberFormatException | NullPointerException e) {
            throw bad(key, "an integer");
        }
    }

    Integer getOptionalInt(String key) {
        return get(key) == null ? null : getInt(key);
    }

    double getDouble(String key) {
        try {
            return Double.parseDouble(get(key).trim());
        } catch (NumberFormatException | NullPointerException e) {
            throw bad(key, "a number");
        }
    }

    boolean getBoolean(String key) {
        String v = get(key);
        if ("true".equalsIgnoreCase(v)) {
            return true;
        }
        if ("false".equalsIgnoreCase(v)) {
            return false;
        }
        throw bad(key, "true or false");
    }

    private void positive(String key) {
        if (getInt(key) <= 0) {
            throw bad(key, "a positive integer");
        }
    }

    private void positiveLong(String key) {
        if (getLong(key) <= 0) {
            throw bad(key, "a positive integer");
        }
    }

    private void nonNegative(String key) {
        if (getInt(key) < 0) {
            throw bad(key, "an integer >= 0");
        }
    }

    private void optionalPositive(String key) {
        if (get(key) != null && getInt(key) <= 0) {
            throw bad(key, "a positive integer");
        }
    }

    public String model() {
        return require("model");
    }

    public String input() {
        return archiveImages() != null ? archiveImages() : require("input");
    }

    /** txt2img (also unconditional models), img2img (also Kandinsky sketch-to-image) or inpaint. */
    public String mode() {
        String m = get("mode").toLowerCase(Locale.ROOT);
        if (!List.of("txt2img", "img2img", "inpaint", "video").contains(m)) {
            throw bad("mode", "txt2img, img2img, inpaint or video");
        }
        return m;
    }

    /** Archive mode: a folder of pictures instead of a table (ids are their relative paths). */
    public String archiveImages() {
        return get("archive.images");
    }

    /** Archive mode, inpainting: the parallel folder of masks with the same relative paths. */
    public String archiveMasks() {
        return get("archive.masks");
    }

    /** mp4 (H.264), gif or png-frames. */
    public io.sparkdiffusion.video.VideoFormat videoFormat() {
        try {
            return io.sparkdiffusion.video.VideoFormat.fromName(get("video.format"));
        } catch (IllegalArgumentException e) {
            throw bad("video.format", io.sparkdiffusion.video.VideoFormat.names());
        }
    }

    public Integer decodeChunkSize() {
        return getOptionalInt("video.decode_chunk_size");
    }

    public boolean keepUnmasked() {
        return getBoolean("inpaint.keep_unmasked");
    }

    public io.sparkdiffusion.image.ImageDecoder.Limits imageLimits() {
        return new io.sparkdiffusion.image.ImageDecoder.Limits(getLong("images.max_pixels"), 8);
    }

    public long maxFileBytes() {
        return getLong("images.max_file_bytes");
    }

    /** {@code images.allowed_roots}: the folders image and mask paths may come from; empty when not set. */
    public List<String> allowedRoots() {
        return list("images.allowed_roots");
    }

    public long maxPixels() {
        return getLong("limits.max_pixels");
    }

    /** A list setting: comma-separated values (blank ones dropped), or a JSON array of strings. */
    List<String> list(String key) {
        String v = get(key);
        List<String> out = new ArrayList<>();
        if (v != null && v.strip().startsWith("[") && v.strip().endsWith("]")) {
            try {
                for (var item : io.sparkdiffusion.util.JsonConfig.mapper().readTree(v)) {
                    if (!item.isValueNode()) {
                        throw bad(key, "a list: comma-separated values or a JSON array of strings");
                    }
                    out.add(item.asText());
                }
                return out;
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw bad(key, "a list: comma-separated values or a JSON array of strings");
            }
        }
        if (v != null) {
            for (String part : v.split(",", -1)) {
                if (!part.isBlank()) {
                    out.add(part.trim());
                }
            }
        }
        return out;
    }

    public int maxImageSide() {
        return getInt("images.max_side");
    }

    public String output() {
        return require("output");
    }

    /**
     * The Spark data source that reads {@code input}: a short name ({@code parquet}, {@code orc}, {@code delta}, ...;
     * {@code jsonl} is {@code json}) or a class name. Whether it is on the class path is checked before Spark starts
     * ({@link JobInput#checkSource}).
     */
    public String inputFormat() {
        String f = get("input_format").strip();
        if (!f.matches("[A-Za-z][A-Za-z0-9_.$-]*")) {
            throw bad("input_format", "a Spark data source name such as parquet, json, csv, orc or delta");
        }
        if (!f.contains(".")) {
            f = f.toLowerCase(Locale.ROOT); // short names are case-insensitive, class names are not
        }
        return f.equals("jsonl") ? "json" : f;
    }

    /** Reader options ({@code input_options.*}), e.g. {@code header}, {@code mergeSchema}, {@code versionAsOf}. */
    public Map<String, String> inputOptions() {
        return withPrefix("input_options.");
    }

    /** {@code input_table}: a table of the session's catalog ({@code db.table}, {@code catalog.db.table}). */
    public String inputTable() {
        return get("input_table");
    }

    /**
     * The prompt templates ({@code templates.prompt}, {@code templates.slots.*}); {@link PromptTemplates#NONE}
     * when not set. Standalone (the templates are the whole input) when there is no input, table or archive.
     */
    public PromptTemplates templates() {
        Map<String, List<String>> lists = new LinkedHashMap<>();
        for (String key : values.keySet()) {
            if (key.startsWith(PromptTemplates.SLOTS_PREFIX) && get(key) != null) {
                lists.put(key.substring(PromptTemplates.SLOTS_PREFIX.length()), list(key));
            }
        }
        boolean standalone = get("input") == null && inputTable() == null && archiveImages() == null;
        return PromptTemplates.of(get(PromptTemplates.PROMPT_KEY), lists, standalone);
    }

    /** What the job reads, for logs, the contact sheet and the manifest (credentials in URIs masked). */
    public String inputLabel() {
        if (archiveImages() != null || get("input") != null) {
            return Redaction.uri(input());
        }
        if (inputTable() != null) {
            return "table " + inputTable();
        }
        if (templates().standalone()) {
            return "templates: " + get(PromptTemplates.PROMPT_KEY);
        }
        throw new IllegalArgumentException("configuration key 'input' is required (set it in the file or with --input;"
                + " or input_table for a table of the catalog, or templates.prompt alone for a synthetic dataset)");
    }

    /** Where the pictures go: files, a Parquet table, or WebDataset shards. */
    OutputFormat outputFormat() {
        try {
            return OutputFormat.fromName(get("output_format"));
        } catch (IllegalArgumentException e) {
            throw bad("output_format", OutputFormat.names());
        }
    }

    /** The size a Parquet file or a WebDataset shard aims at. */
    long outputTargetBytes() {
        return Math.max(1, (long) (getDouble("output.target_file_mb") * 1024 * 1024));
    }

    /** When a task commits its finished rows as a record fragment (and always when it ends). */
    RecordFragments.Policy commitPolicy() {
        return new RecordFragments.Policy(
                getInt("output.commit_every_rows"),
                RecordFragments.Policy.EVERY_BYTES,
                getInt("output.commit_every_seconds"));
    }

    public int partitions() {
        return getInt("partitions");
    }

    public int batchSize() {
        return getInt("batch_size");
    }

    public String master() {
        return get("master");
    }

    public boolean resume() {
        return getBoolean("resume");
    }

    public boolean overwrite() {
        return getBoolean("overwrite");
    }

    public double maxErrorFraction() {
        return getDouble("max_error_fraction");
    }

    public int contactSheetMaxImages() {
        return getInt("contact_sheet.max_images");
    }

    /** Rejected rows and failed images listed in index.html (the first ones by id). */
    public int contactSheetMaxErrors() {
        return getInt("contact_sheet.max_errors");
    }

    public int progressIntervalSeconds() {
        return getInt("progress.log_interval_seconds");
    }

    public String provider() {
        return get("runtime.provider").toLowerCase(Locale.ROOT);
    }

    public boolean fallbackToCpu() {
        return getBoolean("runtime.fallback_to_cpu");
    }

    public String localModelDir() {
        String d = get("runtime.local_model_dir");
        return d != null
                ? d
                : Path.of(System.getProperty("java.io.tmpdir"), "spark-diffusion-models")
                        .toString();
    }

    /** ONNX Runtime settings on CPU; the executor switches the provider to CUDA on its GPU. */
    public RuntimeOptions runtimeOptions() {
        Map<String, String> m = new TreeMap<>();
        for (String key : RuntimeOptions.KEYS) {
            String v = get("runtime." + key);
            if (v != null && !key.equals("provider")) {
                m.put(key, v);
            }
        }
        try {
            return RuntimeOptions.fromMap(m);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("runtime settings: " + e.getMessage(), e);
        }
    }

    /** The {@code quality.*} settings: scorers, flagged pictures, filters, best of n. */
    public QualityConfig quality() {
        return QualityConfig.read(this);
    }

    /** The per-row defaults and limits used to validate rows. */
    public RowRules.Defaults rowDefaults() {
        return new RowRules.Defaults(
                getInt("defaults.num_inference_steps"),
                getDouble("defaults.guidance_scale"),
                getOptionalInt("defaults.width"),
                getOptionalInt("defaults.height"),
                get("defaults.scheduler"),
                get("defaults.negative_prompt"),
                getInt("limits.max_steps"),
                getInt("limits.max_images_per_prompt"),
                gridSeeds(),
                gridGuidance(),
                get("defaults.prompt"),
                get("defaults.strength") == null ? null : getDouble("defaults.strength"),
                mode(),
                archiveImages() != null,
                getOptionalInt("video.num_frames"),
                getInt("video.fps"),
                getInt("video.motion_bucket_id"),
                getDouble("video.noise_aug_strength"),
                getInt("limits.max_frames"),
                maxPixels());
    }

    long[] gridSeeds() {
        List<Long> out = new ArrayList<>();
        try {
            for (String p : list("grid.seeds")) {
                if (p.contains("..")) {
                    long from = Long.parseLong(p.substring(0, p.indexOf("..")).trim());
                    long to = Long.parseLong(p.substring(p.indexOf("..") + 2).trim());
                    if (to < from || to - from > 100_000) {
                        throw bad("grid.seeds", "seeds or ranges FROM..TO (at most 100000 per range)");
                    }
                    for (long s = from; s <= to; s++) {
                        out.add(s);
                    }
                } else {
                    out.add(Long.parseLong(p));
                }
            }
        } catch (NumberFormatException e) {
            throw bad("grid.seeds", "a list of integer seeds or ranges FROM..TO");
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    double[] gridGuidance() {
        List<Double> out = new ArrayList<>();
        for (String part : list("grid.guidance_scales")) {
            try {
                double g = Double.parseDouble(part);
                if (!Double.isFinite(g)) {
                    throw new NumberFormatException();
                }
                out.add(g);
            } catch (NumberFormatException e) {
                throw bad("grid.guidance_scales", "a list of finite numbers");
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Hadoop settings from {@code hadoop.*} keys (e.g. {@code hadoop.fs.s3a.endpoint}). */
    public Map<String, String> hadoopSettings() {
        return withPrefix("hadoop.");
    }

    /** The keys under {@code prefix} (one of {@link #OPEN_PREFIXES}), without it. */
    private Map<String, String> withPrefix(String prefix) {
        Map<String, String> out = new TreeMap<>();
        values.forEach((k, v) -> {
            if (k.startsWith(prefix) && v != null) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }

    /** The settings as text for logs, with anything that looks like a credential masked. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        Map<String, String> all = new TreeMap<>();
        DEFAULTS.keySet().forEach(k -> all.put(k, get(k)));
        values.forEach((k, v) -> all.put(k, v));
        all.forEach((k, v) -> sb.append("  ")
                .append(k)
                .append(" = ")
                .append(Redaction.value(k, v))
                .append('\n'));
        return sb.toString();
    }
}

package io.sparkdiffusion.model;

import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model in the Optimum ONNX folder layout: {@code model_index.json} (its {@code _class_name} picks the pipeline),
 * {@code scheduler/scheduler_config.json}, and one sub-folder per component ({@code text_encoder}, {@code unet},
 * {@code vae_decoder}, ...) holding {@code model.onnx}, optional external weights ({@code model.onnx_data} or
 * {@code weights.pb}, found by ONNX Runtime next to the graph) and a {@code config.json}.
 *
 * <p>Sessions are opened lazily, once per component, and reused for every call until {@link #close}.
 */
public final class ModelFolder implements AutoCloseable {
    public static final String MODEL_FILE = "model.onnx";

    private final Path root;
    private final JsonConfig modelIndex;
    private final RuntimeOptions options;
    private final Map<String, OnnxModel> sessions = new LinkedHashMap<>();

    public ModelFolder(Path root, RuntimeOptions options) {
        this.root = root.toAbsolutePath().normalize();
        this.options = options;
        if (!Files.isDirectory(this.root)) {
            throw new ModelLoadException("model folder " + this.root + " does not exist or is not a directory");
        }
        Path index = this.root.resolve("model_index.json");
        if (!Files.isRegularFile(index)) {
            throw new ModelLoadException(
                    "model folder " + this.root + " has no model_index.json: not a diffusers/Optimum ONNX export");
        }
        this.modelIndex = JsonConfig.read(index);
    }

    public static ModelFolder open(Path root) {
        return new ModelFolder(root, RuntimeOptions.DEFAULT);
    }

    public Path root() {
        return root;
    }

    public String name() {
        return root.getFileName().toString();
    }

    public JsonConfig modelIndex() {
        return modelIndex;
    }

    public RuntimeOptions options() {
        return options;
    }

    /** The diffusers pipeline class, e.g. {@code StableDiffusionPipeline}. */
    public String pipelineClass() {
        String c = modelIndex.getString("_class_name", null);
        if (c == null) {
            throw new ModelLoadException(root.resolve("model_index.json") + " has no _class_name");
        }
        return c;
    }

    /** True when the component's folder has a {@code model.onnx}. */
    public boolean hasComponent(String component) {
        return Files.isRegularFile(root.resolve(component).resolve(MODEL_FILE));
    }

    public Path componentDir(String component) {
        return root.resolve(component);
    }

    /** The component's {@code config.json}, or an empty config when it has none. */
    public JsonConfig componentConfig(String component) {
        Path f = root.resolve(component).resolve("config.json");
        return Files.isRegularFile(f) ? JsonConfig.read(f) : JsonConfig.empty(f.toString());
    }

    public JsonConfig schedulerConfig() {
        Path f = root.resolve("scheduler").resolve("scheduler_config.json");
        if (!Files.isRegularFile(f)) {
            throw new ModelLoadException("model folder " + root + ": missing scheduler/scheduler_config.json");
        }
        return JsonConfig.read(f);
    }

    /** The component's session, opened on first use. */
    public synchronized OnnxModel session(String component) {
        OnnxModel m = sessions.get(component);
        if (m == null) {
            Path dir = root.resolve(component);
            Path file = dir.resolve(MODEL_FILE);
            if (!Files.isDirectory(dir)) {
                throw new ModelLoadException(
                        "model folder " + root + ": component folder '" + component + "/' is missing");
            }
            if (!Files.isRegularFile(file)) {
                throw new ModelLoadException(
                        "model folder " + root + ": " + component + "/" + MODEL_FILE + " is missing");
            }
            if (!Files.isReadable(file)) {
                throw new ModelLoadException(
                        "model folder " + root + ": " + component + "/" + MODEL_FILE + " is not readable");
            }
            m = new OnnxModel(component, file, options);
            sessions.put(component, m);
        }
        return m;
    }

    /** Sessions opened so far, by component. */
    public synchronized Map<String, OnnxModel> openSessions() {
        return Map.copyOf(sessions);
    }

    @Override
    public synchronized void close() {
        sessions.values().forEach(OnnxModel::close);
        sessions.clear();
    }
}

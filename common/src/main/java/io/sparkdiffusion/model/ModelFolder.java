package io.sparkdiffusion.model;

import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A model in the Optimum ONNX folder layout: {@code model_index.json} (its {@code _class_name} picks the pipeline),
 * {@code scheduler/scheduler_config.json}, and one sub-folder per component ({@code text_encoder}, {@code unet},
 * {@code vae_decoder}, ...) holding {@code model.onnx}, optional external weights ({@code model.onnx_data} or
 * {@code weights.pb}, found by ONNX Runtime next to the graph) and a {@code config.json}.
 *
 * <p>Sessions are opened once per component, on first use or ahead of it in the background ({@link #prefetch}), and
 * reused for every call until {@link #close}.
 */
public final class ModelFolder implements AutoCloseable {
    public static final String MODEL_FILE = "model.onnx";

    private final Path root;
    private final JsonConfig modelIndex;
    private final RuntimeOptions options;
    private final Map<String, OnnxModel> sessions = new LinkedHashMap<>();
    /** Sessions being opened in the background, by component. */
    private final Map<String, CompletableFuture<OnnxModel>> opening = new LinkedHashMap<>();

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

    /**
     * Starts opening the sessions of {@code components} in the background, one thread each, so that they load in
     * parallel with each other and with the caller's own loading (tokenizers); {@link #session} then waits for them.
     * A component that is already open, being opened, or has no {@code model.onnx} is left to {@link #session}.
     */
    public synchronized void prefetch(Collection<String> components) {
        for (String component : components) {
            if (!sessions.containsKey(component) && !opening.containsKey(component) && hasComponent(component)) {
                CompletableFuture<OnnxModel> f = new CompletableFuture<>();
                Thread t = new Thread(
                        () -> {
                            try {
                                f.complete(openSession(component));
                            } catch (RuntimeException | Error e) {
                                f.completeExceptionally(e);
                            }
                        },
                        "spark-diffusion-open-" + component);
                t.setDaemon(true);
                opening.put(component, f);
                t.start();
            }
        }
    }

    /** The component's session, opened on first use (or waited for, when {@link #prefetch} started it). */
    public OnnxModel session(String component) {
        CompletableFuture<OnnxModel> pending;
        synchronized (this) {
            OnnxModel m = sessions.get(component);
            if (m != null) {
                return m;
            }
            pending = opening.get(component);
            if (pending == null) {
                m = openSession(component);
                sessions.put(component, m);
                return m;
            }
        }
        OnnxModel m = await(pending);
        synchronized (this) {
            opening.remove(component);
            sessions.putIfAbsent(component, m);
            return sessions.get(component);
        }
    }

    private static OnnxModel await(CompletableFuture<OnnxModel> pending) {
        try {
            return pending.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    private OnnxModel openSession(String component) {
        Path dir = root.resolve(component);
        Path file = dir.resolve(MODEL_FILE);
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException("model folder " + root + ": component folder '" + component + "/' is missing");
        }
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("model folder " + root + ": " + component + "/" + MODEL_FILE + " is missing");
        }
        if (!Files.isReadable(file)) {
            throw new ModelLoadException(
                    "model folder " + root + ": " + component + "/" + MODEL_FILE + " is not readable");
        }
        return new OnnxModel(component, file, options);
    }

    /** Sessions opened so far, by component. */
    public synchronized Map<String, OnnxModel> openSessions() {
        return Map.copyOf(sessions);
    }

    @Override
    public void close() {
        List<CompletableFuture<OnnxModel>> pending;
        synchronized (this) {
            pending = new ArrayList<>(opening.values());
            opening.clear();
        }
        for (CompletableFuture<OnnxModel> f : pending) {
            // a session still opening in the background is closed once it is open
            try {
                f.join().close();
            } catch (CompletionException e) {
                // it failed to open: nothing to close
            }
        }
        synchronized (this) {
            sessions.values().forEach(OnnxModel::close);
            sessions.clear();
        }
    }
}

package io.sparkdiffusion.model;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * ONNX Runtime session settings, from configuration: threads, graph optimisation level, execution provider, memory
 * and spinning, and the CUDA provider's options. The keys of {@link #fromMap} are the job's {@code runtime.*} keys
 * and the CLI's {@code --runtime KEY=VALUE}; the defaults are ONNX Runtime's own, except where measured otherwise
 * (docs/performance.md).
 *
 * @param intraOpThreads threads inside one operator; 0 lets ONNX Runtime choose (all cores)
 * @param interOpThreads threads across independent operators; 0 lets ONNX Runtime choose
 * @param optimization {@code none}, {@code basic}, {@code extended} or {@code all}
 * @param provider {@code cpu} or {@code cuda}
 * @param deviceId the CUDA device ordinal (ignored on CPU)
 * @param memoryPattern {@code memory_pattern}: plan each run's buffers from the previous run's shapes (true, ONNX
 *     Runtime's default) or allocate per tensor (false, a lower peak); null ({@code auto}, the default) chooses by
 *     the size of each component ({@link #memoryPatternFor})
 * @param cpuArena {@code cpu_arena}: keep freed CPU memory in ONNX Runtime's arena for the next run (default true);
 *     false returns it to the system allocator
 * @param spinning {@code spinning}: idle intra-op threads spin for a while before sleeping (true, ONNX Runtime's
 *     default), or sleep at once (false, the default here). An executor's cores are shared by concurrent tasks and
 *     by the Java side between runs; on 2 cores, spinning off made sd-tiny's batches of 2-8 9-21 % faster and batch
 *     1 between 9 % slower and 7 % faster with the machine's load, and full-size SD-Turbo's UNet and VAE decoder
 *     about 2 % slower (docs/performance.md). With one thread per task, the job's default, no thread spins
 * @param rowsPerRun {@code rows_per_run}: at most this many rows of a batch go through the UNet (and the VAE decoder)
 *     in one ONNX Runtime call, the batch being run in consecutive slices; 0 (default) chooses ({@link
 *     #rowsPerRun(long)}): the whole batch on CUDA, and on CPU as many rows as keep a call's activations within
 *     {@link #CPU_RUN_ACTIVATION_BUDGET}, at least one
 * @param cuda the CUDA provider's options (used with {@code provider cuda} only)
 * @param graphCache {@code graph_cache}: keep ONNX Runtime's optimised graph of each component in a per-user cache
 *     and open it from there next time (CPU only; default false). Opening a full-size UNet goes from its optimisation
 *     time to the time of reading its weights; the cache holds a copy of the weights (see {@link GraphCache})
 * @param graphCacheDir {@code graph_cache_dir}: the cache folder; null (default) for {@code $XDG_CACHE_HOME} or
 *     {@code ~/.cache}, then {@code spark-diffusion/onnx-graphs}. It must be this user's and private to it
 */
public record RuntimeOptions(
        int intraOpThreads,
        int interOpThreads,
        String optimization,
        String provider,
        int deviceId,
        Boolean memoryPattern,
        boolean cpuArena,
        boolean spinning,
        int rowsPerRun,
        Cuda cuda,
        boolean graphCache,
        String graphCacheDir)
        implements Serializable {

    /**
     * With {@code memory_pattern: auto}, the memory pattern is kept for a component of at most this many bytes
     * ({@code model.onnx} and its external data) and turned off above it. Full-size SD-Turbo on CPU peaked at 7.4
     * GiB without it instead of 9.2, its UNet and VAE decoder calls no slower (3.2-3.3 s against 4.0-4.1 s, 7.8-8.0
     * against 9.0-9.4); sd-tiny (components under 4 MB) ran about 5 % slower without it (docs/performance.md, goal
     * 5). The smallest full-size component measured, SD's VAE decoder, is 189 MiB.
     */
    public static final long AUTO_MEMORY_PATTERN_MAX_BYTES = 64L << 20;

    public static final RuntimeOptions DEFAULT = new RuntimeOptions(0, 0, "all", "cpu", 0);

    /**
     * What {@code rows_per_run: 0} allows one CPU call of the UNet: the bytes of its first block's activation
     * ({@code block_out_channels[0] x h x w} float32 per latent, twice per row with guidance). A CPU UNet is
     * compute-bound, so a bigger call saves almost nothing per row, while its activations cost cache and memory: on
     * the digits model (2 MiB L2 per core) 8 rows per call gave 0.55-0.9x the images/s of 1 row at one thread, 4
     * rows 0.97-1.0x; full-size SD-Turbo at 512 x 512 made a batch of 2 in 53.8 s one row per call and 56.0 s in one
     * call, with peaks of 9.0 and 13.2 GiB (docs/performance.md, goals 4 and 5). 256 KiB is what 4 guided rows of
     * the digits model take; a full-size row, far over it, goes alone.
     */
    public static final long CPU_RUN_ACTIVATION_BUDGET = 256 << 10;

    /**
     * The CUDA provider's options that matter for throughput, as the job's {@code runtime.cuda.*} keys. CUDA graphs
     * ({@code enable_cuda_graph}) are not among them: ONNX Runtime replays a graph only over inputs and outputs bound
     * to fixed device memory (I/O binding), which its Java API does not offer.
     *
     * @param convAlgoSearch {@code cuda.conv_algo_search}: cuDNN's convolution algorithm choice, {@code exhaustive}
     *     (default: benchmarks every algorithm on a shape's first run, then the fastest), {@code heuristic} (cuDNN's
     *     guess, a faster first run) or {@code default}
     * @param convMaxWorkspace {@code cuda.conv_max_workspace}: let cuDNN use as much workspace as the fastest
     *     algorithm needs (default true)
     * @param arenaExtendStrategy {@code cuda.arena_extend_strategy}: {@code next_power_of_two} (default) or
     *     {@code same_as_requested} (less memory held, more allocations)
     * @param memLimitMb {@code cuda.mem_limit_mb}: cap on the provider's arena in MiB; 0 (default) for none
     * @param preferNhwc {@code cuda.prefer_nhwc}: channels-last convolutions, faster on tensor cores for float16
     *     models (default false)
     * @param tf32 {@code cuda.tf32}: TF32 tensor-core math for float32 models (default true, ONNX Runtime's); false
     *     for float32 parity checks against PyTorch's default float32 matrix products
     */
    public record Cuda(
            String convAlgoSearch,
            boolean convMaxWorkspace,
            String arenaExtendStrategy,
            long memLimitMb,
            boolean preferNhwc,
            boolean tf32)
            implements Serializable {
        public static final Cuda DEFAULT = new Cuda("exhaustive", true, "next_power_of_two", 0, false, true);

        public Cuda {
            convAlgoSearch = convAlgoSearch.toLowerCase(Locale.ROOT);
            arenaExtendStrategy = arenaExtendStrategy.toLowerCase(Locale.ROOT);
            convAlgoSearchName(convAlgoSearch);
            arenaStrategyName(arenaExtendStrategy);
            if (memLimitMb < 0) {
                throw new IllegalArgumentException("cuda.mem_limit_mb must be >= 0, got " + memLimitMb);
            }
        }

        /** The CUDA provider's options, as ONNX Runtime names them. */
        public Map<String, String> providerOptions() {
            Map<String, String> o = new LinkedHashMap<>();
            o.put("cudnn_conv_algo_search", convAlgoSearchName(convAlgoSearch));
            o.put("cudnn_conv_use_max_workspace", flag(convMaxWorkspace));
            o.put("arena_extend_strategy", arenaStrategyName(arenaExtendStrategy));
            if (memLimitMb > 0) {
                o.put("gpu_mem_limit", Long.toString(memLimitMb << 20));
            }
            o.put("prefer_nhwc", flag(preferNhwc));
            o.put("use_tf32", flag(tf32));
            return o;
        }

        private static String convAlgoSearchName(String s) {
            return switch (s) {
                case "exhaustive" -> "EXHAUSTIVE";
                case "heuristic" -> "HEURISTIC";
                case "default" -> "DEFAULT";
                default ->
                    throw new IllegalArgumentException(
                            "cuda.conv_algo_search must be exhaustive, heuristic or default, got '" + s + "'");
            };
        }

        private static String arenaStrategyName(String s) {
            return switch (s) {
                case "next_power_of_two" -> "kNextPowerOfTwo";
                case "same_as_requested" -> "kSameAsRequested";
                default ->
                    throw new IllegalArgumentException(
                            "cuda.arena_extend_strategy must be next_power_of_two or same_as_requested, got '" + s
                                    + "'");
            };
        }
    }

    /** Threads, optimisation and device, with the default memory, spinning and CUDA settings. */
    public RuntimeOptions(int intraOpThreads, int interOpThreads, String optimization, String provider, int deviceId) {
        this(
                intraOpThreads,
                interOpThreads,
                optimization,
                provider,
                deviceId,
                null,
                true,
                false,
                0,
                Cuda.DEFAULT,
                false,
                null);
    }

    public RuntimeOptions {
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException(
                    "thread counts must be >= 0, got intra=" + intraOpThreads + " inter=" + interOpThreads);
        }
        optimization = optimization.toLowerCase(Locale.ROOT);
        provider = provider.toLowerCase(Locale.ROOT);
        optLevel(optimization);
        if (!provider.equals("cpu") && !provider.equals("cuda")) {
            throw new IllegalArgumentException("execution provider must be cpu or cuda, got '" + provider + "'");
        }
        if (deviceId < 0) {
            throw new IllegalArgumentException("device id must be >= 0, got " + deviceId);
        }
        if (rowsPerRun < 0) {
            throw new IllegalArgumentException("rows_per_run must be >= 0 (0: chosen), got " + rowsPerRun);
        }
        if (cuda == null) {
            cuda = Cuda.DEFAULT;
        }
        if (graphCacheDir != null && (graphCacheDir.isBlank() || graphCacheDir.equals("null"))) {
            graphCacheDir = null;
        }
        if (graphCacheDir != null && !Path.of(graphCacheDir).isAbsolute()) {
            throw new IllegalArgumentException("graph_cache_dir must be an absolute path, got '" + graphCacheDir + "'");
        }
    }

    /** Every key {@link #fromMap} reads. */
    public static final List<String> KEYS = List.of(
            "intra_op_threads",
            "inter_op_threads",
            "optimization",
            "provider",
            "device_id",
            "memory_pattern",
            "cpu_arena",
            "spinning",
            "rows_per_run",
            "cuda.conv_algo_search",
            "cuda.conv_max_workspace",
            "cuda.arena_extend_strategy",
            "cuda.mem_limit_mb",
            "cuda.prefer_nhwc",
            "cuda.tf32",
            "graph_cache",
            "graph_cache_dir");

    /**
     * Reads {@code intra_op_threads}, {@code inter_op_threads}, {@code optimization}, {@code provider},
     * {@code device_id}, {@code memory_pattern}, {@code cpu_arena}, {@code spinning}, {@code rows_per_run}, the
     * {@code cuda.*} keys of {@link Cuda}, {@code graph_cache} and {@code graph_cache_dir}; absent keys keep their
     * defaults.
     */
    public static RuntimeOptions fromMap(Map<String, String> m) {
        for (String key : m.keySet()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("unknown ONNX Runtime setting '" + key + "'; known: " + KEYS);
            }
        }
        RuntimeOptions d = DEFAULT;
        Cuda c = Cuda.DEFAULT;
        return new RuntimeOptions(
                parseInt(m, "intra_op_threads", d.intraOpThreads),
                parseInt(m, "inter_op_threads", d.interOpThreads),
                m.getOrDefault("optimization", d.optimization),
                m.getOrDefault("provider", d.provider),
                parseInt(m, "device_id", d.deviceId),
                parseAuto(m, "memory_pattern", d.memoryPattern),
                parseBoolean(m, "cpu_arena", d.cpuArena),
                parseBoolean(m, "spinning", d.spinning),
                parseInt(m, "rows_per_run", d.rowsPerRun),
                new Cuda(
                        m.getOrDefault("cuda.conv_algo_search", c.convAlgoSearch()),
                        parseBoolean(m, "cuda.conv_max_workspace", c.convMaxWorkspace()),
                        m.getOrDefault("cuda.arena_extend_strategy", c.arenaExtendStrategy()),
                        parseLong(m, "cuda.mem_limit_mb", c.memLimitMb()),
                        parseBoolean(m, "cuda.prefer_nhwc", c.preferNhwc()),
                        parseBoolean(m, "cuda.tf32", c.tf32())),
                parseBoolean(m, "graph_cache", d.graphCache),
                m.getOrDefault("graph_cache_dir", d.graphCacheDir));
    }

    private static int parseInt(Map<String, String> m, String key, int dflt) {
        long v = parseLong(m, key, dflt);
        if (v != (int) v) {
            throw new IllegalArgumentException(key + " must be an integer, got '" + m.get(key) + "'");
        }
        return (int) v;
    }

    private static long parseLong(Map<String, String> m, String key, long dflt) {
        String v = m.get(key);
        if (v == null) {
            return dflt;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be an integer, got '" + v + "'");
        }
    }

    private static boolean parseBoolean(Map<String, String> m, String key, boolean dflt) {
        String v = m.get(key);
        if (v == null) {
            return dflt;
        }
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(key + " must be true or false, got '" + v + "'");
        };
    }

    /** {@code auto} (null), {@code true} or {@code false}. */
    private static Boolean parseAuto(Map<String, String> m, String key, Boolean dflt) {
        String v = m.get(key);
        if (v == null) {
            return dflt;
        }
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> null;
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(key + " must be auto, true or false, got '" + v + "'");
        };
    }

    /**
     * Whether a component of {@code modelBytes} ({@code model.onnx} and its external data; negative: unknown) runs
     * with ONNX Runtime's memory pattern: the setting when given, else (auto) for components of at most {@link
     * #AUTO_MEMORY_PATTERN_MAX_BYTES}, or of unknown size.
     */
    public boolean memoryPatternFor(long modelBytes) {
        if (memoryPattern != null) {
            return memoryPattern;
        }
        return modelBytes < 0 || modelBytes <= AUTO_MEMORY_PATTERN_MAX_BYTES;
    }

    private static String flag(boolean b) {
        return b ? "1" : "0";
    }

    /** These settings on another device. */
    public RuntimeOptions withDevice(String newProvider, int newDeviceId) {
        return with(intraOpThreads, interOpThreads, newProvider, newDeviceId, rowsPerRun, graphCache, graphCacheDir);
    }

    /** These settings with the graph cache on ({@code dir} null: the default folder) or off. */
    public RuntimeOptions withGraphCache(boolean on, String dir) {
        return with(intraOpThreads, interOpThreads, provider, deviceId, rowsPerRun, on, dir);
    }

    /** These settings with other thread counts. */
    public RuntimeOptions withThreads(int intra, int inter) {
        return with(intra, inter, provider, deviceId, rowsPerRun, graphCache, graphCacheDir);
    }

    /** These settings with another {@code rows_per_run}. */
    public RuntimeOptions withRowsPerRun(int rows) {
        return with(intraOpThreads, interOpThreads, provider, deviceId, rows, graphCache, graphCacheDir);
    }

    /** A copy with the settings the {@code with*} methods change; optimisation, memory, spinning and CUDA kept. */
    private RuntimeOptions with(
            int intra, int inter, String newProvider, int newDeviceId, int rows, boolean cache, String cacheDir) {
        return new RuntimeOptions(
                intra,
                inter,
                optimization,
                newProvider,
                newDeviceId,
                memoryPattern,
                cpuArena,
                spinning,
                rows,
                cuda,
                cache,
                cacheDir);
    }

    /**
     * How many rows of a batch one UNet or VAE decoder call takes: {@code rows_per_run} when set; else every row on
     * CUDA (a GPU needs big calls to be busy); else, on CPU, as many as keep {@code activationBytesPerRow} times the
     * rows within {@link #CPU_RUN_ACTIVATION_BUDGET}, and at least one.
     *
     * @param activationBytesPerRow the bytes of the widest early activation one row makes (guidance included)
     */
    public int rowsPerRun(long activationBytesPerRow) {
        if (rowsPerRun > 0) {
            return rowsPerRun;
        }
        if (provider.equals("cuda") || activationBytesPerRow <= 0) {
            return Integer.MAX_VALUE;
        }
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, CPU_RUN_ACTIVATION_BUDGET / activationBytesPerRow));
    }

    private static OrtSession.SessionOptions.OptLevel optLevel(String name) {
        return switch (name) {
            case "none" -> OrtSession.SessionOptions.OptLevel.NO_OPT;
            case "basic" -> OrtSession.SessionOptions.OptLevel.BASIC_OPT;
            case "extended" -> OrtSession.SessionOptions.OptLevel.EXTENDED_OPT;
            case "all" -> OrtSession.SessionOptions.OptLevel.ALL_OPT;
            default ->
                throw new IllegalArgumentException(
                        "optimization must be none, basic, extended or all, got '" + name + "'");
        };
    }

    /** The session configuration entries these settings add, as ONNX Runtime names them. */
    public Map<String, String> sessionConfigEntries() {
        Map<String, String> e = new LinkedHashMap<>();
        if (!spinning) {
            e.put("session.intra_op.allow_spinning", "0");
            e.put("session.inter_op.allow_spinning", "0");
        }
        return e;
    }

    /** Fresh session options for a component of unknown size ({@link #memoryPatternFor}); the caller closes them. */
    public OrtSession.SessionOptions toSessionOptions() throws OrtException {
        return toSessionOptions(-1);
    }

    /**
     * Fresh session options for the component {@code modelFile} ({@code model.onnx}; with {@code model.onnx_data}
     * beside it, both sizes count); the caller closes them.
     */
    public OrtSession.SessionOptions toSessionOptions(Path modelFile) throws OrtException {
        return toSessionOptions(componentBytes(modelFile));
    }

    /** The bytes of {@code model.onnx} and its {@code model.onnx_data}; -1 when they cannot be read. */
    static long componentBytes(Path modelFile) {
        try {
            long n = Files.size(modelFile);
            Path parent = modelFile.toAbsolutePath().getParent();
            Path data = parent == null ? null : parent.resolve("model.onnx_data");
            if (data != null && Files.isRegularFile(data)) {
                n += Files.size(data);
            }
            return n;
        } catch (IOException e) {
            return -1;
        }
    }

    private OrtSession.SessionOptions toSessionOptions(long modelBytes) throws OrtException {
        OrtRuntime.environment(); // the native libraries, from this user's cache
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        try {
            o.setOptimizationLevel(optLevel(optimization));
            if (intraOpThreads > 0) {
                o.setIntraOpNumThreads(intraOpThreads);
            }
            if (interOpThreads > 0) {
                o.setInterOpNumThreads(interOpThreads);
            }
            o.setMemoryPatternOptimization(memoryPatternFor(modelBytes));
            o.setCPUArenaAllocator(cpuArena);
            for (Map.Entry<String, String> e : sessionConfigEntries().entrySet()) {
                o.addConfigEntry(e.getKey(), e.getValue());
            }
            if (provider.equals("cuda")) {
                addCuda(o);
            }
            return o;
        } catch (OrtException | RuntimeException e) {
            o.close();
            throw e;
        }
    }

    private void addCuda(OrtSession.SessionOptions o) {
        try (OrtCUDAProviderOptions c = new OrtCUDAProviderOptions(deviceId)) {
            for (Map.Entry<String, String> e : cuda.providerOptions().entrySet()) {
                c.add(e.getKey(), e.getValue());
            }
            o.addCUDA(c);
        } catch (OrtException | UnsatisfiedLinkError e) {
            throw new IllegalStateException(
                    "CUDA execution provider requested (device " + deviceId
                            + ") but unavailable: build with mvn -Pgpu (onnxruntime_gpu) and install CUDA 12 + cuDNN 9 ("
                            + String.valueOf(e.getMessage()).lines().findFirst().orElse("") + ")",
                    e);
        }
    }

    @Override
    public String toString() {
        return provider + (provider.equals("cuda") ? ":" + deviceId : "") + " intra=" + intraOpThreads + " inter="
                + interOpThreads + " opt=" + optimization
                + (memoryPattern == null && cpuArena && !spinning
                        ? ""
                        : " memory_pattern=" + (memoryPattern == null ? "auto" : memoryPattern) + " cpu_arena="
                                + cpuArena + " spinning=" + spinning)
                + (rowsPerRun > 0 ? " rows_per_run=" + rowsPerRun : "")
                + (provider.equals("cuda") && !cuda.equals(Cuda.DEFAULT) ? " " + cuda.providerOptions() : "")
                + (graphCache ? " graph_cache=" + (graphCacheDir == null ? "true" : graphCacheDir) : "");
    }
}

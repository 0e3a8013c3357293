package io.sparkdiffusion.jobs;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.pipeline.Pipeline;
import io.sparkdiffusion.pipeline.Pipelines;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.util.TaskCompletionListener;

/**
 * One pipeline per executor JVM, per model and device, created on first use and shared by every task of that JVM
 * (ONNX Runtime sessions are thread-safe; each call has its own scheduler). Never loaded per partition or per row.
 * The device is the task's GPU address when GPU resources are configured ({@code spark.task.resource.gpu.amount}),
 * otherwise the CPU.
 *
 * <p>Sessions are closed only when no task runs in them: each generating task counts itself in ({@link #enter}) until
 * it completes, and {@link #closeAll} and the JVM's shutdown (a SIGTERM to an executor) first ask the tasks to stop
 * ({@link GracefulStop}) and wait for them. Closing, or exiting, under a running ONNX Runtime session crashes the JVM.
 */
public final class ResidentPipelines {
    private static final Logger LOG = LogManager.getLogger(ResidentPipelines.class);
    private static final Map<String, Pipeline> PIPELINES = new ConcurrentHashMap<>();
    /** Tasks of this JVM that generate (or may): between {@link #enter} and their completion. */
    private static final AtomicInteger TASKS = new AtomicInteger();
    /** How long closing waits for running tasks, at most: beyond it the process's end reclaims the sessions. */
    static final Duration CLOSE_WAIT = Duration.ofMinutes(10);

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ResidentPipelines::atShutdown, "spark-diffusion-shutdown"));
    }

    private ResidentPipelines() {}

    /**
     * Counts the running Spark task in until it completes (success, failure or kill), so that no session is closed
     * under it. Outside a task (a library caller) nothing is counted.
     */
    static void enter() {
        TaskContext task = TaskContext.get();
        if (task != null) {
            TASKS.incrementAndGet();
            task.addTaskCompletionListener((TaskCompletionListener) ctx -> TASKS.decrementAndGet());
        }
    }

    /** The tasks of this JVM counted in and not completed. */
    static int runningTasks() {
        return TASKS.get();
    }

    /**
     * Waits until no counted task runs, at most {@code timeout}; true when none does. Callers ask the tasks to stop
     * first, so the wait is the running batch's end.
     */
    static boolean awaitNoTasks(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        long nextLog = System.nanoTime();
        while (TASKS.get() > 0) {
            if (System.nanoTime() > end) {
                return false;
            }
            if (System.nanoTime() >= nextLog) {
                LOG.info("waiting for {} generation task(s) to finish their running batch", TASKS.get());
                nextLog = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** The JVM is ending (an executor's SIGTERM, or exit): tasks take no new batch; sessions close after them. */
    private static void atShutdown() {
        if (TASKS.get() > 0) {
            GracefulStop.request("JVM shutdown");
        }
        closeAll();
    }

    /** The pipeline for this task's device, loading it on first use. */
    public static Pipeline acquire(ModelHandle handle) {
        RuntimeOptions options = taskOptions(handle);
        Path local;
        try {
            local = ModelLocalizer.localize(handle.uri(), handle.fingerprint(), handle.conf(), handle.localBase());
        } catch (RuntimeException e) { // not the row's fault: every task on this executor would fail the same way
            throw new ModelLoadException(
                    "model " + handle.name() + " cannot be made available on this executor: " + e.getMessage(), e);
        }
        String key = local + "|" + handle.task() + "|" + options.provider() + ":" + options.deviceId();
        return PIPELINES.computeIfAbsent(
                key,
                k -> openOnDevice(
                        "pipeline " + handle.name(), options, handle, o -> Pipelines.open(local, o, handle.task())));
    }

    /** This task's device and threads for the sessions of {@code handle}'s job (ONNX Runtime started first). */
    static RuntimeOptions taskOptions(ModelHandle handle) {
        OrtStartup.environment(); // before any session: safe without ORT_DISABLE_TELEMETRY
        TaskContext task = TaskContext.get();
        return deviceOptions(handle, taskGpuAddress(), task == null ? 1 : task.cpus());
    }

    /**
     * Opens sessions on the task's device; when the CUDA provider cannot start and {@code runtime.fallback_to_cpu}
     * allows, on the CPU instead (logged).
     */
    static <T> T openOnDevice(
            String what, RuntimeOptions options, ModelHandle handle, Function<RuntimeOptions, T> open) {
        long t0 = System.nanoTime();
        try {
            T opened = open.apply(options);
            LOG.info("loaded resident {} on {} in {} ms", what, options, (System.nanoTime() - t0) / 1_000_000);
            return opened;
        } catch (RuntimeException e) {
            if (options.provider().equals("cuda") && handle.fallbackToCpu()) {
                LOG.warn(
                        "CUDA unavailable for {} on device {} ({}); falling back to CPU as runtime.fallback_to_cpu allows",
                        what,
                        options.deviceId(),
                        e.getMessage());
                return open.apply(options.withDevice("cpu", 0));
            }
            throw e;
        }
    }

    /**
     * The task's device and threads. On CPU with {@code intra_op_threads: 0}, a run gets the cores Spark reserved for
     * its task ({@code spark.task.cpus}): the executor's cores divided among its concurrent tasks, which share the
     * resident pipeline. Not the host's processor count: executors share hosts.
     */
    static RuntimeOptions deviceOptions(ModelHandle handle, String gpuAddress, int taskCpus) {
        RuntimeOptions base = handle.runtime();
        boolean cuda = handle.provider().equals("cuda") || (handle.provider().equals("auto") && gpuAddress != null);
        if (!cuda) {
            if (base.intraOpThreads() == 0) {
                // RuntimeOptions.withThreads keeps the runtime.* settings (memory pattern, arena, spinning)
                base = base.withThreads(Math.max(1, taskCpus), base.interOpThreads());
            }
            return base.withDevice("cpu", 0);
        }
        int device = 0;
        if (gpuAddress != null) {
            try {
                device = Integer.parseInt(gpuAddress.trim());
            } catch (NumberFormatException e) {
                throw new IllegalStateException(
                        "GPU address '" + gpuAddress + "' from Spark's resource discovery is not a device ordinal");
            }
        }
        return base.withDevice("cuda", device);
    }

    /** The first GPU address Spark assigned to the running task, or null. */
    static String taskGpuAddress() {
        TaskContext tc = TaskContext.get();
        if (tc == null) {
            return null;
        }
        ResourceInformation gpu = tc.resourcesJMap().get("gpu");
        return gpu == null || gpu.addresses().length == 0 ? null : gpu.addresses()[0];
    }

    /**
     * Closes every resident pipeline and scorer ({@link ResidentScorers}) (tests, local runs at exit) once no task
     * runs in them. Tasks still running after {@link #CLOSE_WAIT} keep their sessions; the process's end reclaims
     * them.
     */
    public static synchronized void closeAll() {
        if (PIPELINES.isEmpty() && ResidentScorers.isEmpty()) {
            return;
        }
        if (!awaitNoTasks(CLOSE_WAIT)) {
            LOG.warn(
                    "{} generation task(s) still running after {}: their sessions are left open",
                    TASKS.get(),
                    CLOSE_WAIT);
            return;
        }
        PIPELINES.values().forEach(Pipeline::close);
        PIPELINES.clear();
        ResidentScorers.closeAll();
    }
}

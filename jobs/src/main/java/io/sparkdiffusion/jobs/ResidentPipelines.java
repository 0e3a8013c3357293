package io.sparkdiffusion.jobs;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.pipeline.Pipeline;
import io.sparkdiffusion.pipeline.Pipelines;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * One pipeline per executor JVM, per model and device, created on first use and shared by every task of that JVM
 * (ONNX Runtime sessions are thread-safe; each call has its own scheduler). Never loaded per partition or per row.
 * The device is the task's GPU address when GPU resources are configured ({@code spark.task.resource.gpu.amount}),
 * otherwise the CPU.
 */
public final class ResidentPipelines {
    private static final Logger LOG = LogManager.getLogger(ResidentPipelines.class);
    private static final Map<String, Pipeline> PIPELINES = new ConcurrentHashMap<>();

    private ResidentPipelines() {}

    /** The pipeline for this task's device, loading it on first use. */
    public static Pipeline acquire(ModelHandle handle) {
        String gpu = taskGpuAddress();
        RuntimeOptions options = deviceOptions(handle, gpu);
        Path local = ModelLocalizer.localize(handle.uri(), handle.fingerprint(), handle.conf(), handle.localBase());
        String key = local + "|" + handle.task() + "|" + options.provider() + ":" + options.deviceId();
        return PIPELINES.computeIfAbsent(key, k -> open(local, options, handle));
    }

    private static Pipeline open(Path local, RuntimeOptions options, ModelHandle handle) {
        long t0 = System.nanoTime();
        try {
            Pipeline p = Pipelines.open(local, options, handle.task());
            LOG.info(
                    "loaded resident pipeline {} on {} in {} ms",
                    handle.name(),
                    options,
                    (System.nanoTime() - t0) / 1_000_000);
            return p;
        } catch (RuntimeException e) {
            if (options.provider().equals("cuda") && handle.fallbackToCpu()) {
                LOG.warn(
                        "CUDA unavailable for {} on device {} ({}); falling back to CPU as runtime.fallback_to_cpu allows",
                        handle.name(),
                        options.deviceId(),
                        e.getMessage());
                return Pipelines.open(local, options.withDevice("cpu", 0), handle.task());
            }
            throw e;
        }
    }

    static RuntimeOptions deviceOptions(ModelHandle handle, String gpuAddress) {
        RuntimeOptions base = handle.runtime();
        boolean cuda = handle.provider().equals("cuda") || (handle.provider().equals("auto") && gpuAddress != null);
        if (!cuda) {
            if (base.intraOpThreads() == 0) {
                // the executor's task slots share the resident pipeline and run concurrently: give each run its
                // share of the cores instead of letting every run spread over all of them
                int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / Math.max(1, handle.taskSlots()));
                base = base.withThreads(threads, base.interOpThreads());
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

    /** Closes every resident pipeline (tests, local runs at exit). */
    public static void closeAll() {
        PIPELINES.values().forEach(Pipeline::close);
        PIPELINES.clear();
    }
}

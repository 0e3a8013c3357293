package io.sparkdiffusion.jobs;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.model.Task;
import java.io.Serializable;

/**
 * Everything an executor needs to get the resident pipeline: where the model is (its URI as configured), what it
 * must hash to, where to copy it, and how to run it ({@code taskSlots}: concurrent tasks per executor, which share
 * the executor's cores when ONNX Runtime's thread count is left to the job). Small and serializable: model bytes never travel in closures.
 */
public record ModelHandle(
        String uri,
        String name,
        String fingerprint,
        String localBase,
        HadoopConf conf,
        RuntimeOptions runtime,
        String provider,
        boolean fallbackToCpu,
        int taskSlots,
        Task task)
        implements Serializable {}

package io.sparkdiffusion.jobs;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.model.Task;
import java.io.Serializable;

/**
 * Everything an executor needs to get the resident pipeline: where the model is (its URI as configured), what it
 * must hash to, where to copy it, and how to run it. Small and serializable: model bytes never travel in closures.
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
        Task task)
        implements Serializable {}

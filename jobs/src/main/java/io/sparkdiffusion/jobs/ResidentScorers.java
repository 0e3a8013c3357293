package io.sparkdiffusion.jobs;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.quality.Scorer;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The job's scorers, resident like its pipeline ({@link ResidentPipelines}): one per executor JVM, scorer folder and
 * device, opened on the first batch that needs it and shared by every later task (a scorer is immutable and serves
 * concurrent calls). Same device, threads and CPU fallback as the pipeline; a folder on {@code hdfs://} or
 * {@code s3a://} is copied once per host and checked against the driver's fingerprint, as the model is.
 */
final class ResidentScorers {
    private static final Map<String, Scorer> SCORERS = new ConcurrentHashMap<>();

    private ResidentScorers() {}

    /**
     * A scorer's folder as the driver found it: small and serializable, like {@link ModelHandle}.
     *
     * @param uri the folder as configured (for the safety checker: the model's)
     * @param fingerprint the driver's fingerprint of it ({@link ModelLocalizer#fingerprint})
     */
    record Folder(ScorerKind kind, String uri, String fingerprint) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** The scorer of {@code folder} on this task's device (the device {@code job}'s pipeline gets), opened once. */
    static Scorer acquire(Folder folder, ModelHandle job) {
        RuntimeOptions options = ResidentPipelines.taskOptions(job);
        Path local = ModelLocalizer.localize(folder.uri(), folder.fingerprint(), job.conf(), job.localBase());
        String key = folder.kind() + "|" + local + "|" + options.provider() + ":" + options.deviceId();
        return SCORERS.computeIfAbsent(
                key,
                k -> ResidentPipelines.openOnDevice(
                        "scorer " + folder.kind().configKey() + " " + local.getFileName(),
                        options,
                        job,
                        o -> folder.kind().open(local, o)));
    }

    /** Whether no scorer is open. */
    static boolean isEmpty() {
        return SCORERS.isEmpty();
    }

    /** Closes every resident scorer ({@link ResidentPipelines#closeAll}, once no task runs in them). */
    static void closeAll() {
        SCORERS.values().forEach(Scorer::close);
        SCORERS.clear();
    }
}

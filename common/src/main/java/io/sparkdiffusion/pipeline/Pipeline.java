package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.PipelineFamily;
import io.sparkdiffusion.model.Task;
import java.util.Map;

/**
 * A loaded model doing one task: an {@link ImagePipeline} or a {@link VideoPipeline}, opened by {@link Pipelines}.
 * A pipeline holds only what every call shares (sessions, tokenizers, configs) and never changes after it is
 * opened: everything a call varies is in its request, so one resident pipeline serves concurrent calls (each call
 * makes its own scheduler). Closing it releases the sessions; no call may run then.
 */
public interface Pipeline extends AutoCloseable {
    /** The model's geometry and family, read from its configs. */
    ModelInfo info();

    /** The task this pipeline was opened for. */
    Task task();

    /** The family in the pipeline registry. */
    default PipelineFamily family() {
        return info().family();
    }

    /**
     * Per component (the Kandinsky prior's prefixed {@code prior/}), the session runs so far and their wall time: a
     * monotonic counter shared by every caller; a benchmark subtracts two snapshots.
     */
    Map<String, OnnxModel.RunStats> runStats();

    @Override
    void close();
}

package io.sparkdiffusion.jobs;

import io.sparkdiffusion.batch.BatchGenerator;
import io.sparkdiffusion.batch.Outcome;
import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.video.PngFrames;
import io.sparkdiffusion.video.VideoFormat;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.TaskKilledException;

/**
 * The executor side that the generation job and the DataFrame transformer share, so the two cannot drift apart: the
 * executor's resident pipeline for a model and device ({@link ResidentPipelines}, opened on the first batch), the
 * engine's storage-free batch component over it, and the encoding of each output (PNG, or the chosen video format).
 */
public final class GenerationStage {
    private GenerationStage() {}

    /**
     * Generates a partition's rows through the executor's resident pipeline, batch by batch, lazily. The task takes no
     * new batch once a stop is asked for or it is cancelled ({@link GracefulStop}): its running batch finishes and its
     * outcomes are delivered, then the task ends as killed (never as a partition that looks complete), so Spark runs
     * the rest again elsewhere, or not at all when the job was cancelled.
     */
    public static <T> Iterator<Outcome<T>> generate(
            ModelHandle model, BatchGenerator.Options options, Iterator<BatchGenerator.Tagged<T>> rows) {
        ResidentPipelines.enter();
        BatchGenerator.Generation<T> generation = new BatchGenerator(() -> ResidentPipelines.acquire(model), options)
                .generate(rows, GracefulStop::taskShouldStop);
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                if (generation.hasNext()) {
                    return true;
                }
                if (generation.stoppedEarly()) {
                    throw new TaskKilledException(
                            "stopped (" + (GracefulStop.requested() ? GracefulStop.reason() : "task cancelled")
                                    + ") before the partition's last rows");
                }
                return false;
            }

            @Override
            public Outcome<T> next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return generation.next();
            }
        };
    }

    /** A picture {@code (H, W, C)} in [0, 1] as PNG bytes (8-bit, grayscale or RGB as the channels say). */
    public static byte[] png(Tensor hwc) {
        return Images.toPng(hwc.reshape(1, hwc.dim(0), hwc.dim(1), hwc.dim(2)), 0);
    }

    /** A video's frames {@code (F, H, W, C)} in [0, 1], encoded in {@code format} at {@code fps}. */
    public static byte[] video(Tensor frames, VideoFormat format, int fps) {
        return format.writer().toBytes(frames, fps);
    }

    /** The first frame of a video as PNG bytes, its poster. */
    public static byte[] poster(Tensor frames) {
        return PngFrames.poster(frames);
    }
}

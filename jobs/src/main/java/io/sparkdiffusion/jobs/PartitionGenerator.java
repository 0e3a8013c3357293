package io.sparkdiffusion.jobs;

import io.sparkdiffusion.batch.BatchGenerator;
import io.sparkdiffusion.batch.GenerationRow;
import io.sparkdiffusion.batch.Outcome;
import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.image.Resize;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.video.PngFrames;
import io.sparkdiffusion.video.VideoFormat;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.Locale;
import java.util.NoSuchElementException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.util.LongAccumulator;

/**
 * Streams one partition through the executor's resident pipeline: the storage side around the storage-free
 * {@link BatchGenerator}. Each row's init image and mask are read, decoded and sized here ({@link InitImages}); the
 * generator batches rows of equal shape, each with its own seed; each picture (or video, with its first frame as the
 * poster) is written to its deterministic key as it comes back, and the returned rows are its metadata. A row whose
 * input cannot be used, or that the engine refuses, comes back as a failure naming the field and the reason; the other
 * rows are unaffected. A broken engine (model, session, device) fails the task.
 */
public final class PartitionGenerator implements MapPartitionsFunction<PlannedRow, GeneratedRow> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LogManager.getLogger(PartitionGenerator.class);
    private static final int THUMBNAIL = 160;

    private final ModelHandle model;
    private final OutputStore store;
    private final InitImages initImages;
    private final int batchSize;
    private final boolean keepUnmasked;
    private final String runId;
    private final VideoFormat videoFormat;
    private final Integer decodeChunkSize;
    private final LongAccumulator written;
    private final LongAccumulator failed;
    private final QualityGate quality;

    public PartitionGenerator(
            ModelHandle model,
            OutputStore store,
            InitImages initImages,
            int batchSize,
            boolean keepUnmasked,
            String runId,
            VideoFormat videoFormat,
            Integer decodeChunkSize,
            LongAccumulator written,
            LongAccumulator failed,
            QualityGate quality) {
        this.model = model;
        this.store = store;
        this.initImages = initImages;
        this.batchSize = batchSize;
        this.keepUnmasked = keepUnmasked;
        this.runId = runId;
        this.videoFormat = videoFormat;
        this.decodeChunkSize = decodeChunkSize;
        this.written = written;
        this.failed = failed;
        this.quality = quality;
    }

    @Override
    public Iterator<GeneratedRow> call(Iterator<PlannedRow> rows) {
        int partition = TaskContext.get() == null ? -1 : TaskContext.get().partitionId();
        return new PartitionRun(rows, partition);
    }

    /** Lazily, as Spark consumes it: rejected rows as soon as they are read, generated rows as their batch ends. */
    private final class PartitionRun implements Iterator<GeneratedRow> {
        private final int partition;
        private final long started = System.nanoTime();
        private final Deque<GeneratedRow> rejected = new ArrayDeque<>();
        private final Iterator<QualityGate.Judged<InitImages.Prepared>> outcomes;
        private int done;

        PartitionRun(Iterator<PlannedRow> input, int partition) {
            this.partition = partition;
            this.outcomes = quality.judge(
                    GenerationStage.generateBatches(
                            model,
                            new BatchGenerator.Options(batchSize, keepUnmasked, decodeChunkSize),
                            new Prepared(input)),
                    InitImages.Prepared::row);
        }

        @Override
        public boolean hasNext() {
            return !rejected.isEmpty() || outcomes.hasNext() || !rejected.isEmpty();
        }

        @Override
        public GeneratedRow next() {
            if (!rejected.isEmpty()) {
                return rejected.poll();
            }
            if (outcomes.hasNext()) {
                QualityGate.Judged<InitImages.Prepared> judged = outcomes.next();
                Outcome<InitImages.Prepared> outcome = judged.outcome();
                QualityGate.Verdict verdict = judged.verdict();
                GeneratedRow g = verdict.dropped()
                        ? failure(outcome.tag().row(), verdict.rule(), verdict.reason())
                        : outcome instanceof Outcome.Generated<InitImages.Prepared> gen
                                ? write(gen)
                                : failure((Outcome.Failed<InitImages.Prepared>) outcome);
                verdict.record(g);
                logProgress();
                return g;
            }
            if (!rejected.isEmpty()) {
                return rejected.poll();
            }
            throw new NoSuchElementException();
        }

        private void logProgress() {
            done++;
            if (done % batchSize == 0) {
                LOG.info(
                        "partition {}: {} rows done, {} images/s",
                        partition,
                        done,
                        String.format(Locale.ROOT, "%.2f", done / ((System.nanoTime() - started) / 1e9)));
            }
        }

        /** The partition's rows prepared for the engine; a row whose inputs cannot be used is set aside as rejected. */
        private final class Prepared implements Iterator<BatchGenerator.Tagged<InitImages.Prepared>> {
            private final Iterator<PlannedRow> input;
            private BatchGenerator.Tagged<InitImages.Prepared> next;

            Prepared(Iterator<PlannedRow> input) {
                this.input = input;
            }

            @Override
            public boolean hasNext() {
                while (next == null && input.hasNext()) {
                    PlannedRow r = input.next();
                    try {
                        InitImages.Prepared p = initImages.prepare(r);
                        next = new BatchGenerator.Tagged<>(p, engineRow(p));
                    } catch (RowRules.Rejection e) {
                        rejected.add(failure(r, e.field(), e.getMessage()));
                    }
                }
                return next != null;
            }

            @Override
            public BatchGenerator.Tagged<InitImages.Prepared> next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                BatchGenerator.Tagged<InitImages.Prepared> n = next;
                next = null;
                return n;
            }
        }

        /** Writes a picture, or a video and its poster, and returns its metadata. */
        private GeneratedRow write(Outcome.Generated<InitImages.Prepared> gen) {
            InitImages.Prepared p = gen.tag();
            String posterRelative = "images/" + p.row().getImageFile();
            if (p.pictures() != null) {
                writeThumbnails(p);
            }
            if (!gen.video()) {
                byte[] png = GenerationStage.png(gen.output());
                store.put(posterRelative, png);
                return writtenRow(p, posterRelative, png, gen);
            }
            Tensor clip = gen.output();
            int frames = gen.frames();
            String stem = p.row().getImageFile().replaceAll("\\.png$", "");
            String videoRelative = "videos/" + videoFormat.outputName(stem);
            if (videoFormat == VideoFormat.PNG_FRAMES) {
                for (int k = 0; k < frames; k++) {
                    store.put(videoRelative + "/" + PngFrames.fileName(k, frames), PngFrames.frame(clip, k));
                }
            } else {
                store.put(
                        videoRelative,
                        GenerationStage.video(clip, videoFormat, p.row().getFps()));
            }
            byte[] poster = GenerationStage.poster(clip);
            store.put(posterRelative, poster);
            GeneratedRow g = writtenRow(p, posterRelative, poster, gen);
            g.setVideoPath(store.path(videoRelative).toString());
            g.setNumFrames(frames);
            g.setFps(p.row().getFps());
            g.setDurationSeconds((double) frames / p.row().getFps());
            return g;
        }

        /** The metadata of a written picture (or a video's poster), counted in the accumulator. */
        private GeneratedRow writtenRow(
                InitImages.Prepared p, String relative, byte[] png, Outcome.Generated<InitImages.Prepared> gen) {
            GeneratedRow g = GeneratedRow.of(p.row(), runId, model.name(), model.fingerprint());
            g.setWritten(true);
            g.setImagePath(store.path(relative).toString());
            g.setImageSha256(ModelLocalizer.hex(ModelLocalizer.sha256(png)));
            g.setGenerationMs(gen.generationMillis());
            g.setWidth(gen.width());
            g.setHeight(gen.height());
            g.setNotes(p.notes().isEmpty() ? null : String.join("; ", p.notes()));
            written.add(1);
            return g;
        }

        /** Small copies of the input and mask for the contact sheet: thumbs/{file}-input.png and -mask.png. */
        private void writeThumbnails(InitImages.Prepared p) {
            double scale = Math.min(1.0, (double) THUMBNAIL / Math.max(p.width(), p.height()));
            int tw = Math.max(1, (int) Math.round(p.width() * scale));
            int th = Math.max(1, (int) Math.round(p.height() * scale));
            String base = "thumbs/" + p.row().getImageFile().replaceAll("\\.png$", "");
            float[] img = p.pictures().image().resize(tw, th).rgb();
            store.put(base + "-input.png", Images.toPng(new Tensor(new long[] {1, th, tw, 3}, img), 0));
            if (p.pictures().mask() != null) {
                float[] m = Resize.nearest(p.pictures().mask(), p.width(), p.height(), 1, tw, th);
                store.put(base + "-mask.png", Images.toPng(new Tensor(new long[] {1, th, tw, 1}, m), 0));
            }
        }

        private GeneratedRow failure(Outcome.Failed<InitImages.Prepared> f) {
            return failure(f.tag().row(), f.field(), f.reason());
        }

        private GeneratedRow failure(PlannedRow r, String field, String reason) {
            LOG.error("partition {}: row '{}' failed ({}): {}", partition, r.getId(), field, reason);
            failed.add(1);
            GeneratedRow g = GeneratedRow.of(r, runId, model.name(), model.fingerprint());
            g.setWritten(false);
            g.setErrorField(field);
            g.setErrorReason(reason);
            return g;
        }
    }

    /** The engine's view of a prepared row: seed, prompts, call arguments, and the sized pictures as tensors. */
    static GenerationRow engineRow(InitImages.Prepared p) {
        PlannedRow r = p.row();
        GenerationRow.Builder b = GenerationRow.builder(r.getSeed())
                .prompt(r.getPrompt())
                .negativePrompt(r.getNegativePrompt())
                .steps(r.getSteps())
                .guidanceScale(r.getGuidanceScale())
                .size(p.width(), p.height())
                .scheduler(r.getScheduler())
                .strength(r.getStrength())
                .video(r.getNumFrames(), r.getFps(), r.getMotionBucketId(), r.getNoiseAugStrength());
        if (p.pictures() != null) {
            b.image(p.pictures().imageTensor()).mask(p.pictures().maskTensor());
        }
        return b.build();
    }
}

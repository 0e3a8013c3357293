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
import java.util.Arrays;
import java.util.Base64;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.TaskCompletionListener;

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
    private final OutputFormat format;
    private final RecordFragments.Policy commitPolicy;
    private final LongAccumulator written;
    private final LongAccumulator failed;

    public PartitionGenerator(
            ModelHandle model,
            OutputStore store,
            InitImages initImages,
            int batchSize,
            boolean keepUnmasked,
            String runId,
            VideoFormat videoFormat,
            Integer decodeChunkSize,
            OutputFormat format,
            RecordFragments.Policy commitPolicy,
            LongAccumulator written,
            LongAccumulator failed) {
        this.model = model;
        this.store = store;
        this.initImages = initImages;
        this.batchSize = batchSize;
        this.keepUnmasked = keepUnmasked;
        this.runId = runId;
        this.videoFormat = videoFormat;
        this.decodeChunkSize = decodeChunkSize;
        this.format = format;
        this.commitPolicy = commitPolicy;
        this.written = written;
        this.failed = failed;
    }

    @Override
    public Iterator<GeneratedRow> call(Iterator<PlannedRow> rows) {
        TaskContext task = TaskContext.get();
        int partition = task == null ? -1 : task.partitionId();
        int attempt = task == null ? 0 : task.attemptNumber();
        return new PartitionRun(rows, partition, attempt);
    }

    /** Lazily, as Spark consumes it: rejected rows as soon as they are read, generated rows as their batch ends. */
    private final class PartitionRun implements Iterator<GeneratedRow> {
        private final int partition;
        private final long started = System.nanoTime();
        private final Deque<GeneratedRow> rejected = new ArrayDeque<>();
        private final Iterator<Outcome<InitImages.Prepared>> outcomes;
        /** Commits finished rows as the task goes (see its policy) and when it ends, however it ends. */
        private final RecordFragments.Writer records;
        /** Rows an earlier attempt of this task committed (a retry after a lost executor). */
        private final Set<String> committedEarlier;

        private boolean committed;
        private int done;

        PartitionRun(Iterator<PlannedRow> input, int partition, int attempt) {
            this.partition = partition;
            this.records = new RecordFragments.Writer(store, runId, partition, attempt, commitPolicy);
            this.committedEarlier = RecordFragments.committedByEarlierAttempts(store, runId, partition, attempt);
            if (!committedEarlier.isEmpty()) {
                LOG.info(
                        "partition {} attempt {}: {} rows committed by earlier attempts are not generated again",
                        partition,
                        attempt,
                        committedEarlier.size());
            }
            this.outcomes = GenerationStage.generate(
                    model, new BatchGenerator.Options(batchSize, keepUnmasked, decodeChunkSize), new Prepared(input));
            TaskContext task = TaskContext.get();
            if (task != null) {
                // a task that fails or is killed (a stop, a cancelled job) still commits the rows it finished.
                // Registered after generate(): Spark calls listeners in reverse order, so the rows are committed
                // before the task stops counting as running (GracefulStop waits for that to publish)
                task.addTaskCompletionListener((TaskCompletionListener) ctx -> commitAtTaskEnd());
            }
        }

        private void commitAtTaskEnd() {
            try {
                commitOnce();
            } catch (RuntimeException e) {
                // the task's own failure, if any, is the one Spark reports; these rows are generated again
                LOG.warn(
                        "partition {}: cannot commit the finished rows at the task's end: {}", partition, e.toString());
            }
        }

        private void commitOnce() {
            if (!committed) {
                committed = true;
                records.close();
            }
        }

        @Override
        public boolean hasNext() {
            boolean more = !rejected.isEmpty() || outcomes.hasNext() || !rejected.isEmpty();
            if (!more) {
                commitOnce(); // the task's last rows, before Spark sees the partition end
            }
            return more;
        }

        @Override
        public GeneratedRow next() {
            if (!rejected.isEmpty()) {
                return rejected.poll();
            }
            if (outcomes.hasNext()) {
                Outcome<InitImages.Prepared> outcome = outcomes.next();
                GeneratedRow g = outcome instanceof Outcome.Generated<InitImages.Prepared> gen
                        ? write(gen)
                        : failure((Outcome.Failed<InitImages.Prepared>) outcome);
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
                    if (committedEarlier.contains(r.getId())) {
                        continue;
                    }
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

        /**
         * Writes a picture, or a video and its poster, and returns its metadata, recorded: as files in {@code files}
         * format, else inside the row's record fragment (the dataset is built from the fragments when published).
         */
        private GeneratedRow write(Outcome.Generated<InitImages.Prepared> gen) {
            InitImages.Prepared p = gen.tag();
            String posterRelative = "images/" + p.row().getImageFile();
            Map<String, byte[]> media = new LinkedHashMap<>();
            GeneratedRow g;
            if (!gen.video()) {
                byte[] png = GenerationStage.png(gen.output());
                media.put(".png", png);
                g = writtenRow(p, posterRelative, png, gen);
            } else {
                Tensor clip = gen.output();
                int frames = gen.frames();
                String stem = p.row().getImageFile().replaceAll("\\.png$", "");
                String videoRelative = "videos/" + videoFormat.outputName(stem);
                byte[] poster = GenerationStage.poster(clip);
                g = writtenRow(p, posterRelative, poster, gen);
                g.setVideoPath(store.path(videoRelative).toString());
                g.setNumFrames(frames);
                g.setFps(p.row().getFps());
                g.setDurationSeconds((double) frames / p.row().getFps());
                if (format.mediaInRecords()) {
                    media.put(
                            videoFormat.extension(),
                            GenerationStage.video(clip, videoFormat, p.row().getFps()));
                    media.put(RecordFragments.POSTER, poster);
                } else {
                    writeVideo(videoRelative, clip, frames, p.row().getFps());
                    media.put(".png", poster);
                }
            }
            if (format.mediaInRecords()) {
                g.setImagePath(null); // set when published: the dataset, not a file
                g.setVideoPath(null);
                g.setMediaBytes(media.values().stream().mapToLong(b -> b.length).sum());
                g.setThumbnail(Base64.getEncoder().encodeToString(thumbnail(gen)));
                records.add(g, media);
            } else {
                store.put(posterRelative, media.get(".png"));
                if (p.pictures() != null) {
                    writeThumbnails(p);
                }
                records.add(g, Map.of());
            }
            return g;
        }

        private void writeVideo(String relative, Tensor clip, int frames, int fps) {
            if (videoFormat == VideoFormat.PNG_FRAMES) {
                for (int k = 0; k < frames; k++) {
                    store.put(relative + "/" + PngFrames.fileName(k, frames), PngFrames.frame(clip, k));
                }
            } else {
                store.put(relative, GenerationStage.video(clip, videoFormat, fps));
            }
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
            records.add(g, Map.of());
            return g;
        }
    }

    /** A small PNG of a picture (a video's first frame), {@value #THUMBNAIL} px at most, for the contact sheet. */
    static byte[] thumbnail(Outcome.Generated<?> gen) {
        Tensor out = gen.output();
        int h = gen.height();
        int w = gen.width();
        int c = (int) out.dim(out.rank() - 1);
        float[] first = Arrays.copyOf(out.data(), h * w * c);
        double scale = Math.min(1.0, (double) THUMBNAIL / Math.max(w, h));
        int tw = Math.max(1, (int) Math.round(w * scale));
        int th = Math.max(1, (int) Math.round(h * scale));
        float[] small = tw == w && th == h ? first : Resize.lanczos(first, w, h, c, tw, th);
        return Images.toPng(new Tensor(new long[] {1, th, tw, c}, small), 0);
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

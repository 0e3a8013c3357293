package io.sparkdiffusion.jobs;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.image.Resize;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.pipeline.DiffusionPipeline;
import io.sparkdiffusion.pipeline.GenerationRequest;
import io.sparkdiffusion.pipeline.VideoPipeline;
import io.sparkdiffusion.pipeline.VideoRequest;
import io.sparkdiffusion.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.util.LongAccumulator;

/**
 * Streams one partition through the executor's resident pipeline. Rows are prepared one by one (init image and
 * mask decoded and sized on the executor), then rows that share size, steps, guidance, strength and scheduler are
 * grouped into engine batches of {@code batch_size}; a batch runs when it is full, the rest at the end, so memory
 * holds at most one open batch per distinct shape. Each row's noise comes from its own seed, so the pictures do not
 * depend on the batching. Each image is written to {@code images/<file>} as it is made; the returned rows are its
 * metadata. A row whose input cannot be used, or that the engine rejects (a failed batch is retried row by row), is
 * returned as a failure with the field and reason; the other rows are unaffected.
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
    private final io.sparkdiffusion.video.VideoFormat videoFormat;
    private final Integer decodeChunkSize;
    private final LongAccumulator written;
    private final LongAccumulator failed;

    public PartitionGenerator(
            ModelHandle model,
            OutputStore store,
            InitImages initImages,
            int batchSize,
            boolean keepUnmasked,
            String runId,
            io.sparkdiffusion.video.VideoFormat videoFormat,
            Integer decodeChunkSize,
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
        this.written = written;
        this.failed = failed;
    }

    @Override
    public Iterator<GeneratedRow> call(Iterator<PlannedRow> rows) {
        int partition = TaskContext.get() == null ? -1 : TaskContext.get().partitionId();
        return new BatchIterator(rows, partition);
    }

    /** Generates lazily, one batch at a time, as Spark consumes the rows. */
    private final class BatchIterator implements Iterator<GeneratedRow> {
        private final Iterator<PlannedRow> input;
        private final int partition;
        private final long started = System.nanoTime();
        private final Map<String, List<InitImages.Prepared>> open = new LinkedHashMap<>();
        private final Deque<GeneratedRow> ready = new ArrayDeque<>();
        private DiffusionPipeline pipeline;
        private int done;

        BatchIterator(Iterator<PlannedRow> input, int partition) {
            this.input = input;
            this.partition = partition;
        }

        @Override
        public boolean hasNext() {
            while (ready.isEmpty() && (input.hasNext() || !open.isEmpty())) {
                if (input.hasNext()) {
                    accept(input.next());
                } else {
                    String key = open.keySet().iterator().next();
                    runBatch(open.remove(key));
                }
            }
            return !ready.isEmpty();
        }

        @Override
        public GeneratedRow next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return ready.poll();
        }

        private void accept(PlannedRow r) {
            InitImages.Prepared p;
            try {
                p = initImages.prepare(r);
            } catch (RowRules.Rejection e) {
                ready.add(failure(r, e.field(), e.getMessage()));
                return;
            }
            List<InitImages.Prepared> batch = open.computeIfAbsent(p.batchKey(), k -> new ArrayList<>());
            batch.add(p);
            if (batch.size() >= batchSize) {
                runBatch(open.remove(p.batchKey()));
            }
        }

        private void runBatch(List<InitImages.Prepared> batch) {
            if (pipeline == null) {
                pipeline = ResidentPipelines.acquire(model);
            }
            long t0 = System.nanoTime();
            try {
                ready.addAll(generate(batch));
            } catch (RuntimeException e) {
                if (batch.size() == 1) {
                    ready.add(failure(batch.get(0).row(), "generation", message(e)));
                } else {
                    LOG.warn(
                            "partition {}: a batch of {} failed ({}); retrying its rows one by one",
                            partition,
                            batch.size(),
                            message(e));
                    for (InitImages.Prepared p : batch) {
                        try {
                            ready.addAll(generate(List.of(p)));
                        } catch (RuntimeException single) {
                            ready.add(failure(p.row(), "generation", message(single)));
                        }
                    }
                }
            }
            done += batch.size();
            LOG.info(
                    "partition {}: {} rows done, batch of {} in {} s, {} images/s",
                    partition,
                    done,
                    batch.size(),
                    String.format("%.2f", (System.nanoTime() - t0) / 1e9),
                    String.format("%.2f", done / ((System.nanoTime() - started) / 1e9)));
        }

        private List<GeneratedRow> generate(List<InitImages.Prepared> batch) {
            if (pipeline instanceof VideoPipeline video) {
                return generateVideos(video, batch);
            }
            PlannedRow first = batch.get(0).row();
            GenerationRequest.Builder b = GenerationRequest.builder()
                    .steps(first.getSteps())
                    .guidanceScale(first.getGuidanceScale())
                    .size(batch.get(0).width(), batch.get(0).height())
                    .scheduler(first.getScheduler())
                    .strength(first.getStrength())
                    .keepUnmasked(keepUnmasked);
            if (pipeline.takesPrompt()) {
                b.prompts(column(batch, PlannedRow::getPrompt))
                        .negativePrompts(column(batch, PlannedRow::getNegativePrompt));
            } else {
                b.rows(batch.size());
            }
            if (batch.get(0).image() != null) {
                b.image(InitImages.images(batch)).mask(InitImages.masks(batch));
            }
            long t0 = System.nanoTime();
            Tensor images = pipeline.generate(b.build(), new SeededNoise(seeds(batch)));
            long perRowMs = (System.nanoTime() - t0) / 1_000_000 / batch.size();
            List<GeneratedRow> out = new ArrayList<>();
            for (int i = 0; i < batch.size(); i++) {
                InitImages.Prepared p = batch.get(i);
                byte[] png = Images.toPng(images, i);
                String relative = "images/" + p.row().getImageFile();
                store.put(relative, png);
                if (p.image() != null) {
                    writeThumbnails(p);
                }
                out.add(writtenRow(p, relative, png, perRowMs, p.width(), p.height()));
            }
            return out;
        }

        /** The metadata of a written picture (or a video's poster), counted in the accumulator. */
        private GeneratedRow writtenRow(
                InitImages.Prepared p, String relative, byte[] png, long perRowMs, int width, int height) {
            GeneratedRow g = GeneratedRow.of(p.row(), runId, model.name(), model.fingerprint());
            g.setWritten(true);
            g.setImagePath(store.path(relative).toString());
            g.setImageSha256(ModelLocalizer.hex(ModelLocalizer.sha256(png)));
            g.setGenerationMs(perRowMs);
            g.setWidth(width);
            g.setHeight(height);
            g.setNotes(p.notes().isEmpty() ? null : String.join("; ", p.notes()));
            written.add(1);
            return g;
        }

        /**
         * Videos: each is encoded and written as soon as the batch's frames come back, one video at a time from the
         * batch's frame tensor (no per-video copy of all frames), with its first frame as the poster in images/.
         */
        private List<GeneratedRow> generateVideos(VideoPipeline video, List<InitImages.Prepared> batch) {
            PlannedRow first = batch.get(0).row();
            VideoRequest.Builder b = VideoRequest.builder()
                    .steps(first.getSteps())
                    .guidanceScale(first.getGuidanceScale())
                    .numFrames(first.getNumFrames())
                    .fps(first.getFps())
                    .motionBucketId(first.getMotionBucketId())
                    .noiseAugStrength(first.getNoiseAugStrength())
                    .decodeChunkSize(decodeChunkSize)
                    .scheduler(first.getScheduler());
            if (batch.get(0).image() != null) {
                b.image(InitImages.images(batch)).rows(batch.size());
            } else {
                b.prompts(column(batch, PlannedRow::getPrompt))
                        .negativePrompts(column(batch, PlannedRow::getNegativePrompt))
                        .size(batch.get(0).width(), batch.get(0).height());
            }
            long t0 = System.nanoTime();
            Tensor frames = video.generateVideo(
                    b.build(), new SeededNoise(seeds(batch)), io.sparkdiffusion.pipeline.StepListener.NONE);
            long perRowMs = (System.nanoTime() - t0) / 1_000_000 / batch.size();
            long[] s = frames.shape();
            int f = (int) s[1];
            List<GeneratedRow> out = new ArrayList<>();
            for (int i = 0; i < batch.size(); i++) {
                InitImages.Prepared p = batch.get(i);
                Tensor clip = io.sparkdiffusion.tensor.Tensors.sliceBatch(frames, i, i + 1)
                        .reshape(f, s[2], s[3], s[4]);
                String stem = p.row().getImageFile().replaceAll("\\.png$", "");
                String videoRelative = "videos/" + videoFormat.outputName(stem);
                if (videoFormat == io.sparkdiffusion.video.VideoFormat.PNG_FRAMES) {
                    for (int k = 0; k < f; k++) {
                        store.put(
                                videoRelative + "/" + io.sparkdiffusion.video.PngFrames.fileName(k, f),
                                io.sparkdiffusion.video.PngFrames.frame(clip, k));
                    }
                } else {
                    store.put(
                            videoRelative,
                            videoFormat.writer().toBytes(clip, p.row().getFps()));
                }
                byte[] poster = io.sparkdiffusion.video.PngFrames.poster(clip);
                String posterRelative = "images/" + p.row().getImageFile();
                store.put(posterRelative, poster);
                if (p.image() != null) {
                    writeThumbnails(p);
                }
                GeneratedRow g = writtenRow(p, posterRelative, poster, perRowMs, (int) s[3], (int) s[2]);
                g.setVideoPath(store.path(videoRelative).toString());
                g.setNumFrames(f);
                g.setFps(p.row().getFps());
                g.setDurationSeconds((double) f / p.row().getFps());
                out.add(g);
            }
            return out;
        }

        /** Small copies of the input and mask for the contact sheet: thumbs/{file}-input.png and -mask.png. */
        private void writeThumbnails(InitImages.Prepared p) {
            double scale = Math.min(1.0, (double) THUMBNAIL / Math.max(p.width(), p.height()));
            int tw = Math.max(1, (int) Math.round(p.width() * scale));
            int th = Math.max(1, (int) Math.round(p.height() * scale));
            String base = "thumbs/" + p.row().getImageFile().replaceAll("\\.png$", "");
            float[] img = p.image().resize(tw, th).rgb();
            store.put(base + "-input.png", Images.toPng(new Tensor(new long[] {1, th, tw, 3}, img), 0));
            if (p.mask() != null) {
                float[] m = Resize.nearest(p.mask(), p.width(), p.height(), 1, tw, th);
                store.put(base + "-mask.png", Images.toPng(new Tensor(new long[] {1, th, tw, 1}, m), 0));
            }
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

    private static long[] seeds(List<InitImages.Prepared> batch) {
        return batch.stream().mapToLong(p -> p.row().getSeed()).toArray();
    }

    private static List<String> column(
            List<InitImages.Prepared> batch, java.util.function.Function<PlannedRow, String> f) {
        List<String> out = new ArrayList<>();
        batch.forEach(p -> out.add(f.apply(p.row())));
        return out;
    }

    private static String message(RuntimeException e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}

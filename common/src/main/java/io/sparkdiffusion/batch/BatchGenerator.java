package io.sparkdiffusion.batch;

import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.pipeline.GenerationRequest;
import io.sparkdiffusion.pipeline.ImagePipeline;
import io.sparkdiffusion.pipeline.ImageRequest;
import io.sparkdiffusion.pipeline.Pipeline;
import io.sparkdiffusion.pipeline.VideoPipeline;
import io.sparkdiffusion.pipeline.VideoRequest;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.EngineException;
import io.sparkdiffusion.util.Errors;
import io.sparkdiffusion.util.InvalidRequestException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Turns a stream of rows into a stream of generated pictures or videos, knowing nothing of files, tables or Spark: the
 * one batching loop of the job, the DataFrame transformer and any other caller. One instance serves one stream at a
 * time; the pipeline it drives may be shared.
 *
 * <p>Rows that share their call arguments ({@link GenerationRow#batchKey}) are grouped into engine calls of up to
 * {@code batchSize} rows; a group runs when it is full, the rest when the input ends, so memory holds at most one open
 * group per distinct shape. Each row's noise comes from its own seed ({@link SeededNoise}), so a row's output does not
 * depend on its batch-mates, the batch size or the order of the input. Outputs come back as their batch finishes, not
 * in input order.
 *
 * <p>Failures: a request the engine refuses ({@link InvalidRequestException}) or another error of one call makes the
 * batch's rows run again one by one, so only the rows at fault come back {@link Outcome.Failed}; an
 * {@link EngineException} (a broken model, session or device) is thrown, since every row would fail the same way.
 */
public final class BatchGenerator {
    private static final Logger LOG = LogManager.getLogger(BatchGenerator.class);

    /**
     * How rows are run.
     *
     * @param batchSize rows per engine call, at most
     * @param keepUnmasked inpainting: paste the original pixels back outside the mask
     * @param decodeChunkSize video: frames the VAE decodes per call, null for all
     */
    public record Options(int batchSize, boolean keepUnmasked, Integer decodeChunkSize) {
        public Options {
            if (batchSize <= 0) {
                throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
            }
        }
    }

    /** A row with the caller's tag, which comes back with its outcome. */
    public record Tagged<T>(T tag, GenerationRow row) {}

    private final Supplier<? extends Pipeline> opener;
    private final Options options;
    private Pipeline pipeline;

    public BatchGenerator(Pipeline pipeline, Options options) {
        this(() -> pipeline, options);
    }

    /**
     * A generator whose pipeline is asked for when the first batch runs (a job's partition of rejected rows only never
     * loads the model).
     */
    public BatchGenerator(Supplier<? extends Pipeline> opener, Options options) {
        this.opener = opener;
        this.options = options;
    }

    private Pipeline pipeline() {
        if (pipeline == null) {
            pipeline = opener.get();
        }
        return pipeline;
    }

    /** Generates lazily, one batch at a time, as the returned iterator is consumed. */
    public <T> Generation<T> generate(Iterator<Tagged<T>> rows) {
        return generate(rows, () -> false);
    }

    /**
     * Generates lazily until {@code stop} says so: it is asked before each row is taken and before each engine call,
     * never during one, so a stop lets the running batch finish and its outcomes be consumed; rows taken into a group
     * that has not run yet are dropped, and {@link Generation#stoppedEarly()} tells the caller that rows were left.
     */
    public <T> Generation<T> generate(Iterator<Tagged<T>> rows, BooleanSupplier stop) {
        return new Generation<>(rows, stop);
    }

    /** Generates every row now, in the outcomes' order (tests, small jobs). */
    public <T> List<Outcome<T>> generateAll(List<Tagged<T>> rows) {
        List<Outcome<T>> out = new ArrayList<>();
        generate(rows.iterator()).forEachRemaining(out::add);
        return out;
    }

    /** The outcomes of a stream of rows, generated batch by batch as they are consumed. */
    public final class Generation<T> implements Iterator<Outcome<T>> {
        private final Iterator<Tagged<T>> input;
        private final BooleanSupplier stop;
        private final Map<String, List<Tagged<T>>> open = new LinkedHashMap<>();
        private final Deque<Outcome<T>> ready = new ArrayDeque<>();
        private boolean stoppedEarly;

        Generation(Iterator<Tagged<T>> input, BooleanSupplier stop) {
            this.input = input;
            this.stop = stop;
        }

        @Override
        public boolean hasNext() {
            while (ready.isEmpty() && !stopped() && (input.hasNext() || !open.isEmpty())) {
                if (input.hasNext()) {
                    Tagged<T> row = input.next();
                    String key = row.row().batchKey();
                    List<Tagged<T>> batch = open.computeIfAbsent(key, k -> new ArrayList<>());
                    batch.add(row);
                    if (batch.size() >= options.batchSize()) {
                        runBatch(open.remove(key));
                    }
                } else {
                    String key = open.keySet().iterator().next();
                    runBatch(open.remove(key));
                }
            }
            return !ready.isEmpty();
        }

        /** Whether the stop ended the generation with rows not generated (taken into a group or not taken yet). */
        public boolean stoppedEarly() {
            return stoppedEarly;
        }

        private boolean stopped() {
            if (stoppedEarly) {
                return true;
            }
            if (!stop.getAsBoolean()) {
                return false;
            }
            // rows left: a group that did not run, or input not taken (asking the input could block or throw once
            // the caller is stopping, so it is not asked)
            stoppedEarly = true;
            open.clear();
            return true;
        }

        @Override
        public Outcome<T> next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return ready.poll();
        }

        private void runBatch(List<Tagged<T>> batch) {
            try {
                ready.addAll(call(batch));
                return;
            } catch (EngineException e) {
                throw e;
            } catch (RuntimeException e) {
                if (batch.size() == 1) {
                    ready.add(failed(batch.get(0), e));
                    return;
                }
                LOG.warn("a batch of {} failed ({}); retrying its rows one by one", batch.size(), message(e));
            }
            for (Tagged<T> row : batch) {
                try {
                    ready.addAll(call(List.of(row)));
                } catch (EngineException e) {
                    throw e;
                } catch (RuntimeException e) {
                    ready.add(failed(row, e));
                }
            }
        }
    }

    private static <T> Outcome<T> failed(Tagged<T> row, RuntimeException e) {
        String field = e instanceof InvalidRequestException r && r.field() != null ? r.field() : "generation";
        return new Outcome.Failed<>(row.tag(), field, message(e));
    }

    /** One engine call for rows that share their batch key. */
    private <T> List<Outcome<T>> call(List<Tagged<T>> batch) {
        Pipeline pipeline = pipeline();
        GenerationRow first = batch.get(0).row();
        long[] seeds = batch.stream().mapToLong(t -> t.row().seed()).toArray();
        long t0 = System.nanoTime();
        Tensor out = switch (pipeline.family().output()) {
            case IMAGE -> ((ImagePipeline) pipeline).generate(imageRequest(batch, first), new SeededNoise(seeds));
            case VIDEO -> ((VideoPipeline) pipeline).generate(videoRequest(batch, first), new SeededNoise(seeds));
        };
        long millis = (System.nanoTime() - t0) / 1_000_000;
        long perRow = millis / batch.size();
        LOG.info("generated a batch of {} rows in {} ms", batch.size(), millis);
        List<Outcome<T>> results = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            Tensor one = Tensors.sliceBatch(out, i, i + 1);
            long[] s = one.shape();
            long[] rest = Arrays.copyOfRange(s, 1, s.length);
            results.add(new Outcome.Generated<>(batch.get(i).tag(), one.reshape(rest), perRow));
        }
        return results;
    }

    private <T> ImageRequest imageRequest(List<Tagged<T>> batch, GenerationRow first) {
        ImageRequest.Builder b = ImageRequest.builder()
                .guidanceScale(first.guidanceScale())
                .size(first.width(), first.height())
                .scheduler(first.scheduler())
                .strength(first.strength())
                .keepUnmasked(options.keepUnmasked());
        if (first.steps() != null) {
            b.steps(first.steps());
        }
        conditioning(b, batch, first);
        if (first.mask() != null) {
            b.mask(stack(batch, GenerationRow::mask));
        }
        return b.build();
    }

    private <T> VideoRequest videoRequest(List<Tagged<T>> batch, GenerationRow first) {
        VideoRequest.Builder b = VideoRequest.builder()
                .steps(first.steps())
                .guidanceScale(first.guidanceScale())
                .numFrames(first.numFrames())
                .fps(first.fps())
                .motionBucketId(first.motionBucketId())
                .noiseAugStrength(first.noiseAugStrength())
                .decodeChunkSize(options.decodeChunkSize())
                .scheduler(first.scheduler());
        if (first.image() == null) {
            b.size(first.width(), first.height());
        }
        conditioning(b, batch, first);
        return b.build();
    }

    /** Prompts when the model takes text, images when the rows carry them, else the row count. */
    private <T> void conditioning(GenerationRequest.Builder<?, ?> b, List<Tagged<T>> batch, GenerationRow first) {
        if (pipeline().info().takesPrompt()) {
            b.prompts(column(batch, GenerationRow::prompt))
                    .negativePrompts(column(batch, GenerationRow::negativePrompt));
        }
        if (first.image() != null) {
            b.image(stack(batch, GenerationRow::image));
        }
        b.rows(batch.size());
    }

    private static <T> List<String> column(List<Tagged<T>> batch, Function<GenerationRow, String> f) {
        List<String> out = new ArrayList<>(batch.size());
        batch.forEach(t -> out.add(f.apply(t.row())));
        return out;
    }

    /** Per-row tensors stacked on a new batch axis. */
    private static <T> Tensor stack(List<Tagged<T>> batch, Function<GenerationRow, Tensor> f) {
        List<Tensor> parts = new ArrayList<>(batch.size());
        for (Tagged<T> t : batch) {
            Tensor x = f.apply(t.row());
            long[] shape = new long[x.rank() + 1];
            shape[0] = 1;
            System.arraycopy(x.shape(), 0, shape, 1, x.rank());
            parts.add(x.reshape(shape));
        }
        return Tensors.concatBatch(parts);
    }

    private static String message(RuntimeException e) {
        return Errors.oneLine(e, 500);
    }
}

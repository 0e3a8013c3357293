package io.sparkdiffusion.jobs;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.pipeline.DiffusionPipeline;
import io.sparkdiffusion.pipeline.GenerationRequest;
import io.sparkdiffusion.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
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
 * Streams one partition through the executor's resident pipeline: rows that share size, steps, guidance and
 * scheduler form engine batches of {@code batch_size}; each row's noise comes from its own seed, so the pictures do
 * not depend on the batching. Each image is written to {@code images/<file>} as it is made; the returned rows are
 * its metadata. A batch the engine rejects is retried row by row, and a row that still fails is returned as a
 * failure with the reason (it lands in {@code errors/}); the other rows are unaffected.
 */
public final class PartitionGenerator implements MapPartitionsFunction<PlannedRow, GeneratedRow> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LogManager.getLogger(PartitionGenerator.class);

    private final ModelHandle model;
    private final OutputStore store;
    private final int batchSize;
    private final String runId;
    private final LongAccumulator written;
    private final LongAccumulator failed;

    public PartitionGenerator(ModelHandle model, OutputStore store, int batchSize, String runId, LongAccumulator written,
                              LongAccumulator failed) {
        this.model = model;
        this.store = store;
        this.batchSize = batchSize;
        this.runId = runId;
        this.written = written;
        this.failed = failed;
    }

    @Override
    public Iterator<GeneratedRow> call(Iterator<PlannedRow> rows) {
        Map<String, List<PlannedRow>> groups = new LinkedHashMap<>();
        int total = 0;
        while (rows.hasNext()) {
            PlannedRow r = rows.next();
            groups.computeIfAbsent(r.batchKey(), k -> new ArrayList<>()).add(r);
            total++;
        }
        Deque<List<PlannedRow>> batches = new ArrayDeque<>();
        for (List<PlannedRow> g : groups.values()) {
            g.sort(Comparator.comparing(PlannedRow::getId));
            for (int i = 0; i < g.size(); i += batchSize) {
                batches.add(g.subList(i, Math.min(g.size(), i + batchSize)));
            }
        }
        int partition = TaskContext.get() == null ? -1 : TaskContext.get().partitionId();
        return new BatchIterator(batches, total, partition);
    }

    /** Generates lazily, one batch at a time, as Spark consumes the rows. */
    private final class BatchIterator implements Iterator<GeneratedRow> {
        private final Deque<List<PlannedRow>> batches;
        private final int total;
        private final int partition;
        private final long started = System.nanoTime();
        private Iterator<GeneratedRow> current = java.util.Collections.emptyIterator();
        private DiffusionPipeline pipeline;
        private int done;

        BatchIterator(Deque<List<PlannedRow>> batches, int total, int partition) {
            this.batches = batches;
            this.total = total;
            this.partition = partition;
        }

        @Override
        public boolean hasNext() {
            while (!current.hasNext() && !batches.isEmpty()) {
                current = runBatch(batches.poll()).iterator();
            }
            return current.hasNext();
        }

        @Override
        public GeneratedRow next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return current.next();
        }

        private List<GeneratedRow> runBatch(List<PlannedRow> batch) {
            if (pipeline == null) {
                pipeline = ResidentPipelines.acquire(model);
            }
            long t0 = System.nanoTime();
            List<GeneratedRow> out = new ArrayList<>();
            try {
                out.addAll(generate(batch));
            } catch (RuntimeException e) {
                if (batch.size() == 1) {
                    out.add(failure(batch.get(0), e));
                } else {
                    LOG.warn("partition {}: a batch of {} failed ({}); retrying its rows one by one", partition,
                            batch.size(), e.getMessage());
                    for (PlannedRow r : batch) {
                        try {
                            out.addAll(generate(List.of(r)));
                        } catch (RuntimeException single) {
                            out.add(failure(r, single));
                        }
                    }
                }
            }
            done += batch.size();
            double batchSeconds = (System.nanoTime() - t0) / 1e9;
            double overall = done / ((System.nanoTime() - started) / 1e9);
            LOG.info("partition {}: {}/{} rows done, batch of {} in {} s, {} images/s", partition, done, total,
                    batch.size(), String.format("%.2f", batchSeconds), String.format("%.2f", overall));
            return out;
        }

        private List<GeneratedRow> generate(List<PlannedRow> batch) {
            PlannedRow first = batch.get(0);
            GenerationRequest.Builder b = GenerationRequest.builder().steps(first.getSteps())
                    .guidanceScale(first.getGuidanceScale()).size(first.getWidth(), first.getHeight())
                    .scheduler(first.getScheduler());
            long[] seeds = new long[batch.size()];
            List<String> prompts = new ArrayList<>();
            List<String> negatives = new ArrayList<>();
            for (int i = 0; i < batch.size(); i++) {
                seeds[i] = batch.get(i).getSeed();
                prompts.add(batch.get(i).getPrompt());
                negatives.add(batch.get(i).getNegativePrompt());
            }
            if (pipeline.takesPrompt()) {
                b.prompts(prompts).negativePrompts(negatives);
            } else {
                b.rows(batch.size());
            }
            long t0 = System.nanoTime();
            Tensor images = pipeline.generate(b.build(), new SeededNoise(seeds));
            long perRowMs = (System.nanoTime() - t0) / 1_000_000 / batch.size();
            List<GeneratedRow> out = new ArrayList<>();
            for (int i = 0; i < batch.size(); i++) {
                PlannedRow r = batch.get(i);
                byte[] png = Images.toPng(images, i);
                String relative = "images/" + r.getImageFile();
                store.put(relative, png);
                GeneratedRow g = GeneratedRow.of(r, runId, model.name(), model.fingerprint());
                g.setWritten(true);
                g.setImagePath(store.path(relative).toString());
                g.setImageSha256(ModelLocalizer.hex(ModelLocalizer.sha256(png)));
                g.setGenerationMs(perRowMs);
                out.add(g);
                written.add(1);
            }
            return out;
        }

        private GeneratedRow failure(PlannedRow r, RuntimeException e) {
            LOG.error("partition {}: row '{}' failed: {}", partition, r.getId(), e.getMessage());
            failed.add(1);
            GeneratedRow g = GeneratedRow.of(r, runId, model.name(), model.fingerprint());
            g.setWritten(false);
            g.setErrorReason(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
            return g;
        }
    }
}

package io.sparkdiffusion.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.pipeline.ImagePipeline;
import io.sparkdiffusion.pipeline.ImageRequest;
import io.sparkdiffusion.pipeline.Pipelines;
import io.sparkdiffusion.pipeline.StepListener;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import io.sparkdiffusion.util.EngineException;
import io.sparkdiffusion.util.InvalidRequestException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The storage-free batch component: a row's output depends on its seed alone (not its batch-mates, the batch size
 * or the input order); a row the engine refuses fails alone, naming the field; a broken engine stops the stream.
 */
class BatchGeneratorTest {
    private static final Path DIGITS = Fixtures.model("digits-t2i");

    @Test
    @Slow
    void aRowsOutputIsTheSameWhateverTheBatchingAndOrder() {
        List<BatchGenerator.Tagged<Integer>> rows = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            rows.add(new BatchGenerator.Tagged<>(
                    i,
                    GenerationRow.builder(100 + i)
                            .prompt("a handwritten digit " + (i % 10))
                            .steps(i % 2 == 0 ? 6 : 5) // two shapes: the generator groups them
                            .guidanceScale(3)
                            .scheduler("euler_a")
                            .build()));
        }
        try (ImagePipeline pipeline = Pipelines.openImage(DIGITS, RuntimeOptions.DEFAULT)) {
            Map<Integer, byte[]> one = pngs(new BatchGenerator(pipeline, options(1)).generateAll(rows));
            List<BatchGenerator.Tagged<Integer>> shuffled = new ArrayList<>(rows);
            Collections.shuffle(shuffled, new Random(5));
            Map<Integer, byte[]> four = pngs(new BatchGenerator(pipeline, options(4)).generateAll(shuffled));
            assertEquals(rows.size(), one.size());
            for (int i = 0; i < rows.size(); i++) {
                assertArrayEquals(one.get(i), four.get(i), "row " + i + ": batch of 1 vs batches of 4, shuffled");
            }
        }
    }

    @Test
    @Slow
    void aBadRowFailsAloneWithItsFieldAndTheOthersAreGenerated() {
        List<BatchGenerator.Tagged<String>> rows = List.of(
                tagged(
                        "good-1",
                        GenerationRow.builder(1)
                                .prompt("a handwritten digit one")
                                .steps(4)),
                // 17 is not a multiple of the digits model's size multiple (2): the engine refuses this row
                tagged(
                        "bad-size",
                        GenerationRow.builder(2)
                                .prompt("a handwritten digit two")
                                .steps(4)
                                .size(16, 17)),
                tagged(
                        "good-2",
                        GenerationRow.builder(3)
                                .prompt("a handwritten digit three")
                                .steps(4)),
                tagged("no-prompt", GenerationRow.builder(4).steps(4)));
        try (ImagePipeline pipeline = Pipelines.openImage(DIGITS, RuntimeOptions.DEFAULT)) {
            Map<String, Outcome<String>> byTag = new HashMap<>();
            new BatchGenerator(pipeline, options(4)).generateAll(rows).forEach(o -> byTag.put(o.tag(), o));
            assertEquals(4, byTag.size());
            assertInstanceOf(Outcome.Generated.class, byTag.get("good-1"));
            assertInstanceOf(Outcome.Generated.class, byTag.get("good-2"));
            Outcome.Failed<String> size = failed(byTag.get("bad-size"));
            assertEquals("height", size.field(), size.reason());
            assertTrue(size.reason().contains("17"), size.reason());
            Outcome.Failed<String> prompt = failed(byTag.get("no-prompt"));
            assertEquals("prompt", prompt.field(), prompt.reason());
        }
    }

    @Test
    void aRefusedBatchIsRetriedRowByRowAndOnlyTheRowAtFaultFails() {
        // a stand-in engine that refuses any batch holding seed 13
        FakePipeline fake = new FakePipeline(seedsOf -> {
            if (seedsOf.contains(13L)) {
                throw new InvalidRequestException("image", "seed 13's image is unusable");
            }
        });
        List<BatchGenerator.Tagged<Long>> rows = new ArrayList<>();
        for (long seed : new long[] {11, 12, 13, 14}) {
            rows.add(new BatchGenerator.Tagged<>(
                    seed, GenerationRow.builder(seed).prompt("p").build()));
        }
        List<Outcome<Long>> out = new BatchGenerator(fake, options(4)).generateAll(rows);
        assertEquals(4, out.size());
        for (Outcome<Long> o : out) {
            if (o.tag() == 13L) {
                Outcome.Failed<Long> f = failed(o);
                assertEquals("image", f.field());
            } else {
                assertInstanceOf(Outcome.Generated.class, o);
            }
        }
        assertEquals(List.of(4, 1, 1, 1, 1), fake.batchSizes, "the batch, then each row alone");
    }

    @Test
    void aBrokenEngineStopsTheStreamInsteadOfFailingEveryRow() {
        FakePipeline fake = new FakePipeline(seeds -> {
            throw new EngineException("component 'unet' failed: CUDA error: device lost");
        });
        List<BatchGenerator.Tagged<Long>> rows = new ArrayList<>();
        for (long seed = 0; seed < 6; seed++) {
            rows.add(new BatchGenerator.Tagged<>(
                    seed, GenerationRow.builder(seed).prompt("p").build()));
        }
        EngineException e =
                assertThrows(EngineException.class, () -> new BatchGenerator(fake, options(2)).generateAll(rows));
        assertTrue(e.getMessage().contains("device lost"), e.getMessage());
        assertEquals(List.of(2), fake.batchSizes, "no row retried after an engine failure");
    }

    @Test
    void aStopLetsTheRunningBatchFinishAndStartsNoOther() {
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        // the stop arrives while the first batch runs in the engine
        FakePipeline fake = new FakePipeline(seeds -> stop.set(true));
        List<BatchGenerator.Tagged<Long>> rows = new ArrayList<>();
        for (long seed = 0; seed < 7; seed++) {
            rows.add(new BatchGenerator.Tagged<>(
                    seed, GenerationRow.builder(seed).prompt("p").build()));
        }
        BatchGenerator.Generation<Long> generation =
                new BatchGenerator(fake, options(3)).generate(rows.iterator(), stop::get);
        List<Long> delivered = new ArrayList<>();
        generation.forEachRemaining(o -> delivered.add(generated(o).tag()));
        assertEquals(List.of(0L, 1L, 2L), delivered, "the running batch's rows, all of them");
        assertEquals(List.of(3), fake.batchSizes, "no batch after the stop");
        assertTrue(generation.stoppedEarly(), "rows were left");

        BatchGenerator.Generation<Long> unstopped =
                new BatchGenerator(new FakePipeline(seeds -> {}), options(3)).generate(rows.iterator(), () -> false);
        unstopped.forEachRemaining(o -> {});
        assertEquals(false, unstopped.stoppedEarly());
    }

    private static <T> Outcome.Failed<T> failed(Outcome<T> o) {
        if (o instanceof Outcome.Failed<T> f) {
            return f;
        }
        throw new AssertionError("expected a failed row, got " + o);
    }

    private static <T> Outcome.Generated<T> generated(Outcome<T> o) {
        if (o instanceof Outcome.Generated<T> g) {
            return g;
        }
        throw new AssertionError("expected a generated row, got " + o);
    }

    private static BatchGenerator.Options options(int batchSize) {
        return new BatchGenerator.Options(batchSize, false, null);
    }

    private static BatchGenerator.Tagged<String> tagged(String tag, GenerationRow.Builder row) {
        return new BatchGenerator.Tagged<>(tag, row.build());
    }

    private static <T> Map<T, byte[]> pngs(List<Outcome<T>> outcomes) {
        Map<T, byte[]> out = new HashMap<>();
        for (Outcome<T> o : outcomes) {
            Outcome.Generated<T> g = generated(o);
            Tensor hwc = g.output();
            out.put(o.tag(), Images.toPng(hwc.reshape(1, hwc.dim(0), hwc.dim(1), hwc.dim(2)), 0));
        }
        return out;
    }

    /** An image pipeline that records batch sizes and fails as told; its pictures are the seeds as pixels. */
    private static final class FakePipeline implements ImagePipeline {
        private final java.util.function.Consumer<List<Long>> check;
        private final ModelInfo info = ModelInfo.of(DIGITS);
        final List<Integer> batchSizes = new ArrayList<>();

        FakePipeline(java.util.function.Consumer<List<Long>> check) {
            this.check = check;
        }

        @Override
        public Tensor generate(ImageRequest request, NoiseSource noise, StepListener listener) {
            batchSizes.add(request.rows());
            Tensor draws = noise.next(request.rows(), 1, 1, 1);
            List<Long> seeds = new ArrayList<>();
            for (float v : draws.data()) {
                seeds.add(seedOf(v));
            }
            check.accept(seeds);
            return Tensor.zeros(request.rows(), 2, 2, 1);
        }

        /** The seed of a row, recovered from its first draw (each test row's seed makes a distinct draw). */
        private long seedOf(float firstDraw) {
            for (long s = 0; s < 100; s++) {
                if (new io.sparkdiffusion.noise.SeededNoise(s).next(1, 1, 1, 1).data()[0] == firstDraw) {
                    return s;
                }
            }
            throw new AssertionError("unknown draw " + firstDraw);
        }

        @Override
        public int imageChannels() {
            return 1;
        }

        @Override
        public ModelInfo info() {
            return info;
        }

        @Override
        public Task task() {
            return Task.TEXT_TO_IMAGE;
        }

        @Override
        public Map<String, OnnxModel.RunStats> runStats() {
            return Map.of();
        }

        @Override
        public void close() {}
    }
}

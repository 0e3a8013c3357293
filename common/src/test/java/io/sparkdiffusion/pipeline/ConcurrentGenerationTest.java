package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * One resident pipeline serves concurrent calls (an executor's task slots share it): two calls with different
 * prompts, seeds, schedulers and a per-call scheduler config, run at the same time on one pipeline, give the same
 * bytes as the same calls one after the other. Per-call state lives in the request and the call's own scheduler.
 */
@Slow
class ConcurrentGenerationTest {
    private static final int ROUNDS = 3;

    @Test
    void twoConcurrentCallsOnOnePipelineEqualTheSameCallsInSequence() throws Exception {
        Path digits = Fixtures.model("digits-t2i");
        JsonConfig ddim = JsonConfig.read(digits.resolve("scheduler/scheduler_config.json"))
                .with("_class_name", "DDIMScheduler");
        try (ImagePipeline pipeline = Pipelines.openImage(digits, RuntimeOptions.DEFAULT)) {
            Supplier<Tensor> a = () -> pipeline.generate(
                    ImageRequest.builder()
                            .prompts(List.of("a handwritten digit two", "a handwritten digit five"))
                            .steps(8)
                            .guidanceScale(3)
                            .scheduler("euler_a")
                            .build(),
                    new SeededNoise(1, 2));
            Supplier<Tensor> b = () -> pipeline.generate(
                    ImageRequest.builder()
                            .prompts(List.of("a handwritten digit seven"))
                            .steps(6)
                            .guidanceScale(5)
                            .schedulerConfig(ddim)
                            .build(),
                    new SeededNoise(3));
            List<byte[]> sequential = pngs(a.get(), b.get());

            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < ROUNDS; round++) {
                    CountDownLatch start = new CountDownLatch(1);
                    Future<Tensor> fa = pool.submit(() -> {
                        start.await();
                        return a.get();
                    });
                    Future<Tensor> fb = pool.submit(() -> {
                        start.await();
                        return b.get();
                    });
                    start.countDown();
                    List<byte[]> concurrent = pngs(fa.get(), fb.get());
                    for (int i = 0; i < sequential.size(); i++) {
                        assertArrayEquals(sequential.get(i), concurrent.get(i), "round " + round + ", image " + i);
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static List<byte[]> pngs(Tensor first, Tensor second) {
        List<byte[]> out = new ArrayList<>();
        for (Tensor t : List.of(first, second)) {
            for (int r = 0; r < t.dim(0); r++) {
                out.add(Images.toPng(t, r));
            }
        }
        return out;
    }
}

package io.sparkdiffusion.examples;

import io.sparkdiffusion.batch.BatchGenerator;
import io.sparkdiffusion.batch.GenerationRow;
import io.sparkdiffusion.batch.Outcome;
import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.pipeline.ImagePipeline;
import io.sparkdiffusion.pipeline.ImageRequest;
import io.sparkdiffusion.pipeline.Pipelines;
import io.sparkdiffusion.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The engine as a library, in a plain Java program (no Spark): open a model folder, generate a batch of pictures with
 * per-row seeds, write them as PNG. docs/library.md walks through it.
 *
 * <pre>
 * java -cp ... io.sparkdiffusion.examples.GenerateImages [MODEL_DIR] [OUT_DIR]
 * </pre>
 */
public final class GenerateImages {
    private GenerateImages() {}

    public static void main(String[] args) throws IOException {
        Path model = Path.of(args.length > 0 ? args[0] : "models/digits-t2i");
        Path out = Files.createDirectories(Path.of(args.length > 1 ? args[1] : "out/library-example"));

        // 1. open the model once; the pipeline is immutable and may serve many calls, also concurrently
        try (ImagePipeline pipeline = Pipelines.openImage(model, RuntimeOptions.DEFAULT)) {

            // 2. one call, one batch: every row shares steps, guidance and size; each row has its own seed
            Tensor pictures = pipeline.generate(
                    ImageRequest.builder()
                            .prompts(List.of("a handwritten digit three", "a handwritten digit eight"))
                            .steps(20)
                            .guidanceScale(3)
                            .build(),
                    new SeededNoise(7, 8));
            for (int row = 0; row < pictures.dim(0); row++) {
                Files.write(out.resolve("call-" + row + ".png"), Images.toPng(pictures, row));
            }

            // 3. many rows of mixed shapes: the batch generator groups rows of equal shape, one seed per row, and
            //    reports a row the engine refuses without stopping the others
            List<BatchGenerator.Tagged<String>> rows = new ArrayList<>();
            for (int digit = 0; digit < 10; digit++) {
                rows.add(new BatchGenerator.Tagged<>(
                        "digit-" + digit,
                        GenerationRow.builder(1000 + digit)
                                .prompt("a handwritten digit " + digit)
                                .steps(digit < 5 ? 20 : 30)
                                .guidanceScale(3)
                                .build()));
            }
            BatchGenerator generator = new BatchGenerator(pipeline, new BatchGenerator.Options(4, false, null));
            for (Outcome<String> outcome : generator.generateAll(rows)) {
                if (outcome instanceof Outcome.Generated<String> g) {
                    Tensor hwc = g.output();
                    Tensor batchOfOne = hwc.reshape(1, hwc.dim(0), hwc.dim(1), hwc.dim(2));
                    Files.write(out.resolve(g.tag() + ".png"), Images.toPng(batchOfOne, 0));
                } else if (outcome instanceof Outcome.Failed<String> f) {
                    System.err.println(f.tag() + ": " + f.field() + ": " + f.reason());
                }
            }
        }
        System.out.println("wrote " + out.toAbsolutePath());
    }
}

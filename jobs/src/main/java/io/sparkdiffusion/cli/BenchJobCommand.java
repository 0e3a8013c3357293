package io.sparkdiffusion.cli;

import io.sparkdiffusion.image.Images;
import io.sparkdiffusion.jobs.GenerateJob;
import io.sparkdiffusion.jobs.JobConfig;
import io.sparkdiffusion.jobs.JobSummary;
import io.sparkdiffusion.jobs.ResidentPipelines;
import io.sparkdiffusion.ml.DiffusionGenerator;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.pipeline.ImagePipeline;
import io.sparkdiffusion.pipeline.ImageRequest;
import io.sparkdiffusion.pipeline.Pipelines;
import io.sparkdiffusion.quality.DigitClassifier;
import io.sparkdiffusion.tensor.Tensor;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench-job}: the same rows through a plain loop over the engine in this JVM, then through the Spark job on
 * local Spark, then through the {@link DiffusionGenerator} transformer in the same session (its resident pipeline
 * already loaded by the job); prints images/s of each and their ratios (a harness that prints figures, not a test).
 */
@Command(
        name = "bench-job",
        mixinStandardHelpOptions = true,
        description =
                "Compares images/s of a plain loop over the engine, the Spark job (local[N]) and the DiffusionGenerator"
                        + " transformer on the same rows.")
final class BenchJobCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--model",
            paramLabel = "DIR",
            description = "Text-to-image model folder. Default: models/digits-t2i.")
    Path model;

    @Option(
            names = "--rows",
            paramLabel = "N",
            defaultValue = "60",
            description = "Rows (digits prompts). Default: ${DEFAULT-VALUE}.")
    int rows;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "20", description = "Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--guidance", paramLabel = "G", defaultValue = "3", description = "Default: ${DEFAULT-VALUE}.")
    double guidance;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "8", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(
            names = "--master",
            paramLabel = "URL",
            defaultValue = "local[2]",
            description = "Default: ${DEFAULT-VALUE}.")
    String master;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "Scratch folder (default: a temp folder).")
    Path workDir;

    @Override
    public Integer call() throws Exception {
        if (rows <= 0 || steps <= 0 || batchSize <= 0) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--rows, --steps and --batch-size must be positive");
        }
        PrintWriter out = spec.commandLine().getOut();
        Path modelDir = model != null ? model : ProjectHome.defaultModel();
        Path work = workDir != null ? Files.createDirectories(workDir) : Files.createTempDirectory("bench-job");
        List<String> prompts = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            String prompt = "a handwritten digit " + DigitClassifier.word(i % 10);
            prompts.add(prompt);
            lines.add("{\"id\":\"b" + i + "\",\"prompt\":\"" + prompt + "\",\"seed\":" + i + "}");
        }
        Path input = Files.write(work.resolve("rows.jsonl"), lines);

        // 1. plain loop in this JVM: load, generate in batches, encode and write PNGs
        Path loopOut = Files.createDirectories(work.resolve("loop"));
        long t0 = System.nanoTime();
        try (ImagePipeline p = Pipelines.openImage(modelDir, RuntimeOptions.DEFAULT)) {
            for (int from = 0; from < rows; from += batchSize) {
                int to = Math.min(rows, from + batchSize);
                long[] seeds = new long[to - from];
                for (int i = from; i < to; i++) {
                    seeds[i - from] = i;
                }
                Tensor images = p.generate(
                        ImageRequest.builder()
                                .prompts(prompts.subList(from, to))
                                .steps(steps)
                                .guidanceScale(guidance)
                                .build(),
                        new SeededNoise(seeds));
                for (int i = from; i < to; i++) {
                    Files.write(loopOut.resolve("b" + i + ".png"), Images.toPng(images, i - from));
                }
            }
        }
        double loopRate = rows / ((System.nanoTime() - t0) / 1e9);
        out.printf(Locale.ROOT, "plain loop (one JVM, %d rows, batch %d): %.2f images/s%n", rows, batchSize, loopRate);
        out.flush();

        // 2. the job on local Spark
        SparkSession spark = SparkSession.builder()
                .appName("bench-job")
                .master(master)
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.ui.enabled", "false")
                .getOrCreate();
        try {
            Map<String, String> s = new LinkedHashMap<>();
            s.put("model", modelDir.toString());
            s.put("input", input.toString());
            s.put("input_format", "json");
            s.put("output", work.resolve("job").toString());
            s.put("overwrite", "true");
            s.put("batch_size", Integer.toString(batchSize));
            s.put("partitions", Integer.toString(spark.sparkContext().defaultParallelism()));
            s.put("defaults.num_inference_steps", Integer.toString(steps));
            s.put("defaults.guidance_scale", Double.toString(guidance));
            JobSummary js = GenerateJob.run(spark, JobConfig.load(null, s));
            out.printf(
                    Locale.ROOT,
                    "job (%s, %s partitions): %.2f images/s in the generation stage, %.1f s wall time in all%n",
                    master,
                    s.get("partitions"),
                    js.imagesPerSecond(),
                    js.wallSeconds());
            out.printf(Locale.ROOT, "ratio job / loop = %.2f%n", js.imagesPerSecond() / loopRate);
            out.flush();

            // 3. the transformer on the same rows and session: generation inside the user's DataFrame code, the
            // rows collected (no output folder), timed from transform to the last row
            Dataset<Row> table = spark.read().json(input.toString()).repartition(Integer.parseInt(s.get("partitions")));
            table.cache().count();
            DiffusionGenerator generator = new DiffusionGenerator()
                    .setModelUri(modelDir.toString())
                    .setBatchSize(batchSize)
                    .setDefaultSteps(steps)
                    .setDefaultGuidanceScale(guidance);
            long t1 = System.nanoTime();
            long generated = generator
                    .transform(table)
                    .filter("generated.image IS NOT NULL")
                    .count();
            double transformerRate = generated / ((System.nanoTime() - t1) / 1e9);
            out.printf(
                    Locale.ROOT,
                    "transformer (%s, %s partitions, %d of %d rows generated): %.2f images/s from transform to the"
                            + " last row%n",
                    master,
                    s.get("partitions"),
                    generated,
                    rows,
                    transformerRate);
            out.printf(
                    Locale.ROOT,
                    "ratio transformer / job = %.2f, transformer / loop = %.2f%n",
                    transformerRate / js.imagesPerSecond(),
                    transformerRate / loopRate);
        } finally {
            ResidentPipelines.closeAll();
            spark.stop();
        }
        return 0;
    }
}

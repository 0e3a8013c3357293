package io.sparkdiffusion.examples;

import static org.apache.spark.sql.functions.col;

import io.sparkdiffusion.ml.DiffusionGenerator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * Generation inside your own DataFrame code (docs/transformer.md): read a Parquet table of prompts, keep the rows
 * you want, generate with the {@link DiffusionGenerator} transformer, join the pictures back to the table by key, and
 * write a Parquet dataset. On a cluster, submit it like any Spark application with the spark-diffusion jars.
 *
 * <pre>
 * TransformPrompts PROMPTS_PARQUET MODEL_DIR OUT_PARQUET [MASTER]
 * </pre>
 */
public final class TransformPrompts {
    private TransformPrompts() {}

    public static void main(String[] args) {
        String prompts = args[0];
        String model = args[1];
        String out = args[2];
        SparkSession.Builder builder = SparkSession.builder().appName("spark-diffusion transformer example");
        if (args.length > 3) {
            builder.master(args[3]);
        }
        SparkSession spark = builder.getOrCreate();
        try {
            // 1. the user's table: id, prompt, seed, split (and whatever else it holds)
            Dataset<Row> table = spark.read().parquet(prompts);

            // 2. filter with ordinary DataFrame code
            Dataset<Row> wanted = table.filter(col("split").equalTo("train")).select("id", "prompt", "seed");

            // 3. generate: one struct column with the PNG bytes, the fields it was made with, and an error
            DiffusionGenerator generator = new DiffusionGenerator()
                    .setModelUri(model)
                    .setDefaultSteps(20)
                    .setDefaultGuidanceScale(3)
                    .setBatchSize(4);
            Dataset<Row> generated = generator
                    .transform(wanted)
                    .select(
                            col("id"),
                            col("generated.image").as("image"),
                            col("generated.width").as("width"),
                            col("generated.height").as("height"),
                            col("generated.error.reason").as("error"));

            // 4. join back to the whole table by key and write a dataset
            table.join(generated, "id").write().mode(SaveMode.Overwrite).parquet(out);
        } finally {
            spark.stop();
        }
    }
}

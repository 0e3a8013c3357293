package io.sparkdiffusion.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.regexp_replace;
import static org.apache.spark.sql.functions.substring;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Archive mode: a folder of pictures (recursively) instead of a table, with an optional parallel folder of masks
 * of the same relative names. Each picture becomes a row: {@code id} = its relative path without extension (the
 * output keeps that path: {@code images/<relative>.png}), {@code image} = its URI, {@code mask} = the mask folder's
 * file of the same relative path. Only the listing happens on the driver; executors read the bytes.
 */
final class ArchiveInput {
    static final String PICTURES = "*.{png,jpg,jpeg,webp,PNG,JPG,JPEG,WEBP}";

    private ArchiveInput() {}

    static Dataset<Row> list(SparkSession spark, JobConfig config) {
        String images = qualified(spark, config.archiveImages());
        Dataset<Row> files = spark.read()
                .format("binaryFile")
                .option("recursiveFileLookup", "true")
                .option("pathGlobFilter", PICTURES)
                .load(images)
                .select(col("path"));
        Dataset<Row> rel = files.select(
                col("path").as("image"),
                substring(col("path"), images.length() + 2, Integer.MAX_VALUE).as("relative"));
        Dataset<Row> rows = rel.withColumn("id", regexp_replace(col("relative"), "\\.[^./]+$", ""));
        if (config.archiveMasks() != null) {
            String masks = qualified(spark, config.archiveMasks());
            rows = rows.withColumn("mask", concat(lit(masks + "/"), col("relative")));
        }
        return rows.drop("relative");
    }

    /** The folder's fully qualified URI without a trailing slash, as binaryFile reports paths. */
    private static String qualified(SparkSession spark, String dir) {
        try {
            Path p = new Path(dir);
            String q = p.getFileSystem(spark.sparkContext().hadoopConfiguration())
                    .makeQualified(p)
                    .toString();
            return q.endsWith("/") ? q.substring(0, q.length() - 1) : q;
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot resolve archive folder " + Redaction.uri(dir) + ": " + e.getMessage(), e);
        }
    }
}

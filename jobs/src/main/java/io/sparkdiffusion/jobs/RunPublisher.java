package io.sparkdiffusion.jobs;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Turns what the generation tasks committed ({@link RecordFragments}) into the output a reader uses, in an order that
 * survives a crash at any point: the format's dataset first ({@link ParquetDataset}, {@link WebDatasetShards}; in
 * {@code files} format the pictures are already in place), then the {@code metadata/} table, then the {@code errors/}
 * table, and only then the fragments are removed. Each step adds only what is not there yet (by id), so publishing
 * again after a crash, or a {@code --resume} that finds fragments of an earlier run, never duplicates a row.
 */
final class RunPublisher {
    private static final Logger LOG = LogManager.getLogger(RunPublisher.class);
    static final String METADATA = "metadata";
    static final String ERRORS = "errors";

    private RunPublisher() {}

    /** What one publication did. */
    record Published(long writtenThisRun, long published, long failed, List<ContactSheet.Entry> previews) {}

    /**
     * Publishes every fragment under {@code records/} and writes the errors table (the planning rejections
     * {@code rejected} and the rows the engine refused).
     */
    static Published publish(
            SparkSession spark, OutputStore store, JobConfig config, String runId, Dataset<PlannedRow> rejected) {
        List<String> fragments = RecordFragments.list(store);
        Dataset<GeneratedRow> rows =
                RecordFragments.rows(spark, store, fragments).persist();
        try {
            Dataset<GeneratedRow> generated = rows.filter(col("written"));
            Dataset<GeneratedRow> failed = rows.filter(col("written").equalTo(false));
            OutputFormat format = config.outputFormat();
            long target = config.outputTargetBytes();
            String mediaExtension =
                    config.mode().equals("video") ? config.videoFormat().extension() : ".png";
            Dataset<GeneratedRow> described = generated;
            switch (format) {
                case PARQUET ->
                    ParquetDataset.append(
                            spark, store, generated, config.mode().equals("video"), mediaExtension, target);
                case WEBDATASET -> {
                    Map<String, String> shardOf =
                            WebDatasetShards.append(spark, store, generated, mediaExtension, target);
                    described = withShardPaths(spark, generated, shardOf, mediaExtension);
                }
                case FILES -> {
                    // the pictures were written by the tasks
                }
            }
            Dataset<GeneratedRow> fresh = Tables.without(described, Tables.ids(spark, store, METADATA));
            long published = fresh.count();
            if (published > 0) {
                MetadataColumns.select(fresh)
                        .write()
                        .mode(SaveMode.Append)
                        .parquet(store.path(METADATA).toString());
            }
            errorColumns(rejected, failed)
                    .coalesce(1)
                    .write()
                    .mode(SaveMode.Overwrite)
                    .parquet(store.path(ERRORS).toString());
            long writtenThisRun = generated.filter(col("runId").equalTo(runId)).count();
            long failedCount = failed.count();
            List<ContactSheet.Entry> previews =
                    format == OutputFormat.FILES ? List.of() : previews(generated, config.contactSheetMaxImages());
            removeFragments(store, fragments);
            LOG.info(
                    "published {} new images ({} record fragments) as {}; {} rows failed",
                    published,
                    fragments.size(),
                    format.id(),
                    failedCount);
            return new Published(writtenThisRun, published, failedCount, previews);
        } finally {
            rows.unpersist();
        }
    }

    /** The ids done: published in the metadata table or the format's dataset, or committed in record fragments. */
    static Dataset<Row> doneIds(SparkSession spark, OutputStore store, JobConfig config) {
        Dataset<Row> done = Tables.ids(spark, store, METADATA);
        Dataset<Row> recorded = RecordFragments.rows(spark, store, RecordFragments.list(store))
                .filter(col("written"))
                .select(col("id").as(Tables.PUBLISHED));
        done = done.union(recorded);
        switch (config.outputFormat()) {
            case PARQUET -> done = done.union(ParquetDataset.publishedIds(spark, store));
            case WEBDATASET -> done = done.union(WebDatasetShards.publishedIds(spark, store));
            case FILES -> {
                // the metadata table is the record of the files
            }
        }
        return done.distinct();
    }

    /** The metadata's image path of each sample: its shard and name in it. */
    private static Dataset<GeneratedRow> withShardPaths(
            SparkSession spark, Dataset<GeneratedRow> rows, Map<String, String> shardOf, String extension) {
        List<Row> paths = new ArrayList<>();
        shardOf.forEach((id, shard) -> paths.add(RowFactory.create(id, shard)));
        Dataset<Row> byId = spark.createDataFrame(
                paths, new StructType().add("__id", DataTypes.StringType).add("__shard", DataTypes.StringType));
        return rows.join(byId, rows.col("id").equalTo(byId.col("__id")), "left_outer")
                .withColumn(
                        "imagePath",
                        when(
                                        col("__shard").isNotNull(),
                                        concat(col("__shard"), lit("#"), col("imageKey"), lit(extension)))
                                .otherwise(col("imagePath")))
                .drop("__id", "__shard")
                .as(Encoders.bean(GeneratedRow.class));
    }

    /** The contact sheet's cards for formats without picture files: the first rows by id, with their thumbnails. */
    private static List<ContactSheet.Entry> previews(Dataset<GeneratedRow> generated, int max) {
        List<ContactSheet.Entry> out = new ArrayList<>();
        for (GeneratedRow r : generated.orderBy("id").limit(max).collectAsList()) {
            out.add(new ContactSheet.Entry(
                    r.getId(),
                    r.getThumbnail() == null ? "" : "data:image/png;base64," + r.getThumbnail(),
                    null,
                    null,
                    r.getNotes(),
                    null,
                    r.getPrompt(),
                    r.getNegativePrompt(),
                    r.getSeed(),
                    r.getNumInferenceSteps(),
                    r.getGuidanceScale(),
                    r.getScheduler(),
                    r.getWidth(),
                    r.getHeight(),
                    r.getGenerationMs()));
        }
        return out;
    }

    /** The errors table: planning rejections and engine refusals, each with the field, reason and stage. */
    static Dataset<Row> errorColumns(Dataset<PlannedRow> rejected, Dataset<GeneratedRow> failed) {
        Dataset<Row> validation = rejected.select(
                col("id"),
                col("errorField").as("field"),
                col("errorReason").as("reason"),
                lit("validation").as("stage"),
                col("inputRow").as("input_row"));
        Dataset<Row> generation = failed.select(
                col("id"),
                col("errorField").as("field"),
                col("errorReason").as("reason"),
                when(col("errorField").equalTo("generation"), lit("generation"))
                        .otherwise(lit("input"))
                        .as("stage"),
                concat(
                                lit("{\"id\":\""),
                                col("id"),
                                lit("\",\"image\":\""),
                                coalesce(col("inputImage"), lit("")),
                                lit("\",\"mask\":\""),
                                coalesce(col("inputMask"), lit("")),
                                lit("\"}"))
                        .as("input_row"));
        return validation.unionByName(generation);
    }

    /** Removes the fragments this publication read; fragments a concurrent writer added stay. */
    private static void removeFragments(OutputStore store, List<String> fragments) {
        try {
            for (String f : fragments) {
                store.delete(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove published record fragments: " + e.getMessage(), e);
        }
    }

    /** The contact sheet of the whole output: the metadata table's first cards (files) or this run's previews. */
    static void writeContactSheet(
            SparkSession spark,
            OutputStore store,
            JobConfig config,
            Map<String, String> summary,
            String title,
            List<ContactSheet.Entry> previews) {
        List<ContactSheet.Entry> entries = new ArrayList<>(previews);
        long total = 0;
        if (Tables.exists(store, METADATA)) {
            Dataset<Row> meta = spark.read().parquet(store.path(METADATA).toString());
            total = meta.count();
            if (config.outputFormat() == OutputFormat.FILES) {
                for (Row r :
                        meta.orderBy("id").limit(config.contactSheetMaxImages()).collectAsList()) {
                    String path = r.getAs("image_path");
                    String file = path.substring(path.indexOf("/images/") + "/images/".length());
                    String stem = file.replaceAll("\\.png$", "");
                    entries.add(new ContactSheet.Entry(
                            r.getAs("id"),
                            "images/" + file,
                            r.getAs("input_image") != null ? "thumbs/" + stem + "-input.png" : null,
                            r.getAs("input_mask") != null ? "thumbs/" + stem + "-mask.png" : null,
                            r.getAs("notes"),
                            videoLink(r.getAs("video_path")),
                            r.getAs("prompt"),
                            r.getAs("negative_prompt"),
                            r.<Long>getAs("seed"),
                            r.<Integer>getAs("num_inference_steps"),
                            r.<Double>getAs("guidance_scale"),
                            r.getAs("scheduler"),
                            r.<Integer>getAs("width"),
                            r.<Integer>getAs("height"),
                            r.<Long>getAs("generation_ms")));
                }
            }
        }
        Map<String, String> s = new LinkedHashMap<>(summary);
        if (config.outputFormat() != OutputFormat.FILES) {
            s.put("pictures shown", "the first " + entries.size() + " of this run's new rows, by id");
        }
        store.put("index.html", ContactSheet.render(title, s, entries, total).getBytes(StandardCharsets.UTF_8));
    }

    /** A video's path relative to the output folder, for the contact sheet; null for pictures. */
    private static String videoLink(String videoPath) {
        if (videoPath == null) {
            return null;
        }
        int at = videoPath.indexOf("/videos/");
        return at < 0 ? null : videoPath.substring(at + 1);
    }
}

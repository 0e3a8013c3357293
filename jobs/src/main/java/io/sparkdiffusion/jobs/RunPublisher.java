package io.sparkdiffusion.jobs;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
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
 * again after a crash, or a {@code --resume} that finds fragments of an earlier run, never duplicates a row. With
 * {@code quality.best_of}, the images outside each input row's best k ({@link BestOfN}) are left out first: the
 * selection is made again, the same, by a publication that repeats one.
 */
final class RunPublisher {
    private static final Logger LOG = LogManager.getLogger(RunPublisher.class);
    static final String METADATA = "metadata";
    static final String ERRORS = "errors";

    private RunPublisher() {}

    /**
     * What one publication did.
     *
     * @param failed rows that failed (input or engine), not those the quality gates left out
     * @param quality this run's images left out by the quality gates, per rule
     */
    record Published(
            long writtenThisRun,
            long published,
            long failed,
            QualityReport quality,
            List<ContactSheet.Entry> previews) {
        /** Nothing published. */
        static final Published NONE = new Published(0, 0, 0, QualityReport.NONE, List.of());
    }

    /**
     * Publishes every fragment under {@code records/} and writes the errors table (the planning rejections
     * {@code rejected} and the rows the engine refused).
     */
    static Published publish(
            SparkSession spark, OutputStore store, JobConfig config, String runId, Dataset<PlannedRow> rejected) {
        List<String> fragments = RecordFragments.list(store);
        Dataset<GeneratedRow> recorded =
                RecordFragments.rows(spark, store, fragments).persist();
        Dataset<GeneratedRow> rows = BestOfN.apply(recorded, config.quality(), store, config.outputFormat());
        try {
            Dataset<GeneratedRow> generated = rows.filter(col("written"));
            Dataset<GeneratedRow> failed = rows.filter(col("written").equalTo(false));
            OutputFormat format = config.outputFormat();
            long target = config.outputTargetBytes();
            String mediaExtension = RecordFragments.mediaSuffix(config.mode().equals("video"), config.videoFormat());
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
            withEarlierFiltered(spark, store, errorColumns(rejected, failed))
                    .coalesce(1)
                    .write()
                    .mode(SaveMode.Overwrite)
                    .parquet(store.path(ERRORS).toString());
            long writtenThisRun = generated.filter(col("runId").equalTo(runId)).count();
            long failedCount = failed.filter(not(QualityReport.filteredOut())).count();
            QualityReport quality = QualityReport.of(rows.filter(col("runId").equalTo(runId)), writtenThisRun);
            List<ContactSheet.Entry> previews =
                    format == OutputFormat.FILES ? List.of() : previews(generated, config.contactSheetMaxImages());
            removeFragments(store, fragments);
            LOG.info(
                    "published {} new images ({} record fragments) as {}; {} rows failed; filtered {}",
                    published,
                    fragments.size(),
                    format.id(),
                    failedCount,
                    quality.describe());
            return new Published(writtenThisRun, published, failedCount, quality, previews);
        } finally {
            rows.unpersist();
            recorded.unpersist();
        }
    }

    /**
     * The errors table to write: {@code errors} and the rows of pictures that earlier runs' quality gates left out
     * (stages {@code safety} and {@code filter}) that {@code errors} does not hold. Those pictures count as done
     * ({@link #doneIds}): a {@code --resume} does not generate them again, so their rows must stay. Materialised
     * before the table is overwritten, since it reads the table.
     */
    private static Dataset<Row> withEarlierFiltered(SparkSession spark, OutputStore store, Dataset<Row> errors) {
        if (!Tables.exists(store, ERRORS)) {
            return errors;
        }
        Dataset<Row> earlier = filteredRows(spark, store);
        Dataset<Row> kept = earlier.join(
                errors.select(col("id").as("__id")), earlier.col("id").equalTo(col("__id")), "left_anti");
        return errors.unionByName(kept, true).localCheckpoint(true);
    }

    /** The errors table's rows of pictures the quality gates left out. */
    private static Dataset<Row> filteredRows(SparkSession spark, OutputStore store) {
        return spark.read()
                .parquet(store.path(ERRORS).toString())
                .filter(col("stage").isin(ErrorStage.filteredLabels().toArray()));
    }

    /**
     * The ids done: published in the metadata table or the format's dataset, committed in record fragments, or left
     * out by the quality gates (a picture that was generated and judged is finished too: in the errors table, or in a
     * fragment).
     */
    static Dataset<Row> doneIds(SparkSession spark, OutputStore store, JobConfig config) {
        Dataset<Row> done = Tables.ids(spark, store, METADATA);
        Dataset<Row> recorded = RecordFragments.rows(spark, store, RecordFragments.list(store))
                .filter(col("written").or(QualityReport.filteredOut()))
                .select(col("id").as(Tables.PUBLISHED));
        done = done.union(recorded);
        if (Tables.exists(store, ERRORS)) {
            done = done.union(filteredRows(spark, store).select(col("id").as(Tables.PUBLISHED)));
        }
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
                    r.getGenerationMs(),
                    QualityScores.present(r.scores())));
        }
        return out;
    }

    /**
     * The errors table: planning rejections, engine refusals and the pictures the quality gates left out, each with
     * the field, reason and stage, and the score columns (the scores of a picture left out; null for the others).
     */
    static Dataset<Row> errorColumns(Dataset<PlannedRow> rejected, Dataset<GeneratedRow> failed) {
        Dataset<Row> validation = rejected.select(QualityScores.afterNulls(
                col("id"),
                col("errorField").as("field"),
                col("errorReason").as("reason"),
                lit(ErrorStage.VALIDATION.label()).as("stage"),
                col("inputRow").as("input_row")));
        Dataset<Row> generation = failed.select(QualityScores.after(
                col("id"),
                col("errorField").as("field"),
                col("errorReason").as("reason"),
                coalesce(
                                col("errorStage"),
                                when(col("errorField").equalTo("generation"), lit(ErrorStage.GENERATION.label()))
                                        .otherwise(lit(ErrorStage.INPUT.label())))
                        .as("stage"),
                concat(
                                lit("{\"id\":\""),
                                col("id"),
                                lit("\",\"image\":\""),
                                coalesce(col("inputImage"), lit("")),
                                lit("\",\"mask\":\""),
                                coalesce(col("inputMask"), lit("")),
                                lit("\"}"))
                        .as("input_row")));
        return validation.unionByName(generation);
    }

    /** Removes the fragments this publication read; fragments a concurrent writer added stay. */
    private static void removeFragments(OutputStore store, List<String> fragments) {
        try {
            for (String f : fragments) {
                store.delete(f);
            }
            store.deleteIfEmpty(RecordFragments.FOLDER);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove published record fragments: " + e.getMessage(), e);
        }
    }

    /**
     * The contact sheet of the whole output: the metadata table's first cards (files) or this run's previews, and
     * the errors table's rows ({@link ErrorReport#read}).
     */
    static void writeContactSheet(
            SparkSession spark,
            OutputStore store,
            JobConfig config,
            Map<String, String> summary,
            String title,
            List<ContactSheet.Entry> previews,
            ErrorReport errors) {
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
                            r.<Long>getAs("generation_ms"),
                            QualityScores.of(r)));
                }
            }
        }
        Map<String, String> s = new LinkedHashMap<>(summary);
        if (config.outputFormat() != OutputFormat.FILES) {
            s.put("pictures shown", "the first " + entries.size() + " of this run's new rows, by id");
        }
        store.put(
                "index.html",
                ContactSheet.render(title, s, entries, total, errors).getBytes(StandardCharsets.UTF_8));
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

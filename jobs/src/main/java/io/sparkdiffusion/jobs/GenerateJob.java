package io.sparkdiffusion.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.when;

import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.PipelineFamily;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.util.Errors;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.storage.StorageLevel;

/**
 * The generation job: a table of prompts in, {@code images/}, {@code metadata/}, {@code errors/} and
 * {@code index.html} out. Thin by design: parse the config, plan the rows (validation and expansion, no model),
 * map partitions through the executors' resident pipelines, write through Spark's committer.
 */
public final class GenerateJob {
    private static final Logger LOG = LogManager.getLogger(GenerateJob.class);
    /** Input columns the job reads; others are kept only in the errors table's copy of a rejected row. */
    static final List<String> INPUT_FIELDS = List.of(
            "id",
            "prompt",
            "negative_prompt",
            "seed",
            "num_inference_steps",
            "guidance_scale",
            "width",
            "height",
            "scheduler",
            "num_images_per_prompt",
            "strength",
            "image",
            "mask",
            "num_frames",
            "fps",
            "motion_bucket_id",
            "noise_aug_strength");
    /** The normalised input's column of {@code quality.expected_label}. */
    private static final String EXPECTED_LABEL = "__expected_label";
    /** Columns that may hold the picture's bytes instead of a path. */
    static final List<String> PICTURE_FIELDS = List.of("image", "mask");
    /**
     * What the job writes in its output folder, with the files each folder may hold (null: a file). Spark's tables
     * hold part files, {@code _SUCCESS}, checksums and {@code _temporary/}; pictures and videos are written through
     * {@code ._tmp_} files (archive mode and PNG frames use subfolders).
     */
    static final Map<String, Pattern> OWNED = owned();

    private static Map<String, Pattern> owned() {
        Pattern table = Pattern.compile("_temporary/.*|\\.?_SUCCESS(\\.crc)?|\\.?part-[^/]+");
        Pattern pictures = Pattern.compile("([^/]+/)*(\\._tmp_[^/]+|[^/]+\\.png)");
        Map<String, Pattern> m = new LinkedHashMap<>();
        m.put("images", pictures);
        m.put("thumbs", pictures);
        m.put("videos", Pattern.compile("([^/]+/)*(\\._tmp_[^/]+|[^/]+\\.(png|mp4|gif))"));
        m.put("metadata", table);
        m.put("errors", table);
        m.put(ParquetDataset.FOLDER, table);
        m.put(RecordFragments.FOLDER, Pattern.compile("\\._tmp_[^/]+|[^/]+\\.tar"));
        m.put(WebDatasetShards.FOLDER, Pattern.compile("\\._tmp_[^/]+|shard-\\d{6}\\.tar|index\\.json"));
        m.put("index.html", null);
        m.put(RunManifest.FILE, null);
        return Collections.unmodifiableMap(m);
    }

    private GenerateJob() {}

    /** spark-submit entry point: the same options, messages and exit codes as {@code bin/spark-diffusion job}. */
    public static void main(String[] args) {
        System.exit(io.sparkdiffusion.cli.Main.withOneLineErrors(new picocli.CommandLine(new JobCommand()))
                .execute(args));
    }

    /**
     * Runs the job. SIGTERM and SIGINT are handled while it runs ({@link GracefulStop}): generation stops after the
     * running batches, what they finished is published, and the summary says what stopped it.
     */
    public static JobSummary run(SparkSession spark, JobConfig given) {
        String runId = RunManifest.newRunId();
        String group = "spark-diffusion-generate-" + runId;
        GracefulStop.reset();
        GracefulStop.Handlers signals =
                GracefulStop.installSignalHandlers(() -> spark.sparkContext().cancelJobGroup(group));
        try {
            return run(spark, given, runId, group);
        } finally {
            signals.close();
        }
    }

    private static JobSummary run(SparkSession spark, JobConfig given, String runId, String generationGroup) {
        long started = System.nanoTime();
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        given.hadoopSettings().forEach(hadoop::set);
        JobConfig config = JobPreflight.prepare(given, hadoop);
        LOG.info("spark-diffusion job {} with settings:\n{}", runId, config.describe());
        if (spark.sparkContext().uiWebUrl().isDefined()) {
            LOG.info("Spark UI: {}", spark.sparkContext().uiWebUrl().get());
        }
        HadoopConf conf = new HadoopConf(new Configuration(hadoop));
        OutputStore store = new OutputStore(conf, config.output());
        prepareOutput(store, config);

        Path localModel = ModelLocalizer.localize(config.model(), null, conf, config.localModelDir());
        String fingerprint = ModelLocalizer.fingerprint(localModel);
        String modelName = localModel.getFileName().toString();
        // the model's family, geometry and scheduler from its configs (no session): the registry knows every layout
        ModelInfo info = ModelInfo.of(localModel);
        info.family().checkServes(task(config), localModel);
        if (info.schedulerClass() == null) {
            throw new ModelLoadException("model " + modelName + " has no scheduler/scheduler_config.json");
        }
        int[] size = info.defaultSize();
        RowRules.ModelRules modelRules = new RowRules.ModelRules(
                info.takesPrompt(),
                info.sizeMultiple(),
                size[0],
                size[1],
                info.schedulerClass(),
                info.family() == PipelineFamily.IMAGE_TO_VIDEO);
        LOG.info(
                "model {} ({}), fingerprint {}, default size {}x{}, sizes multiple of {}",
                modelName,
                info.pipelineClass(),
                fingerprint.substring(0, 16),
                size[1],
                size[0],
                info.sizeMultiple());
        JobPreflight.checkModelOnExecutors(spark, config.model());
        writeManifest(store, runId, config, modelName, fingerprint, "running", null, null);
        try {

            // plan: validate and expand every input row (no model involved)
            Dataset<Row> input = JobInput.read(spark, config);
            long inputRows = input.count();
            RowRules rules = new RowRules(config.rowDefaults(), modelRules);
            PromptTemplates templates = config.templates();
            Dataset<PlannedRow> planned = rejectCollidingIds(
                            normalise(
                                            input,
                                            templates.inputColumns(),
                                            config.quality().expectedLabelColumn())
                                    .flatMap(planner(rules, templates), Encoders.bean(PlannedRow.class)),
                            input.rdd().getNumPartitions())
                    .persist(StorageLevel.MEMORY_AND_DISK());
            Dataset<PlannedRow> accepted = planned.filter(col("accepted"));
            Dataset<PlannedRow> rejected = planned.filter(col("accepted").equalTo(false));
            long plannedImages = accepted.count();
            long rejectedRows = rejected.count();

            Dataset<PlannedRow> todo = config.resume() ? withoutFinished(spark, store, config, accepted) : accepted;
            long toGenerate = todo.count();
            long skipped = plannedImages - toGenerate;
            LOG.info(
                    "{} input rows: {} images planned, {} rejected, {} already done (resume), {} to generate",
                    inputRows,
                    plannedImages,
                    rejectedRows,
                    skipped,
                    toGenerate);

            ModelHandle handle = new ModelHandle(
                    config.model(),
                    modelName,
                    fingerprint,
                    config.localModelDir(),
                    conf,
                    config.runtimeOptions(),
                    config.provider(),
                    config.fallbackToCpu(),
                    task(config));
            QualityGate quality = QualityGate.prepare(config.quality(), handle, localModel);
            InitImages initImages = new InitImages(
                    config.mode(),
                    modelRules.sizeMultiple(),
                    config.maxImageSide(),
                    config.imageLimits(),
                    config.maxPixels(),
                    pictureSources(config, conf));
            int slots = clusterTaskSlots(spark);
            int partitions = config.partitions() > 0
                    ? config.partitions()
                    : spreadPartitions(toGenerate, config.batchSize(), slots);

            long genStart = System.nanoTime();
            boolean cutShort = toGenerate > 0 && GracefulStop.requested();
            if (toGenerate > 0 && !cutShort) {
                LOG.info("generating {} images in {} partitions ({} task slots)", toGenerate, partitions, slots);
                JobProgress progress = JobProgress.start(spark, toGenerate, config.progressIntervalSeconds());
                EngineFailures engineFailures = EngineFailures.watch(spark, generationGroup);
                // the group a stop cancels: generation only, never the publication that follows
                spark.sparkContext()
                        .setJobGroup(generationGroup, "spark-diffusion: generating " + toGenerate + " images", false);
                try {
                    // one action whose tasks commit their rows as they finish them (RecordFragments): what later steps
                    // read comes from storage, so a lost executor costs only the tasks it was running
                    todo.repartition(partitions)
                            .mapPartitions(
                                    new PartitionGenerator(
                                            handle,
                                            store,
                                            initImages,
                                            config.batchSize(),
                                            config.keepUnmasked(),
                                            runId,
                                            config.videoFormat(),
                                            config.decodeChunkSize(),
                                            config.outputFormat(),
                                            config.commitPolicy(),
                                            progress.written(),
                                            progress.failed(),
                                            quality),
                                    Encoders.bean(GeneratedRow.class))
                            .count();
                } catch (Exception e) { // Spark's SparkException is checked but undeclared
                    engineFailures.rethrowIfEngineFailure(e); // one line naming the cause, not Spark's stage failure
                    if (!GracefulStop.requested()) {
                        throw e;
                    }
                    cutShort = true;
                    awaitRunningTasks(spark);
                } finally {
                    spark.sparkContext().clearJobGroup();
                    engineFailures.close();
                    progress.close();
                }
            }
            double genSeconds = (System.nanoTime() - genStart) / 1e9;
            boolean nothingChanged = toGenerate == 0
                    && RecordFragments.list(store).isEmpty()
                    && rejectedRows == 0
                    && Tables.exists(store, RunPublisher.METADATA);
            // best of n chooses among all images of an input row: a stopped run leaves its rows committed in records/,
            // and the --resume that generates the rest publishes them all
            boolean deferred = cutShort && config.quality().bestOf() != null;
            RunPublisher.Published published = nothingChanged || deferred
                    ? RunPublisher.Published.NONE
                    : RunPublisher.publish(spark, store, config, runId, rejected);
            long writtenCount = published.writtenThisRun();
            long failedCount = published.failed();

            double wall = (System.nanoTime() - started) / 1e9;
            double rate = genSeconds > 0 && writtenCount > 0 ? writtenCount / genSeconds : 0;
            double errorFraction = inputRows == 0 ? 0 : (rejectedRows + failedCount) / (double) inputRows;
            boolean exceeded = errorFraction > config.maxErrorFraction();
            JobSummary summary = new JobSummary(
                    runId,
                    Redaction.uri(config.output()),
                    inputRows,
                    plannedImages,
                    writtenCount,
                    skipped,
                    rejectedRows,
                    failedCount,
                    wall,
                    rate,
                    exceeded,
                    partitions,
                    published.quality(),
                    cutShort ? GracefulStop.reason() : null);
            ErrorReport errors = ErrorReport.read(spark, store, config.contactSheetMaxErrors());
            if (!nothingChanged || !store.existsQuietly("index.html")) {
                RunPublisher.writeContactSheet(
                        spark,
                        store,
                        config,
                        sheetSummary(config, summary, modelName, fingerprint),
                        "spark-diffusion: " + modelName,
                        published.previews(),
                        errors);
            }
            writeManifest(
                    store, runId, config, modelName, fingerprint, cutShort ? "stopped" : "finished", summary, null);
            if (deferred) {
                LOG.warn(
                        "stopped by SIG{}: the finished images stay committed in {}/ unpublished (quality.best_of needs"
                                + " every image of an input row); run again with --resume to generate and publish them",
                        GracefulStop.reason(),
                        RecordFragments.FOLDER);
            } else if (cutShort) {
                LOG.warn(
                        "stopped by SIG{}: {} images written and published this run, {} not generated;"
                                + " run again with --resume to generate them",
                        GracefulStop.reason(),
                        writtenCount,
                        Math.max(0, toGenerate - writtenCount - failedCount));
            }
            planned.unpersist();
            LOG.info(
                    "summary: {} written, {} skipped, {} rejected, {} failed, filtered {}, {} images/s, wall time {} s;"
                            + " contact sheet {}",
                    writtenCount,
                    skipped,
                    rejectedRows,
                    failedCount,
                    summary.quality().describe(),
                    String.format(Locale.ROOT, "%.2f", rate),
                    String.format(Locale.ROOT, "%.1f", wall),
                    Redaction.uri(store.path("index.html").toString()));
            if (exceeded) {
                LOG.error(
                        "error fraction {} exceeds max_error_fraction {}: see {}",
                        String.format(Locale.ROOT, "%.3f", errorFraction),
                        config.maxErrorFraction(),
                        Redaction.uri(store.path(RunPublisher.ERRORS).toString()));
            }
            LOG.info(errors.logSummary(
                    Redaction.uri(store.path(RunPublisher.ERRORS).toString())));
            return summary;
        } catch (Throwable e) { // Spark also throws checked exceptions it does not declare; rethrown as they are
            markFailed(store, runId, config, modelName, fingerprint, e);
            throw e;
        }
    }

    /**
     * After a stop cancelled the generation: waits until no task of the application runs any more (their running
     * batch finishes and its rows are committed), so that publication reads every committed row and no session is
     * closed under a task. Cancelled tasks count as running until they really end.
     */
    static void awaitRunningTasks(SparkSession spark) {
        var tracker = spark.sparkContext().statusTracker();
        long end = System.nanoTime() + ResidentPipelines.CLOSE_WAIT.toNanos();
        long nextLog = 0;
        while (System.nanoTime() < end) {
            int running = Arrays.stream(tracker.getExecutorInfos())
                    .mapToInt(e -> e.numRunningTasks())
                    .sum();
            if (running == 0) {
                break;
            }
            if (System.nanoTime() >= nextLog) {
                LOG.info("waiting for {} running task(s) to finish their batch and commit it", running);
                nextLog = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        // local mode: the tasks run in this JVM; their commits come before they stop counting
        ResidentPipelines.awaitNoTasks(ResidentPipelines.CLOSE_WAIT);
    }

    /** {@code _job.json} ends as failed, with the reason (redacted), when the run fails after it started. */
    private static void markFailed(
            OutputStore store, String runId, JobConfig config, String modelName, String fingerprint, Throwable e) {
        try {
            writeManifest(
                    store,
                    runId,
                    config,
                    modelName,
                    fingerprint,
                    "failed",
                    null,
                    Redaction.uri(Errors.oneLine(e, 500)));
        } catch (RuntimeException cannotWrite) {
            e.addSuppressed(cannotWrite);
        }
    }

    /**
     * The accepted rows not done yet: done is what an earlier run published (the metadata table, and the dataset of
     * the output format) or committed without publishing (record fragments of a crashed run). Nothing is listed but
     * the fragments, so "nothing to do" costs a plan and a read of the ids.
     */
    static Dataset<PlannedRow> withoutFinished(
            SparkSession spark, OutputStore store, JobConfig config, Dataset<PlannedRow> accepted) {
        Dataset<Row> done = RunPublisher.doneIds(spark, store, config);
        return accepted.join(done, accepted.col("id").equalTo(done.col(Tables.PUBLISHED)), "left_anti")
                .as(Encoders.bean(PlannedRow.class));
    }

    /** The contact sheet's summary table. */
    private static Map<String, String> sheetSummary(
            JobConfig config, JobSummary summary, String modelName, String fingerprint) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("run", summary.runId());
        s.put("model", modelName + " (fingerprint " + fingerprint.substring(0, 16) + ")");
        s.put("input", config.inputLabel());
        s.put("output format", config.outputFormat().id());
        s.put("input rows", Long.toString(summary.inputRows()));
        s.put("images written", Long.toString(summary.written()));
        s.put("skipped (resume)", Long.toString(summary.skipped()));
        s.put("rejected rows", summary.rejected() + (summary.rejected() > 0 ? " (see errors/)" : ""));
        s.put("failed images", Long.toString(summary.failed()));
        s.put("filtered (quality)", summary.quality().describe());
        s.put("images/s", String.format(Locale.ROOT, "%.2f", summary.imagesPerSecond()));
        s.put("wall time", String.format(Locale.ROOT, "%.1f s", summary.wallSeconds()));
        return s;
    }

    static Task task(JobConfig config) {
        return switch (config.mode()) {
            case "img2img" -> Task.IMAGE_TO_IMAGE;
            case "inpaint" -> Task.INPAINT;
            case "video" -> Task.VIDEO;
            default -> Task.TEXT_TO_IMAGE;
        };
    }

    /**
     * Tasks the cluster runs at once: the cores of its executors (Spark's default parallelism: the registered
     * executors' cores, or N of local[N]) divided by {@code spark.task.cpus}, and no more than its GPUs allow when
     * tasks take GPUs ({@code spark.task.resource.gpu.amount}).
     */
    static int clusterTaskSlots(SparkSession spark) {
        var sc = spark.sparkContext();
        var conf = sc.getConf();
        int byCores = Math.max(1, sc.defaultParallelism() / Math.max(1, conf.getInt("spark.task.cpus", 1)));
        double taskGpu = conf.getDouble("spark.task.resource.gpu.amount", 0);
        if (taskGpu <= 0 || sc.isLocal()) {
            return byCores;
        }
        int executors = Math.max(1, sc.statusTracker().getExecutorInfos().length - 1); // less the driver
        int perExecutor = (int) Math.floor(conf.getDouble("spark.executor.resource.gpu.amount", 1) / taskGpu + 1e-9);
        return Math.max(1, Math.min(byCores, executors * perExecutor));
    }

    /**
     * {@code partitions: 0}: three partitions per task slot, so that a slot that finishes early takes more work,
     * but none smaller than one engine batch. A single input file no longer means a single busy GPU.
     */
    static int spreadPartitions(long images, int batchSize, int taskSlots) {
        long batches = (images + batchSize - 1) / batchSize;
        return (int) Math.max(1, Math.min(batches, 3L * taskSlots));
    }

    /** Where image and mask paths may be read from (the roots JobPreflight resolved), relative ones from the input. */
    static PictureSources pictureSources(JobConfig config, HadoopConf conf) {
        try {
            return new PictureSources(
                    config.allowedRoots(), JobPreflight.pictureBase(config, conf.get()), config.maxFileBytes(), conf);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot resolve the folder of input " + config.inputLabel() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Refuses an output folder holding other data unless --resume or --overwrite. --overwrite deletes only a previous
     * run of this tool: the folder's {@code _job.json} must be a manifest this tool wrote (checked by its content),
     * nothing else may lie next to the run's entries, and inside them only files of the kinds the job writes.
     */
    static void prepareOutput(OutputStore store, JobConfig config) {
        String output = Redaction.uri(config.output());
        try {
            List<String> entries = store.topLevelEntries();
            if (entries.isEmpty() || config.resume()) {
                return;
            }
            if (!config.overwrite()) {
                throw new IllegalArgumentException("output " + output + " already holds data " + entries
                        + ": pass --resume to continue that run or --overwrite to replace it");
            }
            String refusal = "--overwrite deletes only what a previous spark-diffusion run wrote; nothing was deleted";
            if (!entries.contains(RunManifest.FILE)) {
                throw new IllegalArgumentException("output " + output + " holds " + entries + " but no "
                        + RunManifest.FILE + " of a spark-diffusion run: " + refusal);
            }
            String notOurs = RunManifest.notOurs(store.read(RunManifest.FILE, RunManifest.MAX_BYTES + 1));
            if (notOurs != null) {
                throw new IllegalArgumentException("output " + output + ": its " + RunManifest.FILE
                        + " was not written by spark-diffusion (" + notOurs + "): " + refusal);
            }
            List<String> foreign = new ArrayList<>();
            for (String e : entries) {
                if (!OWNED.containsKey(e)) {
                    foreign.add(e);
                } else if (OWNED.get(e) != null) {
                    for (String f : store.listFiles(e)) {
                        if (!OWNED.get(e).matcher(f).matches()) {
                            foreign.add(e + "/" + f);
                        }
                    }
                }
            }
            if (!foreign.isEmpty()) {
                throw new IllegalArgumentException("output " + output + " holds entries this job did not write "
                        + foreign.subList(0, Math.min(foreign.size(), 10)) + (foreign.size() > 10 ? " ..." : "") + ": "
                        + refusal);
            }
            for (String e : entries) {
                store.delete(e);
            }
            LOG.info("--overwrite: removed the previous run's {} from {}", entries, output);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot inspect output " + output + ": " + e.getMessage(), e);
        }
    }

    /**
     * The input's known fields and {@code extraFields} (the templates' columns) as text (absent columns as null), the
     * whole row as JSON for the errors table, how many rows share each id, and the expected label
     * ({@code quality.expected_label}'s column, null when not set).
     */
    static Dataset<Row> normalise(Dataset<Row> input, List<String> extraFields, String expectedLabelColumn) {
        Map<String, String> present = new LinkedHashMap<>();
        for (String f : input.columns()) {
            present.put(f.toLowerCase(Locale.ROOT), f);
        }
        Map<String, DataType> types = new LinkedHashMap<>();
        for (StructField f : input.schema().fields()) {
            types.put(f.name(), f.dataType());
        }
        List<Column> cols = new ArrayList<>();
        List<String> fields = new ArrayList<>(INPUT_FIELDS);
        extraFields.stream()
                .filter(f -> !INPUT_FIELDS.contains(f.toLowerCase(Locale.ROOT)))
                .forEach(fields::add);
        for (String f : fields) {
            String actual = present.get(f.toLowerCase(Locale.ROOT));
            boolean binary = actual != null && types.get(actual) instanceof BinaryType;
            if (binary) {
                // the picture's bytes: a marker in the text field, the bytes in their own column
                cols.add(when(col("`" + actual + "`").isNotNull(), lit("<bytes>"))
                        .as(f));
            } else {
                cols.add((actual != null
                                ? col("`" + actual + "`").cast("string")
                                : lit(null).cast("string"))
                        .as(f));
            }
        }
        for (String f : PICTURE_FIELDS) {
            String actual = present.get(f);
            boolean binary = actual != null && types.get(actual) instanceof BinaryType;
            cols.add((binary ? col("`" + actual + "`") : lit(null).cast("binary")).as("__" + f + "_bytes"));
        }
        cols.add(expectedLabel(input, expectedLabelColumn, present));
        // the whole row for the errors table, pictures' bytes replaced by their length
        Column[] all = Arrays.stream(input.columns())
                .map(c -> types.get(c) instanceof BinaryType
                        ? functions
                                .concat(
                                        lit("<"),
                                        functions.length(col("`" + c + "`")).cast("string"),
                                        lit(" bytes>"))
                                .as(c)
                        : col("`" + c + "`"))
                .toArray(Column[]::new);
        cols.add(to_json(struct(all)).as("__row"));
        Column idCol = present.containsKey("id")
                ? col("`" + present.get("id") + "`").cast("string")
                : lit(null).cast("string");
        cols.add(count(lit(1)).over(Window.partitionBy(idCol)).as("__id_count"));
        // co-locate equal ids in as many partitions as the input has: the duplicate count then needs no further
        // shuffle, and a small input does not fan out into spark.sql.shuffle.partitions (200) planning tasks
        int partitions = Math.max(1, input.rdd().getNumPartitions());
        return input.repartition(partitions, idCol).select(cols.toArray(Column[]::new));
    }

    private static Column expectedLabel(Dataset<Row> input, String column, Map<String, String> present) {
        if (column == null) {
            return lit(null).cast("string").as(EXPECTED_LABEL);
        }
        String actual = present.get(column.toLowerCase(Locale.ROOT));
        if (actual == null) {
            throw new IllegalArgumentException("quality.expected_label names column '" + column
                    + "', which the input does not have (columns: " + String.join(", ", input.columns()) + ")");
        }
        return col("`" + actual + "`").cast("string").as(EXPECTED_LABEL);
    }

    static FlatMapFunction<Row, PlannedRow> planner(RowRules rules, PromptTemplates templates) {
        return row -> {
            byte[] image = row.getAs("__image_bytes");
            byte[] mask = row.getAs("__mask_bytes");
            String expected = row.getAs(EXPECTED_LABEL);
            return templates
                    .plan(
                            rules,
                            name -> {
                                Object v = row.getAs(name);
                                return v == null ? null : v.toString();
                            },
                            row.<Long>getAs("__id_count"),
                            row.getAs("__row"))
                    .map(p -> withRowExtras(p, image, mask, expected))
                    .iterator();
        };
    }

    /**
     * What an input row gives each of its accepted images beside the planned fields: its pictures given as bytes
     * (instead of a path) and the classifier's expected label.
     */
    private static PlannedRow withRowExtras(PlannedRow p, byte[] image, byte[] mask, String expectedLabel) {
        if (p.isAccepted()) {
            p.setExpectedLabel(expectedLabel);
            p.setImageBytes(image);
            p.setMaskBytes(mask);
            if (image != null) {
                p.setImageRef(null);
            }
            if (mask != null) {
                p.setMaskRef(null);
            }
        }
        return p;
    }

    /**
     * Ids made by num_images_per_prompt or grid expansion ({@code cat-0}, {@code fox-s1-g3}) can meet another row's
     * id; both would write the same image, so every accepted row of such an id is rejected instead.
     */
    static Dataset<PlannedRow> rejectCollidingIds(Dataset<PlannedRow> planned, int partitions) {
        Column acceptedWithSameId = count(when(col("accepted"), lit(1))).over(Window.partitionBy(col("id")));
        Dataset<Row> counted =
                planned.repartition(Math.max(1, partitions), col("id")).withColumn("__same_id", acceptedWithSameId);
        Column collides = col("accepted").and(col("__same_id").gt(1));
        return counted.withColumn("errorField", when(collides, lit("id")).otherwise(col("errorField")))
                .withColumn(
                        "errorReason",
                        when(
                                        collides,
                                        concat(
                                                lit("id '"),
                                                col("id"),
                                                lit(
                                                        "' is produced by more than one input row (after num_images_per_prompt or grid expansion);"
                                                                + " none of them is generated")))
                                .otherwise(col("errorReason")))
                .withColumn(
                        "inputRow",
                        when(collides, concat(lit("{\"input_id\":\""), col("inputId"), lit("\"}")))
                                .otherwise(col("inputRow")))
                .withColumn("accepted", col("accepted").and(not(collides)))
                .drop("__same_id")
                .as(Encoders.bean(PlannedRow.class));
    }

    private static void writeManifest(
            OutputStore store,
            String runId,
            JobConfig config,
            String modelName,
            String fingerprint,
            String state,
            JobSummary summary,
            String reason) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tool", RunManifest.TOOL);
        m.put("run_id", runId);
        m.put("model", modelName);
        m.put("model_uri", Redaction.uri(config.model()));
        m.put("model_fingerprint", fingerprint);
        m.put("input", config.inputLabel());
        m.put("state", state);
        if (reason != null) {
            m.put("reason", reason);
        }
        if (summary != null) {
            m.put("summary", summary);
        }
        try {
            store.put(
                    RunManifest.FILE,
                    JsonConfig.mapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(m));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package io.sparkdiffusion.jobs;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.deploy.SparkHadoopUtil;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/spark-diffusion job} and the spark-submit main class {@link GenerateJob}: settings from a commented
 * YAML file ({@code --config}), overridden by flags and {@code --set key=value}. Exit codes: 0 done, 1 failed,
 * 2 bad arguments or configuration, 3 finished but more rows were rejected than {@code --max-error-fraction} allows,
 * 130 and 143 stopped by SIGINT and SIGTERM after publishing what was done ({@link GracefulStop}).
 */
@Command(
        name = "job",
        mixinStandardHelpOptions = true,
        description = {
            "Runs the Spark generation job: a table of prompts in; images/, metadata/ (Parquet),",
            "errors/ (Parquet) and index.html out, on file://, hdfs:// or s3a://.",
            "Example: job --config conf/digits-job.yaml --master local[2]"
        },
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {
            "  0:done",
            "  1:failed (_job.json says why)",
            "  2:bad arguments or configuration",
            "  3:done, but more rows were rejected or failed than --max-error-fraction allows",
            "130:stopped by SIGINT (Ctrl-C): finished rows published; --resume generates the rest",
            "143:stopped by SIGTERM: finished rows published; --resume generates the rest"
        })
public final class JobCommand implements Callable<Integer> {
    public static final int EXIT_ERROR_BUDGET = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML settings (see conf/spark-diffusion.yaml).")
    Path configFile;

    @Option(names = "--model", paramLabel = "URI", description = "Model folder: a local path, hdfs:// or s3a://.")
    String model;

    @Option(names = "--input", paramLabel = "URI", description = "Input table (file, folder or glob).")
    String input;

    @Option(
            names = "--input-format",
            paramLabel = "FMT",
            description = "parquet (default), json (JSON lines) or csv (with header).")
    String inputFormat;

    @Option(names = "--output", paramLabel = "URI", description = "Output folder.")
    String output;

    @Option(
            names = "--partitions",
            paramLabel = "N",
            description = "Repartition the work into N partitions (0 = keep the input's).")
    Integer partitions;

    @Option(names = "--batch-size", paramLabel = "B", description = "Rows per engine batch (default 4).")
    Integer batchSize;

    @Option(
            names = "--master",
            paramLabel = "URL",
            description = "Spark master, e.g. local[2] (spark-submit sets it otherwise).")
    String master;

    @Option(names = "--resume", description = "Skip rows whose image and metadata already exist in --output.")
    Boolean resume;

    @Option(names = "--overwrite", description = "Replace a previous run's output (only what the job wrote).")
    Boolean overwrite;

    @Option(
            names = "--max-error-fraction",
            paramLabel = "F",
            description = "Exit with 3 when more than F of the input rows are rejected or fail (default 0.1).")
    Double maxErrorFraction;

    @Option(names = "--steps", paramLabel = "N", description = "Default num_inference_steps for rows without one.")
    Integer steps;

    @Option(names = "--guidance", paramLabel = "G", description = "Default guidance_scale for rows without one.")
    Double guidance;

    @Option(names = "--scheduler", paramLabel = "NAME", description = "Default scheduler for rows without one.")
    String scheduler;

    @Option(names = "--width", paramLabel = "W", description = "Default width.")
    Integer width;

    @Option(names = "--height", paramLabel = "H", description = "Default height.")
    Integer height;

    @Option(
            names = "--grid-seeds",
            paramLabel = "SEEDS",
            description = "Grid mode: seeds (e.g. 0..9 or 1,5,9) for every prompt.")
    String gridSeeds;

    @Option(
            names = "--grid-guidance",
            paramLabel = "G1,G2",
            description = "Grid mode: guidance scales for every prompt.")
    String gridGuidance;

    @Option(
            names = "--set",
            paramLabel = "KEY=VALUE",
            description =
                    "Any configuration key, e.g. --set runtime.provider=cuda or --set hadoop.fs.s3a.endpoint=http://...")
    List<String> sets;

    @Override
    public Integer call() {
        JobConfig config;
        SparkConf submitted = new SparkConf(); // spark-submit's --conf settings arrive as system properties
        try {
            config = JobConfig.load(configFile, overrides());
            config.model();
            config.input();
            config.output();
            Configuration hadoop = SparkHadoopUtil.get().newConfiguration(submitted);
            config.hadoopSettings().forEach(hadoop::set);
            config = JobPreflight.prepare(config, hadoop); // before Spark starts: a bad path costs one line
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        SparkSession.Builder builder = SparkSession.builder().appName("spark-diffusion");
        safeSparkSettings(submitted).forEach(builder::config);
        String m = config.master();
        if (m != null) {
            builder.master(m);
            if (m.startsWith("local")) {
                builder.config("spark.driver.bindAddress", "127.0.0.1");
            }
        }
        SparkSession spark = builder.getOrCreate();
        try {
            JobSummary s = GenerateJob.run(spark, config);
            spec.commandLine()
                    .getOut()
                    .printf(
                            "written %d, skipped %d, rejected %d, failed %d; %.2f images/s; contact sheet: %s/index.html%n",
                            s.written(), s.skipped(), s.rejected(), s.failed(), s.imagesPerSecond(), s.output());
            if (s.stopped()) {
                spec.commandLine()
                        .getOut()
                        .printf(
                                "stopped by SIG%s: what was generated is published; run again with --resume to finish%n",
                                s.stoppedBy());
            }
            spec.commandLine().getOut().flush();
            if (s.stopped()) {
                return GracefulStop.exitCode();
            }
            return s.errorBudgetExceeded() ? EXIT_ERROR_BUDGET : 0;
        } finally {
            if (m != null) {
                ResidentPipelines.closeAll();
                spark.stop();
            }
        }
    }

    /**
     * Settings the job gives Spark itself, so that it is safe whoever submits it (a setting of the submitter wins;
     * a redaction pattern and executor JVM options are extended): executors start ONNX Runtime without its telemetry
     * (see {@link OrtStartup}; the job is safe without it too), their crash files lose the command line
     * ({@link CrashFiles}), and Spark's UI, event logs and its own messages mask every setting {@link Redaction} calls
     * a credential (Spark's default pattern misses {@code fs.azure.account.key.*}).
     */
    static Map<String, String> safeSparkSettings(SparkConf submitted) {
        Map<String, String> out = new LinkedHashMap<>();
        if (!submitted.contains("spark.executorEnv.ORT_DISABLE_TELEMETRY")) {
            out.put("spark.executorEnv.ORT_DISABLE_TELEMETRY", "1");
        }
        String ours = Redaction.SECRET_NAME.pattern();
        out.put(
                "spark.redaction.regex",
                submitted.contains("spark.redaction.regex")
                        ? submitted.get("spark.redaction.regex") + "|" + ours
                        : ours);
        out.put(
                "spark.executor.extraJavaOptions",
                (submitted.get("spark.executor.extraJavaOptions", "") + " " + CrashFiles.executorOptions()).strip());
        return out;
    }

    private Map<String, String> overrides() {
        Map<String, String> o = new LinkedHashMap<>();
        put(o, "model", model);
        put(o, "input", input);
        put(o, "input_format", inputFormat);
        put(o, "output", output);
        put(o, "partitions", partitions);
        put(o, "batch_size", batchSize);
        put(o, "master", master);
        put(o, "resume", resume);
        put(o, "overwrite", overwrite);
        put(o, "max_error_fraction", maxErrorFraction);
        put(o, "defaults.num_inference_steps", steps);
        put(o, "defaults.guidance_scale", guidance);
        put(o, "defaults.scheduler", scheduler);
        put(o, "defaults.width", width);
        put(o, "defaults.height", height);
        put(o, "grid.seeds", gridSeeds);
        put(o, "grid.guidance_scales", gridGuidance);
        if (sets != null) {
            for (String kv : sets) {
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    throw new CommandLine.ParameterException(
                            spec.commandLine(), "--set expects KEY=VALUE, got '" + kv + "'");
                }
                o.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
            }
        }
        return o;
    }

    private static void put(Map<String, String> o, String key, Object v) {
        if (v != null) {
            o.put(key, String.valueOf(v));
        }
    }
}

package io.sparkdiffusion.jobs;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.SparkThrowable;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.parser.CatalystSqlParser$;
import org.apache.spark.sql.execution.datasources.DataSource$;
import org.apache.spark.sql.internal.SQLConf;
import scala.Tuple2;

/**
 * The job's input table, from one of: files read by any Spark data source ({@code input}, {@code input_format},
 * {@code input_options}), a table of the session's catalog ({@code input_table}), a folder of pictures (archive
 * mode, {@link ArchiveInput}), or the prompt templates alone ({@link PromptTemplates}: one row per combination).
 */
final class JobInput {
    /**
     * CSV as RFC 4180 has it: a header line, quoted fields that hold line breaks ({@code multiLine}) and doubled
     * quotes ({@code escape}); Spark's own defaults cut such a prompt into a phantom row. {@code input_options}
     * overrides them.
     */
    static final Map<String, String> CSV_DEFAULTS = Map.of("header", "true", "multiLine", "true", "escape", "\"");

    private JobInput() {}

    /** The input rows, as the planner reads them (archive mode, a table, files, or the templates' combinations). */
    static Dataset<Row> read(SparkSession spark, JobConfig config) {
        PromptTemplates templates = config.templates();
        Dataset<Row> input;
        if (config.archiveImages() != null) {
            input = ArchiveInput.list(spark, config);
        } else if (config.inputTable() != null) {
            input = table(spark, config.inputTable(), config.inputOptions());
        } else if (templates.standalone()) {
            return combinations(spark, templates);
        } else {
            input = files(spark, config.inputFormat(), config.inputOptions(), config.input());
        }
        templates.checkColumns(input.columns());
        return input;
    }

    static Dataset<Row> files(SparkSession spark, String format, Map<String, String> options, String path) {
        // Spark's option names are case-insensitive: a user's "multiline" replaces the default "multiLine"
        Map<String, String> merged = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        if (format.equals("csv")) {
            merged.putAll(CSV_DEFAULTS);
        }
        merged.putAll(options);
        return spark.read().format(format).options(merged).load(path);
    }

    private static Dataset<Row> table(SparkSession spark, String name, Map<String, String> options) {
        if (!spark.catalog().tableExists(name)) {
            throw new IllegalArgumentException("input_table " + name + " does not exist in the session's catalog"
                    + " (current catalog " + spark.catalog().currentCatalog() + ", database "
                    + spark.catalog().currentDatabase() + "): check the name, the catalog settings"
                    + " (spark.sql.catalog.*, spark.sql.catalogImplementation=hive for a Hive metastore)"
                    + " and that the job's user may see it");
        }
        return spark.read().options(options).table(name);
    }

    /** One row per combination: its id and its index, spread over the cluster's task slots. */
    private static Dataset<Row> combinations(SparkSession spark, PromptTemplates templates) {
        int slices = Math.max(1, spark.sparkContext().defaultParallelism());
        MapFunction<Long, Tuple2<String, Long>> row = i -> new Tuple2<>(templates.combinationId(i), i);
        return spark.range(0, templates.combinations(), 1, slices)
                .map(row, Encoders.tuple(Encoders.STRING(), Encoders.LONG()))
                .toDF("id", PromptTemplates.INDEX_COLUMN);
    }

    /**
     * Before Spark starts: the data source {@code format} is on the class path. A missing one is one line naming the
     * package to add, instead of Spark's error when the read starts.
     */
    static void checkSource(String format) {
        try {
            DataSource$.MODULE$.lookupDataSource(format, SQLConf.get());
        } catch (LinkageError e) {
            throw missingSource(format);
        } catch (Exception e) { // Scala code throws ClassNotFoundException without declaring it
            if (e instanceof SparkThrowable || e instanceof ClassNotFoundException) {
                throw missingSource(format); // DATA_SOURCE_NOT_FOUND, or Spark's own word on avro and kafka
            }
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
    }

    private static IllegalArgumentException missingSource(String format) {
        String spark = org.apache.spark.package$.MODULE$.SPARK_VERSION();
        String known = packageOf(format, spark);
        return new IllegalArgumentException("input_format " + format + ": Spark " + spark + " has no data source of"
                + " that name on its class path: add --packages "
                + (known != null ? known : "GROUP:ARTIFACT:VERSION of the package that provides it")
                + " to spark-submit (bin/spark-diffusion: its jars in SPARK_DIFFUSION_CLASSPATH), or check the name");
    }

    /** Where the usual data sources that Spark does not carry come from. */
    static String packageOf(String format, String sparkVersion) {
        String majorMinor = sparkVersion.replaceAll("^(\\d+\\.\\d+).*", "$1");
        return switch (format) {
            case "delta" -> "io.delta:delta-spark_2.13:<version> (Delta 4.4.0 is built for Spark 4.2)";
            case "iceberg" -> "org.apache.iceberg:iceberg-spark-runtime-" + majorMinor + "_2.13:<version>";
            case "avro" -> "org.apache.spark:spark-avro_2.13:" + sparkVersion;
            default -> null;
        };
    }

    /**
     * Before Spark starts: {@code input_table} is a table name ({@code table}, {@code db.table},
     * {@code catalog.db.table}, odd names in backquotes). Whether it exists needs the session: {@link #read}.
     */
    static void checkTableName(String name) {
        List<String> parts;
        try {
            parts = scala.jdk.javaapi.CollectionConverters.asJava(
                    CatalystSqlParser$.MODULE$.parseMultipartIdentifier(name));
        } catch (Exception e) { // Spark's ParseException, an AnalysisException: checked, and thrown undeclared
            parts = List.of();
        }
        if (parts.isEmpty() || parts.size() > 3) {
            throw new IllegalArgumentException("input_table '" + name + "' is not a table name: db.table or"
                    + " catalog.db.table, with `backquotes` around parts that hold other characters");
        }
    }
}

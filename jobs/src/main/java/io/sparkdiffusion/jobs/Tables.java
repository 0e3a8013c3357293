package io.sparkdiffusion.jobs;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The job's Parquet tables in its output folder, read for what they hold already (resume, publishing). */
final class Tables {
    /** The column {@link #ids} names its ids. */
    static final String PUBLISHED = "__published";

    private Tables() {}

    /** True when a table folder holds committed Parquet files (a crashed write may leave only _temporary/). */
    static boolean exists(OutputStore store, String folder) {
        try {
            for (String f : store.listFiles(folder)) {
                if (f.endsWith(".parquet") && !f.startsWith("_") && !f.contains("/_") && !f.startsWith(".")) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot list " + Redaction.uri(store.path(folder).toString()) + ": " + e.getMessage(), e);
        }
    }

    /** The distinct ids of a table, as column {@value #PUBLISHED}; empty when the table does not exist. */
    static Dataset<Row> ids(SparkSession spark, OutputStore store, String folder) {
        if (!exists(store, folder)) {
            return spark.createDataFrame(List.of(), new StructType().add(PUBLISHED, DataTypes.StringType));
        }
        return spark.read()
                .parquet(store.path(folder).toString())
                .select(col("id").as(PUBLISHED))
                .distinct();
    }

    /** {@code rows} without those whose id is in {@code ids} (a dataset of column {@value #PUBLISHED}). */
    static Dataset<GeneratedRow> without(Dataset<GeneratedRow> rows, Dataset<Row> ids) {
        return rows.join(ids, rows.col("id").equalTo(ids.col(PUBLISHED)), "left_anti")
                .as(Encoders.bean(GeneratedRow.class));
    }
}

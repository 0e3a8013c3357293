package io.sparkdiffusion.jobs;

import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.mapreduce.Job;
import org.apache.parquet.hadoop.ParquetOutputFormat;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.datasources.OutputWriterFactory;
import org.apache.spark.sql.execution.datasources.parquet.ParquetFileFormat;
import org.apache.spark.sql.execution.datasources.parquet.ParquetWriteSupport;
import org.apache.spark.sql.types.StructType;

/**
 * Spark's Parquet writer (its file format, writer and commit protocol unchanged) with one addition: the Hugging Face
 * {@code datasets} feature declaration in each file's footer (key {@code huggingface}), so that
 * {@code datasets.load_dataset("parquet", data_files=...)} reads the {@code image} column, a struct of {@code bytes}
 * and {@code path}, as an {@code Image} feature and shows pictures without conversion. The declaration names only the
 * image columns; {@code datasets} infers the rest from the Parquet schema. Used as
 * {@code df.write().format(HfImageParquetFormat.class.getName())}; Spark and every other reader read the files as
 * plain Parquet.
 */
public class HfImageParquetFormat extends ParquetFileFormat {
    private static final long serialVersionUID = 1L;
    /** The writer's option naming the columns to declare as images, comma-separated. */
    public static final String IMAGE_COLUMNS = "huggingface.image.columns";
    /** Where the declaration travels from the driver's job configuration to the tasks' write support. */
    static final String FEATURES_CONF = "io.sparkdiffusion.huggingface.features";

    @Override
    public OutputWriterFactory prepareWrite(
            SparkSession spark, Job job, scala.collection.immutable.Map<String, String> options, StructType schema) {
        OutputWriterFactory factory = super.prepareWrite(spark, job, options, schema);
        Configuration conf = job.getConfiguration();
        String columns = options.get(IMAGE_COLUMNS).getOrElse(() -> "image");
        conf.set(FEATURES_CONF, featuresJson(columns.split(",", -1)));
        // Spark has just named its own write support; the tasks instantiate this one instead, which extends it
        conf.set(ParquetOutputFormat.WRITE_SUPPORT_CLASS, WithFeatures.class.getName());
        return factory;
    }

    /** {@code {"info": {"features": {"image": {"_type": "Image"}}}}}: the footer value {@code datasets} reads. */
    static String featuresJson(String[] imageColumns) {
        StringBuilder b = new StringBuilder("{\"info\":{\"features\":{");
        for (int i = 0; i < imageColumns.length; i++) {
            b.append(i == 0 ? "" : ",")
                    .append('"')
                    .append(imageColumns[i].trim())
                    .append("\":{\"_type\":\"Image\"}");
        }
        return b.append("}}}").toString();
    }

    @Override
    public String shortName() {
        return "parquet";
    }

    @Override
    public String toString() {
        return "Parquet with Hugging Face image features";
    }

    /** Spark's Parquet write support, with the Hugging Face feature declaration added to the footer metadata. */
    public static class WithFeatures extends ParquetWriteSupport {
        @Override
        public WriteSupport.WriteContext init(Configuration conf) {
            WriteSupport.WriteContext context = super.init(conf);
            Map<String, String> metadata = new HashMap<>(context.getExtraMetaData());
            String features = conf.get(FEATURES_CONF);
            if (features != null) {
                metadata.put("huggingface", features);
            }
            return new WriteSupport.WriteContext(context.getSchema(), metadata);
        }
    }
}

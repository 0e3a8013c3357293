package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.util.Utils;
import org.junit.jupiter.api.Test;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;

/** What the job adds to Spark's configuration, and that Spark's own redaction then masks every credential. */
class SafeSparkSettingsTest {
    static SparkConf withJobSettings(SparkConf submitted) {
        SparkConf c = submitted.clone();
        JobCommand.safeSparkSettings(submitted).forEach(c::set);
        return c;
    }

    /** Spark's masking of (key, value) pairs, as in its UI, event logs and environment listing. */
    static String redacted(SparkConf conf, String key, String value) {
        var pairs =
                CollectionConverters.asScala(List.of(new Tuple2<>(key, value))).toSeq();
        return Utils.redact(conf, pairs).head()._2();
    }

    @Test
    void sparkMasksWhatRedactionCallsACredential() {
        SparkConf conf = withJobSettings(new SparkConf(false));
        for (String key : RedactionTest.SECRET_KEYS) {
            assertEquals("*********(redacted)", redacted(conf, "spark.hadoop." + key, "s3cr3t"), "Spark masks " + key);
        }
        // the driver's command line, in the environment Spark lists: masked as a whole
        String command = "org.apache.spark.deploy.SparkSubmit app.jar --set hadoop.my.custom.apikey=s3cr3t";
        assertFalse(redacted(conf, "sun.java.command", command).contains("s3cr3t"));
        assertEquals("http://127.0.0.1:9000", redacted(conf, "spark.hadoop.fs.s3a.endpoint", "http://127.0.0.1:9000"));
        // Spark's own pattern alone misses the Azure account key
        assertEquals(
                "s3cr3t",
                redacted(new SparkConf(false), "spark.hadoop.fs.azure.account.key.a.blob.core.windows.net", "s3cr3t"));
    }

    @Test
    void aSubmittersSettingsAreKeptAndExtended() {
        SparkConf submitted = new SparkConf(false)
                .set("spark.executorEnv.ORT_DISABLE_TELEMETRY", "0")
                .set("spark.redaction.regex", "(?i)mycompany\\.vault")
                .set("spark.executor.extraJavaOptions", "-Dfoo=bar");
        Map<String, String> s = JobCommand.safeSparkSettings(submitted);
        assertFalse(s.containsKey("spark.executorEnv.ORT_DISABLE_TELEMETRY"), "the submitter's choice stands");
        SparkConf conf = withJobSettings(submitted);
        assertEquals("*********(redacted)", redacted(conf, "spark.hadoop.mycompany.vault", "x"));
        assertEquals("*********(redacted)", redacted(conf, "spark.hadoop.fs.s3a.secret.key", "x"));
        String options = s.get("spark.executor.extraJavaOptions");
        assertTrue(options.startsWith("-Dfoo=bar \"-XX:OnError=sed "), options);
        assertTrue(options.endsWith("-XX:+PerfDisableSharedMem"), options);
        assertEquals(
                "1", JobCommand.safeSparkSettings(new SparkConf(false)).get("spark.executorEnv.ORT_DISABLE_TELEMETRY"));
    }
}

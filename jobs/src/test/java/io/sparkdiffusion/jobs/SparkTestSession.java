package io.sparkdiffusion.jobs;

import org.apache.spark.sql.SparkSession;

/** The local[2] SparkSession the job tests share (one per test class: start it in @BeforeAll, stop it in @AfterAll). */
public final class SparkTestSession {
    private SparkTestSession() {}

    public static SparkSession start() {
        return start(java.util.Map.of());
    }

    /** With more settings, e.g. a warehouse folder of the test's own or a catalog's extensions. */
    public static SparkSession start(java.util.Map<String, String> settings) {
        SparkSession.Builder builder = SparkSession.builder();
        settings.forEach(builder::config);
        return builder.appName("spark-diffusion-test")
                .master("local[2]")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "4")
                .getOrCreate();
    }

    public static void stop(SparkSession spark) {
        ResidentPipelines.closeAll();
        if (spark != null) {
            spark.stop();
        }
    }
}

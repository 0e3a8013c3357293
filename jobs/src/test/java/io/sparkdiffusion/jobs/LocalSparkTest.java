package io.sparkdiffusion.jobs;

import io.sparkdiffusion.testing.Slow;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base of the job tests: one local[2] SparkSession per test class. */
@Slow
abstract class LocalSparkTest {
    protected static SparkSession spark;

    @BeforeAll
    static void startSpark() {
        spark = SparkTestSession.start();
    }

    @AfterAll
    static void stopSpark() {
        SparkTestSession.stop(spark);
    }
}

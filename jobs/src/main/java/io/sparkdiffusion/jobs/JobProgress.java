package io.sparkdiffusion.jobs;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The driver's progress line during generation: done / total, images/s and an ETA, every
 * {@code progress.log_interval_seconds}. Counts come from the tasks' accumulators: a task's additions reach the
 * accumulator's value only when the task ends, so the rows of tasks still running are read from the executors'
 * heartbeats ({@code spark.executor.heartbeatInterval}, 10 s), which carry each running task's accumulator values.
 */
final class JobProgress implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(JobProgress.class);

    private final SparkSession spark;
    private final LongAccumulator written;
    private final LongAccumulator failed;
    private final long total;
    private final long start = System.nanoTime();
    private final Running running;
    private final ScheduledExecutorService timer;

    private JobProgress(SparkSession spark, long total, int intervalSeconds) {
        this.spark = spark;
        this.written = spark.sparkContext().longAccumulator("spark-diffusion images written");
        this.failed = spark.sparkContext().longAccumulator("spark-diffusion images failed");
        this.total = total;
        this.running = new Running(written.id(), failed.id());
        spark.sparkContext().addSparkListener(running);
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "spark-diffusion-progress");
            t.setDaemon(true);
            return t;
        });
        // the task's future is not kept: closing shuts the timer down, which cancels it
        ScheduledFuture<?> unused = timer.scheduleAtFixedRate(
                () -> LOG.info(line(writtenSoFar(), failedSoFar(), total, (System.nanoTime() - start) / 1e9)),
                intervalSeconds,
                intervalSeconds,
                TimeUnit.SECONDS);
    }

    /** Starts logging the progress of {@code total} images; the tasks add to {@link #written} and {@link #failed}. */
    static JobProgress start(SparkSession spark, long total, int intervalSeconds) {
        return new JobProgress(spark, total, intervalSeconds);
    }

    LongAccumulator written() {
        return written;
    }

    LongAccumulator failed() {
        return failed;
    }

    /** Images written: by ended tasks, plus what running tasks reported in their last heartbeat. */
    long writtenSoFar() {
        return Math.min(total, written.value() + running.sum(0));
    }

    long failedSoFar() {
        return failed.value() + running.sum(1);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        spark.sparkContext().removeSparkListener(running);
    }

    /** {@code progress: 12/40 images (30%), 0 failed, 1.50 images/s, ETA 19 s}; no ETA before the first image. */
    static String line(long written, long failed, long total, double elapsedSeconds) {
        long done = written + failed;
        double rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
        String eta = rate > 0 ? String.format(Locale.ROOT, "%.0f s", Math.max(0, total - done) / rate) : "unknown";
        return String.format(
                Locale.ROOT,
                "progress: %d/%d images (%d%%), %d failed, %.2f images/s, ETA %s",
                done,
                total,
                total == 0 ? 100 : done * 100 / total,
                failed,
                elapsedSeconds > 0 ? written / elapsedSeconds : 0,
                eta);
    }

    /** The accumulator values of running tasks, from heartbeats; a task's entry goes when it ends. */
    private static final class Running extends SparkListener {
        private final long writtenId;
        private final long failedId;
        private final Map<Long, long[]> byTask = new ConcurrentHashMap<>();

        Running(long writtenId, long failedId) {
            this.writtenId = writtenId;
            this.failedId = failedId;
        }

        @Override
        public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
            for (Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> task :
                    CollectionConverters.asJava(update.accumUpdates())) {
                long[] counts = new long[2];
                for (AccumulableInfo info : CollectionConverters.asJava(task._4())) {
                    int slot = info.id() == writtenId ? 0 : info.id() == failedId ? 1 : -1;
                    if (slot >= 0 && info.update().isDefined() && info.update().get() instanceof Number n) {
                        counts[slot] = n.longValue();
                    }
                }
                byTask.put((Long) task._1(), counts);
            }
        }

        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
            // from now on the task's rows are in the accumulator's value (or lost with a failed attempt)
            byTask.remove(end.taskInfo().taskId());
        }

        long sum(int slot) {
            long s = 0;
            for (long[] c : byTask.values()) {
                s += c[slot];
            }
            return s;
        }
    }
}

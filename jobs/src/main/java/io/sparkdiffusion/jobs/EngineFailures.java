package io.sparkdiffusion.jobs;

import io.sparkdiffusion.util.EngineException;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.ExceptionFailure;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;

/**
 * Fails the generation fast when a task fails for a reason that is not the row's: an {@link EngineException} (a
 * model folder missing on an executor, a truncated ONNX file, a session or device that cannot start). Every row and
 * every retry would fail the same way, so instead of letting Spark retry each task {@code spark.task.maxFailures}
 * times, the first such failure cancels the generation's job group and the driver reports it in one line, naming the
 * executor. Row errors never reach here: the engine turns them into rows of the errors table.
 */
final class EngineFailures extends SparkListener implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(EngineFailures.class);

    private final SparkSession spark;
    private final String jobGroup;
    private final AtomicReference<String> first = new AtomicReference<>();

    private EngineFailures(SparkSession spark, String jobGroup) {
        this.spark = spark;
        this.jobGroup = jobGroup;
    }

    /** Watches the tasks of {@code jobGroup} until closed. */
    static EngineFailures watch(SparkSession spark, String jobGroup) {
        EngineFailures watch = new EngineFailures(spark, jobGroup);
        spark.sparkContext().addSparkListener(watch);
        return watch;
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        if (!(end.reason() instanceof ExceptionFailure failure) || !isEngineFailure(failure.className())) {
            return;
        }
        String line = "engine failure on executor " + end.taskInfo().executorId() + " ("
                + end.taskInfo().host() + "), not retried since every row would fail the same way: "
                + firstLine(failure.description());
        if (first.compareAndSet(null, line)) {
            LOG.error("{}; cancelling the generation", line);
            spark.sparkContext().cancelJobGroup(jobGroup);
        }
    }

    /**
     * Throws the engine failure behind {@code jobFailure}, if it is one, as one {@link EngineException} line: the
     * first one this watch saw, or else one in the job failure's causes (Spark attaches the task's exception to a
     * stage failure, which can reach the driver before the listener hears of the task).
     */
    void rethrowIfEngineFailure(Throwable jobFailure) {
        String line = first.get();
        if (line != null) {
            throw new EngineException(line, jobFailure);
        }
        for (Throwable t = jobFailure; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof EngineException) {
                throw new EngineException(
                        "engine failure, not retried since every row would fail the same way: "
                                + firstLine(t.getMessage()),
                        jobFailure);
            }
        }
    }

    @Override
    public void close() {
        spark.sparkContext().removeSparkListener(this);
    }

    /** Whether the executor's exception class is an {@link EngineException} (or a subclass, such as a load failure). */
    static boolean isEngineFailure(String className) {
        try {
            Class<?> c = Class.forName(className, false, EngineFailures.class.getClassLoader());
            return EngineException.class.isAssignableFrom(c);
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "(no message)";
        }
        int nl = s.indexOf('\n');
        return (nl >= 0 ? s.substring(0, nl) : s).strip();
    }
}

package io.sparkdiffusion.jobs;

/**
 * A crashing JVM writes {@code hs_err_pid<pid>.log} with its whole command line, and its shared performance file
 * ({@code /tmp/hsperfdata_<user>/<pid>}) holds the command line too and outlives a crash. These JVM options keep
 * command lines out of both; {@code bin/spark-diffusion} gives the same to the local JVM, with the crash file in a
 * folder only its user reads.
 */
final class CrashFiles {
    private CrashFiles() {}

    /** Removes the command-line lines of {@code errorFile} once written: HotSpot runs OnError after the report. */
    static String scrubOnError(String errorFile) {
        return "-XX:OnError=sed -i.bak -e /^Command.Line:/d -e /^java_command:/d " + errorFile + ";rm -f " + errorFile
                + ".bak";
    }

    /**
     * For {@code spark.executor.extraJavaOptions} (Spark splits it like a shell, hence the quotes): executors write
     * crash files into their working folder, the default.
     */
    static String executorOptions() {
        return "\"" + scrubOnError("hs_err_pid%p.log") + "\" -XX:+PerfDisableSharedMem";
    }
}

package io.sparkdiffusion.jobs;

import ai.onnxruntime.OrtEnvironment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Creates ONNX Runtime's environment safely, whatever the process's environment variables. When the environment is
 * first created, ONNX Runtime's telemetry matches a backtracking regular expression against the process's command
 * line (unless {@code ORT_DISABLE_TELEMETRY} is set); Spark's JVM command lines of a few kB overflow a thread's
 * default 1 MB stack and the JVM dies with SIGSEGV. Measured with 1.29.0: 6,000 characters crash a 1 MB stack,
 * 100,000 crash 8 MB and pass 64 MB. So the environment is created once, on a thread whose stack is sized to the
 * command line (it is reserved, not committed: only the pages the regex touches are used); later calls return the
 * same environment ({@link OrtEnvironment} is a per-process singleton).
 */
public final class OrtStartup {
    private static final long MIN_STACK = 64L << 20;
    private static final long MAX_STACK = 2L << 30;
    private static final long STACK_PER_CHARACTER = 2048;

    private static volatile OrtEnvironment started;

    private OrtStartup() {}

    /** The process's environment, created on a large stack the first time. */
    public static OrtEnvironment environment() {
        if (started == null) {
            start();
        }
        return started;
    }

    private static synchronized void start() {
        if (started != null) {
            return;
        }
        OrtEnvironment[] env = new OrtEnvironment[1];
        RuntimeException[] failure = new RuntimeException[1];
        Thread t = new Thread(
                null,
                () -> {
                    try {
                        env[0] = OrtEnvironment.getEnvironment();
                    } catch (RuntimeException | LinkageError e) {
                        failure[0] = new IllegalStateException("ONNX Runtime cannot start: " + e.getMessage(), e);
                    }
                },
                "onnxruntime-startup",
                stackBytes());
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting ONNX Runtime", e);
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        started = env[0];
    }

    /** A stack for the regex over this process's command line ({@code /proc/self/cmdline}; 256 MB elsewhere). */
    static long stackBytes() {
        long length;
        try {
            length = Files.size(Path.of("/proc/self/cmdline"));
            if (length == 0) { // procfs reports 0 for some kernels: read it
                length = Files.readAllBytes(Path.of("/proc/self/cmdline")).length;
            }
        } catch (IOException | UnsupportedOperationException e) {
            length = 128 * 1024;
        }
        return Math.min(MAX_STACK, Math.max(MIN_STACK, length * STACK_PER_CHARACTER));
    }
}

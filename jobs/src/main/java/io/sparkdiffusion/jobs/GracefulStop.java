package io.sparkdiffusion.jobs;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.TaskContext;

/**
 * Stopping a job without losing or breaking anything: SIGTERM (a scheduler, {@code kill}) or SIGINT (Ctrl-C) on the
 * driver asks every generation task to take no new batch; the running batch finishes, the task commits its finished
 * rows and ends; the driver publishes what was committed, marks the run {@code stopped} and exits with
 * {@link #exitCode()} (130 for SIGINT, 143 for SIGTERM, the shell's convention). {@code --resume} generates the rest.
 *
 * <p>The request is JVM-wide: tasks of a local run read it directly; executors of a cluster learn it from the driver's
 * cancellation of the generation jobs ({@link TaskContext#isInterrupted()}), or from their own JVM's shutdown
 * ({@link ResidentPipelines}). ONNX Runtime sessions are closed only after no task runs in them: closing or exiting
 * under a running session is what crashed the JVM.
 */
public final class GracefulStop {
    private static final Logger LOG = LogManager.getLogger(GracefulStop.class);
    /** The signal that asked for the stop ({@code TERM}, {@code INT}), or why; null while none was asked for. */
    private static final AtomicReference<String> REASON = new AtomicReference<>();

    private static final AtomicInteger SIGNALS = new AtomicInteger();

    private GracefulStop() {}

    /** Asks this JVM's generation tasks to stop after their running batch; the first reason is kept. */
    public static void request(String reason) {
        REASON.compareAndSet(null, reason);
    }

    /** Whether a stop was asked for in this JVM. */
    public static boolean requested() {
        return REASON.get() != null;
    }

    /** Whether the running task should take no new batch: a stop of this JVM, or the task was cancelled. */
    static boolean taskShouldStop() {
        TaskContext task = TaskContext.get();
        return requested() || (task != null && task.isInterrupted());
    }

    /** What asked for the stop, null if nothing did. */
    public static String reason() {
        return REASON.get();
    }

    /** The documented exit code of a stopped run: 128 + the signal's number (SIGINT 2, SIGTERM 15). */
    public static int exitCode() {
        return "INT".equals(REASON.get()) ? 130 : 143;
    }

    /** Forgets a request (tests run many jobs in one JVM). */
    static void reset() {
        REASON.set(null);
        SIGNALS.set(0);
    }

    /**
     * Handles SIGTERM and SIGINT in this JVM until the returned handlers are closed (then the previous handlers are
     * back): the first signal asks for a stop and runs {@code onFirst} (the driver cancels its generation jobs there);
     * later ones only say what is happening. Without them the JVM would start exiting at once, under running ONNX
     * Runtime sessions.
     */
    static Handlers installSignalHandlers(Runnable onFirst) {
        Map<String, Object> previous = new LinkedHashMap<>();
        for (String signal : new String[] {"TERM", "INT"}) {
            try {
                previous.put(signal, handle(signal, proxy(() -> onSignal(signal, onFirst))));
            } catch (ReflectiveOperationException | RuntimeException e) {
                // a JVM without sun.misc.Signal (or that reserves the signal) keeps its default: committed rows
                // are still kept and --resume still works
                LOG.warn("cannot handle SIG{} ({}); stopping the job will not be graceful", signal, e.toString());
            }
        }
        return new Handlers(previous);
    }

    /** The signal handlers a job installed; closing puts the previous ones back. */
    static final class Handlers implements AutoCloseable {
        private final Map<String, Object> previous;

        private Handlers(Map<String, Object> previous) {
            this.previous = previous;
        }

        @Override
        public void close() {
            previous.forEach((signal, handler) -> {
                try {
                    handle(signal, handler);
                } catch (ReflectiveOperationException | RuntimeException e) {
                    LOG.warn("cannot restore the handler of SIG{}: {}", signal, e.toString());
                }
            });
        }
    }

    private static void onSignal(String signal, Runnable onFirst) {
        if (SIGNALS.incrementAndGet() > 1) {
            LOG.warn(
                    "SIG{} again: still finishing the running batches and committing them (SIGKILL stops at once;"
                            + " committed rows are kept either way)",
                    signal);
            return;
        }
        request(signal);
        LOG.warn(
                "SIG{}: no new batches; the running ones finish and are committed, then what is done is published."
                        + " Run again with --resume to generate the rest.",
                signal);
        onFirst.run();
    }

    /**
     * {@code sun.misc.Signal.handle(new Signal(name), handler)} by reflection, returning the previous handler: the
     * class is exported by jdk.unsupported for exactly this, but javac flags every direct use as internal API, which
     * this build treats as an error.
     */
    private static Object handle(String name, Object handler) throws ReflectiveOperationException {
        Class<?> signalClass = Class.forName("sun.misc.Signal");
        Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
        Object signal = signalClass.getConstructor(String.class).newInstance(name);
        try {
            return signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, handler);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r; // IllegalArgumentException: a signal the JVM reserves
            }
            throw e;
        }
    }

    /** A {@code sun.misc.SignalHandler} that runs {@code action}. */
    private static Object proxy(Runnable action) throws ClassNotFoundException {
        Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
        return Proxy.newProxyInstance(
                GracefulStop.class.getClassLoader(),
                new Class<?>[] {handlerClass},
                (proxy, method, args) -> proxyCall(proxy, method, args, action));
    }

    private static Object proxyCall(Object proxy, Method method, Object[] args, Runnable action) {
        return switch (method.getName()) {
            case "handle" -> {
                action.run();
                yield null;
            }
            case "equals" -> proxy == args[0];
            case "hashCode" -> System.identityHashCode(proxy);
            default -> "spark-diffusion graceful stop";
        };
    }
}

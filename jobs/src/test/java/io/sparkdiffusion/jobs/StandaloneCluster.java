package io.sparkdiffusion.jobs;

import io.sparkdiffusion.testing.Fixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A Spark standalone cluster of separate JVMs on 127.0.0.1 for integration tests: a master and N workers started
 * from the build's own jars, and jobs submitted to it with {@code spark-submit} (the {@code SparkSubmit} class, which
 * {@code bin/spark-submit} runs) and the application jar, as a data team would. Executors are separate JVMs launched
 * by the workers, with no environment variable from the test: the job must be safe by itself.
 *
 * <p>The Spark home is made once per build in {@code target/it-spark-home}: {@code jars/} links every jar of the
 * local class path ({@code target/lib}) that the application jar does not carry (Spark, Hadoop, the s3a connector,
 * log4j, Jackson: what a cluster's Spark provides), {@code conf/log4j2.properties} keeps the logs readable. Workers
 * run with {@code SPARK_SCALA_VERSION=2.13} (Spark's launcher cannot tell the Scala version of a home without a
 * build folder).
 *
 * <pre>{@code
 * try (StandaloneCluster cluster = StandaloneCluster.start(dir, 2, 1)) {
 *     StandaloneCluster.Driver driver = cluster.submit(workDir, Map.of(), List.of("--config", "job.yaml"));
 *     cluster.awaitExecutors(2, Duration.ofMinutes(1));
 *     cluster.killExecutor();                  // SIGKILL one executor JVM; its worker starts another
 *     driver.kill();                           // SIGKILL the driver
 *     driver.await(Duration.ofMinutes(5));     // its exit code
 *     cluster.executorLogs();                  // every executor's stderr, for counting generated batches
 * }
 * }</pre>
 */
final class StandaloneCluster implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final String EXECUTOR_CLASS = "CoarseGrainedExecutorBackend";

    private final Path dir;
    private final Path sparkHome;
    private final int coresPerWorker;
    private final Process master;
    private final String masterUrl;
    private final List<Process> workers = new ArrayList<>();
    private final List<Driver> drivers = Collections.synchronizedList(new ArrayList<>());
    private final Thread shutdownHook = new Thread(this::destroyAll, "standalone-cluster-shutdown");

    private StandaloneCluster(Path dir, Path sparkHome, int coresPerWorker, Process master, String masterUrl) {
        this.dir = dir;
        this.sparkHome = sparkHome;
        this.coresPerWorker = coresPerWorker;
        this.master = master;
        this.masterUrl = masterUrl;
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** A master and {@code workers} workers of {@code coresPerWorker} cores each, all registered. */
    static StandaloneCluster start(Path dir, int workers, int coresPerWorker) throws IOException {
        Path home = sparkHome();
        Files.createDirectories(dir);
        int port = freePort();
        Process master = launch(
                home,
                dir.resolve("master.log"),
                dir,
                List.of(
                        "org.apache.spark.deploy.master.Master",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        Integer.toString(port),
                        "--webui-port",
                        "0"),
                "256m");
        StandaloneCluster cluster =
                new StandaloneCluster(dir, home, coresPerWorker, master, "spark://127.0.0.1:" + port);
        try {
            cluster.awaitLog(dir.resolve("master.log"), "Starting Spark master", START_TIMEOUT);
            for (int i = 0; i < workers; i++) {
                cluster.startWorker();
            }
            for (int i = 0; i < workers; i++) {
                cluster.awaitLog(cluster.workerLog(i), "Successfully registered with master", START_TIMEOUT);
            }
            return cluster;
        } catch (RuntimeException | IOException e) {
            cluster.close();
            throw e;
        }
    }

    String masterUrl() {
        return masterUrl;
    }

    Path sparkHomeDir() {
        return sparkHome;
    }

    /** Starts one more worker (index {@link #workerCount()} before the call); it registers in the background. */
    void startWorker() throws IOException {
        int i = workers.size();
        Path work = Files.createDirectories(dir.resolve("worker-" + i));
        workers.add(launch(
                sparkHome,
                workerLog(i),
                work,
                List.of(
                        "org.apache.spark.deploy.worker.Worker",
                        "--host",
                        "127.0.0.1",
                        "--cores",
                        Integer.toString(coresPerWorker),
                        "--memory",
                        "2g",
                        "--work-dir",
                        work.toString(),
                        "--webui-port",
                        "0",
                        masterUrl),
                "256m"));
    }

    int workerCount() {
        return workers.size();
    }

    /** Stops worker {@code i} and its executors (SIGKILL): a lost machine. */
    void stopWorker(int i) {
        Process w = workers.get(i);
        w.descendants().forEach(ProcessHandle::destroyForcibly);
        w.destroyForcibly();
    }

    Path workerLog(int i) {
        return dir.resolve("worker-" + i + ".log");
    }

    /** The live executor JVMs, oldest first. */
    List<ProcessHandle> executors() {
        List<ProcessHandle> out = new ArrayList<>();
        for (Process w : workers) {
            w.descendants()
                    .filter(p ->
                            p.isAlive() && p.info().commandLine().orElse("").contains(EXECUTOR_CLASS))
                    .forEach(out::add);
        }
        out.sort((a, b) -> a.info()
                .startInstant()
                .orElse(java.time.Instant.EPOCH)
                .compareTo(b.info().startInstant().orElse(java.time.Instant.EPOCH)));
        return out;
    }

    /** Waits until {@code n} executor JVMs run. */
    void awaitExecutors(int n, Duration timeout) {
        await(() -> executors().size() >= n, timeout, n + " executors running");
    }

    /** Waits until no executor JVM runs (after a driver's end the master stops its executors). */
    void awaitNoExecutors(Duration timeout) {
        await(() -> executors().isEmpty(), timeout, "no executor running");
    }

    /** SIGKILLs the oldest live executor JVM (a lost executor) and returns it. */
    ProcessHandle killExecutor() {
        List<ProcessHandle> live = executors();
        if (live.isEmpty()) {
            throw new IllegalStateException("no executor is running");
        }
        ProcessHandle victim = live.get(0);
        victim.destroyForcibly();
        return victim;
    }

    /** Sends a signal by name ({@code SEGV}, {@code TERM}, ...) to a process. */
    static void signal(ProcessHandle p, String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(p.pid())).start();
        if (kill.waitFor() != 0) {
            throw new IOException("kill -" + name + " " + p.pid() + " failed");
        }
    }

    /**
     * Submits the job in client mode, as {@code spark-submit --master <cluster> --class GenerateJob APP.jar ARGS}
     * run in {@code workDir}; its output goes to {@code workDir/driver.log}.
     *
     * @param conf Spark settings ({@code --conf k=v})
     */
    Driver submit(Path workDir, Map<String, String> conf, List<String> jobArgs) throws IOException {
        List<String> args = new ArrayList<>(List.of(
                "org.apache.spark.deploy.SparkSubmit",
                "--master",
                masterUrl,
                "--deploy-mode",
                "client",
                "--class",
                GenerateJob.class.getName(),
                "--name",
                "spark-diffusion-it"));
        conf.forEach((k, v) -> {
            args.add("--conf");
            args.add(k + "=" + v);
        });
        args.add(appJar().toString());
        args.addAll(jobArgs);
        Path log = workDir.resolve("driver.log");
        Driver d = new Driver(launch(sparkHome, log, workDir, args, "1g"), log);
        drivers.add(d);
        return d;
    }

    /** The application folders of the workers ({@code worker-i/app-*}): one per submitted job and worker. */
    Set<Path> appFolders() throws IOException {
        Set<Path> out = new HashSet<>();
        for (int i = 0; i < workers.size(); i++) {
            Path work = dir.resolve("worker-" + i);
            if (Files.isDirectory(work)) {
                try (Stream<Path> apps = Files.list(work)) {
                    apps.filter(a -> a.getFileName().toString().startsWith("app-"))
                            .forEach(out::add);
                }
            }
        }
        return out;
    }

    /** The stderr files of the executors of the application folders not in {@code before}: one job's executors. */
    List<Path> executorLogFiles(Set<Path> before) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path app : appFolders()) {
            if (!before.contains(app)) {
                try (Stream<Path> files = Files.walk(app)) {
                    files.filter(f -> f.getFileName().toString().equals("stderr"))
                            .sorted()
                            .forEach(out::add);
                }
            }
        }
        return out;
    }

    /** The stderr of one job's executors (see {@link #executorLogFiles}), concatenated. */
    String executorLogsSince(Set<Path> before) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Path f : executorLogFiles(before)) {
            sb.append(Files.readString(f, StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    /**
     * The live executor JVM whose stderr is {@code stderr} ({@code worker-i/<app id>/<executor id>/stderr}): its
     * command line names the application and the executor.
     */
    ProcessHandle executorOf(Path stderr) {
        String executorId = stderr.getParent().getFileName().toString();
        String appId = stderr.getParent().getParent().getFileName().toString();
        return executors().stream()
                .filter(p -> {
                    String cmd = p.info().commandLine().orElse("");
                    return cmd.contains(appId) && cmd.contains("--executor-id " + executorId + " ");
                })
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("no live executor " + executorId + " of " + appId));
    }

    /** Every executor's stderr (standalone keeps it in {@code <worker>/app-*}/{@code <n>}/stderr), concatenated. */
    String executorLogs() throws IOException {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().equals("stderr"))
                    .sorted()
                    .toList()) {
                sb.append(Files.readString(f, StandardCharsets.UTF_8));
            }
        }
        return sb.toString();
    }

    @Override
    public void close() {
        destroyAll();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down: the hook runs anyway
        }
    }

    private void destroyAll() {
        synchronized (drivers) {
            drivers.forEach(d -> d.process.destroyForcibly());
        }
        for (Process w : workers) {
            w.descendants().forEach(ProcessHandle::destroyForcibly);
            w.destroyForcibly();
        }
        master.destroyForcibly();
        List<Process> all = new ArrayList<>(workers);
        all.add(master);
        for (Process p : all) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** A submitted job's driver JVM. */
    static final class Driver {
        private final Process process;
        private final Path log;

        Driver(Process process, Path log) {
            this.process = process;
            this.log = log;
        }

        ProcessHandle handle() {
            return process.toHandle();
        }

        /** SIGKILLs the driver (a lost driver). */
        void kill() {
            process.destroyForcibly();
        }

        /** The exit code, waiting at most {@code timeout} (then the driver is killed and the test fails). */
        int await(Duration timeout) throws InterruptedException, IOException {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("the driver did not finish in " + timeout + "; its log:\n" + log());
            }
            return process.exitValue();
        }

        String log() throws IOException {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        }
    }

    /** Waits until a line containing {@code text} appears in a process's log. */
    void awaitLog(Path log, String text, Duration timeout) {
        await(
                () -> {
                    try {
                        return Files.exists(log) && Files.readString(log).contains(text);
                    } catch (IOException e) {
                        return false;
                    }
                },
                timeout,
                "'" + text + "' in " + log);
    }

    private void await(BooleanSupplier condition, Duration timeout, String what) {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end || !master.isAlive()) {
                throw new IllegalStateException("timed out waiting for " + what + " (master alive: " + master.isAlive()
                        + "); see the logs in " + dir);
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted waiting for " + what, e);
            }
        }
    }

    /** A JVM of the Spark home's class path, its output to {@code log}, without the test's environment for ORT. */
    private static Process launch(Path home, Path log, Path workDir, List<String> mainAndArgs, String heap)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx" + heap);
        cmd.add("-cp");
        cmd.add(home.resolve("conf") + "/:" + home.resolve("jars") + "/*");
        // the Java 17 module openings Spark documents; the launcher scripts add them, and SparkContext adds them to
        // executors itself
        cmd.addAll(List.of(System.getProperty("sparkdiffusion.java17.opens", "").split(" ")).stream()
                .filter(s -> !s.isBlank())
                .toList());
        cmd.addAll(mainAndArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        Map<String, String> e = pb.environment();
        e.remove("ORT_DISABLE_TELEMETRY"); // the job must be safe without it
        e.put("SPARK_HOME", home.toString());
        e.put("SPARK_SCALA_VERSION", "2.13");
        e.put("SPARK_LOCAL_IP", "127.0.0.1");
        return pb.start();
    }

    /** {@code target/it-spark-home}, made on first use in this build. */
    static synchronized Path sparkHome() throws IOException {
        Path target = Fixtures.root().resolve("jobs/target");
        Path home = target.resolve("it-spark-home");
        Path jars = home.resolve("jars");
        if (Files.isDirectory(jars) && Files.exists(home.resolve("conf/log4j2.properties"))) {
            return home;
        }
        Path lib = target.resolve("lib");
        if (!Files.isDirectory(lib)) {
            throw new IllegalStateException(
                    lib + " is missing: the integration tests run after 'package' (mvn verify)");
        }
        Set<String> inAppJar = new HashSet<>();
        try (ZipFile app = new ZipFile(appJar().toFile())) {
            app.stream().map(ZipEntry::getName).forEach(inAppJar::add);
        }
        Files.createDirectories(jars);
        try (Stream<Path> libs = Files.list(lib)) {
            for (Path jar : libs.filter(p -> p.toString().endsWith(".jar")).toList()) {
                if (!carriedByAppJar(jar, inAppJar)) {
                    Path link = jars.resolve(jar.getFileName());
                    Files.deleteIfExists(link);
                    Files.createSymbolicLink(link, jar);
                }
            }
        }
        Path conf = Files.createDirectories(home.resolve("conf"));
        Files.writeString(
                conf.resolve("log4j2.properties"),
                String.join(
                        "\n",
                        "rootLogger.level = warn",
                        "rootLogger.appenderRef.stderr.ref = console",
                        "appender.console.type = Console",
                        "appender.console.name = console",
                        "appender.console.target = SYSTEM_ERR",
                        "appender.console.layout.type = PatternLayout",
                        "appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex",
                        "logger.sd.name = io.sparkdiffusion",
                        "logger.sd.level = info",
                        "logger.deploy.name = org.apache.spark.deploy",
                        "logger.deploy.level = info",
                        ""));
        return home;
    }

    /** A jar whose classes the application jar carries (the engine, ONNX Runtime, DJL, ...): not the cluster's. */
    private static boolean carriedByAppJar(Path jar, Set<String> inAppJar) throws IOException {
        try (ZipFile z = new ZipFile(jar.toFile())) {
            return z.stream()
                    .map(ZipEntry::getName)
                    .filter(n -> n.endsWith(".class") && !n.contains("module-info") && !n.startsWith("META-INF/"))
                    .findFirst()
                    .map(inAppJar::contains)
                    .orElse(false);
        }
    }

    /** {@code jobs/target/spark-diffusion-jobs-<version>-app.jar}, which {@code package} makes. */
    static Path appJar() throws IOException {
        Path target = Fixtures.root().resolve("jobs/target");
        try (Stream<Path> s = Files.list(target)) {
            return s.filter(p -> p.getFileName().toString().matches("spark-diffusion-jobs-.*-app\\.jar"))
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException(
                            "no application jar in " + target + ": the integration tests run after 'package'"));
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package io.sparkdiffusion.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real S3 server for the s3a tests: S3Proxy ({@code target/s3proxy/s3proxy.jar}, copied there by the jobs pom)
 * started as a separate JVM (embedded next to Spark its Jetty clashes with Spark's), serving one bucket from a
 * temporary folder on 127.0.0.1 with AWS v2/v4 signatures. {@link #close()} stops the process and removes the folder.
 *
 * <pre>{@code
 * try (S3ProxyServer s3 = S3ProxyServer.start()) {
 *     s3.hadoopSettings() // fs.s3a.* settings for Hadoop's S3A client on this server
 *     s3.uri("out")       // s3a://<bucket>/out
 * }
 * }</pre>
 */
public final class S3ProxyServer implements AutoCloseable {
    private static final long START_TIMEOUT_MS = 60_000;
    private static final int START_ATTEMPTS = 3;

    private final Process process;
    private final Path dir;
    private final Path log;
    private final int port;
    private final String bucket;
    private final String accessKey;
    private final String secretKey;
    /** Stops the process should the test JVM exit without {@link #close()} (e.g. a test run interrupted). */
    private final Thread shutdownHook;

    private S3ProxyServer(
            Process process, Path dir, Path log, int port, String bucket, String accessKey, String secretKey) {
        this.process = process;
        this.dir = dir;
        this.log = log;
        this.port = port;
        this.bucket = bucket;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        this.shutdownHook = new Thread(process::destroyForcibly, "s3proxy-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Starts S3Proxy on a free port with a fresh bucket (named uniquely, so that Hadoop's FileSystem cache, keyed by
     * scheme and bucket, never hands out a client of another server), waiting until it answers S3 requests.
     */
    public static S3ProxyServer start() {
        Path jar = jar();
        String bucket =
                "sdtest-" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        String accessKey = "sdtest-access-" + UUID.randomUUID().toString().substring(0, 8);
        String secretKey = "sdtest-secret-" + UUID.randomUUID();
        Path dir;
        try {
            dir = Files.createTempDirectory("s3proxy-");
            // filesystem-nio2 keeps each bucket as a folder under the base directory: this creates the bucket
            Files.createDirectories(dir.resolve("data").resolve(bucket));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a folder for S3Proxy: " + e.getMessage(), e);
        }
        IllegalStateException failure = null;
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            int port = freePort();
            Path log = dir.resolve("s3proxy-" + attempt + ".log");
            Process p = null;
            try {
                Path props = dir.resolve("s3proxy-" + attempt + ".properties");
                Files.writeString(
                        props,
                        String.join(
                                "\n",
                                "s3proxy.endpoint=http://127.0.0.1:" + port,
                                "s3proxy.authorization=aws-v2-or-v4",
                                "s3proxy.identity=" + accessKey,
                                "s3proxy.credential=" + secretKey,
                                "jclouds.provider=filesystem-nio2",
                                "jclouds.identity=" + accessKey,
                                "jclouds.credential=" + secretKey,
                                "jclouds.filesystem.basedir=" + dir.resolve("data"),
                                ""),
                        StandardCharsets.UTF_8);
                String java =
                        Path.of(System.getProperty("java.home"), "bin", "java").toString();
                ProcessBuilder pb = new ProcessBuilder(
                                java,
                                "-Xmx256m",
                                "-XX:+UseSerialGC",
                                "-DLOG_LEVEL=warn",
                                "-DJETTY_LOG_LEVEL=warn",
                                "-jar",
                                jar.toString(),
                                "--properties",
                                props.toString())
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile());
                pb.environment().put("LOG_LEVEL", "warn");
                pb.environment().put("JETTY_LOG_LEVEL", "warn");
                p = pb.start();
                S3ProxyServer server = new S3ProxyServer(p, dir, log, port, bucket, accessKey, secretKey);
                try {
                    server.awaitReady();
                } catch (RuntimeException e) {
                    server.removeHook();
                    throw e;
                }
                return server;
            } catch (IOException | RuntimeException e) {
                if (p != null) {
                    destroy(p);
                }
                failure = new IllegalStateException(
                        "S3Proxy did not start on 127.0.0.1:" + port + " (attempt " + attempt + " of " + START_ATTEMPTS
                                + "): " + e.getMessage() + "\n--- S3Proxy output ---\n" + tail(log),
                        e);
                if (e instanceof InterruptedRuntime) {
                    break;
                }
            }
        }
        deleteTree(dir);
        throw failure;
    }

    /** The jar the jobs pom copies in process-test-resources. */
    static Path jar() {
        Path jar = Path.of("target", "s3proxy", "s3proxy.jar").toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            Path alt = Path.of("jobs", "target", "s3proxy", "s3proxy.jar").toAbsolutePath();
            if (Files.isRegularFile(alt)) {
                return alt;
            }
            throw new IllegalStateException(jar + " is missing: run the jobs module's process-test-resources phase "
                    + "(mvn -pl jobs test-compile) to copy S3Proxy there");
        }
        return jar;
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port: " + e.getMessage(), e);
        }
    }

    /** Polls until an S3 answer (any status with an x-amz-request-id header) comes back from our process. */
    private void awaitReady() {
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        String last = "no answer yet";
        while (System.currentTimeMillis() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the S3Proxy process exited with status " + process.exitValue());
            }
            try {
                HttpURLConnection c =
                        (HttpURLConnection) URI.create(endpoint() + "/").toURL().openConnection();
                c.setConnectTimeout(1000);
                c.setReadTimeout(2000);
                try {
                    int status = c.getResponseCode();
                    if (c.getHeaderField("x-amz-request-id") != null) {
                        return;
                    }
                    last = "HTTP " + status + " without an x-amz-request-id header (another server on the port?)";
                } finally {
                    c.disconnect();
                }
            } catch (IOException e) {
                last = e.toString();
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedRuntime();
            }
        }
        throw new IllegalStateException("no S3 answer within " + START_TIMEOUT_MS / 1000 + " s (last: " + last + ")");
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public String bucket() {
        return bucket;
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    /** {@code s3a://<bucket>/<key>}. */
    public String uri(String key) {
        return "s3a://" + bucket + "/" + (key.startsWith("/") ? key.substring(1) : key);
    }

    /** Where the bucket's objects lie on local disk (for assertions that bypass S3). */
    public Path bucketDir() {
        return dir.resolve("data").resolve(bucket);
    }

    /**
     * The Hadoop settings (no {@code hadoop.} prefix) that make S3A talk to this server. Found by trying, with
     * hadoop-aws 3.5.0, AWS SDK 2.35.4 and S3Proxy 4.1.0 (filesystem-nio2): the endpoint, region, path-style access,
     * plain HTTP and the credentials are all it takes. Not needed: checksum settings (SDK 2.29 predates the default
     * CRC trailers of 2.30+), change-detection settings (S3Proxy returns ETags for objects written through S3; a file
     * put into the bucket folder behind its back has none, and S3A's default change detection then fails with
     * "Change detection policy requires ETag"), {@code fs.s3a.impl.disable.cache} (the bucket name is unique instead;
     * with the cache disabled every {@code OutputStore.fs()} call would build, and never close, a new S3A client).
     * The rest only makes failures fast and keeps upload buffers off disk.
     */
    public Map<String, String> hadoopSettings() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("fs.s3a.endpoint", endpoint());
        m.put("fs.s3a.endpoint.region", "us-east-1");
        m.put("fs.s3a.path.style.access", "true");
        m.put("fs.s3a.connection.ssl.enabled", "false");
        m.put("fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
        m.put("fs.s3a.access.key", accessKey);
        m.put("fs.s3a.secret.key", secretKey);
        // a local server: fail fast instead of S3A's minutes of retries, and keep the connection pool small
        m.put("fs.s3a.attempts.maximum", "2");
        m.put("fs.s3a.retry.limit", "2");
        m.put("fs.s3a.retry.interval", "100ms");
        m.put("fs.s3a.retry.throttle.interval", "100ms");
        m.put("fs.s3a.connection.timeout", "30s");
        // no bucket existence probe at FS creation (S3Proxy answers it, but it is one more round trip per client)
        m.put("fs.s3a.bucket.probe", "0");
        // buffer uploads in memory rather than in files under hadoop.tmp.dir (the test's objects are small)
        m.put("fs.s3a.fast.upload.buffer", "bytebuffer");
        return m;
    }

    /** {@link #hadoopSettings()} as job configuration keys ({@code hadoop.fs.s3a.endpoint}, ...). */
    public Map<String, String> jobSettings() {
        Map<String, String> m = new LinkedHashMap<>();
        hadoopSettings().forEach((k, v) -> m.put("hadoop." + k, v));
        return m;
    }

    /** The server's output so far (for failure messages). */
    public String output() {
        return tail(log);
    }

    @Override
    public void close() {
        removeHook();
        destroy(process);
        deleteTree(dir);
    }

    private void removeHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs anyway
        }
    }

    private static void destroy(Process p) {
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static String tail(Path log) {
        try {
            if (log == null || !Files.isRegularFile(log)) {
                return "(no output)";
            }
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            List<String> kept = new ArrayList<>();
            for (String l : lines) {
                if (!l.contains("|-INFO in ch.qos.logback")) { // logback's own start-up chatter
                    kept.add(l);
                }
            }
            return String.join("\n", kept.subList(Math.max(0, kept.size() - 60), kept.size()));
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e.getMessage() + ")";
        }
    }

    private static void deleteTree(Path p) {
        if (p == null || !Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            // best effort: a leftover temp folder must not fail the tests
        }
    }

    private static final class InterruptedRuntime extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InterruptedRuntime() {
            super("interrupted while waiting for S3Proxy");
        }
    }
}

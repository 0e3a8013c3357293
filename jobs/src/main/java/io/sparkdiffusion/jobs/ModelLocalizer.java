package io.sparkdiffusion.jobs;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Makes a model folder available on local disk. A local path is used as it is. A model in object storage or HDFS
 * is copied once per machine into {@code <local_model_dir>/<hash of the URI>/}, under a JVM lock and a file lock
 * (several executors may share a disk), every file's size checked against the source, and, when the driver's
 * fingerprint is known, the copy's fingerprint too. A completed copy is marked with {@code .complete} (holding its
 * fingerprint) and reused.
 */
public final class ModelLocalizer {
    private static final Logger LOG = LogManager.getLogger(ModelLocalizer.class);
    private static final Map<String, Object> JVM_LOCKS = new ConcurrentHashMap<>();
    private static final String COMPLETE = ".complete";

    private ModelLocalizer() {}

    static boolean isLocal(String uri) {
        String scheme = new Path(uri).toUri().getScheme();
        return scheme == null || scheme.equals("file");
    }

    /**
     * The local copy of the model at {@code uri}, copied on first use (once per JVM and host, under a file lock).
     *
     * @param expectedFingerprint the driver's fingerprint, or null on the driver itself
     */
    public static java.nio.file.Path localize(
            String uri, String expectedFingerprint, HadoopConf conf, String localBase) {
        if (isLocal(uri)) {
            java.nio.file.Path p = java.nio.file.Path.of(new Path(uri).toUri().getPath());
            if (!Files.isDirectory(p)) {
                throw new IllegalArgumentException("model folder " + p + " does not exist");
            }
            return p;
        }
        java.nio.file.Path target = java.nio.file.Path.of(
                localBase, hex(sha256(uri.getBytes(StandardCharsets.UTF_8))).substring(0, 16));
        Object jvmLock = JVM_LOCKS.computeIfAbsent(target.toString(), k -> new Object());
        synchronized (jvmLock) {
            try {
                Files.createDirectories(target.getParent());
                try (FileChannel ch = FileChannel.open(
                                target.getParent().resolve(target.getFileName() + ".lock"),
                                StandardOpenOption.CREATE,
                                StandardOpenOption.WRITE);
                        FileLock held = ch.lock()) {
                    assert held.isValid();
                    java.nio.file.Path marker = target.resolve(COMPLETE);
                    if (Files.isRegularFile(marker)) {
                        String have = Files.readString(marker).trim();
                        if (expectedFingerprint == null || expectedFingerprint.equals(have)) {
                            return target;
                        }
                        LOG.warn(
                                "local copy {} has fingerprint {} but the model is now {}: copying again",
                                target,
                                have,
                                expectedFingerprint);
                    }
                    copy(uri, target, conf);
                    String fp = fingerprint(target);
                    if (expectedFingerprint != null && !expectedFingerprint.equals(fp)) {
                        throw new IllegalStateException("copy of " + Redaction.uri(uri) + " has fingerprint " + fp
                                + " but the driver saw " + expectedFingerprint + ": the model changed during the job");
                    }
                    Files.writeString(marker, fp);
                    return target;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(
                        "cannot copy model " + Redaction.uri(uri) + " to " + target + ": " + e.getMessage(), e);
            }
        }
    }

    private static void copy(String uri, java.nio.file.Path target, HadoopConf conf) throws IOException {
        Path src = new Path(uri);
        FileSystem fs = src.getFileSystem(conf.get());
        if (Files.exists(target)) {
            deleteTree(target);
        }
        long t0 = System.nanoTime();
        long bytes = 0;
        String prefix = fs.makeQualified(src).toString();
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(src, true);
        while (it.hasNext()) {
            FileStatus f = it.next();
            String rel = f.getPath().toString().substring(prefix.length()).replaceFirst("^/", "");
            java.nio.file.Path dst = target.resolve(rel);
            Files.createDirectories(dst.getParent());
            try (InputStream in = fs.open(f.getPath())) {
                Files.copy(in, dst);
            }
            if (Files.size(dst) != f.getLen()) {
                throw new IOException(rel + ": copied " + Files.size(dst) + " bytes, the source has " + f.getLen());
            }
            bytes += f.getLen();
        }
        LOG.info(
                "copied model {} to {} ({} MB in {} s)",
                Redaction.uri(uri),
                target,
                bytes >> 20,
                (System.nanoTime() - t0) / 1_000_000_000);
    }

    /**
     * The model's fingerprint: SHA-256 over every file (hidden ones excluded) in path order, each contributing its
     * relative path, its size and the SHA-256 of its content.
     */
    public static String fingerprint(java.nio.file.Path folder) {
        java.nio.file.Path dir;
        try {
            dir = folder.toRealPath(); // a linked model folder: walk its target (Files.walk does not follow the start)
        } catch (IOException e) {
            throw new UncheckedIOException("cannot fingerprint " + folder + ": " + e.getMessage(), e);
        }
        try (Stream<java.nio.file.Path> s = Files.walk(dir)) {
            List<java.nio.file.Path> files = new ArrayList<>(s.filter(Files::isRegularFile)
                    .filter(p -> !dir.relativize(p).toString().startsWith(".")
                            && !p.getFileName().toString().startsWith("."))
                    .sorted()
                    .toList());
            MessageDigest all = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (java.nio.file.Path f : files) {
                MessageDigest one = MessageDigest.getInstance("SHA-256");
                try (InputStream in = Files.newInputStream(f)) {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        one.update(buf, 0, n);
                    }
                }
                String line = dir.relativize(f).toString().replace('\\', '/') + "\t" + Files.size(f) + "\t"
                        + hex(one.digest()) + "\n";
                all.update(line.getBytes(StandardCharsets.UTF_8));
            }
            return hex(all.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot fingerprint " + dir + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    private static void deleteTree(java.nio.file.Path p) throws IOException {
        try (Stream<java.nio.file.Path> s = Files.walk(p)) {
            for (java.nio.file.Path f :
                    s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }
}

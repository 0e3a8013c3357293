package io.sparkdiffusion.model;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.sparkdiffusion.util.PrivateFolders;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * A per-user cache of ONNX Runtime's optimised graphs ({@code runtime.graph_cache}): the first open of a component
 * has ONNX Runtime write the graph it optimised (weights in an external data file beside it) into a cache entry;
 * later opens load that graph with graph optimisation off. On a full-size UNet this takes opening from ONNX
 * Runtime's optimisation time (about 11 s at level {@code all} on a 2-core machine) to the time of reading the
 * weights (docs/performance.md, goal 2).
 *
 * <p>A graph optimised at level {@code all} holds layout transformations for this CPU's instruction set (ONNX
 * Runtime warns that it belongs to the machine that made it), so an entry's key is everything that makes it
 * invalid: ONNX Runtime's version, the optimisation level and provider, the CPU (vendor, family, model and feature
 * flags from {@code /proc/cpuinfo}; without it, no cache), and the model: its real path and, for every file of its
 * folder, name, size, modification time and the SHA-256 of its first and last MiB (hashing gigabytes of weights
 * would cost what the cache saves). The key's SHA-256 names the entry, and the full key is stored in it and compared
 * when it is read.
 *
 * <p>Safety: the cache folder ({@code $XDG_CACHE_HOME} or {@code ~/.cache}, then {@code spark-diffusion/onnx-graphs},
 * or {@code runtime.graph_cache_dir}) must be a directory of this user that only this user can access, else the cache
 * is not used. An entry is written into a new owner-only temporary folder and renamed into place, its key file last,
 * so a reader never sees half an entry; a concurrent writer of the same entry keeps the first. An entry that is not
 * a directory of ours, whose key differs or whose graph ONNX Runtime refuses is not touched: the component opens
 * from its own file, with a warning naming the entry. Nothing outside the temporary folder this process made is
 * ever deleted; old entries stay until the user removes them.
 */
final class GraphCache {
    /** Made on first use: with the cache off, opening a session must not start the logging system. */
    private static final class Log {
        static final Logger LOG = LogManager.getLogger(GraphCache.class);
    }

    /** The layout of an entry; part of the key. */
    static final int FORMAT = 1;

    static final String MODEL = "model.onnx";
    static final String DATA = "model.onnx.data";
    static final String KEY = "key.txt";
    private static final int SAMPLE_BYTES = 1 << 20;

    private GraphCache() {}

    /** What an open did with the cache. */
    enum Outcome {
        /** The cache is off, or does not apply (no CPU identity, unusable folder, not enough space). */
        UNUSED,
        /** Opened from a cache entry. */
        HIT,
        /** Opened from the model, and its optimised graph stored as a new entry. */
        STORED,
        /** An entry exists but could not be used: opened from the model. */
        FALLBACK
    }

    /** A session and how it was opened. */
    record Opened(OrtSession session, Outcome outcome) {}

    /** Opens {@code file} with {@code options}, through the cache when {@code options} enable it. */
    static Opened open(OrtEnvironment env, Path file, RuntimeOptions options) throws OrtException {
        if (!options.graphCache()
                || !options.provider().equals("cpu")
                || options.optimization().equals("none")) {
            return new Opened(plain(env, file, options), Outcome.UNUSED);
        }
        Path root;
        String key;
        try {
            root = root(options.graphCacheDir());
            key = root == null ? null : key(env.getVersion(), file, options);
        } catch (IOException | RuntimeException e) {
            Log.LOG.warn("graph cache not used for {}: {}", file, e.toString());
            return new Opened(plain(env, file, options), Outcome.UNUSED);
        }
        if (root == null || key == null) {
            return new Opened(plain(env, file, options), Outcome.UNUSED);
        }
        Path entry = root.resolve(sha256(key.getBytes(StandardCharsets.UTF_8)));
        if (Files.exists(entry, LinkOption.NOFOLLOW_LINKS)) {
            String problem = problem(entry, key);
            if (problem == null) {
                try (OrtSession.SessionOptions so = options.toSessionOptions(file)) {
                    so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT); // optimised already
                    return new Opened(env.createSession(entry.resolve(MODEL).toString(), so), Outcome.HIT);
                } catch (OrtException e) {
                    problem = "ONNX Runtime cannot open it: " + e.getMessage();
                }
            }
            Log.LOG.warn(
                    "graph cache entry {} is not usable ({}); opening {} without the cache (delete the entry to"
                            + " rebuild it)",
                    entry,
                    problem,
                    file);
            return new Opened(plain(env, file, options), Outcome.FALLBACK);
        }
        return store(env, file, options, root, entry, key);
    }

    private static OrtSession plain(OrtEnvironment env, Path file, RuntimeOptions options) throws OrtException {
        try (OrtSession.SessionOptions so = options.toSessionOptions(file)) {
            return env.createSession(file.toString(), so);
        }
    }

    /** Opens the model and has ONNX Runtime write its optimised graph into a new entry. */
    private static Opened store(
            OrtEnvironment env, Path file, RuntimeOptions options, Path root, Path entry, String key)
            throws OrtException {
        Path tmp;
        try {
            long need = folderBytes(file.getParent()) + (64L << 20);
            long free = Files.getFileStore(root).getUsableSpace();
            if (free < need) {
                Log.LOG.info(
                        "graph cache: {} MiB free in {}, {} MiB needed for {}; opening without storing",
                        free >> 20,
                        root,
                        need >> 20,
                        file);
                return new Opened(plain(env, file, options), Outcome.UNUSED);
            }
            tmp = Files.createTempDirectory(
                    root, "tmp-", PosixFilePermissions.asFileAttribute(PrivateFolders.OWNER_ONLY));
        } catch (IOException | UnsupportedOperationException e) {
            Log.LOG.warn("graph cache: cannot prepare an entry in {} ({}); opening {} without it", root, e, file);
            return new Opened(plain(env, file, options), Outcome.UNUSED);
        }
        OrtSession session;
        try (OrtSession.SessionOptions so = options.toSessionOptions(file)) {
            so.setOptimizedModelFilePath(tmp.resolve(MODEL).toString());
            so.addConfigEntry("session.optimized_model_external_initializers_file_name", DATA);
            so.addConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
            // ONNX Runtime warns that a graph optimised at level all belongs to this machine: the key says so
            so.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            session = env.createSession(file.toString(), so);
        } catch (OrtException e) {
            removeOwn(tmp);
            Log.LOG.warn("graph cache: storing {} failed ({}); opening it without the cache", file, e.getMessage());
            return new Opened(plain(env, file, options), Outcome.UNUSED);
        }
        try {
            Files.writeString(tmp.resolve(KEY), key, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            Files.move(tmp, entry, StandardCopyOption.ATOMIC_MOVE);
            return new Opened(session, Outcome.STORED);
        } catch (IOException | RuntimeException e) {
            // another process stored the same entry first, or the disk filled: the session is good either way
            removeOwn(tmp);
            Log.LOG.debug("graph cache: entry {} not stored: {}", entry, e.toString());
            return new Opened(session, Outcome.UNUSED);
        }
    }

    /** Deletes what this process wrote into its temporary folder, and the folder; nothing else. */
    private static void removeOwn(Path tmp) {
        for (String name : List.of(MODEL, DATA, KEY)) {
            try {
                Files.deleteIfExists(tmp.resolve(name));
            } catch (IOException e) {
                Log.LOG.debug("graph cache: cannot delete {}: {}", tmp.resolve(name), e.toString());
            }
        }
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException e) {
            Log.LOG.warn("graph cache: cannot delete the temporary folder {}: {}", tmp, e.toString());
        }
    }

    /** Why {@code entry} may not be read, or null when it is a complete entry of ours for {@code key}. */
    static String problem(Path entry, String key) {
        try {
            String owner = PrivateFolders.problem(entry);
            if (owner != null) {
                return owner;
            }
            Path keyFile = entry.resolve(KEY);
            Path model = entry.resolve(MODEL);
            if (!Files.isRegularFile(keyFile, LinkOption.NOFOLLOW_LINKS)
                    || !Files.isRegularFile(model, LinkOption.NOFOLLOW_LINKS)) {
                return "incomplete: no " + KEY + " or " + MODEL;
            }
            Path data = entry.resolve(DATA);
            if (Files.exists(data, LinkOption.NOFOLLOW_LINKS)
                    && !Files.isRegularFile(data, LinkOption.NOFOLLOW_LINKS)) {
                return DATA + " is not a regular file";
            }
            if (Files.size(keyFile) > 1 << 20
                    || !Files.readString(keyFile, StandardCharsets.UTF_8).equals(key)) {
                return "its key is not this model's";
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return e.toString();
        }
    }

    /**
     * The cache folder: {@code configured}, else {@code $XDG_CACHE_HOME} (or {@code ~/.cache}) +
     * {@code spark-diffusion/onnx-graphs}; created owner-only when missing; null (with a warning) when it is not a
     * folder of this user that only this user can access, or the file system has no POSIX permissions.
     */
    static Path root(String configured) throws IOException {
        Path root;
        if (configured != null) {
            root = Path.of(configured).toAbsolutePath();
        } else {
            String xdg = System.getenv("XDG_CACHE_HOME");
            Path base = xdg != null && !xdg.isEmpty() && Path.of(xdg).isAbsolute()
                    ? Path.of(xdg)
                    : Path.of(System.getProperty("user.home"), ".cache");
            root = base.resolve("spark-diffusion").resolve("onnx-graphs");
        }
        try {
            String problem = PrivateFolders.ensure(root);
            if (problem != null) {
                Log.LOG.warn("graph cache folder {} not used: {}", root, problem);
                return null;
            }
            return root;
        } catch (UnsupportedOperationException e) {
            Log.LOG.warn("graph cache folder {} not used: no POSIX permissions on this file system", root);
            return null;
        }
    }

    /**
     * Everything an entry depends on, as text (stored in the entry and compared when it is read); null when this
     * machine's CPU cannot be identified.
     */
    static String key(String ortVersion, Path file, RuntimeOptions options) throws IOException {
        String cpu = cpuIdentity();
        if (cpu == null) {
            Log.LOG.info("graph cache not used: no /proc/cpuinfo to tell this CPU's instruction set");
            return null;
        }
        StringBuilder k = new StringBuilder();
        k.append("spark-diffusion graph cache ").append(FORMAT).append('\n');
        k.append("onnxruntime ").append(ortVersion).append('\n');
        k.append("optimization ").append(options.optimization()).append('\n');
        k.append("provider ").append(options.provider()).append('\n');
        k.append("os.arch ").append(System.getProperty("os.arch")).append('\n');
        k.append(cpu);
        Path real = file.toRealPath();
        k.append("model ").append(real).append('\n');
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(real.getParent())) {
            for (Path f : ds) {
                if (Files.isRegularFile(f)) {
                    files.add(f);
                }
            }
        }
        files.sort(null);
        for (Path f : files) {
            k.append("file ")
                    .append(f.getFileName())
                    .append(' ')
                    .append(Files.size(f))
                    .append(' ')
                    .append(Files.getLastModifiedTime(f).to(TimeUnit.NANOSECONDS))
                    .append(' ')
                    .append(endsHash(f))
                    .append('\n');
        }
        return k.toString();
    }

    /** vendor_id, cpu family, model, model name and flags of the first processor in /proc/cpuinfo; null if none. */
    static String cpuIdentity() {
        Path info = Path.of("/proc/cpuinfo");
        if (!Files.isReadable(info)) {
            return null;
        }
        try {
            StringBuilder b = new StringBuilder();
            for (String line : Files.readAllLines(info, StandardCharsets.UTF_8)) {
                if (line.isBlank() && b.length() > 0) {
                    break; // the first processor's block
                }
                int colon = line.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String name = line.substring(0, colon).trim();
                if (List.of(
                                "vendor_id",
                                "cpu family",
                                "model",
                                "model name",
                                "flags",
                                "Features",
                                "CPU implementer",
                                "CPU architecture",
                                "CPU variant",
                                "CPU part")
                        .contains(name)) {
                    b.append("cpu ")
                            .append(name)
                            .append(": ")
                            .append(line.substring(colon + 1).trim())
                            .append('\n');
                }
            }
            return b.length() == 0 ? null : b.toString();
        } catch (IOException e) {
            return null;
        }
    }

    /** SHA-256 of the file's first and last MiB (the whole file when it is smaller than 2 MiB). */
    private static String endsHash(Path f) throws IOException {
        MessageDigest d = digest();
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            long size = ch.size();
            read(ch, 0, (int) Math.min(size, SAMPLE_BYTES), d);
            if (size > SAMPLE_BYTES) {
                long from = Math.max(SAMPLE_BYTES, size - SAMPLE_BYTES);
                read(ch, from, (int) (size - from), d);
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }

    private static void read(FileChannel ch, long position, int length, MessageDigest d) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            if (ch.read(buf, position + buf.position()) < 0) {
                throw new IOException("file shrank while being read");
            }
        }
        buf.flip();
        d.update(buf);
    }

    private static long folderBytes(Path dir) throws IOException {
        long sum = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path f : ds) {
                if (Files.isRegularFile(f)) {
                    sum += Files.size(f);
                }
            }
        }
        return sum;
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}

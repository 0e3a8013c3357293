package io.sparkdiffusion.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * What is checked on the driver before Spark runs anything, so that a whole-input mistake is one clear line instead
 * of a failed Spark job (and its stack traces) minutes later:
 *
 * <ul>
 *   <li>paths are resolved where the driver is: a relative or scheme-less {@code input}, {@code output} and
 *       archive folder against Hadoop's default file system and the working folder (executors have other working
 *       folders), a local {@code model} to an absolute path; {@code images.allowed_roots} gets its default (the
 *       input's folder, or the archive folders);
 *   <li>the model folder exists (a local one here: {@link #checkModelOnExecutors} checks the executors);
 *   <li>the input exists and holds data files; in Parquet, up to {@link #SNIFFED_FILES} of them are checked for
 *       Parquet's magic bytes, and a JSON or CSV file named {@code .parquet} is recognised.
 * </ul>
 *
 * A missing path is a configuration error ({@link IllegalArgumentException}, exit code 2); an unreadable input file
 * is a failure ({@link IllegalStateException}, exit code 1).
 */
final class JobPreflight {
    static final int SNIFFED_FILES = 256;
    private static final byte[] PARQUET_MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);

    private JobPreflight() {}

    /** The configuration with every path resolved and checked. */
    static JobConfig prepare(JobConfig config, Configuration hadoop) {
        if (config.prepared()) {
            return config;
        }
        try {
            Map<String, String> resolved = new LinkedHashMap<>();
            String model = localModelPath(config.model());
            resolved.put("model", model);
            checkModel(model, hadoop);
            String input;
            if (config.archiveImages() != null) {
                input = qualified(config.archiveImages(), hadoop);
                resolved.put("archive.images", input);
                if (config.archiveMasks() != null) {
                    resolved.put("archive.masks", qualified(config.archiveMasks(), hadoop));
                }
                checkArchive(input, hadoop);
            } else {
                input = qualified(config.input(), hadoop);
                resolved.put("input", input);
                checkInput(input, config.inputFormat(), hadoop);
            }
            resolved.put("output", qualified(config.output(), hadoop));
            List<String> roots = new ArrayList<>(config.allowedRoots());
            if (roots.isEmpty()) {
                roots = PictureSources.defaultRoots(
                        inputFolder(input, hadoop), resolved.get("archive.images"), resolved.get("archive.masks"));
            }
            List<String> qualifiedRoots = new ArrayList<>();
            HadoopConf conf = new HadoopConf(hadoop);
            for (String root : roots) {
                qualifiedRoots.add(PictureSources.qualifiedRoot(root, conf));
            }
            resolved.put(PictureSources.ROOTS_KEY, String.join(",", qualifiedRoots));
            return config.with(resolved, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check the job's paths: " + Redaction.uri(e.getMessage()), e);
        }
    }

    /** A local model as an absolute path (executors resolve relative paths against other folders); URIs as given. */
    static String localModelPath(String model) {
        if (!ModelLocalizer.isLocal(model)) {
            return model;
        }
        String path = new Path(model).toUri().getPath();
        return java.nio.file.Path.of(path).toAbsolutePath().normalize().toString();
    }

    private static void checkModel(String model, Configuration hadoop) throws IOException {
        if (ModelLocalizer.isLocal(model)) {
            if (!Files.isDirectory(java.nio.file.Path.of(model))) {
                throw new IllegalArgumentException("model folder " + model + " does not exist");
            }
            return;
        }
        Path p = new Path(model);
        if (!p.getFileSystem(hadoop).exists(p)) {
            throw new IllegalArgumentException("model " + Redaction.uri(model) + " does not exist");
        }
    }

    static String qualified(String path, Configuration hadoop) throws IOException {
        Path p = new Path(path);
        return p.getFileSystem(hadoop).makeQualified(p).toString();
    }

    private static void checkArchive(String folder, Configuration hadoop) throws IOException {
        Path p = new Path(folder);
        FileSystem fs = p.getFileSystem(hadoop);
        if (!fs.exists(p) || !fs.getFileStatus(p).isDirectory()) {
            throw new IllegalArgumentException("archive.images " + Redaction.uri(folder) + " is not a folder");
        }
    }

    /** The input exists, holds data files, and (Parquet) they look like Parquet. */
    static void checkInput(String input, String format, Configuration hadoop) throws IOException {
        Path p = new Path(input);
        FileSystem fs = p.getFileSystem(hadoop);
        FileStatus[] matches = fs.globStatus(p);
        if (matches == null || matches.length == 0) {
            throw new IllegalArgumentException(
                    "input " + Redaction.uri(input) + (isGlob(input) ? " matches no file" : " does not exist"));
        }
        List<FileStatus> files = new ArrayList<>();
        for (FileStatus m : matches) {
            if (m.isDirectory()) {
                RemoteIterator<LocatedFileStatus> it = fs.listFiles(m.getPath(), true);
                while (it.hasNext()) {
                    LocatedFileStatus f = it.next();
                    if (!hidden(m.getPath(), f.getPath())) {
                        files.add(f);
                    }
                }
            } else {
                files.add(m);
            }
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("input " + Redaction.uri(input) + " holds no data files");
        }
        if (format.equals("parquet")) {
            for (FileStatus f : files.subList(0, Math.min(files.size(), SNIFFED_FILES))) {
                checkParquet(fs, f);
            }
        }
    }

    /** Spark skips files and folders whose name starts with {@code _} or {@code .} (_SUCCESS, .crc, _temporary). */
    private static boolean hidden(Path top, Path file) {
        for (Path p = file; p != null && !p.equals(top); p = p.getParent()) {
            if (p.getName().startsWith("_") || p.getName().startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    private static void checkParquet(FileSystem fs, FileStatus f) throws IOException {
        String name = Redaction.uri(f.getPath().toString());
        long length = f.getLen();
        if (length == 0) {
            throw new IllegalStateException("input file " + name + " is empty (0 bytes), not a Parquet file");
        }
        byte[] head = new byte[(int) Math.min(length, 64)];
        byte[] tail = new byte[4];
        try (FSDataInputStream in = fs.open(f.getPath())) {
            in.readFully(0, head);
            if (length >= 12) {
                in.readFully(length - 4, tail);
            }
        }
        boolean magic = length >= 12 && startsWith(head, PARQUET_MAGIC) && java.util.Arrays.equals(tail, PARQUET_MAGIC);
        if (!magic) {
            throw new IllegalStateException("input file " + name + " is not a Parquet file (" + looksLike(head, length)
                    + "): set input_format to the file's format, or replace the file");
        }
    }

    private static String looksLike(byte[] head, long length) {
        String text = new String(head, StandardCharsets.UTF_8).stripLeading();
        if (text.startsWith("{") || text.startsWith("[")) {
            return "it looks like JSON: input_format json";
        }
        if (startsWith(head, PARQUET_MAGIC)) {
            return "it starts like Parquet but its " + length + " bytes end without Parquet's footer: truncated";
        }
        if (text.chars().limit(64).allMatch(c -> c == '\t' || c == '\n' || c == '\r' || c >= 0x20)
                && text.contains(",")) {
            return "it looks like CSV: input_format csv";
        }
        return "no Parquet magic bytes";
    }

    private static boolean startsWith(byte[] b, byte[] prefix) {
        return b.length >= prefix.length && java.util.Arrays.equals(b, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static boolean isGlob(String path) {
        return path.chars().anyMatch(c -> c == '*' || c == '?' || c == '[' || c == '{');
    }

    /** The folder of the input table: itself when a folder, a file's folder, a glob's fixed part. */
    static String inputFolder(String input, Configuration hadoop) throws IOException {
        Path p = new Path(input);
        if (isGlob(input)) {
            while (p != null && isGlob(p.toString())) {
                p = p.getParent();
            }
            return p == null ? input : p.toString();
        }
        FileSystem fs = p.getFileSystem(hadoop);
        return fs.getFileStatus(p).isDirectory() ? p.toString() : p.getParent().toString();
    }

    /**
     * A local model path on a cluster must exist at that path on every executor's host. Checked by one small Spark
     * job (a task per core) before planning: a missing folder is one line now, instead of every generation task
     * failing (and being retried) later.
     */
    static void checkModelOnExecutors(SparkSession spark, String model) {
        if (spark.sparkContext().isLocal() || !ModelLocalizer.isLocal(model)) {
            return;
        }
        int tasks = Math.max(2, spark.sparkContext().defaultParallelism());
        List<Integer> slices = new ArrayList<>();
        for (int i = 0; i < tasks; i++) {
            slices.add(i);
        }
        List<String> missing = JavaSparkContext.fromSparkContext(spark.sparkContext())
                .parallelize(slices, tasks)
                .map(i -> Files.isDirectory(java.nio.file.Path.of(model))
                        ? ""
                        : SparkEnv.get().blockManager().blockManagerId().host())
                .filter(host -> !host.isEmpty())
                .distinct()
                .collect();
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("model folder " + model + " is a local path that does not exist on "
                    + "executor host(s) " + missing + ": put the model on hdfs:// or s3a:// (each executor then copies "
                    + "it once to runtime.local_model_dir), or at the same path on every host");
        }
    }
}

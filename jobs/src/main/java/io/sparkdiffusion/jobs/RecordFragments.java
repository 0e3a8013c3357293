package io.sparkdiffusion.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.row_number;

import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.video.VideoFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;

/**
 * How a generation task commits its work as it finishes it: every few rows, and when the task ends, one small tar
 * under {@code records/} holding each finished row's metadata ({@code <key>.json}, a {@link GeneratedRow}) and, for
 * the output formats that carry the pictures inside the dataset (Parquet, WebDataset), the picture or video itself.
 * A fragment is written in one atomic step ({@link OutputStore#put}): a reader never sees half of one, a driver crash
 * loses at most the rows of the tasks in flight since their last fragment, and a {@code --resume} skips every row a
 * fragment records. A retried task writes fragments of its own attempt; duplicates of a row across fragments are
 * removed when the run is published (the same row has the same key, seed and bytes).
 */
final class RecordFragments {
    static final String FOLDER = "records";
    /** The metadata entry of a row in a fragment. */
    static final String METADATA = ".json";
    /** A video's first frame, kept in the fragment for the contact sheet (not part of the published dataset). */
    static final String POSTER = ".poster.png";

    private RecordFragments() {}

    /** The entry suffix of a row's media in a fragment, and of the sample in a shard: {@code .png}, or the video's. */
    static String mediaSuffix(boolean video, VideoFormat videoFormat) {
        return video ? "." + videoFormat.extension() : ".png";
    }

    /** A fragment's file name: run, partition, attempt and sequence make it unique; it sorts in write order. */
    static String name(String runId, int partition, int attempt, int sequence) {
        return FOLDER + "/" + runId + String.format(Locale.ROOT, "-p%05d-a%d-%05d.tar", partition, attempt, sequence);
    }

    /**
     * When a task commits: after {@code everyRows} finished rows, {@code everyBytes} of pictures gathered, or
     * {@code everySeconds} since its last commit, whichever comes first (checked as each row finishes), and when it
     * ends. What a lost executor or driver costs is the rows finished since the last commit.
     */
    record Policy(int everyRows, long everyBytes, int everySeconds) implements Serializable {
        /** Pictures a task gathers at most before it commits (formats that carry them in the fragments). */
        static final long EVERY_BYTES = 64L << 20;

        Policy {
            if (everyRows <= 0 || everyBytes <= 0 || everySeconds <= 0) {
                throw new IllegalArgumentException("commit limits must be positive: " + everyRows + " rows, "
                        + everyBytes + " bytes, " + everySeconds + " s");
            }
        }
    }

    /**
     * Collects one task's finished rows and commits them as fragments. Not thread-safe: one per task.
     */
    static final class Writer implements AutoCloseable {
        private final OutputStore store;
        private final String runId;
        private final int partition;
        private final int attempt;
        private final Policy policy;
        private final List<Entry> pending = new ArrayList<>();
        private long pendingBytes;
        private long lastCommit = System.nanoTime();
        private int sequence;

        /** One row: its metadata and the files that go with it ({@code name} relative to the row's key). */
        private record Entry(GeneratedRow row, Map<String, byte[]> files) {}

        Writer(OutputStore store, String runId, int partition, int attempt, Policy policy) {
            this.store = store;
            this.runId = runId;
            this.partition = partition;
            this.attempt = attempt;
            this.policy = policy;
        }

        /**
         * Adds a finished row (generated or failed) with the files stored next to its metadata (extension with the
         * dot, e.g. {@code ".png"} -> bytes; empty for a row whose pictures are written elsewhere); commits a
         * fragment when enough rows or bytes have gathered.
         */
        void add(GeneratedRow row, Map<String, byte[]> files) {
            pending.add(new Entry(row, files));
            for (byte[] b : files.values()) {
                pendingBytes += b.length;
            }
            if (pending.size() >= policy.everyRows()
                    || pendingBytes >= policy.everyBytes()
                    || System.nanoTime() - lastCommit >= TimeUnit.SECONDS.toNanos(policy.everySeconds())) {
                flush();
            }
        }

        /** Commits the rows gathered so far as one fragment (nothing when there are none). */
        void flush() {
            if (pending.isEmpty()) {
                return;
            }
            String name = name(runId, partition, attempt, sequence++);
            store.put(name, tar(pending));
            pending.clear();
            pendingBytes = 0;
            lastCommit = System.nanoTime();
        }

        @Override
        public void close() {
            flush();
        }
    }

    private static byte[] tar(List<Writer.Entry> entries) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes, StandardCharsets.UTF_8.name())) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            // every row's metadata first: reading the metadata stops before the pictures
            for (Writer.Entry e : entries) {
                addFile(
                        tar,
                        e.row().getImageKey() + METADATA,
                        JsonConfig.mapper().writeValueAsBytes(e.row()));
            }
            for (Writer.Entry e : entries) {
                for (Map.Entry<String, byte[]> f : e.files().entrySet()) {
                    addFile(tar, e.row().getImageKey() + f.getKey(), f.getValue());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build a record fragment: " + e.getMessage(), e);
        }
        return bytes.toByteArray();
    }

    /** One file entry of a tar, with a fixed time so that the same rows make the same bytes. */
    static void addFile(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
        TarArchiveEntry entry = new TarArchiveEntry(name);
        entry.setSize(content.length);
        entry.setModTime(0);
        tar.putArchiveEntry(entry);
        tar.write(content);
        tar.closeArchiveEntry();
    }

    /** The fragments under {@code records/}, in write order. */
    static List<String> list(OutputStore store) {
        try {
            List<String> names = new ArrayList<>();
            for (String f : store.listFiles(FOLDER)) {
                if (f.endsWith(".tar") && !f.contains("/") && !f.startsWith(".")) {
                    names.add(FOLDER + "/" + f);
                }
            }
            names.sort(null);
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot list " + Redaction.uri(store.path(FOLDER).toString()) + ": " + e.getMessage(), e);
        }
    }

    /**
     * The ids of the rows that earlier attempts of a task committed: a task retried after a lost executor does not
     * generate them again. Empty for a first attempt (nothing is listed).
     */
    static Set<String> committedByEarlierAttempts(OutputStore store, String runId, int partition, int attempt) {
        Set<String> ids = new HashSet<>();
        if (attempt == 0) {
            return ids;
        }
        String prefix = FOLDER + "/" + runId + String.format(Locale.ROOT, "-p%05d-a", partition);
        for (String fragment : list(store)) {
            if (!fragment.startsWith(prefix)) {
                continue;
            }
            int fragmentAttempt =
                    Integer.parseInt(fragment.substring(prefix.length(), fragment.indexOf('-', prefix.length())));
            if (fragmentAttempt < attempt) {
                try {
                    readMetadata(store).call(fragment).forEachRemaining(r -> ids.add(r.getId()));
                } catch (Exception e) {
                    throw new UncheckedIOException(
                            new IOException("cannot read record fragment " + fragment + ": " + e.getMessage(), e));
                }
            }
        }
        return ids;
    }

    /**
     * Every row the fragments record, one per key: a generated row wins over a failed one, and between two of the
     * same kind the later fragment's. {@link GeneratedRow#getRecordFile()} names the fragment it came from.
     */
    static Dataset<GeneratedRow> rows(SparkSession spark, OutputStore store, List<String> fragments) {
        if (fragments.isEmpty()) {
            return spark.emptyDataset(Encoders.bean(GeneratedRow.class));
        }
        int partitions =
                Math.max(1, Math.min(fragments.size(), spark.sparkContext().defaultParallelism() * 4));
        Dataset<GeneratedRow> all = spark.createDataset(fragments, Encoders.STRING())
                .repartition(partitions)
                .flatMap(readMetadata(store), Encoders.bean(GeneratedRow.class))
                // grouped by id into as many partitions: the window needs no other shuffle, and the result keeps
                // this size, not spark.sql.shuffle.partitions (200 tasks for each later step over a cached copy)
                .repartition(partitions, col("id"));
        return latestPerKey(all);
    }

    /** One row per id: a generated row before a failed one, then the later fragment's. */
    static Dataset<GeneratedRow> latestPerKey(Dataset<GeneratedRow> all) {
        WindowSpec byId = Window.partitionBy(col("id"))
                .orderBy(col("written").desc(), col("recordFile").desc());
        return all.withColumn("__rank", row_number().over(byId))
                .filter(col("__rank").equalTo(1))
                .drop("__rank")
                .as(Encoders.bean(GeneratedRow.class));
    }

    private static FlatMapFunction<String, GeneratedRow> readMetadata(OutputStore store) {
        return fragment -> {
            List<GeneratedRow> out = new ArrayList<>();
            try (TarArchiveInputStream in = new TarArchiveInputStream(store.open(fragment))) {
                TarArchiveEntry e;
                while ((e = in.getNextEntry()) != null && e.getName().endsWith(METADATA)) {
                    GeneratedRow row = JsonConfig.mapper().readValue(in.readAllBytes(), GeneratedRow.class);
                    row.setRecordFile(fragment);
                    out.add(row);
                }
            }
            return out.iterator();
        };
    }

    /** A filter on entry names. */
    interface NameFilter extends Serializable {
        boolean test(String name);
    }

    /** The entries of one fragment whose names pass {@code filter}, by name, in archive order. */
    static Map<String, byte[]> files(OutputStore store, String fragment, NameFilter filter) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(store.open(fragment))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                if (e.isFile() && filter.test(e.getName())) {
                    out.put(e.getName(), in.readAllBytes());
                }
            }
        }
        return out;
    }
}

package io.sparkdiffusion.jobs;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/**
 * The job's output folder on any Hadoop FileSystem ({@code file://}, {@code hdfs://}, {@code s3a://}). Writes go to
 * deterministic keys so a retried or speculative task overwrites instead of duplicating, and a reader never sees a
 * partial object: on object stores one PUT on close (S3 makes an object visible only when its upload completes); on
 * file systems a temporary file in the same folder, then a rename.
 */
public final class OutputStore implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Set<String> OBJECT_STORES =
            Set.of("s3a", "s3", "s3n", "gs", "abfs", "abfss", "wasb", "wasbs", "oss");

    private final HadoopConf conf;
    private final String root;

    public OutputStore(HadoopConf conf, String root) {
        this.conf = conf;
        this.root = root.endsWith("/") ? root.substring(0, root.length() - 1) : root;
    }

    public String root() {
        return root;
    }

    public Path path(String relative) {
        return new Path(root + "/" + relative);
    }

    /** The file system, unwrapped from Hadoop's checksum layer on local disks (no .crc side files). */
    FileSystem fs() throws IOException {
        FileSystem fs = new Path(root).getFileSystem(conf.get());
        return fs instanceof LocalFileSystem local ? local.getRawFileSystem() : fs;
    }

    boolean isObjectStore() throws IOException {
        String scheme = new Path(root).toUri().getScheme();
        if (scheme == null) {
            scheme = fs().getUri().getScheme();
        }
        return OBJECT_STORES.contains(scheme);
    }

    /** Writes {@code bytes} to {@code relative}, replacing what is there, never exposing a partial file. */
    public void put(String relative, byte[] bytes) {
        write(relative, out -> out.write(bytes));
    }

    /** Writes the bytes a callback streams. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * Streams {@code content} to {@code relative}, replacing what is there, never exposing a partial file: on object
     * stores one upload made visible when it completes (S3 shows an object only then); on file systems a temporary
     * {@code ._tmp_} file in the same folder, renamed when complete and removed when the writer fails.
     */
    public void write(String relative, Content content) {
        try {
            FileSystem fs = fs();
            Path target = path(relative);
            if (isObjectStore()) {
                try (FSDataOutputStream out = fs.create(target, true)) {
                    content.writeTo(out);
                }
                return;
            }
            Path tmp = new Path(target.getParent(), "._tmp_" + target.getName() + "." + UUID.randomUUID());
            try (FSDataOutputStream out = fs.create(tmp, true)) {
                content.writeTo(out);
            } catch (IOException | RuntimeException e) {
                fs.delete(tmp, false);
                throw e;
            }
            if (!fs.rename(tmp, target)) {
                // rename does not replace on HDFS: remove the previous attempt's file, then rename
                fs.delete(target, false);
                if (!fs.rename(tmp, target)) {
                    fs.delete(tmp, false);
                    throw new IOException("cannot rename " + tmp + " to " + target);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot write " + Redaction.uri(path(relative).toString()) + ": " + e.getMessage(), e);
        }
    }

    /** Opens a file for reading. */
    public InputStream open(String relative) throws IOException {
        return fs().open(path(relative));
    }

    /** The first {@code maxBytes} bytes of a file (all of it when smaller). */
    public byte[] read(String relative, int maxBytes) throws IOException {
        FileSystem fs = fs();
        try (var in = fs.open(path(relative))) {
            return in.readNBytes(maxBytes);
        }
    }

    /** {@link #exists}, with an unreadable store counted as "not there". */
    public boolean existsQuietly(String relative) {
        try {
            return exists(relative);
        } catch (IOException e) {
            return false;
        }
    }

    public boolean exists(String relative) throws IOException {
        return fs().exists(path(relative));
    }

    /** Names of the entries directly under the output folder (empty when it does not exist). */
    public List<String> topLevelEntries() throws IOException {
        FileSystem fs = fs();
        Path p = new Path(root);
        List<String> out = new ArrayList<>();
        if (!fs.exists(p)) {
            return out;
        }
        for (FileStatus s : fs.listStatus(p)) {
            out.add(s.getPath().getName());
        }
        return out;
    }

    /** File names under {@code relative} (recursive, relative to it); empty when absent. */
    public List<String> listFiles(String relative) throws IOException {
        FileSystem fs = fs();
        Path dir = path(relative);
        List<String> out = new ArrayList<>();
        if (!fs.exists(dir)) {
            return out;
        }
        String prefix = fs.makeQualified(dir).toString() + "/";
        RemoteIterator<org.apache.hadoop.fs.LocatedFileStatus> it = fs.listFiles(dir, true);
        while (it.hasNext()) {
            String full = it.next().getPath().toString();
            out.add(full.startsWith(prefix) ? full.substring(prefix.length()) : new Path(full).getName());
        }
        return out;
    }

    public void delete(String relative) throws IOException {
        fs().delete(path(relative), true);
    }

    /**
     * Removes a folder that holds nothing any more (a file system's empty folder; object stores have none). Never
     * recursive: a file written in the meantime keeps the folder.
     */
    public void deleteIfEmpty(String relative) throws IOException {
        Path dir = path(relative);
        FileSystem fs = fs();
        if (fs.exists(dir) && fs.getFileStatus(dir).isDirectory() && fs.listStatus(dir).length == 0) {
            try {
                fs.delete(dir, false);
            } catch (IOException notEmptyAnyMore) {
                // a writer added a file since the listing: the folder stays
            }
        }
    }

    /** Deletes one file this store wrote, by the full path {@link #path} gave for it (nothing when absent). */
    public void deleteFile(String fullPath) {
        try {
            fs().delete(new Path(fullPath), false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + Redaction.uri(fullPath) + ": " + e.getMessage(), e);
        }
    }
}

package io.sparkdiffusion.jobs;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Where image and mask paths may be read from, and the one way they are read. A path is qualified (a relative one
 * against the input table's folder), then must lie under one of the allowed roots ({@code images.allowed_roots};
 * by default the input table's folder, in archive mode the archive folders) with a scheme of one of them. A local
 * file is followed to its real path, which must still lie under a root (a symlink may not leave them) and be a
 * regular file (not a device, pipe or folder); then its size is checked against {@code images.max_file_bytes}
 * before a byte is read, and the read itself stops there (a file that grows, or reports no size, cannot exceed it).
 * Every refusal is a row error naming the setting to change.
 */
final class PictureSources implements Serializable {
    private static final long serialVersionUID = 1L;
    static final String ROOTS_KEY = "images.allowed_roots";
    static final String MAX_BYTES_KEY = "images.max_file_bytes";

    private final List<String> roots;
    private final String base;
    private final long maxBytes;
    private final HadoopConf conf;
    private transient List<String> comparable;

    /**
     * @param roots qualified folder URIs ({@code file:/data/in}, {@code s3a://bucket/pictures})
     * @param base the folder relative paths are resolved against (a Hadoop path)
     */
    PictureSources(List<String> roots, String base, long maxBytes, HadoopConf conf) {
        this.roots = List.copyOf(roots);
        this.base = base;
        this.maxBytes = maxBytes;
        this.conf = conf;
    }

    List<String> roots() {
        return roots;
    }

    /** A folder as a qualified URI ({@code file:/data/in}, {@code s3a://bucket/pictures}): how roots are given. */
    static String qualifiedRoot(String folder, HadoopConf conf) throws IOException {
        Path p = new Path(folder);
        return withoutSlash(p.getFileSystem(conf.get()).makeQualified(p).toUri().toString());
    }

    /** The bytes a row's {@code field} (image or mask) names by {@code ref}, or the row error saying why not. */
    byte[] read(String field, String ref) throws RowRules.Rejection {
        String shown = Redaction.uri(ref);
        Path path;
        try {
            Path p = new Path(ref);
            path = p.isAbsolute() || p.toUri().getScheme() != null ? p : new Path(new Path(base), p);
            FileSystem fs = path.getFileSystem(conf.get());
            path = fs.makeQualified(path);
            checkUnderRoots(field, shown, path.toUri(), "");
            if (fs.getUri().getScheme().equals("file")) {
                return readLocal(field, shown, java.nio.file.Path.of(path.toUri()));
            }
            Path resolved = fs.resolvePath(path); // follows HDFS symlinks, where they are enabled
            checkUnderRoots(
                    field, shown, resolved.toUri(), " (it is a link to " + Redaction.uri(resolved.toString()) + ")");
            FileStatus status = fs.getFileStatus(resolved);
            if (!status.isFile()) {
                throw new RowRules.Rejection(field, field + " " + shown + " is a folder, not a picture");
            }
            checkSize(field, shown, status.getLen());
            try (InputStream in = fs.open(resolved)) {
                return readBounded(field, shown, in);
            }
        } catch (FileNotFoundException | NoSuchFileException e) {
            throw new RowRules.Rejection(field, field + " file not found: " + shown);
        } catch (IOException | IllegalArgumentException e) {
            throw new RowRules.Rejection(
                    field, "cannot read " + field + " " + shown + ": " + Redaction.uri(e.getMessage()));
        }
    }

    /** A row's picture given as bytes in the table: only its size is checked (it is already in memory). */
    void checkBytes(String field, byte[] bytes) throws RowRules.Rejection {
        checkSize(field, "<" + bytes.length + " bytes in the input row>", bytes.length);
    }

    private byte[] readLocal(String field, String shown, java.nio.file.Path file)
            throws IOException, RowRules.Rejection {
        java.nio.file.Path real = file.toRealPath();
        if (!real.equals(file)) {
            checkUnderRoots(field, shown, real.toUri(), " (it is a link to " + real + ")");
        }
        BasicFileAttributes attributes =
                Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!attributes.isRegularFile()) {
            throw new RowRules.Rejection(
                    field,
                    field + " " + shown + " is not a regular file ("
                            + (attributes.isDirectory() ? "a folder" : "a device, pipe or socket")
                            + "): only picture files are read");
        }
        checkSize(field, shown, attributes.size());
        try (InputStream in = Files.newInputStream(real, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            return readBounded(field, shown, in);
        }
    }

    private void checkUnderRoots(String field, String shown, URI uri, String how) throws RowRules.Rejection {
        String candidate = canonical(uri);
        String scheme = candidate.substring(0, candidate.indexOf(':'));
        for (String root : comparableRoots()) {
            if (candidate.equals(root) || candidate.startsWith(root + "/")) {
                return;
            }
        }
        String allowed = Redaction.uri(String.join(", ", roots));
        boolean schemeAllowed =
                roots.stream().anyMatch(r -> canonical(URI.create(r)).startsWith(scheme + "://"));
        throw new RowRules.Rejection(
                field,
                schemeAllowed
                        ? field + " " + shown + how + " is outside the folders pictures may be read from (" + allowed
                                + "): add its folder to " + ROOTS_KEY
                        : field + " " + shown + ": scheme '" + scheme + "' is not allowed (pictures may be read from "
                                + allowed + "): add a root with that scheme to " + ROOTS_KEY);
    }

    /**
     * The roots in canonical form, local ones also by their real path (a root inside a linked folder, such as
     * macOS's /tmp, is compared with real paths too). Computed once per executor.
     */
    private List<String> comparableRoots() {
        if (comparable == null) {
            List<String> out = new ArrayList<>();
            for (String root : roots) {
                URI u = URI.create(root);
                out.add(canonical(u));
                if ("file".equalsIgnoreCase(u.getScheme())) {
                    try {
                        out.add(canonical(java.nio.file.Path.of(u).toRealPath().toUri()));
                    } catch (IOException | IllegalArgumentException e) {
                        // a root that does not exist on this host holds nothing to read
                    }
                }
            }
            comparable = out;
        }
        return comparable;
    }

    /** {@code scheme://authority/path}, dot segments resolved, no trailing slash: the form paths are compared in. */
    static String canonical(URI uri) {
        URI n = uri.normalize();
        String scheme = n.getScheme() == null ? "" : n.getScheme().toLowerCase(Locale.ROOT);
        String authority = n.getRawAuthority() == null ? "" : n.getRawAuthority();
        return withoutSlash(scheme + "://" + authority + (n.getPath() == null ? "" : n.getPath()));
    }

    private void checkSize(String field, String shown, long length) throws RowRules.Rejection {
        if (length > maxBytes) {
            throw new RowRules.Rejection(
                    field,
                    field + " " + shown + " is " + length + " bytes, over the limit of " + maxBytes + " ("
                            + MAX_BYTES_KEY + "): refused before reading");
        }
    }

    private byte[] readBounded(String field, String shown, InputStream in) throws IOException, RowRules.Rejection {
        byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
        if (bytes.length > maxBytes) {
            throw new RowRules.Rejection(
                    field,
                    field + " " + shown + " holds more than " + maxBytes + " bytes (" + MAX_BYTES_KEY
                            + "): reading stopped there");
        }
        return bytes;
    }

    private static String withoutSlash(String s) {
        String out = s;
        while (out.endsWith("/") && !out.endsWith("://")) {
            out = out.substring(0, out.length() - 1);
        }
        return out;
    }

    /** The roots: {@code images.allowed_roots} when set, else the input's folder (archive mode: the archive's). */
    static List<String> defaultRoots(String inputFolder, String archiveImages, String archiveMasks) {
        List<String> out = new ArrayList<>();
        if (archiveImages != null) {
            out.add(archiveImages);
            if (archiveMasks != null) {
                out.add(archiveMasks);
            }
        } else {
            out.add(inputFolder);
        }
        return out;
    }
}

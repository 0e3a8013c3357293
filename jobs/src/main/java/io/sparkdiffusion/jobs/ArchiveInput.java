package io.sparkdiffusion.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Archive mode: a folder of pictures (recursively) instead of a table, with an optional parallel folder of masks
 * of the same relative names. Each picture becomes a row: {@code id} = its relative path without extension (the
 * output keeps that path: {@code images/<relative>.png}), {@code image} = its URI, {@code mask} = the mask folder's
 * file of the same relative path. Only the listing happens on the driver; executors read the bytes. A local folder is
 * walked without following linked folders (a link to a parent would list the same pictures again and again); a
 * linked picture is listed, and reading it checks that its target stays inside the allowed roots.
 */
final class ArchiveInput {
    static final Set<String> EXTENSIONS = Set.of("png", "jpg", "jpeg", "webp");

    private ArchiveInput() {}

    static Dataset<Row> list(SparkSession spark, JobConfig config) {
        String images = config.archiveImages();
        String masks = config.archiveMasks();
        List<Row> rows = new ArrayList<>();
        try {
            for (String relative : pictures(images, spark.sparkContext().hadoopConfiguration())) {
                String id = relative.replaceAll("\\.[^./]+$", "");
                rows.add(RowFactory.create(id, images + "/" + relative, masks == null ? null : masks + "/" + relative));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot list archive folder " + Redaction.uri(images) + ": " + e.getMessage(), e);
        }
        StructType schema = new StructType()
                .add("id", DataTypes.StringType)
                .add("image", DataTypes.StringType)
                .add("mask", DataTypes.StringType);
        Dataset<Row> table = spark.createDataFrame(rows, schema);
        return masks == null ? table.drop("mask") : table;
    }

    /** The pictures under {@code folder} (a qualified URI), as paths relative to it with '/' separators, sorted. */
    static List<String> pictures(String folder, org.apache.hadoop.conf.Configuration hadoop) throws IOException {
        Path root = new Path(folder);
        FileSystem fs = root.getFileSystem(hadoop);
        List<String> out = new ArrayList<>();
        if (fs.getUri().getScheme().equals("file")) {
            java.nio.file.Path dir = java.nio.file.Path.of(root.toUri());
            // Files.walk does not follow links to folders (no FOLLOW_LINKS): no loops
            try (Stream<java.nio.file.Path> walk = Files.walk(dir)) {
                walk.filter(p -> !Files.isDirectory(p)
                                && isPicture(p.getFileName().toString()))
                        .forEach(p -> out.add(dir.relativize(p).toString().replace('\\', '/')));
            }
        } else {
            String prefix = fs.makeQualified(root).toString() + "/";
            RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
            while (it.hasNext()) {
                String full = it.next().getPath().toString();
                if (full.startsWith(prefix) && isPicture(full)) {
                    out.add(full.substring(prefix.length()));
                }
            }
        }
        out.sort(null);
        return out;
    }

    private static boolean isPicture(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }
}

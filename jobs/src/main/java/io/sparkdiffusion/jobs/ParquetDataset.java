package io.sparkdiffusion.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.java.function.FlatMapGroupsFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * {@code output_format: parquet}: the pictures inside the table. {@code data/} is a Parquet table with one row per
 * picture: every metadata column ({@link MetadataColumns}) and {@code image}, a struct of {@code bytes} (the PNG) and
 * {@code path} (its file name), the layout Hugging Face {@code datasets} reads as an image feature (declared in each
 * file's footer by {@link HfImageParquetFormat}); video rows add {@code video}, the same struct holding the encoded
 * video, with the poster frame as {@code image}. Written through Spark's writer and commit protocol, in files of
 * about {@code output.target_file_mb}. Publishing appends the rows the records hold that the table does not: a run
 * published twice (a crash between appending and removing its records) adds nothing the second time.
 */
final class ParquetDataset {
    static final String FOLDER = "data";

    private ParquetDataset() {}

    /** The ids already in {@code data/} (empty when it has no committed files). */
    static Dataset<Row> publishedIds(SparkSession spark, OutputStore store) {
        return Tables.ids(spark, store, FOLDER);
    }

    /**
     * Appends the generated rows {@code rows} (one per id, each with the record fragment holding its media) that the
     * table does not hold yet.
     *
     * @param video whether the rows are videos (the media file is the video, {@code videoExtension})
     */
    static void append(
            SparkSession spark,
            OutputStore store,
            Dataset<GeneratedRow> rows,
            boolean video,
            String videoExtension,
            long targetBytes) {
        Dataset<GeneratedRow> fresh = Tables.without(rows, publishedIds(spark, store));
        long count = fresh.count();
        if (count == 0) {
            return;
        }
        long bytes = fresh.agg(sum("mediaBytes")).first().getLong(0);
        int files = (int) Math.max(1, Math.min(count, (bytes + targetBytes - 1) / targetBytes));
        Dataset<Media> media = fresh.groupByKey(
                        (MapFunction<GeneratedRow, String>) GeneratedRow::getRecordFile, Encoders.STRING())
                .flatMapGroups(readMedia(store, video, videoExtension), Encoders.bean(Media.class));
        List<Column> columns = new ArrayList<>();
        for (MetadataColumns.Field f : MetadataColumns.ALL) {
            columns.add(col("meta." + f.name()).as(f.name()));
        }
        columns.add(
                struct(col("media.image").as("bytes"), col("media.imageName").as("path"))
                        .as("image"));
        if (video) {
            columns.add(struct(
                            col("media.video").as("bytes"),
                            col("media.videoName").as("path"))
                    .as("video"));
        }
        Dataset<Row> table = MetadataColumns.select(fresh)
                .as("meta")
                .join(media.as("media"), col("meta.id").equalTo(col("media.id")))
                .select(columns.toArray(Column[]::new));
        table.repartition(files)
                .write()
                .format(HfImageParquetFormat.class.getName())
                .option(HfImageParquetFormat.IMAGE_COLUMNS, "image")
                .mode(SaveMode.Append)
                .save(store.path(FOLDER).toString());
    }

    /** Reads each group's fragment once and returns the media of the group's rows. */
    private static FlatMapGroupsFunction<String, GeneratedRow, Media> readMedia(
            OutputStore store, boolean video, String videoExtension) {
        return (fragment, rows) -> {
            List<GeneratedRow> group = new ArrayList<>();
            rows.forEachRemaining(group::add);
            Set<String> wanted = new HashSet<>();
            for (GeneratedRow r : group) {
                wanted.add(r.getImageKey());
            }
            Map<String, byte[]> files;
            try {
                files = RecordFragments.files(store, fragment, name -> wanted.contains(keyOf(name)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + Redaction.uri(fragment) + ": " + e.getMessage(), e);
            }
            List<Media> out = new ArrayList<>();
            for (GeneratedRow r : group) {
                String key = r.getImageKey();
                Media m = new Media();
                m.setId(r.getId());
                m.setImageName(key + ".png");
                m.setImage(files.get(key + (video ? RecordFragments.POSTER : ".png")));
                if (video) {
                    m.setVideoName(key + videoExtension);
                    m.setVideo(files.get(key + videoExtension));
                }
                if (m.getImage() == null || (video && m.getVideo() == null)) {
                    throw new IllegalStateException(fragment + " records " + key + " but does not hold its media");
                }
                out.add(m);
            }
            return out.iterator();
        };
    }

    /** The row key of a fragment entry: its name without the extension(s) the job adds. */
    static String keyOf(String entry) {
        String name = entry.endsWith(RecordFragments.POSTER)
                ? entry.substring(0, entry.length() - RecordFragments.POSTER.length())
                : entry;
        int slash = name.lastIndexOf('/');
        int dot = name.lastIndexOf('.');
        return dot > slash ? name.substring(0, dot) : name;
    }

    /** One row's media as read from its fragment. */
    public static final class Media implements Serializable {
        private static final long serialVersionUID = 1L;
        private String id;
        private String imageName;
        private byte[] image;
        private String videoName;
        private byte[] video;

        public String getId() {
            return id;
        }

        public void setId(String id) {
            this.id = id;
        }

        public String getImageName() {
            return imageName;
        }

        public void setImageName(String imageName) {
            this.imageName = imageName;
        }

        public byte[] getImage() {
            return image;
        }

        public void setImage(byte[] image) {
            this.image = image;
        }

        public String getVideoName() {
            return videoName;
        }

        public void setVideoName(String videoName) {
            this.videoName = videoName;
        }

        public byte[] getVideo() {
            return video;
        }

        public void setVideo(byte[] video) {
            this.video = video;
        }
    }
}

package io.sparkdiffusion.jobs;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdiffusion.util.JsonConfig;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
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
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code output_format: webdataset}: tar shards {@code shards/shard-NNNNNN.tar} of about {@code
 * output.target_file_mb} each, as the WebDataset format expects: each sample is {@code <key>.png} (or the video,
 * {@code <key>.mp4}) and {@code <key>.json} (its metadata, {@link MetadataColumns}), adjacent. WebDataset splits a
 * file name at its first dot, so a key's {@code .} is written as {@code %2E} (and {@code %} as {@code %25}); the JSON
 * carries the id as it was. A shard is written in one atomic step ({@link OutputStore#write}: renamed when complete
 * on HDFS and local disks, a single upload on S3), so a reader never sees half of one; {@code shards/index.json}
 * lists the shards (name, samples, bytes, keys) and is rewritten after them. A shard file the index does not list is
 * the remains of a crashed publication and is removed before the next one; a retried shard task rewrites the same
 * shard, so no sample is duplicated.
 */
final class WebDatasetShards {
    static final String FOLDER = "shards";
    static final String INDEX = FOLDER + "/index.json";
    private static final Pattern SHARD = Pattern.compile("shard-(\\d{6})\\.tar");

    private WebDatasetShards() {}

    /** One shard to write: its number and, in order, the rows (fragment, key) it holds. */
    record Plan(int number, List<String[]> rows) implements Serializable {
        String name() {
            return String.format(Locale.ROOT, "shard-%06d.tar", number);
        }
    }

    /** What a written shard holds, as the index lists it. */
    record Written(String name, int samples, long bytes, List<String> ids) implements Serializable {}

    /** The ids the index lists (as column {@link Tables#PUBLISHED}). */
    static Dataset<Row> publishedIds(SparkSession spark, OutputStore store) {
        List<Row> ids = new ArrayList<>();
        for (JsonNode shard : readIndex(store).path("shards")) {
            for (JsonNode id : shard.path("ids")) {
                ids.add(RowFactory.create(id.asText()));
            }
        }
        return spark.createDataFrame(ids, new StructType().add(Tables.PUBLISHED, DataTypes.StringType));
    }

    /**
     * Packs the generated rows the index does not list yet into new shards and lists them; returns the shard of each
     * packed id, for the metadata's {@code image_path}.
     *
     * @param mediaExtension {@code .png}, or the video's extension in video mode
     */
    static Map<String, String> append(
            SparkSession spark,
            OutputStore store,
            Dataset<GeneratedRow> rows,
            String mediaExtension,
            long targetBytes) {
        ObjectNode index = readIndex(store);
        removeUnlisted(store, index);
        List<Row> fresh = Tables.without(rows, publishedIds(spark, store))
                .select(col("recordFile"), col("imageKey"), col("id"), col("mediaBytes"))
                .orderBy(col("recordFile"), col("imageKey"))
                .collectAsList();
        Map<String, String> shardOfId = new LinkedHashMap<>();
        if (fresh.isEmpty()) {
            return shardOfId;
        }
        List<Plan> plans = plan(fresh, nextNumber(index), targetBytes);
        for (Plan p : plans) {
            for (String[] row : p.rows()) {
                shardOfId.put(row[2], FOLDER + "/" + p.name());
            }
        }
        List<Written> written = JavaSparkContext.fromSparkContext(spark.sparkContext())
                .parallelize(plans, plans.size())
                .map(p -> writeShard(store, p, mediaExtension))
                .collect();
        ArrayNode shards = index.withArray("shards");
        for (Written w : written) {
            ObjectNode s = shards.addObject();
            s.put("name", w.name());
            s.put("samples", w.samples());
            s.put("bytes", w.bytes());
            ArrayNode ids = s.putArray("ids");
            w.ids().forEach(ids::add);
        }
        try {
            store.put(
                    INDEX, JsonConfig.mapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return shardOfId;
    }

    /** Rows in order, cut into shards of about {@code targetBytes}; a shard holds at least one row. */
    static List<Plan> plan(List<Row> rows, int firstNumber, long targetBytes) {
        List<Plan> plans = new ArrayList<>();
        List<String[]> current = new ArrayList<>();
        long bytes = 0;
        for (Row r : rows) {
            long size = r.getLong(3);
            if (!current.isEmpty() && bytes + size > targetBytes) {
                plans.add(new Plan(firstNumber + plans.size(), current));
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(new String[] {r.getString(0), r.getString(1), r.getString(2)});
            bytes += size;
        }
        plans.add(new Plan(firstNumber + plans.size(), current));
        return plans;
    }

    /** Writes one shard (executor side), streaming its samples from their record fragments. */
    static Written writeShard(OutputStore store, Plan plan, String mediaExtension) {
        Map<String, List<String>> keysByFragment = new LinkedHashMap<>();
        for (String[] row : plan.rows()) {
            keysByFragment.computeIfAbsent(row[0], k -> new ArrayList<>()).add(row[1]);
        }
        List<String> ids = new ArrayList<>();
        long[] size = {0};
        store.write(FOLDER + "/" + plan.name(), out -> {
            CountingStream counted = new CountingStream(out);
            try (TarArchiveOutputStream tar = new TarArchiveOutputStream(counted, StandardCharsets.UTF_8.name())) {
                tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                for (Map.Entry<String, List<String>> f : keysByFragment.entrySet()) {
                    Set<String> keys = new HashSet<>(f.getValue());
                    Map<String, byte[]> files =
                            RecordFragments.files(store, f.getKey(), name -> keys.contains(ParquetDataset.keyOf(name)));
                    for (String key : f.getValue()) {
                        GeneratedRow row = JsonConfig.mapper()
                                .readValue(files.get(key + RecordFragments.METADATA), GeneratedRow.class);
                        row.setImagePath(FOLDER + "/" + plan.name() + "#" + sampleKey(key) + mediaExtension);
                        byte[] media = files.get(key + mediaExtension);
                        if (media == null) {
                            throw new IllegalStateException(f.getKey() + " records " + key + " without its media");
                        }
                        // a sample's files adjacent, media first, as WebDataset groups them
                        RecordFragments.addFile(tar, sampleKey(key) + mediaExtension, media);
                        RecordFragments.addFile(
                                tar,
                                sampleKey(key) + ".json",
                                JsonConfig.mapper().writeValueAsBytes(MetadataColumns.asMap(row)));
                        ids.add(row.getId());
                    }
                }
                tar.finish();
                size[0] = counted.count;
            }
        });
        return new Written(plan.name(), ids.size(), size[0], ids);
    }

    /** A key as WebDataset reads it back: no dot in the file name's stem. */
    static String sampleKey(String key) {
        return key.replace("%", "%25").replace(".", "%2E");
    }

    private static ObjectNode readIndex(OutputStore store) {
        try {
            if (!store.exists(INDEX)) {
                ObjectNode index = JsonConfig.mapper().createObjectNode();
                index.put("format", "webdataset");
                index.putArray("shards");
                return index;
            }
            JsonNode node = JsonConfig.mapper().readTree(store.read(INDEX, Integer.MAX_VALUE));
            if (!(node instanceof ObjectNode o) || !o.path("shards").isArray()) {
                throw new IllegalStateException(
                        Redaction.uri(store.path(INDEX).toString()) + " is not a shard index this tool wrote");
            }
            return o;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the shard index: " + e.getMessage(), e);
        }
    }

    private static int nextNumber(ObjectNode index) {
        int next = 0;
        for (JsonNode s : index.path("shards")) {
            var m = SHARD.matcher(s.path("name").asText(""));
            if (m.matches()) {
                next = Math.max(next, Integer.parseInt(m.group(1)) + 1);
            }
        }
        return next;
    }

    /** Removes shard files the index does not list: what a crash left between writing shards and the index. */
    private static void removeUnlisted(OutputStore store, ObjectNode index) {
        Set<String> listed = new HashSet<>();
        for (JsonNode s : index.path("shards")) {
            listed.add(s.path("name").asText());
        }
        try {
            for (String f : store.listFiles(FOLDER)) {
                if (SHARD.matcher(f).matches() && !listed.contains(f)) {
                    store.delete(FOLDER + "/" + f);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Counts the bytes written through it. */
    private static final class CountingStream extends FilterOutputStream {
        long count;

        CountingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }
}

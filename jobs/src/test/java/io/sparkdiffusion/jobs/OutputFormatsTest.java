package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.util.JsonConfig;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dataset formats, checked by readers that are not the job's own code: the Parquet table by DuckDB (its JDBC
 * driver) and by Spark SQL as a user would query it, every picture decoded, the Hugging Face image feature in each
 * file's footer; the WebDataset shards by a plain tar reader (sample grouping, shard sizes, the index); a resume adds
 * rows once; a shard is never visible half-written.
 */
class OutputFormatsTest extends LocalSparkTest {
    @TempDir
    Path tmp;

    private Path input(int rows, int from) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            lines.add(GenerateJobTest.digitRow("d" + (from + i), (from + i) % 10, 300 + from + i));
        }
        return GenerateJobTest.jsonl(tmp.resolve("rows-" + from + "-" + rows + ".jsonl"), lines);
    }

    @Test
    void parquetHoldsEveryPictureOnceAsReadByDuckDbAndSparkSql() throws Exception {
        Path out = tmp.resolve("parquet");
        JobSummary first = GenerateJobTest.run(GenerateJobTest.settings(
                input(7, 0), out, "output_format", "parquet", "output.commit_every_rows", "2"));
        assertEquals(7, first.written());
        assertFalse(Files.exists(out.resolve("images")), "no picture files in parquet format");
        assertTrue(listTars(out.resolve("records")).isEmpty(), "the records are removed once published");
        assertFalse(Files.exists(out.resolve("records")), "and their emptied folder with them");

        // resume with more rows: the new ones are appended once, the old ones are not written again
        JobSummary second = GenerateJobTest.run(
                GenerateJobTest.settings(input(10, 0), out, "output_format", "parquet", "resume", "true"));
        assertEquals(3, second.written());
        assertEquals(7, second.skipped());

        // DuckDB, an independent Parquet reader
        Class.forName("org.duckdb.DuckDBDriver");
        String files = out.resolve("data").toString() + "/*.parquet";
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:");
                Statement st = db.createStatement()) {
            try (ResultSet rs =
                    st.executeQuery("SELECT count(*), count(DISTINCT id) FROM read_parquet('" + files + "')")) {
                rs.next();
                assertEquals(10, rs.getLong(1));
                assertEquals(10, rs.getLong(2));
            }
            try (ResultSet rs = st.executeQuery(
                    "SELECT id, image.bytes, image.path, prompt, seed FROM read_parquet('" + files + "')")) {
                int decoded = 0;
                while (rs.next()) {
                    BufferedImage img = ImageIO.read(new ByteArrayInputStream(rs.getBytes(2)));
                    assertNotNull(img, rs.getString(1));
                    assertEquals(16, img.getWidth());
                    assertEquals(rs.getString(1) + ".png", rs.getString(3));
                    assertTrue(rs.getString(4).startsWith("a handwritten digit"));
                    decoded++;
                }
                assertEquals(10, decoded);
            }
        }
        // Spark SQL, as a user reads the dataset back
        spark.read().parquet(out.resolve("data").toString()).createOrReplaceTempView("generated");
        List<Row> rows = spark.sql("SELECT id, image.bytes AS png FROM generated ORDER BY id")
                .collectAsList();
        assertEquals(10, rows.size());
        for (Row r : rows) {
            assertNotNull(ImageIO.read(new ByteArrayInputStream((byte[]) r.get(1))), r.getString(0));
        }
        // the Hugging Face datasets feature in every file's footer: image is an Image
        for (Path f : parquetFiles(out.resolve("data"))) {
            try (ParquetFileReader reader = ParquetFileReader.open(
                    HadoopInputFile.fromPath(new org.apache.hadoop.fs.Path(f.toUri()), new Configuration()))) {
                String features = reader.getFileMetaData().getKeyValueMetaData().get("huggingface");
                assertNotNull(features, f.toString());
                JsonNode image = JsonConfig.mapper()
                        .readTree(features)
                        .path("info")
                        .path("features")
                        .path("image");
                assertEquals("Image", image.path("_type").asText(), features);
            }
        }
        // the metadata table lists every row once as well
        assertEquals(
                10,
                spark.read()
                        .parquet(out.resolve("metadata").toString())
                        .select("id")
                        .distinct()
                        .count());
        assertTrue(
                Files.readString(out.resolve("index.html")).contains("data:image/png;base64,"),
                "the contact sheet shows the pictures");
    }

    @Test
    void webDatasetShardsAreWholeSamplesOfTheTargetSizeWithAnIndex() throws Exception {
        Path out = tmp.resolve("wds");
        // about 2 kB per shard: the 16x16 PNGs are a few hundred bytes, so several shards
        JobSummary first = GenerateJobTest.run(GenerateJobTest.settings(
                input(9, 0), out, "output_format", "webdataset", "output.target_file_mb", "0.002"));
        assertEquals(9, first.written());
        Map<String, byte[]> shardsBefore = shardBytes(out);
        assertTrue(shardsBefore.size() >= 2, "several shards: " + shardsBefore.keySet());

        // a shard the index does not list (a crash between shards and index) is removed by the next publication
        Files.write(out.resolve("shards/shard-000099.tar"), new byte[] {1, 2, 3});
        JobSummary second = GenerateJobTest.run(GenerateJobTest.settings(
                input(12, 0), out, "output_format", "webdataset", "output.target_file_mb", "0.002", "resume", "true"));
        assertEquals(3, second.written());
        assertFalse(Files.exists(out.resolve("shards/shard-000099.tar")));
        Map<String, byte[]> shardsAfter = shardBytes(out);
        for (Map.Entry<String, byte[]> e : shardsBefore.entrySet()) {
            assertArrayEquals(e.getValue(), shardsAfter.get(e.getKey()), e.getKey() + " untouched by the resume");
        }

        JsonNode index =
                JsonConfig.mapper().readTree(out.resolve("shards/index.json").toFile());
        Set<String> ids = new HashSet<>();
        int samplesInIndex = 0;
        for (JsonNode shard : index.path("shards")) {
            Path file = out.resolve("shards").resolve(shard.path("name").asText());
            assertEquals(Files.size(file), shard.path("bytes").asLong(), file.toString());
            List<String[]> samples = readSamples(file);
            assertEquals(shard.path("samples").asInt(), samples.size(), file.toString());
            samplesInIndex += samples.size();
            for (String[] s : samples) {
                assertTrue(ids.add(s[0]), "sample " + s[0] + " appears once across the shards");
            }
        }
        assertEquals(12, samplesInIndex);
        assertEquals(12, ids.size());
    }

    @Test
    void aShardIsNeverVisibleHalfWritten() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("store"));
        OutputStore store = new OutputStore(new HadoopConf(new Configuration()), root.toString());
        RuntimeException killed = assertThrows(
                RuntimeException.class,
                () -> store.write("shards/shard-000000.tar", out -> {
                    out.write(new byte[4096]);
                    throw new IllegalStateException("task killed mid-shard");
                }));
        assertTrue(killed.getMessage().contains("mid-shard"));
        try (Stream<Path> s = Files.walk(root)) {
            assertEquals(List.of(), s.filter(Files::isRegularFile).toList(), "no shard and no temporary file left");
        }
    }

    /** (id, media entry) of each sample of a shard, checking that a sample's two files are adjacent. */
    static List<String[]> readSamples(Path shard) throws IOException {
        List<String[]> samples = new ArrayList<>();
        try (InputStream in = Files.newInputStream(shard);
                TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            String pending = null;
            byte[] png = null;
            while ((e = tar.getNextEntry()) != null) {
                String name = e.getName();
                byte[] bytes = tar.readAllBytes();
                int dot = name.indexOf('.');
                String key = name.substring(0, dot);
                if (name.endsWith(".png")) {
                    assertEquals(null, pending, "a sample's json follows its picture: " + name);
                    assertNotNull(ImageIO.read(new ByteArrayInputStream(bytes)), name);
                    pending = key;
                    png = bytes;
                } else {
                    assertEquals(pending, key, "the json of the same key follows the picture: " + name);
                    JsonNode meta = JsonConfig.mapper().readTree(bytes);
                    assertTrue(meta.path("prompt").asText().startsWith("a handwritten digit"), name);
                    assertTrue(
                            meta.path("image_path")
                                    .asText()
                                    .contains(shard.getFileName().toString()),
                            name);
                    samples.add(new String[] {meta.path("id").asText(), key + ".png", Integer.toString(png.length)});
                    pending = null;
                }
            }
            assertEquals(null, pending, "the shard ends with a whole sample");
        }
        return samples;
    }

    private static Map<String, byte[]> shardBytes(Path out) throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        try (Stream<Path> s = Files.list(out.resolve("shards"))) {
            for (Path p : s.filter(p -> p.getFileName().toString().matches("shard-\\d{6}\\.tar"))
                    .toList()) {
                m.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        return m;
    }

    private static List<Path> parquetFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".parquet"))
                    .toList();
        }
    }

    static List<Path> listTars(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".tar")).toList();
        }
    }
}

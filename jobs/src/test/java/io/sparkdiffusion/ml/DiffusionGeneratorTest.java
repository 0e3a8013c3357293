package io.sparkdiffusion.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.batch.BatchGenerator;
import io.sparkdiffusion.batch.GenerationRow;
import io.sparkdiffusion.batch.Outcome;
import io.sparkdiffusion.jobs.GenerateJob;
import io.sparkdiffusion.jobs.GenerationStage;
import io.sparkdiffusion.jobs.JobConfig;
import io.sparkdiffusion.jobs.SparkTestSession;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.pipeline.ImagePipeline;
import io.sparkdiffusion.pipeline.Pipelines;
import io.sparkdiffusion.quality.DigitClassifier;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DataFrame transformer: the same bytes as the job and the library for the same rows, whatever the partitioning
 * and batch size; a bad row gets its error and the rows around it are generated; its params survive save and load;
 * its schema check names the column and the parameter to change.
 */
@Slow
class DiffusionGeneratorTest {
    private static final Path DIGITS = Fixtures.model("digits-t2i");
    private static final StructType PROMPTS = new StructType()
            .add("id", DataTypes.StringType)
            .add("prompt", DataTypes.StringType)
            .add("seed", DataTypes.LongType);

    private static SparkSession spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startSpark() {
        spark = SparkTestSession.start();
    }

    @AfterAll
    static void stopSpark() {
        SparkTestSession.stop(spark);
    }

    private static List<Row> digitRows(int n) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create("r" + i, "a handwritten digit " + DigitClassifier.word(i % 10), 500L + i));
        }
        return rows;
    }

    private static DiffusionGenerator digits() {
        return new DiffusionGenerator()
                .setModelUri(DIGITS.toString())
                .setDefaultSteps(6)
                .setDefaultGuidanceScale(3);
    }

    /** id -> PNG bytes of a transformed DataFrame (every row generated). */
    private static Map<String, byte[]> images(Dataset<Row> out) {
        Map<String, byte[]> m = new HashMap<>();
        for (Row r : out.select("id", "generated.image", "generated.error").collectAsList()) {
            assertTrue(r.isNullAt(2), "row " + r.getString(0) + " failed: " + r.get(2));
            m.put(r.getString(0), (byte[]) r.get(1));
        }
        return m;
    }

    @Test
    void theSameRowsGiveTheSameBytesAsTheJobAndTheLibraryWhateverThePartitioning() throws Exception {
        List<Row> rows = digitRows(9);
        Dataset<Row> df = spark.createDataFrame(rows, PROMPTS);
        Map<String, byte[]> onePartitionBatch1 = images(digits().setBatchSize(1).transform(df.repartition(1)));
        Map<String, byte[]> threePartitionsBatch4 =
                images(digits().setBatchSize(4).transform(df.repartition(3)));
        assertEquals(9, onePartitionBatch1.size());

        // the job on the same rows
        List<String> lines = new ArrayList<>();
        for (Row r : rows) {
            lines.add("{\"id\":\"" + r.getString(0) + "\",\"prompt\":\"" + r.getString(1) + "\",\"seed\":"
                    + r.getLong(2) + "}");
        }
        Path input = Files.write(tmp.resolve("rows.jsonl"), lines);
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("model", DIGITS.toString());
        settings.put("input", input.toString());
        settings.put("input_format", "json");
        settings.put("output", tmp.resolve("job").toString());
        settings.put("defaults.num_inference_steps", "6");
        settings.put("defaults.guidance_scale", "3");
        settings.put("batch_size", "2");
        GenerateJob.run(spark, JobConfig.load(null, settings));

        // the library on the same rows
        Map<String, byte[]> library = new HashMap<>();
        try (ImagePipeline pipeline = Pipelines.openImage(DIGITS, RuntimeOptions.DEFAULT)) {
            List<BatchGenerator.Tagged<String>> tagged = new ArrayList<>();
            for (Row r : rows) {
                tagged.add(new BatchGenerator.Tagged<>(
                        r.getString(0),
                        GenerationRow.builder(r.getLong(2))
                                .prompt(r.getString(1))
                                .steps(6)
                                .guidanceScale(3)
                                .build()));
            }
            for (Outcome<String> o :
                    new BatchGenerator(pipeline, new BatchGenerator.Options(3, false, null)).generateAll(tagged)) {
                library.put(o.tag(), GenerationStage.png(((Outcome.Generated<String>) o).output()));
            }
        }
        for (Row r : rows) {
            String id = r.getString(0);
            byte[] job = Files.readAllBytes(tmp.resolve("job/images/" + id + ".png"));
            assertArrayEquals(onePartitionBatch1.get(id), threePartitionsBatch4.get(id), id + ": partitioning, batch");
            assertArrayEquals(job, onePartitionBatch1.get(id), id + ": transformer vs job");
            assertArrayEquals(library.get(id), onePartitionBatch1.get(id), id + ": transformer vs library");
        }
    }

    @Test
    void aBadRowGetsItsErrorAndTheOtherRowsOfItsBatchAreGenerated() {
        StructType schema = new StructType()
                .add("id", DataTypes.StringType)
                .add("prompt", DataTypes.StringType)
                .add("width", DataTypes.IntegerType);
        List<Row> rows = List.of(
                RowFactory.create("good-1", "a handwritten digit one", null),
                RowFactory.create("no-prompt", null, null),
                RowFactory.create("bad-size", "a handwritten digit two", 17), // not a multiple of 2
                RowFactory.create("good-2", "a handwritten digit three", 16));
        // no seed column: the seed comes from the id, as in the job
        Dataset<Row> out = digits().setBatchSize(4)
                .transform(spark.createDataFrame(rows, schema).repartition(1));
        Map<String, Row> byId = new HashMap<>();
        for (Row r : out.select("id", "generated").collectAsList()) {
            byId.put(r.getString(0), r.getStruct(1));
        }
        assertEquals(4, byId.size());
        for (String good : List.of("good-1", "good-2")) {
            Row g = byId.get(good);
            assertNull(g.get(g.fieldIndex("error")), good);
            assertNotNull(g.get(g.fieldIndex("image")), good);
            assertEquals(io.sparkdiffusion.jobs.RowRules.seedFromId(good), g.getLong(g.fieldIndex("seed")));
        }
        assertEquals("prompt", error(byId.get("no-prompt")).getString(0));
        Row size = error(byId.get("bad-size"));
        assertEquals("width", size.getString(0));
        assertTrue(size.getString(1).contains("17"), size.getString(1));
    }

    @Test
    void aCorruptInitImageGetsItsErrorAndTheOtherRowIsGenerated() throws Exception {
        StructType schema = new StructType()
                .add("id", DataTypes.StringType)
                .add("prompt", DataTypes.StringType)
                .add("seed", DataTypes.IntegerType)
                .add("image", DataTypes.BinaryType);
        byte[] picture = Files.readAllBytes(Fixtures.testdata("assets/images/camera_512_rgb.png"));
        List<Row> rows = List.of(
                RowFactory.create("ok", "a camera", 3, picture),
                RowFactory.create("corrupt", "a camera", 4, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3}));
        Dataset<Row> out = new DiffusionGenerator()
                .setModelUri(Fixtures.fixture("sd-tiny").toString())
                .setTask("img2img")
                .setMaxImageSide(32)
                .setDefaultSteps(2)
                .transform(spark.createDataFrame(rows, schema));
        Map<String, Row> byId = new HashMap<>();
        for (Row r : out.select("id", "generated").collectAsList()) {
            byId.put(r.getString(0), r.getStruct(1));
        }
        Row ok = byId.get("ok");
        assertNull(ok.get(ok.fieldIndex("error")));
        assertEquals(32, ok.getInt(ok.fieldIndex("width")));
        assertEquals("image", error(byId.get("corrupt")).getString(0));
    }

    @Test
    void saveAndLoadRoundTripTheParams() throws Exception {
        DiffusionGenerator g = digits().setTask("inpaint")
                .setPromptCol("text")
                .setSeedCol("rng")
                .setOutputCol("out")
                .setBatchSize(7)
                .setDefaultScheduler("euler_a")
                .setProvider("cpu")
                .setIntraOpThreads(3)
                .setKeepUnmasked(true)
                .setVideoFormat("gif");
        String path = tmp.resolve("stage").toString();
        g.write().save(path);
        DiffusionGenerator loaded = DiffusionGenerator.load(path);
        assertEquals(g.uid(), loaded.uid());
        assertEquals(g.extractParamMap().toString(), loaded.extractParamMap().toString());
        assertEquals("text", loaded.getOrDefault(loaded.promptCol()));
        assertEquals(7, (Integer) loaded.getOrDefault(loaded.batchSize()));
        assertEquals(true, loaded.getOrDefault(loaded.keepUnmasked()));
    }

    @Test
    void transformSchemaNamesTheColumnAndTheParameterToChange() {
        StructType wrongType =
                new StructType().add("prompt", DataTypes.StringType).add("seed", DataTypes.StringType);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> digits().transformSchema(wrongType));
        assertTrue(
                e.getMessage().contains("'seed' (seedCol)") && e.getMessage().contains("an integer"), e.getMessage());
        StructType noSeed = new StructType().add("prompt", DataTypes.StringType);
        e = assertThrows(IllegalArgumentException.class, () -> digits().transformSchema(noSeed));
        assertTrue(e.getMessage().contains("setSeedCol") && e.getMessage().contains("setIdCol"), e.getMessage());
        StructType out = digits().transformSchema(PROMPTS);
        assertEquals(List.of("id", "prompt", "seed", "generated"), List.of(out.fieldNames()));
    }

    private static Row error(Row generated) {
        Row e = generated.getStruct(generated.fieldIndex("error"));
        assertNotNull(e, "expected an error");
        return e;
    }
}

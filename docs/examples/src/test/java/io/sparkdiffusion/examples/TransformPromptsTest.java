package io.sparkdiffusion.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The transformer example runs as documented: only the train rows come back, each with a 16x16 PNG and no error. */
@Slow
class TransformPromptsTest {
    @TempDir
    Path tmp;

    @Test
    void theExampleWritesTheTrainRowsWithTheirPictures() throws Exception {
        Path prompts = tmp.resolve("prompts.parquet");
        SparkSession spark = SparkSession.builder()
                .master("local[2]")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.ui.enabled", "false")
                .getOrCreate();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            rows.add(RowFactory.create("p" + i, "a handwritten digit seven", (long) i, i < 4 ? "train" : "test"));
        }
        StructType schema = new StructType()
                .add("id", DataTypes.StringType)
                .add("prompt", DataTypes.StringType)
                .add("seed", DataTypes.LongType)
                .add("split", DataTypes.StringType);
        spark.createDataFrame(rows, schema).write().parquet(prompts.toString());

        Path out = tmp.resolve("dataset.parquet");
        TransformPrompts.main(
                new String[] {prompts.toString(), Fixtures.model("digits-t2i").toString(), out.toString(), "local[2]"});

        SparkSession reader = SparkSession.builder()
                .master("local[1]")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.ui.enabled", "false")
                .getOrCreate();
        try {
            List<Row> written = reader.read().parquet(out.toString()).collectAsList();
            assertEquals(4, written.size(), "the four train rows");
            for (Row r : written) {
                assertEquals("train", r.getString(r.fieldIndex("split")));
                assertNull(r.get(r.fieldIndex("error")));
                BufferedImage img = ImageIO.read(new ByteArrayInputStream((byte[]) r.get(r.fieldIndex("image"))));
                assertNotNull(img);
                assertEquals(16, img.getWidth());
            }
        } finally {
            reader.stop();
        }
    }
}

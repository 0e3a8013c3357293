package io.sparkdiffusion.jobs;

import static org.apache.spark.sql.functions.col;

import io.sparkdiffusion.quality.ScoreField;
import io.sparkdiffusion.util.JsonConfig;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The metadata of one generated picture or video, in one place: the columns of the {@code metadata/} table, of the
 * Parquet dataset, and the keys of a WebDataset sample's {@code .json}, each from one {@link GeneratedRow} property;
 * the quality scores last.
 */
final class MetadataColumns {
    /** A column name (snake case, as the table shows it) and the bean property it comes from. */
    record Field(String name, String property) {}

    static final List<Field> ALL = all(
            new Field("id", "id"),
            new Field("input_id", "inputId"),
            new Field("prompt", "prompt"),
            new Field("negative_prompt", "negativePrompt"),
            new Field("seed", "seed"),
            new Field("num_inference_steps", "numInferenceSteps"),
            new Field("guidance_scale", "guidanceScale"),
            new Field("scheduler", "scheduler"),
            new Field("width", "width"),
            new Field("height", "height"),
            new Field("model_name", "modelName"),
            new Field("model_fingerprint", "modelFingerprint"),
            new Field("image_path", "imagePath"),
            new Field("image_sha256", "imageSha256"),
            new Field("generation_ms", "generationMs"),
            new Field("strength", "strength"),
            new Field("input_image", "inputImage"),
            new Field("input_mask", "inputMask"),
            new Field("notes", "notes"),
            new Field("num_frames", "numFrames"),
            new Field("fps", "fps"),
            new Field("duration_s", "durationSeconds"),
            new Field("video_path", "videoPath"),
            new Field("generated_at", "generatedAt"),
            new Field("run_id", "runId"),
            new Field("template_slots", "templateSlots"));

    /** The columns above, then the quality scores ({@link QualityScores#FIELDS}; null where no scorer ran). */
    private static List<Field> all(Field... generation) {
        List<Field> out = new ArrayList<>(Arrays.asList(generation));
        for (ScoreField f : QualityScores.FIELDS) {
            out.add(new Field(f.name(), QualityScores.property(f.name())));
        }
        return List.copyOf(out);
    }

    private MetadataColumns() {}

    /** The metadata table's columns of generated rows. */
    static Dataset<Row> select(Dataset<GeneratedRow> rows) {
        return rows.select(ALL.stream().map(f -> col(f.property()).as(f.name())).toArray(Column[]::new));
    }

    /** One row's metadata as the table names it ({@code generated_at} as an ISO-8601 instant), for sample JSON. */
    static Map<String, Object> asMap(GeneratedRow row) {
        @SuppressWarnings("unchecked")
        Map<String, Object> bean = JsonConfig.mapper().convertValue(row, Map.class);
        Map<String, Object> out = new LinkedHashMap<>();
        for (Field f : ALL) {
            Object v = bean.get(f.property());
            if (v instanceof Number millis && f.name().equals("generated_at")) {
                v = Instant.ofEpochMilli(millis.longValue()).toString();
            }
            out.put(f.name(), v);
        }
        return out;
    }
}

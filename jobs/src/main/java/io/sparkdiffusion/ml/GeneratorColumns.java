package io.sparkdiffusion.ml;

import io.sparkdiffusion.batch.GenerationRow;
import io.sparkdiffusion.batch.InitPictures;
import io.sparkdiffusion.image.ImageDecoder;
import io.sparkdiffusion.jobs.ModelHandle;
import io.sparkdiffusion.jobs.RowRules;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.PipelineFamily;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.pipeline.RequestRules;
import io.sparkdiffusion.scheduler.Schedulers;
import io.sparkdiffusion.util.InvalidRequestException;
import io.sparkdiffusion.video.VideoFormat;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.param.Param;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The {@link DiffusionGenerator}'s view of a DataFrame: where each input column is (or that it is absent), the checks
 * on names and types with the parameter to change, the output column's layout, and a row's values resolved into an
 * engine {@link GenerationRow} (defaults applied, each value checked by the engine's {@link RequestRules}) or the
 * field at fault. Built on the driver, used on the executors.
 */
final class GeneratorColumns implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The added struct column: the output and the values it was made with; {@code error} set instead on failure. */
    static final StructType OUTPUT = new StructType()
            .add("image", DataTypes.BinaryType)
            .add("media_type", DataTypes.StringType)
            .add("seed", DataTypes.LongType)
            .add("num_inference_steps", DataTypes.IntegerType)
            .add("guidance_scale", DataTypes.DoubleType)
            .add("width", DataTypes.IntegerType)
            .add("height", DataTypes.IntegerType)
            .add("scheduler", DataTypes.StringType)
            .add("strength", DataTypes.DoubleType)
            .add("num_frames", DataTypes.IntegerType)
            .add("fps", DataTypes.IntegerType)
            .add("generation_ms", DataTypes.LongType)
            .add("notes", DataTypes.StringType)
            .add("error", new StructType().add("field", DataTypes.StringType).add("reason", DataTypes.StringType));

    private final StructType input;
    private final String outputCol;
    private final Task task;
    private final int id;
    private final int prompt;
    private final int negativePrompt;
    private final int seed;
    private final int steps;
    private final int guidanceScale;
    private final int width;
    private final int height;
    private final int scheduler;
    private final int strength;
    private final int image;
    private final int mask;
    private final int numFrames;
    private final int fps;
    private final int defaultSteps;
    private final double defaultGuidanceScale;
    private final String defaultScheduler;
    private final int defaultFps;
    private final int maxImageSide;
    private final long maxPixels;
    private final boolean keepUnmasked;
    private final VideoFormat videoFormat;
    /** Set by {@link #checkModel}: the model's rules. */
    private ModelRules model;

    /** What the executors need to know of the model (read on the driver from its configs). */
    private record ModelRules(boolean takesPrompt, int sizeMultiple, String schedulerClass) implements Serializable {}

    private GeneratorColumns(DiffusionGenerator g, StructType schema) {
        this.input = schema;
        this.outputCol = g.getOrDefault(g.outputCol());
        this.task = DiffusionGenerator.taskOf(g.getOrDefault(g.task()));
        List<String> problems = new ArrayList<>();
        if (List.of(schema.fieldNames()).contains(outputCol)) {
            problems.add("the output column '" + outputCol + "' already exists (setOutputCol to another name)");
        }
        this.id = column(g, g.idCol(), schema, Kind.ANY, problems);
        this.prompt = column(g, g.promptCol(), schema, Kind.TEXT, problems);
        this.negativePrompt = column(g, g.negativePromptCol(), schema, Kind.TEXT, problems);
        this.seed = column(g, g.seedCol(), schema, Kind.INTEGER, problems);
        this.steps = column(g, g.stepsCol(), schema, Kind.INTEGER, problems);
        this.guidanceScale = column(g, g.guidanceScaleCol(), schema, Kind.NUMBER, problems);
        this.width = column(g, g.widthCol(), schema, Kind.INTEGER, problems);
        this.height = column(g, g.heightCol(), schema, Kind.INTEGER, problems);
        this.scheduler = column(g, g.schedulerCol(), schema, Kind.TEXT, problems);
        this.strength = column(g, g.strengthCol(), schema, Kind.NUMBER, problems);
        this.image = column(g, g.imageCol(), schema, Kind.BYTES, problems);
        this.mask = column(g, g.maskCol(), schema, Kind.BYTES, problems);
        this.numFrames = column(g, g.numFramesCol(), schema, Kind.INTEGER, problems);
        this.fps = column(g, g.fpsCol(), schema, Kind.INTEGER, problems);
        if (seed < 0 && id < 0) {
            problems.add("no seed: the input has neither the seed column '" + g.getOrDefault(g.seedCol())
                    + "' (setSeedCol) nor the id column '" + g.getOrDefault(g.idCol())
                    + "' to derive it from (setIdCol)");
        }
        if ((task == Task.IMAGE_TO_IMAGE || task == Task.INPAINT) && image < 0) {
            problems.add("task " + g.getOrDefault(g.task()) + " needs the init image column '"
                    + g.getOrDefault(g.imageCol()) + "' (binary; setImageCol)");
        }
        if (task == Task.INPAINT && mask < 0) {
            problems.add(
                    "task inpaint needs the mask column '" + g.getOrDefault(g.maskCol()) + "' (binary; setMaskCol)");
        }
        this.defaultSteps = (Integer) g.getOrDefault(g.defaultSteps());
        this.defaultGuidanceScale = (Double) g.getOrDefault(g.defaultGuidanceScale());
        String s = g.getOrDefault(g.defaultScheduler());
        this.defaultScheduler = s.isEmpty() ? null : s;
        if (defaultScheduler != null && !Schedulers.isKnown(defaultScheduler)) {
            problems.add("defaultScheduler '" + defaultScheduler + "' is unknown; known: " + Schedulers.knownNames());
        }
        this.defaultFps = (Integer) g.getOrDefault(g.defaultFps());
        this.maxImageSide = (Integer) g.getOrDefault(g.maxImageSide());
        this.maxPixels = (Long) g.getOrDefault(g.maxPixels());
        this.keepUnmasked = (Boolean) g.getOrDefault(g.keepUnmasked());
        VideoFormat format = null;
        try {
            format = VideoFormat.fromName(g.getOrDefault(g.videoFormat()));
        } catch (IllegalArgumentException e) {
            problems.add("videoFormat: " + e.getMessage());
        }
        this.videoFormat = format;
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("DiffusionGenerator: " + String.join("; ", problems));
        }
    }

    /** Checks the schema for the generator's parameters. */
    static GeneratorColumns of(DiffusionGenerator g, StructType schema) {
        return new GeneratorColumns(g, schema);
    }

    StructType outputSchema() {
        return input.add(outputCol, OUTPUT, false);
    }

    int inputWidth() {
        return input.size();
    }

    boolean keepUnmasked() {
        return keepUnmasked;
    }

    /** The model's side of the checks, on the driver: the family serves the task, a prompt column when it needs one. */
    void checkModel(ModelHandle handle, ModelInfo info) {
        info.family().checkServes(task, Path.of(handle.uri()));
        if (info.takesPrompt() && info.family() != PipelineFamily.IMAGE_TO_VIDEO && prompt < 0) {
            throw new IllegalArgumentException("DiffusionGenerator: " + handle.name()
                    + " is a text-conditioned model: the input needs a prompt column (setPromptCol)");
        }
        if (info.family() == PipelineFamily.IMAGE_TO_VIDEO && image < 0) {
            throw new IllegalArgumentException("DiffusionGenerator: " + handle.name()
                    + " makes videos from images: the input needs an image column (setImageCol)");
        }
        this.model = new ModelRules(info.takesPrompt(), info.sizeMultiple(), info.schedulerClass());
    }

    /** A row resolved for the engine, with the values the output reports. */
    record Resolved(
            GenerationRow row,
            long seed,
            int steps,
            double guidanceScale,
            String scheduler,
            Double strength,
            Integer fps,
            List<String> notes)
            implements Serializable {}

    /**
     * The engine row of an input row, defaults applied and each value checked.
     *
     * @throws InvalidRequestException naming the field at fault
     */
    Resolved resolve(Row r) {
        long rowSeed =
                seed >= 0 && !r.isNullAt(seed) ? ((Number) r.get(seed)).longValue() : RowRules.seedFromId(requireId(r));
        String text = text(r, prompt);
        if (model.takesPrompt() && task != Task.VIDEO && (text == null || text.isBlank())) {
            throw new InvalidRequestException("prompt", "prompt is missing (the model is text-conditioned)");
        }
        int rowSteps = RequestRules.positive("num_inference_steps", integer(r, steps, defaultSteps));
        double guidance = RequestRules.finite("guidance_scale", number(r, guidanceScale, defaultGuidanceScale));
        String sched = text(r, scheduler);
        sched = sched != null ? sched : defaultScheduler;
        if (sched != null && !Schedulers.isKnown(sched)) {
            throw new InvalidRequestException(
                    "scheduler", "unknown scheduler '" + sched + "'; known: " + Schedulers.knownNames());
        }
        Double rowStrength = strength >= 0 && !r.isNullAt(strength) ? ((Number) r.get(strength)).doubleValue() : null;
        if (rowStrength != null) {
            RequestRules.strength(rowStrength);
        }
        Integer w = optionalInt(r, width);
        Integer h = optionalInt(r, height);
        GenerationRow.Builder b = GenerationRow.builder(rowSeed)
                .prompt(text)
                .negativePrompt(text(r, negativePrompt))
                .steps(rowSteps)
                .guidanceScale(guidance)
                .scheduler(sched)
                .strength(rowStrength);
        List<String> notes = List.of();
        boolean takesImage = task == Task.IMAGE_TO_IMAGE || task == Task.INPAINT || (task == Task.VIDEO && image >= 0);
        if (takesImage) {
            byte[] imageBytes = image >= 0 && !r.isNullAt(image) ? (byte[]) r.get(image) : null;
            byte[] maskBytes = task == Task.INPAINT && !r.isNullAt(mask) ? (byte[]) r.get(mask) : null;
            if (task == Task.INPAINT && maskBytes == null) {
                throw new InvalidRequestException("mask", "mask is missing (inpainting needs a mask: white = repaint)");
            }
            InitPictures.Prepared p = new InitPictures(
                            model.sizeMultiple(), maxImageSide, maxPixels, ImageDecoder.Limits.DEFAULT)
                    .prepare(
                            new InitPictures.Source(imageBytes, "image"),
                            maskBytes == null ? null : new InitPictures.Source(maskBytes, "mask"),
                            w != null ? w : 0,
                            h != null ? h : 0);
            b.image(p.imageTensor()).mask(p.maskTensor()).size(p.width(), p.height());
            notes = p.notes();
        } else {
            if (w != null && h != null) {
                RequestRules.pixels(w, h, maxPixels);
            }
            b.size(w, h);
        }
        Integer rowFps = null;
        if (task == Task.VIDEO) {
            rowFps = RequestRules.fps(integer(r, fps, defaultFps));
            Integer frames = numFrames >= 0 && !r.isNullAt(numFrames) ? ((Number) r.get(numFrames)).intValue() : null;
            b.video(frames == null ? null : RequestRules.positive("num_frames", frames), rowFps, 127, 0.02);
        }
        return new Resolved(
                b.build(),
                rowSeed,
                rowSteps,
                guidance,
                sched != null ? sched : model.schedulerClass(),
                rowStrength,
                rowFps,
                notes);
    }

    VideoFormat videoFormat() {
        return videoFormat;
    }

    private String requireId(Row r) {
        if (id < 0 || r.isNullAt(id)) {
            throw new InvalidRequestException("seed", "the row has no seed and no id to derive one from");
        }
        return String.valueOf(r.get(id));
    }

    private static String text(Row r, int index) {
        return index < 0 || r.isNullAt(index) ? null : r.getString(index);
    }

    private static int integer(Row r, int index, int dflt) {
        return index < 0 || r.isNullAt(index) ? dflt : ((Number) r.get(index)).intValue();
    }

    private static double number(Row r, int index, double dflt) {
        return index < 0 || r.isNullAt(index) ? dflt : ((Number) r.get(index)).doubleValue();
    }

    /** An optional integer (a size): null when absent. */
    private static Integer optionalInt(Row r, int index) {
        if (index < 0 || r.isNullAt(index)) {
            return null;
        }
        return ((Number) r.get(index)).intValue();
    }

    /** What a column may hold. */
    private enum Kind {
        ANY,
        TEXT,
        INTEGER,
        NUMBER,
        BYTES;

        boolean accepts(DataType t) {
            return switch (this) {
                case ANY -> true;
                case TEXT -> t instanceof StringType;
                case INTEGER ->
                    t instanceof IntegerType
                            || t instanceof LongType
                            || t instanceof ShortType
                            || t instanceof ByteType;
                case NUMBER ->
                    INTEGER.accepts(t) || t instanceof DoubleType || t instanceof FloatType || t instanceof DecimalType;
                case BYTES -> t instanceof BinaryType;
            };
        }

        String text() {
            return switch (this) {
                case ANY -> "any type";
                case TEXT -> "a string";
                case INTEGER -> "an integer";
                case NUMBER -> "a number";
                case BYTES -> "binary (the picture's bytes)";
            };
        }
    }

    /** The column's index, -1 when absent; a present column of the wrong type is a problem naming the parameter. */
    private static int column(
            DiffusionGenerator g, Param<String> param, StructType schema, Kind kind, List<String> problems) {
        String name = g.getOrDefault(param);
        int index = List.of(schema.fieldNames()).indexOf(name);
        if (index < 0) {
            return -1;
        }
        StructField f = schema.fields()[index];
        if (!kind.accepts(f.dataType())) {
            problems.add("column '" + name + "' (" + param.name() + ") is "
                    + f.dataType().simpleString() + "; it must be " + kind.text());
        }
        return index;
    }
}

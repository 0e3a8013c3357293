package io.sparkdiffusion.ml;

import io.sparkdiffusion.jobs.GenerationStage;
import io.sparkdiffusion.jobs.HadoopConf;
import io.sparkdiffusion.jobs.ModelHandle;
import io.sparkdiffusion.jobs.ModelLocalizer;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.model.Task;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * Generation inside a user's own DataFrame code: a Spark ML {@link Transformer} that adds one struct column holding,
 * for each row, the generated picture (PNG bytes; for video rows the encoded video), the generation fields it was
 * made with, and an error (field and reason) for a row that could not be generated; the other rows are unaffected.
 *
 * <pre>{@code
 * DiffusionGenerator gen = new DiffusionGenerator()
 *         .setModelUri("s3a://bucket/models/digits-t2i")
 *         .setPromptCol("prompt").setSeedCol("seed")
 *         .setDefaultSteps(20).setDefaultGuidanceScale(3.0);
 * Dataset<Row> withImages = gen.transform(prompts.filter("lang = 'en'"));
 * withImages.select("id", "generated.image", "generated.error").write().parquet(out);
 * }</pre>
 *
 * <p>Each executor keeps one resident pipeline per model and device, the same as the job's
 * ({@link GenerationStage}, {@code ResidentPipelines}); rows of equal shape are batched within each partition by the
 * engine's storage-free batch component, each with its own seed, so a row's picture is the same whatever the
 * partitioning and batch size, and the same bytes as the job makes for that row. Rows come back in the order their
 * batches finish within a partition (as any batched inference); join on a key, not on position.
 *
 * <p>Input columns are optional, each with a default: {@code prompt} (needed by text-conditioned models),
 * {@code negative_prompt}, {@code seed} (else derived from {@code id} as the job does; one of them is needed),
 * {@code num_inference_steps}, {@code guidance_scale}, {@code width}, {@code height}, {@code scheduler},
 * {@code strength}, {@code image} and {@code mask} (binary: the picture's bytes), and for videos {@code num_frames},
 * {@code fps}. Saved and loaded like any Spark ML stage ({@code write().save(path)},
 * {@link #load(String)}).
 */
public final class DiffusionGenerator extends Transformer implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;

    /** The model folder: a local path or a Hadoop URI; executors copy a remote one once. */
    private final Param<String> modelUri;
    /** {@code txt2img}, {@code img2img}, {@code inpaint} or {@code video}. */
    private final Param<String> task;

    private final Param<String> outputCol;
    private final Param<String> idCol;
    private final Param<String> promptCol;
    private final Param<String> negativePromptCol;
    private final Param<String> seedCol;
    private final Param<String> stepsCol;
    private final Param<String> guidanceScaleCol;
    private final Param<String> widthCol;
    private final Param<String> heightCol;
    private final Param<String> schedulerCol;
    private final Param<String> strengthCol;
    private final Param<String> imageCol;
    private final Param<String> maskCol;
    private final Param<String> numFramesCol;
    private final Param<String> fpsCol;

    private final IntParam defaultSteps;
    private final DoubleParam defaultGuidanceScale;
    private final Param<String> defaultScheduler;
    private final IntParam defaultFps;
    private final IntParam maxImageSide;
    private final LongParam maxPixels;
    private final BooleanParam keepUnmasked;
    private final Param<String> videoFormat;

    private final IntParam batchSize;
    /** {@code auto} (the task's GPU when Spark assigns one), {@code cpu} or {@code cuda}. */
    private final Param<String> provider;

    private final IntParam intraOpThreads;
    private final Param<String> localModelDir;

    public DiffusionGenerator() {
        this(Identifiable.randomUID("diffusionGenerator"));
    }

    /** The constructor Spark ML's persistence calls with the saved uid. */
    public DiffusionGenerator(String uid) {
        this.uid = uid;
        modelUri = new Param<>(this, "modelUri", "the model folder: a local path or a Hadoop URI");
        task = new Param<>(this, "task", "txt2img, img2img, inpaint or video", ParamValidators.inArray(new String[] {
            "txt2img", "img2img", "inpaint", "video"
        }));
        outputCol = new Param<>(this, "outputCol", "the struct column added: image bytes, fields, error");
        idCol = new Param<>(this, "idCol", "a row id, for the seed when there is no seed column");
        promptCol = new Param<>(this, "promptCol", "the prompt column (string)");
        negativePromptCol = new Param<>(this, "negativePromptCol", "the negative prompt column (string)");
        seedCol = new Param<>(this, "seedCol", "the seed column (integer)");
        stepsCol = new Param<>(this, "stepsCol", "the num_inference_steps column (integer)");
        guidanceScaleCol = new Param<>(this, "guidanceScaleCol", "the guidance_scale column (number)");
        widthCol = new Param<>(this, "widthCol", "the width column (integer)");
        heightCol = new Param<>(this, "heightCol", "the height column (integer)");
        schedulerCol = new Param<>(this, "schedulerCol", "the scheduler column (name or diffusers class)");
        strengthCol = new Param<>(this, "strengthCol", "the strength column (number in (0, 1])");
        imageCol = new Param<>(this, "imageCol", "the init or conditioning image column (binary)");
        maskCol = new Param<>(this, "maskCol", "the inpainting mask column (binary)");
        numFramesCol = new Param<>(this, "numFramesCol", "the num_frames column (integer, video)");
        fpsCol = new Param<>(this, "fpsCol", "the fps column (integer, video)");
        defaultSteps = new IntParam(this, "defaultSteps", "steps of rows without a value", ParamValidators.gt(0));
        defaultGuidanceScale = new DoubleParam(this, "defaultGuidanceScale", "guidance of rows without a value");
        defaultScheduler = new Param<>(this, "defaultScheduler", "scheduler of rows without one (empty: the model's)");
        defaultFps = new IntParam(this, "defaultFps", "fps of video rows without a value", ParamValidators.gt(0));
        maxImageSide = new IntParam(this, "maxImageSide", "init images are shrunk to this side", ParamValidators.gt(0));
        maxPixels = new LongParam(
                this,
                "maxPixels",
                "the largest output, width x height (as the job's limits.max_pixels)",
                ParamValidators.gt(0));
        keepUnmasked = new BooleanParam(this, "keepUnmasked", "inpainting: keep the original outside the mask");
        videoFormat = new Param<>(this, "videoFormat", "mp4, gif or png-frames (a zip)");
        batchSize = new IntParam(this, "batchSize", "rows per engine call", ParamValidators.gt(0));
        provider = new Param<>(
                this, "provider", "auto, cpu or cuda", ParamValidators.inArray(new String[] {"auto", "cpu", "cuda"}));
        intraOpThreads = new IntParam(
                this, "intraOpThreads", "ONNX Runtime threads per call; 0: the task's share", ParamValidators.gtEq(0));
        localModelDir = new Param<>(this, "localModelDir", "where executors copy a remote model (empty: tmp)");

        setDefault(task, "txt2img");
        setDefault(outputCol, "generated");
        setDefault(idCol, "id");
        setDefault(promptCol, "prompt");
        setDefault(negativePromptCol, "negative_prompt");
        setDefault(seedCol, "seed");
        setDefault(stepsCol, "num_inference_steps");
        setDefault(guidanceScaleCol, "guidance_scale");
        setDefault(widthCol, "width");
        setDefault(heightCol, "height");
        setDefault(schedulerCol, "scheduler");
        setDefault(strengthCol, "strength");
        setDefault(imageCol, "image");
        setDefault(maskCol, "mask");
        setDefault(numFramesCol, "num_frames");
        setDefault(fpsCol, "fps");
        setDefault(defaultSteps, 20);
        setDefault(defaultGuidanceScale, 7.5);
        setDefault(defaultScheduler, "");
        setDefault(defaultFps, 8);
        setDefault(maxImageSide, 1024);
        setDefault(maxPixels, 2048L * 2048);
        setDefault(keepUnmasked, false);
        setDefault(videoFormat, "mp4");
        setDefault(batchSize, 4);
        setDefault(provider, "auto");
        setDefault(intraOpThreads, 0);
        setDefault(localModelDir, "");
    }

    // ---------------------------------------------------------------- params (Spark ML finds them by these methods)

    public Param<String> modelUri() {
        return modelUri;
    }

    public Param<String> task() {
        return task;
    }

    public Param<String> outputCol() {
        return outputCol;
    }

    public Param<String> idCol() {
        return idCol;
    }

    public Param<String> promptCol() {
        return promptCol;
    }

    public Param<String> negativePromptCol() {
        return negativePromptCol;
    }

    public Param<String> seedCol() {
        return seedCol;
    }

    public Param<String> stepsCol() {
        return stepsCol;
    }

    public Param<String> guidanceScaleCol() {
        return guidanceScaleCol;
    }

    public Param<String> widthCol() {
        return widthCol;
    }

    public Param<String> heightCol() {
        return heightCol;
    }

    public Param<String> schedulerCol() {
        return schedulerCol;
    }

    public Param<String> strengthCol() {
        return strengthCol;
    }

    public Param<String> imageCol() {
        return imageCol;
    }

    public Param<String> maskCol() {
        return maskCol;
    }

    public Param<String> numFramesCol() {
        return numFramesCol;
    }

    public Param<String> fpsCol() {
        return fpsCol;
    }

    public IntParam defaultSteps() {
        return defaultSteps;
    }

    public DoubleParam defaultGuidanceScale() {
        return defaultGuidanceScale;
    }

    public Param<String> defaultScheduler() {
        return defaultScheduler;
    }

    public IntParam defaultFps() {
        return defaultFps;
    }

    public IntParam maxImageSide() {
        return maxImageSide;
    }

    public LongParam maxPixels() {
        return maxPixels;
    }

    public BooleanParam keepUnmasked() {
        return keepUnmasked;
    }

    public Param<String> videoFormat() {
        return videoFormat;
    }

    public IntParam batchSize() {
        return batchSize;
    }

    public Param<String> provider() {
        return provider;
    }

    public IntParam intraOpThreads() {
        return intraOpThreads;
    }

    public Param<String> localModelDir() {
        return localModelDir;
    }

    @Override
    public String uid() {
        return uid;
    }

    /** Spark ML persistence: {@code DiffusionGenerator.load(path)} reads what {@code write().save(path)} wrote. */
    public static MLReader<DiffusionGenerator> read() {
        return new DefaultParamsReader<>();
    }

    public static DiffusionGenerator load(String path) {
        return read().load(path);
    }

    // ---------------------------------------------------------------- setters (chainable)

    public DiffusionGenerator setModelUri(String v) {
        set(modelUri, v);
        return this;
    }

    public DiffusionGenerator setTask(String v) {
        set(task, v.toLowerCase(Locale.ROOT));
        return this;
    }

    public DiffusionGenerator setOutputCol(String v) {
        set(outputCol, v);
        return this;
    }

    public DiffusionGenerator setIdCol(String v) {
        set(idCol, v);
        return this;
    }

    public DiffusionGenerator setPromptCol(String v) {
        set(promptCol, v);
        return this;
    }

    public DiffusionGenerator setNegativePromptCol(String v) {
        set(negativePromptCol, v);
        return this;
    }

    public DiffusionGenerator setSeedCol(String v) {
        set(seedCol, v);
        return this;
    }

    public DiffusionGenerator setStepsCol(String v) {
        set(stepsCol, v);
        return this;
    }

    public DiffusionGenerator setGuidanceScaleCol(String v) {
        set(guidanceScaleCol, v);
        return this;
    }

    public DiffusionGenerator setWidthCol(String v) {
        set(widthCol, v);
        return this;
    }

    public DiffusionGenerator setHeightCol(String v) {
        set(heightCol, v);
        return this;
    }

    public DiffusionGenerator setSchedulerCol(String v) {
        set(schedulerCol, v);
        return this;
    }

    public DiffusionGenerator setStrengthCol(String v) {
        set(strengthCol, v);
        return this;
    }

    public DiffusionGenerator setImageCol(String v) {
        set(imageCol, v);
        return this;
    }

    public DiffusionGenerator setMaskCol(String v) {
        set(maskCol, v);
        return this;
    }

    public DiffusionGenerator setNumFramesCol(String v) {
        set(numFramesCol, v);
        return this;
    }

    public DiffusionGenerator setFpsCol(String v) {
        set(fpsCol, v);
        return this;
    }

    public DiffusionGenerator setDefaultSteps(int v) {
        set(defaultSteps, v);
        return this;
    }

    public DiffusionGenerator setDefaultGuidanceScale(double v) {
        set(defaultGuidanceScale, v);
        return this;
    }

    public DiffusionGenerator setDefaultScheduler(String v) {
        set(defaultScheduler, v);
        return this;
    }

    public DiffusionGenerator setDefaultFps(int v) {
        set(defaultFps, v);
        return this;
    }

    public DiffusionGenerator setMaxImageSide(int v) {
        set(maxImageSide, v);
        return this;
    }

    public DiffusionGenerator setMaxPixels(long v) {
        set(maxPixels, v);
        return this;
    }

    public DiffusionGenerator setKeepUnmasked(boolean v) {
        set(keepUnmasked, v);
        return this;
    }

    public DiffusionGenerator setVideoFormat(String v) {
        set(videoFormat, v);
        return this;
    }

    public DiffusionGenerator setBatchSize(int v) {
        set(batchSize, v);
        return this;
    }

    public DiffusionGenerator setProvider(String v) {
        set(provider, v.toLowerCase(Locale.ROOT));
        return this;
    }

    public DiffusionGenerator setIntraOpThreads(int v) {
        set(intraOpThreads, v);
        return this;
    }

    public DiffusionGenerator setLocalModelDir(String v) {
        set(localModelDir, v);
        return this;
    }

    // ---------------------------------------------------------------- Transformer

    /** Checks the input columns against the task (names and types, with the parameter to change) and adds the output. */
    @Override
    public StructType transformSchema(StructType schema) {
        return GeneratorColumns.of(this, schema).outputSchema();
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        Dataset<Row> df = dataset.toDF();
        if (!isDefined(modelUri)) {
            throw new IllegalArgumentException("DiffusionGenerator: set modelUri (a model folder path or URI)");
        }
        GeneratorColumns columns = GeneratorColumns.of(this, df.schema());
        SparkSession spark = df.sparkSession();
        ModelHandle handle = modelHandle(spark);
        columns.checkModel(
                handle,
                ModelInfo.of(ModelLocalizer.localize(
                        handle.uri(), handle.fingerprint(), handle.conf(), handle.localBase())));
        return df.mapPartitions(
                new GeneratorPartition(handle, columns, (Integer) getOrDefault(batchSize)),
                Encoders.row(columns.outputSchema()));
    }

    /** The model as executors get it: localised and fingerprinted once on the driver, as the job does. */
    private ModelHandle modelHandle(SparkSession spark) {
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        HadoopConf conf = new HadoopConf(new Configuration(hadoop));
        String base = getOrDefault(localModelDir).isEmpty()
                ? Path.of(System.getProperty("java.io.tmpdir"), "spark-diffusion-models")
                        .toString()
                : getOrDefault(localModelDir);
        String uri = getOrDefault(modelUri);
        Path local = ModelLocalizer.localize(uri, null, conf, base);
        RuntimeOptions runtime = new RuntimeOptions((Integer) getOrDefault(intraOpThreads), 0, "all", "cpu", 0);
        return new ModelHandle(
                uri,
                local.getFileName().toString(),
                ModelLocalizer.fingerprint(local),
                base,
                conf,
                runtime,
                getOrDefault(provider),
                false,
                taskOf(getOrDefault(task)));
    }

    static Task taskOf(String name) {
        return switch (name) {
            case "img2img" -> Task.IMAGE_TO_IMAGE;
            case "inpaint" -> Task.INPAINT;
            case "video" -> Task.VIDEO;
            default -> Task.TEXT_TO_IMAGE;
        };
    }

    @Override
    public DiffusionGenerator copy(ParamMap extra) {
        return defaultCopy(extra);
    }
}

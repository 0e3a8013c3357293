package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.KandinskyFolders;
import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.InvalidRequestException;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Kandinsky 2.2: diffusers' {@code KandinskyV22PriorPipeline} ({@link KandinskyV22Prior}, on {@code prior/})
 * followed by {@code KandinskyV22Img2ImgPipeline} (sketch-to-image, {@link Task#IMAGE_TO_IMAGE}) or
 * {@code KandinskyV22Pipeline} ({@link Task#TEXT_TO_IMAGE}) on {@code decoder/}
 * ({@code pipelines/kandinsky2_2/pipeline_kandinsky2_2_img2img.py} and {@code pipeline_kandinsky2_2.py}).
 *
 * <p>The model folder is the root holding {@code prior/} and {@code decoder/} ({@link KandinskyFolders}). The decoder
 * UNet is conditioned on the image embeddings alone ({@code image_embeds}, diffusers' {@code added_cond_kwargs}; no
 * text); with guidance ({@code guidance_scale > 1}) the batch is {@code [negative embeds; image embeds]}. Its output
 * has twice the latent channels (a learned variance): only the first half is the noise prediction, as diffusers uses
 * it with schedulers without a learned variance.
 *
 * <p>Image-to-image: the sketch {@code (B, H, W, C)} in [0, 1] is mapped to [-1, 1] and encoded by the MoVQ encoder
 * ({@code movq_encoder}: deterministic, unscaled latents); the latents are noised with {@code add_noise} to the first
 * timestep kept by {@code strength} (default 0.3, diffusers'; {@link StrengthSchedule}, which also sets the
 * scheduler's begin index where diffusers' Kandinsky pipeline lets the scheduler find it: the same for every
 * schedule without a repeated timestep), denoised, and decoded by {@code movq_decoder} (no
 * latent scaling, {@code force_not_quantize}) to {@code clamp(x / 2 + 0.5, 0, 1)}. Text-to-image starts from
 * {@code randn * init_noise_sigma} at diffusers' latent size {@code ceil(H / f^2) * f}.
 *
 * <p>Draw order: the prior's initial latents and one draw per prior step above t = 0, then the forward noise of
 * {@code add_noise} (image-to-image) or the initial latents (text-to-image), then any stochastic decoder steps.
 * The prior's steps, guidance and scheduler config come with the request ({@link ImageRequest#priorSteps()} and
 * the others; diffusers' defaults 25 and 4); the request's steps, guidance and scheduler apply to the decoder.
 */
final class KandinskyV22Pipeline extends DiffusionPipeline implements ImagePipeline {
    /** diffusers' default {@code strength} of {@code KandinskyV22Img2ImgPipeline}. */
    public static final double DEFAULT_STRENGTH = 0.3;

    static final String UNET = "unet";
    static final String MOVQ_ENCODER = "movq_encoder";
    static final String MOVQ_DECODER = "movq_decoder";

    private final KandinskyV22Prior prior;
    private final OnnxModel unet;
    private final OnnxModel movqDecoder;
    /** The sketch encoder (image-to-image only; null for text-to-image). */
    private final OnnxModel movqEncoder;

    private final String unetOutput;
    private final int latentChannels;
    private final int movqFactor;
    private final ModelInfo info;

    KandinskyV22Pipeline(KandinskyV22Prior prior, ModelFolder decoder, Task task, ModelInfo info) {
        super(decoder, task);
        if (task == Task.INPAINT) {
            throw new IllegalArgumentException(decoder.root().getParent() + ": Kandinsky 2.2 supports "
                    + Task.IMAGE_TO_IMAGE + " (sketch-to-image) and " + Task.TEXT_TO_IMAGE + ", not " + task);
        }
        this.prior = prior;
        this.info = info;
        this.unet = decoder.session(UNET);
        this.movqDecoder = decoder.session(MOVQ_DECODER);
        this.movqEncoder = task == Task.IMAGE_TO_IMAGE ? decoder.session(MOVQ_ENCODER) : null;
        this.unetOutput = unet.outputOr("out_sample");
        JsonConfig movq = KandinskyFolders.movqConfig(decoder);
        JsonConfig unetConfig = decoder.componentConfig(UNET);
        long[] sample = unet.inputShape(unet.inputOr("sample"));
        this.latentChannels = unetConfig.has("in_channels")
                ? unetConfig.getInt("in_channels", 4)
                : movq.getInt("latent_channels", sample.length == 4 && sample[1] > 0 ? (int) sample[1] : 4);
        this.movqFactor = info.vaeFactor();
    }

    /**
     * Opens the Kandinsky 2.2 root {@code root} (with {@code prior/} and {@code decoder/}) for {@code task}.
     *
     * @throws IllegalArgumentException for {@link Task#INPAINT}
     */
    public static KandinskyV22Pipeline open(Path root, RuntimeOptions options, Task task) {
        if (task == Task.INPAINT) {
            throw new IllegalArgumentException(root + ": Kandinsky 2.2 supports " + Task.IMAGE_TO_IMAGE
                    + " (sketch-to-image) and " + Task.TEXT_TO_IMAGE + ", not " + task);
        }
        ModelInfo info = KandinskyFolders.info(root);
        ModelFolder priorFolder = new ModelFolder(root.resolve(KandinskyFolders.PRIOR), options);
        ModelFolder decoderFolder = null;
        KandinskyV22Prior prior = null;
        try {
            decoderFolder = new ModelFolder(root.resolve(KandinskyFolders.DECODER), options);
            prior = new KandinskyV22Prior(priorFolder);
            return new KandinskyV22Pipeline(prior, decoderFolder, task, info);
        } catch (RuntimeException e) {
            if (prior != null) {
                prior.close();
            } else {
                priorFolder.close();
            }
            if (decoderFolder != null) {
                decoderFolder.close();
            }
            throw e;
        }
    }

    @Override
    public Map<String, OnnxModel.RunStats> runStats() {
        Map<String, OnnxModel.RunStats> out = new TreeMap<>(super.runStats());
        out.putAll(statsOf(prior.folder(), KandinskyFolders.PRIOR + "/"));
        return out;
    }

    /** The prior half (parity tests compare its embeddings alone). */
    KandinskyV22Prior prior() {
        return prior;
    }

    @Override
    public Tensor generate(ImageRequest request, NoiseSource noise, StepListener listener) {
        if (request.prompts() == null) {
            throw new InvalidRequestException("prompt", "Kandinsky 2.2 needs a prompt for every row");
        }
        int rows = request.rows();
        int[] size = size(request);
        checkSize(info, "height", size[0]);
        checkSize(info, "width", size[1]);
        KandinskyV22Prior.Embeddings embeds = prior.embed(
                request.prompts(),
                request.negativePrompts(),
                request.priorSteps() != null ? request.priorSteps() : KandinskyV22Prior.DEFAULT_STEPS,
                request.priorGuidanceScale() != null
                        ? request.priorGuidanceScale()
                        : KandinskyV22Prior.DEFAULT_GUIDANCE_SCALE,
                request.priorSchedulerConfig(),
                noise);
        boolean guided = request.guidanceScale() > 1.0;
        Tensor imageEmbeds =
                guided ? Tensors.concatBatch(embeds.negativeImageEmbeds(), embeds.imageEmbeds()) : embeds.imageEmbeds();
        Denoiser denoiser = (x, t) -> predict(x, t, imageEmbeds, guided, request.guidanceScale());

        Scheduler scheduler = schedulerFor(request);
        Tensor result;
        if (task() == Task.IMAGE_TO_IMAGE) {
            double strength = request.strength() != null ? request.strength() : DEFAULT_STRENGTH;
            int steps = setSchedule(scheduler, request, ImageRequest.DEFAULT_STEPS);
            StrengthSchedule schedule = StrengthSchedule.apply(scheduler, steps, strength);
            Tensor imageLatents = encode(request.image());
            Tensor latents = scheduler.addNoise(imageLatents, noise.next(imageLatents.shape()), schedule.first());
            result = denoise(scheduler, schedule.begin(), latents, denoiser, AfterStep.NONE, noise, listener);
        } else {
            setSchedule(scheduler, request, ImageRequest.DEFAULT_STEPS);
            int f = movqFactor;
            int h = ceilDiv(size[0], f * f) * f;
            int w = ceilDiv(size[1], f * f) * f;
            Tensor latents = Tensors.scale(noise.next(rows, latentChannels, h, w), scheduler.initNoiseSigma());
            result = denoise(scheduler, latents, denoiser, noise, listener);
        }
        Tensor pixels =
                movqDecoder.run1(Map.of(movqDecoder.inputOr("latent_sample"), result), movqDecoder.outputOr("sample"));
        return toImage01(pixels);
    }

    /** The size of the call: the init image's (image-to-image; a requested size must match it), else requested or default. */
    private int[] size(ImageRequest request) {
        Tensor image = request.image();
        if (task() == Task.IMAGE_TO_IMAGE) {
            if (image == null) {
                throw new InvalidRequestException(
                        "image", "Kandinsky 2.2 image-to-image needs an init image (sketch) for every row");
            }
            int h = (int) image.dim(1);
            int w = (int) image.dim(2);
            if ((request.height() != null && request.height() != h)
                    || (request.width() != null && request.width() != w)) {
                throw new InvalidRequestException(
                        "image",
                        "the init image is " + w + "x" + h + " but the request asks for " + request.width() + "x"
                                + request.height() + "; resize the image to the output size");
            }
            checkEncoderSize(h, w);
            return new int[] {h, w};
        }
        if (image != null) {
            throw new InvalidRequestException(
                    "image",
                    "this Kandinsky 2.2 pipeline was opened for " + task() + " and takes no init image; open it for "
                            + Task.IMAGE_TO_IMAGE);
        }
        int[] d = info.defaultSize();
        return new int[] {
            request.height() != null ? request.height() : d[0], request.width() != null ? request.width() : d[1]
        };
    }

    /**
     * Fails before any model runs when the MoVQ encoder was exported with a fixed picture size other than this one
     * (e.g. the kandinsky22-tiny fixture's, 32x32: only its batch axis is dynamic).
     */
    private void checkEncoderSize(int h, int w) {
        OnnxModel encoder = movqEncoder;
        long[] declared = encoder.inputShape(encoder.inputOr("sample"));
        if (declared.length == 4 && ((declared[2] > 0 && declared[2] != h) || (declared[3] > 0 && declared[3] != w))) {
            throw new InvalidRequestException(
                    "image",
                    model.root() + "/" + MOVQ_ENCODER + " was exported for "
                            + declared[3] + "x" + declared[2] + " pictures only (fixed input shape); the init image is "
                            + w
                            + "x" + h + ": resize it to " + declared[3] + "x" + declared[2]
                            + " or use an export with dynamic"
                            + " height and width");
        }
    }

    /** Sketches {@code (B, H, W, C)} in [0, 1] to MoVQ latents (diffusers: {@code movq.encode(2x - 1).latents}). */
    private Tensor encode(Tensor nhwc01) {
        Tensor rgb = toThreeChannels(nhwc01);
        OnnxModel encoder = movqEncoder;
        return encoder.run1(
                Map.of(encoder.inputOr("sample"), LatentEncoder.pixels(rgb)), encoder.outputOr("latent_sample"));
    }

    /** Grayscale sketches are repeated to RGB (PIL's {@code convert("RGB")}); an alpha channel is dropped. */
    private static Tensor toThreeChannels(Tensor nhwc) {
        int c = (int) nhwc.dim(3);
        if (c == 3) {
            return nhwc;
        }
        if (c != 1 && c != 4) {
            throw new InvalidRequestException("image", "init images must have 1, 3 or 4 channels, got " + nhwc);
        }
        int pixels = nhwc.size() / c;
        float[] in = nhwc.data();
        float[] out = new float[pixels * 3];
        for (int p = 0; p < pixels; p++) {
            for (int k = 0; k < 3; k++) {
                out[p * 3 + k] = in[p * c + (c == 1 ? 0 : k)];
            }
        }
        return new Tensor(new long[] {nhwc.dim(0), nhwc.dim(1), nhwc.dim(2), 3}, out);
    }

    /**
     * The decoder UNet's noise prediction: the first {@code latent_channels} of its output (the rest is the learned
     * variance), guided as {@code uncond + g * (cond - uncond)} when the call is guided.
     */
    private Tensor predict(Tensor x, double t, Tensor imageEmbeds, boolean guided, double guidanceScale) {
        Tensor input = guided ? Tensors.concatBatch(x, x) : x;
        Map<String, Tensor> feeds = new HashMap<>();
        feeds.put("sample", input);
        feeds.put("timestep", timestepTensor(t, (int) input.dim(0)));
        feeds.put("image_embeds", imageEmbeds);
        Tensor out = firstChannels(unet.run1(feeds, unetOutput), latentChannels);
        return guided ? guide(out, guidanceScale) : out;
    }

    /** Channels {@code [0, c)} of an NCHW tensor (diffusers {@code split(c, dim=1)[0]}). */
    static Tensor firstChannels(Tensor nchw, int c) {
        int channels = (int) nchw.dim(1);
        if (channels == c) {
            return nchw;
        }
        if (channels < c) {
            throw new IllegalStateException(
                    "the decoder UNet returned " + channels + " channels, fewer than the " + c + " latent channels");
        }
        int rows = (int) nchw.dim(0);
        int plane = nchw.rowSize() / channels;
        float[] out = new float[rows * c * plane];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(nchw.data(), r * channels * plane, out, r * c * plane, c * plane);
        }
        long[] shape = nchw.shape();
        shape[1] = c;
        return new Tensor(shape, out);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    @Override
    public int imageChannels() {
        return info.imageChannels();
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public void close() {
        try {
            prior.close();
        } finally {
            super.close();
        }
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.image.AntialiasResize;
import io.sparkdiffusion.image.ImageProcessor;
import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.EulerDiscreteScheduler;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.tensor.VideoTensors;
import io.sparkdiffusion.util.InvalidRequestException;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * diffusers' {@code StableVideoDiffusionPipeline} (image-to-video; pipeline_stable_video_diffusion.py), in its order:
 * <ol>
 *   <li>CLIP image embedding of the conditioning image ({@code image_encoder}'s {@code image_embeds}), the image
 *       resized to the encoder's size by {@link AntialiasResize} when it differs, then CLIP-normalised; the
 *       unconditional embedding is zeros;</li>
 *   <li>draw 1: noise of the image's shape; the VAE encodes {@code 2x - 1 + noise_aug_strength * noise} and keeps
 *       the posterior mode (mean: the first half of {@code latent_parameters}), not scaled; unconditional rows get
 *       zeros; repeated over the frames and concatenated to the latents on the channel axis (8-channel UNet);</li>
 *   <li>{@code added_time_ids = [fps - 1, motion_bucket_id, noise_aug_strength]};</li>
 *   <li>draw 2: latents {@code (B, F, C, h, w)} times {@code init_noise_sigma}; the model's scheduler (EDM-style
 *       Euler: Karras sigmas, continuous timesteps {@code 0.25 ln sigma}, v-prediction);</li>
 *   <li>guidance per frame, linear from {@code min_guidance_scale} (first frame) to {@code max_guidance_scale};
 *       guided when {@code max_guidance_scale > 1};</li>
 *   <li>the temporal VAE decoder, {@code decode_chunk_size} frames per call ({@link VideoDecoder}).</li>
 * </ol>
 */
final class StableVideoDiffusionPipeline extends DiffusionPipeline implements VideoPipeline {
    /** diffusers' call default; the frame default is the UNet config's {@code num_frames} (14, or 25 for -xt). */
    public static final int DEFAULT_STEPS = 25;

    private final OnnxModel imageEncoder;
    private final OnnxModel vaeEncoder;
    private final OnnxModel unet;
    private final VideoDecoder frameDecoder;
    private final ModelInfo info;
    private final String embedsOutput;
    private final String parametersOutput;
    private final String unetOutput;
    private final int encoderHeight;
    private final int encoderWidth;
    private final float[] clipMean;
    private final float[] clipStd;
    private final int latentChannels;
    private final int vaeFactor;
    private final int defaultFrames;

    StableVideoDiffusionPipeline(ModelFolder model) {
        super(model, Task.VIDEO);
        this.imageEncoder = model.session("image_encoder");
        this.vaeEncoder = model.session(LatentEncoder.COMPONENT);
        this.unet = model.session("unet");
        this.frameDecoder = new VideoDecoder(model);
        this.info = ModelInfo.of(model);
        this.embedsOutput = imageEncoder.outputOr("image_embeds");
        this.unetOutput = unet.outputOr("out_sample");
        int vaeLatents =
                model.componentConfig(LatentEncoder.COMPONENT).getInt("latent_channels", frameDecoder.latentChannels());
        this.parametersOutput = posteriorOutput(model, vaeEncoder, vaeLatents);
        JsonConfig unetConfig = model.componentConfig("unet");
        // the UNet takes the noisy latents and the image latents stacked on the channel axis
        this.latentChannels = unetConfig.getInt("in_channels", 2 * vaeLatents) / 2;
        this.defaultFrames = unetConfig.getInt("num_frames", 14);
        this.vaeFactor = info.vaeFactor();
        int[] size = encoderSize(model, imageEncoder);
        this.encoderHeight = size[0];
        this.encoderWidth = size[1];
        // the feature extractor's normalisation; OpenAI CLIP's when the export has no preprocessor_config.json
        ImageProcessor fe = ImageProcessor.of(featureExtractor(model));
        this.clipMean = fe.mean();
        this.clipStd = fe.std();
    }

    /** The encoder output holding the posterior's parameters (mean and log-variance on the channel axis). */
    private static String posteriorOutput(ModelFolder model, OnnxModel encoder, int latentChannels) {
        if (encoder.hasOutput("latent_parameters")) {
            return "latent_parameters";
        }
        String out = encoder.outputNames().get(0);
        long[] shape = encoder.outputShape(out);
        if (shape.length == 4 && shape[1] == 2L * latentChannels) {
            return out;
        }
        throw new ModelLoadException(model.root() + ": Stable Video Diffusion conditions on the VAE posterior's mean; "
                + LatentEncoder.COMPONENT + " must output latent_parameters (2 x " + latentChannels
                + " channels), not an already sampled '" + out + "'");
    }

    /** The CLIP input size: the session's static pixel_values shape, else the config's image_size, else 224. */
    private static int[] encoderSize(ModelFolder model, OnnxModel encoder) {
        long[] shape = encoder.inputShape(encoder.inputOr("pixel_values"));
        if (shape.length == 4 && shape[2] > 0 && shape[3] > 0) {
            return new int[] {(int) shape[2], (int) shape[3]};
        }
        int s = model.componentConfig("image_encoder").getInt("image_size", 224);
        return new int[] {s, s};
    }

    private static JsonConfig featureExtractor(ModelFolder model) {
        Path f = model.componentDir("feature_extractor").resolve("preprocessor_config.json");
        return Files.isRegularFile(f) ? JsonConfig.read(f) : JsonConfig.empty(f.toString());
    }

    @Override
    public int defaultFrames() {
        return defaultFrames;
    }

    @Override
    public Tensor generate(VideoRequest request, NoiseSource noise, StepListener listener) {
        Tensor image = request.image();
        if (image == null) {
            throw new InvalidRequestException(
                    "image", model.name() + " is an image-to-video model: every row needs an image");
        }
        if (request.prompts() != null) {
            throw new InvalidRequestException(
                    "prompt", model.name() + " is an image-to-video model: it takes no prompt");
        }
        if (image.dim(3) != 3) {
            throw new InvalidRequestException("image", "the conditioning image must have 3 channels, got " + image);
        }
        int rows = request.rows();
        int height = (int) image.dim(1);
        int width = (int) image.dim(2);
        if ((request.height() != null && request.height() != height)
                || (request.width() != null && request.width() != width)) {
            throw new InvalidRequestException(
                    "image",
                    "the image is " + width + "x" + height + " but the request asks for " + request.width() + "x"
                            + request.height() + "; resize the image to the output size");
        }
        checkSize(info, "height", height);
        checkSize(info, "width", width);
        int frames = request.numFrames() != null ? request.numFrames() : defaultFrames;
        int chunk = request.decodeChunkSize() != null ? request.decodeChunkSize() : frames;
        // diffusers decides guidance from max_guidance_scale before it builds the per-frame scales
        boolean guided = request.maxGuidanceScale() > 1.0;

        Tensor nchw = Tensors.nhwcToNchw(image);
        Tensor embeddings = encodeImage(nchw);
        // draw 1: noise augmentation of the conditioning image, then the posterior mean
        Tensor augmentation = noise.next(rows, 3, height, width);
        Tensor imageLatents = encodeVae(nchw, augmentation, request.noiseAugStrength());
        if (guided) {
            embeddings = Tensors.concatBatch(Tensor.zeros(embeddings.shape()), embeddings);
            imageLatents = Tensors.concatBatch(Tensor.zeros(imageLatents.shape()), imageLatents);
        }
        Tensor conditionFrames = VideoTensors.repeatFrames(imageLatents, frames);
        int n = (int) embeddings.dim(0);
        Tensor timeIds = addedTimeIds(request, n);

        Scheduler scheduler = scheduler(request);
        setSchedule(scheduler, request, DEFAULT_STEPS);
        // draw 2: the initial latents (B, F, C, h, w)
        Tensor latents = noise.next(rows, frames, latentChannels, height / vaeFactor, width / vaeFactor);
        latents = Tensors.scale(latents, scheduler.initNoiseSigma());
        float[] frameGuidance =
                linspace((float) request.minGuidanceScale(), (float) request.maxGuidanceScale(), frames);
        Tensor embeds = embeddings;
        Tensor result = denoise(
                scheduler,
                latents,
                (x, t) -> {
                    Tensor input = VideoTensors.concatAxis2(guided ? Tensors.concatBatch(x, x) : x, conditionFrames);
                    Map<String, Tensor> feeds = new HashMap<>();
                    feeds.put("sample", input);
                    feeds.put("timestep", timestepTensor(t, n));
                    feeds.put("encoder_hidden_states", embeds);
                    feeds.put("added_time_ids", timeIds);
                    Tensor out = unet.run1(feeds, unetOutput);
                    return guided ? guidePerFrame(out, frameGuidance) : out;
                },
                noise,
                listener);

        long[] s = result.shape();
        Tensor pixels = frameDecoder.decode(result.reshape(s[0] * s[1], s[2], s[3], s[4]), chunk);
        return pixels.reshape(rows, frames, pixels.dim(1), pixels.dim(2), pixels.dim(3));
    }

    /**
     * {@code _encode_image}: images {@code (B, 3, H, W)} in [0, 1] to CLIP image embeddings {@code (B, 1, D)}. The
     * resize runs on {@code 2x - 1} and maps back, as diffusers does for PIL input.
     */
    public Tensor encodeImage(Tensor nchw01) {
        Tensor x = nchw01;
        if (x.dim(2) != encoderHeight || x.dim(3) != encoderWidth) {
            float[] signed = x.data().clone();
            for (int i = 0; i < signed.length; i++) {
                signed[i] = signed[i] * 2f - 1f;
            }
            Tensor resized = AntialiasResize.resize(new Tensor(x.shape(), signed), encoderHeight, encoderWidth);
            float[] back = resized.data();
            for (int i = 0; i < back.length; i++) {
                back[i] = (back[i] + 1f) / 2f;
            }
            x = resized;
        }
        Tensor pixels = x.copy();
        ImageProcessor.normalize(pixels, clipMean, clipStd);
        Tensor embeds = imageEncoder.run1(Map.of(imageEncoder.inputOr("pixel_values"), pixels), embedsOutput);
        return embeds.reshape(embeds.dim(0), 1, embeds.rowSize());
    }

    /** {@code _encode_vae_image}: the posterior mode of {@code 2x - 1 + strength * noise}, {@code (B, c, h, w)}. */
    public Tensor encodeVae(Tensor nchw01, Tensor noise, double strength) {
        float[] x = nchw01.data();
        float[] e = noise.data();
        float[] in = new float[x.length];
        float s = (float) strength;
        for (int i = 0; i < x.length; i++) {
            in[i] = (2f * x[i] - 1f) + s * e[i];
        }
        Tensor parameters =
                vaeEncoder.run1(Map.of(vaeEncoder.inputOr("sample"), new Tensor(nchw01.shape(), in)), parametersOutput);
        long[] shape = parameters.shape();
        int half = parameters.rowSize() / 2;
        shape[1] /= 2;
        float[] p = parameters.data();
        float[] mean = new float[(int) shape[0] * half];
        for (int r = 0; r < shape[0]; r++) {
            System.arraycopy(p, r * 2 * half, mean, r * half, half);
        }
        return new Tensor(shape, mean);
    }

    private static Tensor addedTimeIds(VideoRequest request, int n) {
        // SVD was micro-conditioned on fps - 1
        float[] row = {request.fps() - 1, request.motionBucketId(), (float) request.noiseAugStrength()};
        float[] ids = new float[n * 3];
        for (int r = 0; r < n; r++) {
            System.arraycopy(row, 0, ids, r * 3, 3);
        }
        return new Tensor(new long[] {n, 3}, ids);
    }

    private Scheduler scheduler(VideoRequest request) {
        Scheduler s = schedulerFor(request);
        if (request.scheduler() != null
                && s.getClass() != EulerDiscreteScheduler.class
                && "continuous".equals(schedulerConfig.getString("timestep_type", "discrete"))) {
            throw new InvalidRequestException(
                    "scheduler",
                    model.name() + ": the UNet is conditioned on continuous (EDM) timesteps; "
                            + "only EulerDiscreteScheduler provides them, not '" + request.scheduler() + "'");
        }
        return s;
    }

    /** {@code torch.linspace(min, max, n)} in float32 (first half from the start, second half from the end). */
    static float[] linspace(float start, float end, int n) {
        float[] out = new float[n];
        if (n == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (n - 1);
        for (int i = 0; i < n; i++) {
            out[i] = i < n / 2 ? start + step * i : end - step * (n - 1 - i);
        }
        return out;
    }

    /** {@code uncond + g_f * (cond - uncond)} on a [uncond; cond] batch {@code (2B, F, C, h, w)}, g per frame. */
    private static Tensor guidePerFrame(Tensor both, float[] scales) {
        long[] s = both.shape();
        int half = (int) s[0] / 2;
        int frames = (int) s[1];
        int frameSize = (int) (both.size() / (s[0] * frames));
        float[] d = both.data();
        int rowSize = frames * frameSize;
        float[] out = new float[half * rowSize];
        for (int b = 0; b < half; b++) {
            for (int f = 0; f < frames; f++) {
                float g = scales[f];
                int o = b * rowSize + f * frameSize;
                int c = (half + b) * rowSize + f * frameSize;
                for (int i = 0; i < frameSize; i++) {
                    float u = d[o + i];
                    out[o + i] = u + g * (d[c + i] - u);
                }
            }
        }
        s[0] = half;
        return new Tensor(s, out);
    }

    @Override
    public ModelInfo info() {
        return info;
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The text-to-image flow shared by Stable Diffusion and SDXL: encode the prompts (subclass), draw the initial
 * latents scaled by {@code init_noise_sigma}, run the loop with classifier-free guidance when
 * {@code guidance_scale > 1}, decode with the VAE. {@link #begin} and {@link #predict} are also the prompt and UNet
 * half of the {@link ImageToImage} and {@link Inpainting} flows.
 */
public abstract class TextToImagePipeline extends DiffusionPipeline {
    private static final String TIMESTEP_COND = "timestep_cond";

    protected final OnnxModel unet;
    protected final LatentDecoder decoder;
    private final ModelInfo info;
    private final boolean guidanceEmbedded;
    /** Width of the UNet's {@code timestep_cond} input (LCM-distilled UNets); 0 when it has none. */
    private final int guidanceEmbeddingDim;

    private final String unetOutput;

    protected TextToImagePipeline(ModelFolder model) {
        super(model);
        this.unet = model.session("unet");
        this.decoder = new LatentDecoder(model);
        this.info = ModelInfo.of(model);
        JsonConfig unetConfig = model.componentConfig("unet");
        // LCM-distilled UNets take the guidance as an embedding (time_cond_proj_dim, fed as timestep_cond) instead
        // of a second pass; diffusers skips classifier-free guidance for them
        this.guidanceEmbeddingDim = unet.hasInput(TIMESTEP_COND) ? guidanceEmbeddingDim(unetConfig) : 0;
        this.guidanceEmbedded = unetConfig.has("time_cond_proj_dim") || guidanceEmbeddingDim > 0;
        this.unetOutput = unet.outputOr("out_sample");
    }

    /**
     * Encodes the batch's prompts. With {@code guided}, also the negative prompts (a null entry: no negative prompt).
     */
    public abstract Conditioning encodePrompt(
            List<String> prompts, List<String> negativePrompts, boolean guided, int height, int width);

    /** {@code time_cond_proj_dim} from unet/config.json, else the width the session declares for timestep_cond. */
    private int guidanceEmbeddingDim(JsonConfig unetConfig) {
        if (unetConfig.has("time_cond_proj_dim")) {
            return unetConfig.getInt("time_cond_proj_dim", 0);
        }
        long[] shape = unet.inputShape(TIMESTEP_COND);
        if (shape.length != 2 || shape[1] <= 0) {
            throw new ModelLoadException(
                    model.root() + ": the UNet takes timestep_cond " + java.util.Arrays.toString(shape)
                            + " but unet/config.json has no time_cond_proj_dim to say its width");
        }
        return (int) shape[1];
    }

    /** The UNet's {@code in_channels}: from unet/config.json, else the session's declared {@code sample} shape. */
    protected int unetInChannels() {
        JsonConfig config = model.componentConfig("unet");
        if (config.has("in_channels")) {
            return config.getInt("in_channels", 4);
        }
        long[] shape = unet.inputShape(unet.inputOr("sample"));
        if (shape.length != 4 || shape[1] <= 0) {
            throw new ModelLoadException(model.root() + ": cannot tell the UNet's input channels (no in_channels in"
                    + " unet/config.json, sample input " + java.util.Arrays.toString(shape) + ")");
        }
        return (int) shape[1];
    }

    /** diffusers: guidance runs when {@code guidance_scale > 1} and the UNet does not embed guidance itself. */
    public boolean usesGuidance(double guidanceScale) {
        return guidanceScale > 1.0 && !guidanceEmbedded;
    }

    @Override
    public Tensor generate(GenerationRequest request, NoiseSource noise, StepListener listener) {
        Call call = begin(request);
        Scheduler scheduler = schedulerFor(request);
        scheduler.setTimesteps(request.steps());
        int f = decoder.scaleFactor();
        Tensor latents = noise.next(call.rows(), decoder.latentChannels(), call.height() / f, call.width() / f);
        latents = Tensors.scale(latents, scheduler.initNoiseSigma());
        Tensor result = denoise(scheduler, latents, (x, t) -> predict(call, x, t, null), noise, listener);
        return decoder.decode(result);
    }

    /** The prompt conditioning of a request, encoded as {@link #generate} encodes it (parity checks compare it). */
    public Conditioning encodePrompt(GenerationRequest request) {
        return begin(request).cond();
    }

    /** What a call fixes before the loop: rows, size, whether it is guided, and the prompt conditioning. */
    protected record Call(
            int rows,
            int height,
            int width,
            boolean guided,
            double guidanceScale,
            Conditioning cond,
            Tensor guidanceEmbedding) {}

    /**
     * Checks the prompts and size and encodes the prompts. The size is the request's, else the init image's
     * (img2img, inpainting: the image must then have the requested size), else the model's default.
     */
    protected Call begin(GenerationRequest request) {
        if (request.prompts() == null) {
            throw new IllegalArgumentException(model.name() + " is a text-to-image model: every row needs a prompt");
        }
        int[] size = size(request);
        int height = size[0];
        int width = size[1];
        checkSize(info, "height", height);
        checkSize(info, "width", width);
        int rows = request.rows();
        boolean guided = usesGuidance(request.guidanceScale());
        List<String> negatives =
                request.negativePrompts() != null ? request.negativePrompts() : Collections.nCopies(rows, null);
        Conditioning cond = encodePrompt(request.prompts(), negatives, guided, height, width);
        Tensor guidanceEmbedding = guidanceEmbeddingDim > 0
                ? GuidanceEmbedding.of(request.guidanceScale(), guidanceEmbeddingDim, rows)
                : null;
        return new Call(rows, height, width, guided, request.guidanceScale(), cond, guidanceEmbedding);
    }

    private int[] size(GenerationRequest request) {
        Tensor image = request.image();
        if (image == null) {
            return new int[] {
                request.height() != null ? request.height() : info.defaultSize()[0],
                request.width() != null ? request.width() : info.defaultSize()[1]
            };
        }
        int h = (int) image.dim(1);
        int w = (int) image.dim(2);
        if ((request.height() != null && request.height() != h) || (request.width() != null && request.width() != w)) {
            throw new IllegalArgumentException("the init image is " + w + "x" + h + " but the request asks for "
                    + request.width() + "x" + request.height() + "; resize the image to the output size");
        }
        return new int[] {h, w};
    }

    /**
     * The UNet's noise prediction for the scaled latents {@code x} at {@code t}, with classifier-free guidance when
     * the call is guided. {@code extraChannels} (9-channel inpainting: mask and masked-image latents, already
     * doubled for guidance), when not null, is appended on the channel axis after the scaled latents.
     */
    protected Tensor predict(Call call, Tensor x, double t, Tensor extraChannels) {
        Tensor input = call.guided() ? Tensors.concatBatch(x, x) : x;
        if (extraChannels != null) {
            input = Tensors.concatChannels(input, extraChannels);
        }
        Map<String, Tensor> feeds = new HashMap<>(call.cond().feeds());
        feeds.put("sample", input);
        feeds.put("timestep", timestepTensor(t, (int) input.dim(0)));
        if (call.guidanceEmbedding() != null) {
            feeds.put(TIMESTEP_COND, call.guidanceEmbedding());
        }
        Tensor out = unet.run1(feeds, unetOutput);
        return call.guided() ? guide(out, call.guidanceScale()) : out;
    }

    @Override
    public int imageChannels() {
        return decoder.outChannels();
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public boolean takesPrompt() {
        return true;
    }
}

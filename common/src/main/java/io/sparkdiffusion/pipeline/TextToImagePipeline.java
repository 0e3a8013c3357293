package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.JsonConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The text-to-image flow shared by Stable Diffusion and SDXL: encode the prompts (subclass), draw the initial
 * latents scaled by {@code init_noise_sigma}, run the loop with classifier-free guidance when
 * {@code guidance_scale > 1}, decode with the VAE.
 */
public abstract class TextToImagePipeline extends DiffusionPipeline {
    protected final OnnxModel unet;
    protected final LatentDecoder decoder;
    private final ModelInfo info;
    private final boolean guidanceEmbedded;

    protected TextToImagePipeline(ModelFolder model) {
        super(model);
        this.unet = model.session("unet");
        this.decoder = new LatentDecoder(model);
        this.info = ModelInfo.of(model);
        JsonConfig unetConfig = model.componentConfig("unet");
        // LCM-distilled UNets take the guidance as an embedding (time_cond_proj_dim) instead of a second pass
        this.guidanceEmbedded = unetConfig.has("time_cond_proj_dim");
    }

    /**
     * Encodes the batch's prompts. With {@code guided}, also the negative prompts (a null entry: no negative prompt).
     */
    public abstract Conditioning encodePrompt(List<String> prompts, List<String> negativePrompts, boolean guided,
                                              int height, int width);

    /** diffusers: guidance runs when {@code guidance_scale > 1} and the UNet does not embed guidance itself. */
    public boolean usesGuidance(double guidanceScale) {
        return guidanceScale > 1.0 && !guidanceEmbedded;
    }

    @Override
    public Tensor generate(GenerationRequest request, NoiseSource noise, StepListener listener) {
        if (request.prompts() == null) {
            throw new IllegalArgumentException(model.name() + " is a text-to-image model: every row needs a prompt");
        }
        int height = request.height() != null ? request.height() : info.defaultSize()[0];
        int width = request.width() != null ? request.width() : info.defaultSize()[1];
        checkSize(info, "height", height);
        checkSize(info, "width", width);
        int rows = request.rows();
        boolean guided = usesGuidance(request.guidanceScale());
        List<String> negatives = request.negativePrompts() != null ? request.negativePrompts() : nulls(rows);
        Conditioning cond = encodePrompt(request.prompts(), negatives, guided, height, width);

        Scheduler scheduler = schedulerFor(request);
        scheduler.setTimesteps(request.steps());
        int f = decoder.scaleFactor();
        Tensor latents = noise.next(rows, decoder.latentChannels(), height / f, width / f);
        latents = Tensors.scale(latents, scheduler.initNoiseSigma());
        String outputName = unet.outputOr("out_sample");
        Tensor result = denoise(scheduler, latents, (x, t) -> {
            Tensor input = guided ? Tensors.concatBatch(x, x) : x;
            Map<String, Tensor> feeds = new HashMap<>(cond.feeds());
            feeds.put("sample", input);
            feeds.put("timestep", timestepTensor(t, (int) input.dim(0)));
            Tensor out = unet.run1(feeds, outputName);
            return guided ? guide(out, request.guidanceScale()) : out;
        }, noise, listener);
        return decoder.decode(result);
    }

    private static List<String> nulls(int n) {
        List<String> l = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            l.add(null);
        }
        return l;
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

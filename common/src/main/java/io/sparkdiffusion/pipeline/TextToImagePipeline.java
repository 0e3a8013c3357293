package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
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
    private final int[] defaultSize;
    private final boolean guidanceEmbedded;
    private final int sizeMultiple;

    protected TextToImagePipeline(ModelFolder model) {
        super(model);
        this.unet = model.session("unet");
        this.decoder = new LatentDecoder(model);
        JsonConfig unetConfig = model.componentConfig("unet");
        int[] latentSize = UnconditionalPipeline.sampleSize(unetConfig, unet.inputShape("sample"));
        this.defaultSize = new int[] {latentSize[0] * decoder.scaleFactor(), latentSize[1] * decoder.scaleFactor()};
        // LCM-distilled UNets take the guidance as an embedding (time_cond_proj_dim) instead of a second pass
        this.guidanceEmbedded = unetConfig.has("time_cond_proj_dim");
        // the UNet halves the latent once per down block but the last: an export only takes sizes that survive
        // those halvings (diffusers' eager UNet interpolates, a traced graph fails in a Concat)
        double[] blocks = unetConfig.getDoubleArray("block_out_channels");
        int unetFactor = blocks == null ? 1 : 1 << (blocks.length - 1);
        this.sizeMultiple = decoder.scaleFactor() * unetFactor;
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
        int height = request.height() != null ? request.height() : defaultSize[0];
        int width = request.width() != null ? request.width() : defaultSize[1];
        checkSize("height", height);
        checkSize("width", width);
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

    private void checkSize(String what, int pixels) {
        if (pixels <= 0 || pixels % sizeMultiple != 0) {
            throw new IllegalArgumentException(what + " " + pixels + " must be a positive multiple of " + sizeMultiple
                    + " for " + model.name() + " (VAE factor " + decoder.scaleFactor() + " times the UNet's downsampling)");
        }
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
    public int[] defaultSize() {
        return defaultSize.clone();
    }

    @Override
    public int sizeMultiple() {
        return sizeMultiple;
    }

    @Override
    public boolean takesPrompt() {
        return true;
    }
}

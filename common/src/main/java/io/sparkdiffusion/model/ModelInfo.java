package io.sparkdiffusion.model;

import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a model folder's configs say about the pictures it makes, read without opening any ONNX session (a Spark
 * driver validates rows with it): the pipeline class, whether it takes prompts, the default size and the size
 * multiple. Sizes must be positive multiples of the VAE factor ({@code 2^(len(vae.block_out_channels)-1)}, 1 for
 * pixel-space models) times the UNet's downsampling ({@code 2^(len(unet.block_out_channels)-1)}): diffusers' eager
 * UNet interpolates other sizes, a traced ONNX graph fails inside a {@code Concat}.
 */
public final class ModelInfo {
    private final String pipelineClass;
    private final PipelineFamily family;
    private final boolean takesPrompt;
    private final int vaeFactor;
    private final int sizeMultiple;
    private final int[] defaultSize;
    private final int imageChannels;
    private final String schedulerClass;

    private ModelInfo(ModelFolder folder) {
        this.pipelineClass = folder.pipelineClass();
        this.family = PipelineFamily.ofFolder(folder.root(), pipelineClass);
        this.takesPrompt = family.inputs(Task.TEXT_TO_IMAGE).prompt(); // the same for every task of a family
        // unconditional UNet2DModels denoise pixels; every other family denoises VAE latents
        boolean pixelSpace = family == PipelineFamily.UNCONDITIONAL;
        JsonConfig unet = folder.componentConfig("unet");
        JsonConfig vae = folder.componentConfig("vae_decoder");
        this.vaeFactor = pixelSpace ? 1 : powerOfTwoOfBlocks(vae, 8);
        this.sizeMultiple = vaeFactor * powerOfTwoOfBlocks(unet, 1);
        int[] latent = sampleSize(unet);
        this.defaultSize = new int[] {latent[0] * vaeFactor, latent[1] * vaeFactor};
        this.imageChannels =
                pixelSpace ? unet.getInt("out_channels", unet.getInt("in_channels", 3)) : vae.getInt("out_channels", 3);
        this.schedulerClass = schedulerClass(folder);
    }

    public static ModelInfo of(ModelFolder folder) {
        // a Kandinsky 2.2 decoder folder has a MoVQ instead of vae_decoder/ (see KandinskyFolders)
        return KandinskyFolders.isDecoder(folder)
                ? KandinskyFolders.decoderInfo(folder, folder.pipelineClass())
                : new ModelInfo(folder);
    }

    /** Explicit values, for layouts other than one model folder (see {@link KandinskyFolders#info}). */
    ModelInfo(
            String pipelineClass,
            PipelineFamily family,
            boolean takesPrompt,
            int vaeFactor,
            int sizeMultiple,
            int[] defaultSize,
            int imageChannels,
            String schedulerClass) {
        this.pipelineClass = pipelineClass;
        this.family = family;
        this.takesPrompt = takesPrompt;
        this.vaeFactor = vaeFactor;
        this.sizeMultiple = sizeMultiple;
        this.defaultSize = defaultSize.clone();
        this.imageChannels = imageChannels;
        this.schedulerClass = schedulerClass;
    }

    /**
     * {@code scheduler/scheduler_config.json}'s {@code _class_name} (DDIM when it names none, diffusers' default); null
     * when the folder has no scheduler config (the pipeline will not open; validation reports it).
     */
    static String schedulerClass(ModelFolder folder) {
        if (!Files.isRegularFile(folder.componentDir("scheduler").resolve("scheduler_config.json"))) {
            return null;
        }
        return folder.schedulerConfig().getString("_class_name", "DDIMScheduler");
    }

    /**
     * The info of the model at {@code root}, from configs only: a model folder ({@link #of(ModelFolder)}), or a
     * Kandinsky 2.2 root holding {@code prior/} and {@code decoder/} ({@link KandinskyFolders#info}).
     */
    public static ModelInfo of(Path root) {
        if (KandinskyFolders.isLayout(root)) {
            return KandinskyFolders.info(root);
        }
        try (ModelFolder folder = new ModelFolder(root, RuntimeOptions.DEFAULT)) {
            return of(folder);
        }
    }

    private static int powerOfTwoOfBlocks(JsonConfig c, int dflt) {
        double[] blocks = c.getDoubleArray("block_out_channels");
        return blocks == null ? dflt : 1 << (blocks.length - 1);
    }

    /** {@code sample_size} of a UNet config: an int or [h, w]; 64 when absent (diffusers' default). */
    private static int[] sampleSize(JsonConfig c) {
        if (c.node().path("sample_size").isNumber()) {
            int s = c.getInt("sample_size", 64);
            return new int[] {s, s};
        }
        double[] arr = c.getDoubleArray("sample_size");
        if (arr != null && arr.length == 2) {
            return new int[] {(int) arr[0], (int) arr[1]};
        }
        return new int[] {64, 64};
    }

    public String pipelineClass() {
        return pipelineClass;
    }

    /** The family in the pipeline registry. */
    public PipelineFamily family() {
        return family;
    }

    /** Whether the model is conditioned on text (false: unconditional). */
    public boolean takesPrompt() {
        return takesPrompt;
    }

    /** Pixels per latent cell (1 for pixel-space models). */
    public int vaeFactor() {
        return vaeFactor;
    }

    public int sizeMultiple() {
        return sizeMultiple;
    }

    /** Default {height, width} in pixels. */
    public int[] defaultSize() {
        return defaultSize.clone();
    }

    public int imageChannels() {
        return imageChannels;
    }

    /** The class of the model's own scheduler (the decoder's for Kandinsky 2.2); null when it has no config. */
    public String schedulerClass() {
        return schedulerClass;
    }

    /** Null when {@code pixels} is a valid height or width, else the reason. */
    public String checkSize(String what, int pixels) {
        if (pixels <= 0 || pixels % sizeMultiple != 0) {
            return what + " " + pixels + " must be a positive multiple of " + sizeMultiple + " (VAE factor " + vaeFactor
                    + " times the UNet's downsampling)";
        }
        return null;
    }
}

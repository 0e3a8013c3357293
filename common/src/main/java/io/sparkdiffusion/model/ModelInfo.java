package io.sparkdiffusion.model;

import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;
import java.util.List;

/**
 * What a model folder's configs say about the pictures it makes, read without opening any ONNX session (a Spark
 * driver validates rows with it): the pipeline class, whether it takes prompts, the default size and the size
 * multiple. Sizes must be positive multiples of the VAE factor ({@code 2^(len(vae.block_out_channels)-1)}, 1 for
 * pixel-space models) times the UNet's downsampling ({@code 2^(len(unet.block_out_channels)-1)}): diffusers' eager
 * UNet interpolates other sizes, a traced ONNX graph fails inside a {@code Concat}.
 */
public final class ModelInfo {
    /** Pipeline classes of unconditional (prompt-free) models. */
    public static final List<String> UNCONDITIONAL = List.of("DDPMPipeline", "DDIMPipeline");

    private final String pipelineClass;
    private final boolean takesPrompt;
    private final int vaeFactor;
    private final int sizeMultiple;
    private final int[] defaultSize;
    private final int imageChannels;

    private ModelInfo(ModelFolder folder) {
        this.pipelineClass = folder.pipelineClass();
        this.takesPrompt = !UNCONDITIONAL.contains(pipelineClass);
        JsonConfig unet = folder.componentConfig("unet");
        JsonConfig vae = folder.componentConfig("vae_decoder");
        this.vaeFactor = takesPrompt ? powerOfTwoOfBlocks(vae, 8) : 1;
        this.sizeMultiple = vaeFactor * powerOfTwoOfBlocks(unet, 1);
        int[] latent = sampleSize(unet);
        this.defaultSize = new int[] {latent[0] * vaeFactor, latent[1] * vaeFactor};
        this.imageChannels = takesPrompt
                ? vae.getInt("out_channels", 3)
                : unet.getInt("out_channels", unet.getInt("in_channels", 3));
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
            boolean takesPrompt,
            int vaeFactor,
            int sizeMultiple,
            int[] defaultSize,
            int imageChannels) {
        this.pipelineClass = pipelineClass;
        this.takesPrompt = takesPrompt;
        this.vaeFactor = vaeFactor;
        this.sizeMultiple = sizeMultiple;
        this.defaultSize = defaultSize.clone();
        this.imageChannels = imageChannels;
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

    /** Null when {@code pixels} is a valid height or width, else the reason. */
    public String checkSize(String what, int pixels) {
        if (pixels <= 0 || pixels % sizeMultiple != 0) {
            return what + " " + pixels + " must be a positive multiple of " + sizeMultiple + " (VAE factor " + vaeFactor
                    + " times the UNet's downsampling)";
        }
        return null;
    }
}

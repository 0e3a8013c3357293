package io.sparkdiffusion.model;

import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The Kandinsky 2.2 model layout: a root holding {@code prior/} (a {@code KandinskyV22PriorPipeline} folder) and
 * {@code decoder/} (a {@code KandinskyV22Img2ImgPipeline} or {@code KandinskyV22Pipeline} folder), each a model
 * folder of its own with {@code model_index.json}; the root has none. Each half opens as a {@link ModelFolder}.
 *
 * <p>{@link #info} describes the pictures from the decoder's configs without opening sessions: the MoVQ factor
 * {@code 2^(len(movq.block_out_channels) - 1)} (from {@code movq_decoder/config.json}, else {@code movq/config.json}
 * as diffusers saves it), the UNet's downsampling, and a default size of the UNet's {@code sample_size} times the
 * MoVQ factor, or 512 (diffusers' call default) when the UNet config has none. {@link ModelInfo#of(ModelFolder)}
 * gives the same for the {@code decoder/} folder alone, {@link ModelInfo#of(Path)} for the root.
 */
public final class KandinskyFolders {
    public static final String PRIOR = "prior";
    public static final String DECODER = "decoder";
    /** diffusers' default {@code height} and {@code width} of the Kandinsky 2.2 decoder pipelines. */
    static final int DEFAULT_SIZE = 512;

    private KandinskyFolders() {}

    /** True when {@code root} has no {@code model_index.json} but {@code prior/} and {@code decoder/} have one. */
    public static boolean isLayout(Path root) {
        return Files.isDirectory(root)
                && !Files.isRegularFile(root.resolve("model_index.json"))
                && Files.isRegularFile(root.resolve(PRIOR).resolve("model_index.json"))
                && Files.isRegularFile(root.resolve(DECODER).resolve("model_index.json"));
    }

    /** The MoVQ config of a decoder folder: {@code movq_decoder/config.json} when it has one, else {@code movq/}. */
    public static JsonConfig movqConfig(ModelFolder decoder) {
        JsonConfig exported = decoder.componentConfig("movq_decoder");
        return exported.has("block_out_channels") ? exported : decoder.componentConfig("movq");
    }

    /** Geometry of the model at a Kandinsky 2.2 root, from configs only (the decoder's, see {@link #decoderInfo}). */
    public static ModelInfo info(Path root) {
        if (!isLayout(root)) {
            throw new IllegalArgumentException(root + " is not a Kandinsky 2.2 root (prior/ and decoder/ with "
                    + "model_index.json each, none at the root)");
        }
        try (ModelFolder prior = new ModelFolder(root.resolve(PRIOR), RuntimeOptions.DEFAULT);
                ModelFolder decoder = new ModelFolder(root.resolve(DECODER), RuntimeOptions.DEFAULT)) {
            return decoderInfo(decoder, prior.pipelineClass() + " + " + decoder.pipelineClass());
        }
    }

    /** True for a Kandinsky 2.2 decoder folder ({@code KandinskyV22...Pipeline}, not the prior). */
    static boolean isDecoder(ModelFolder folder) {
        String c = folder.modelIndex().getString("_class_name", "");
        return c.startsWith("KandinskyV22") && !c.contains("Prior");
    }

    /** Geometry of a Kandinsky 2.2 decoder folder: MoVQ factor, UNet downsampling, default size, channels. */
    static ModelInfo decoderInfo(ModelFolder decoder, String pipelineClass) {
        JsonConfig movq = movqConfig(decoder);
        JsonConfig unet = decoder.componentConfig("unet");
        int movqFactor = powerOfTwoOfBlocks(movq, 8);
        int unetFactor = powerOfTwoOfBlocks(unet, 1);
        int[] size = {DEFAULT_SIZE, DEFAULT_SIZE};
        if (unet.node().path("sample_size").isNumber()) {
            int s = unet.getInt("sample_size", 64) * movqFactor;
            size = new int[] {s, s};
        } else {
            double[] pair = unet.getDoubleArray("sample_size");
            if (pair != null && pair.length == 2) {
                size = new int[] {((int) pair[0]) * movqFactor, ((int) pair[1]) * movqFactor};
            }
        }
        return new ModelInfo(
                pipelineClass,
                PipelineFamily.KANDINSKY_22,
                true,
                movqFactor,
                movqFactor * unetFactor,
                size,
                movq.getInt("out_channels", 3),
                ModelInfo.schedulerClass(decoder));
    }

    private static int powerOfTwoOfBlocks(JsonConfig c, int dflt) {
        double[] blocks = c.getDoubleArray("block_out_channels");
        return blocks == null ? dflt : 1 << (blocks.length - 1);
    }
}

package io.sparkdiffusion.image;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A transformers image processor ({@code preprocessor_config.json}: {@code CLIPImageProcessor} and the other
 * resize / center-crop / rescale / normalize processors) applied to generated pictures the way diffusers and
 * torchmetrics hand them over: as 8-bit PIL pictures ({@code numpy_to_pil}: {@code round(x * 255)}). The steps are
 * those of transformers' {@code BaseImageProcessor} on PIL input (the PIL backend, {@code CLIPImageProcessorPil}):
 *
 * <ol>
 *   <li>{@code do_convert_rgb}: a grayscale picture gets its value in R, G and B;
 *   <li>{@code do_resize}: {@code size.shortest_edge} scales the shorter side to it and the longer to
 *       {@code int(shortest_edge * long / short)} ({@code get_resize_output_image_size}), or
 *       {@code size.height/width}; Pillow's 8-bit {@code Image.resize} with {@code resample} ({@link Resize});
 *   <li>{@code do_center_crop}: {@code crop_size}, top-left at {@code ((H - h) // 2, (W - w) // 2)}, zero padding
 *       where the picture is smaller ({@code image_transforms.center_crop});
 *   <li>{@code do_rescale}: {@code float32(value * rescale_factor)};
 *   <li>{@code do_normalize}: {@code (x - image_mean[c]) / image_std[c]} in float32.
 * </ol>
 *
 * Keys a config leaves out take {@code CLIPImageProcessor}'s defaults (shortest edge 224, bicubic, crop 224, 1/255,
 * OpenAI CLIP mean and std, RGB conversion). transformers 5 with torchvision installed uses a torchvision backend
 * instead, whose bicubic resize may differ from Pillow's by one 8-bit level on some pixels; the PIL backend is the
 * one transformers 4 always used and transformers 5 uses without torchvision. Immutable.
 */
public final class ImageProcessor {
    /** OpenAI CLIP's normalisation ({@code OPENAI_CLIP_MEAN}, {@code OPENAI_CLIP_STD} in transformers). */
    private static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};

    private static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};

    private static final int CLIP_SIZE = 224;

    private final boolean convertRgb;
    private final boolean resize;
    private final int shortestEdge;
    private final int height;
    private final int width;
    private final Resize.Filter resample;
    private final boolean centerCrop;
    private final int cropHeight;
    private final int cropWidth;
    private final boolean rescale;
    private final double rescaleFactor;
    private final boolean normalize;
    private final float[] mean;
    private final float[] std;

    private ImageProcessor(JsonConfig cfg) {
        this.convertRgb = cfg.getBoolean("do_convert_rgb", true);
        this.resize = cfg.getBoolean("do_resize", true);
        JsonConfig size = sizeOf(cfg, "size", "shortest_edge", CLIP_SIZE);
        this.shortestEdge = size.getInt("shortest_edge", 0);
        this.height = size.getInt("height", 0);
        this.width = size.getInt("width", 0);
        if (resize && shortestEdge <= 0 && (height <= 0 || width <= 0)) {
            throw new ModelLoadException(cfg.source() + ": 'size' needs shortest_edge or height and width, got "
                    + cfg.node().get("size"));
        }
        this.resample = Resize.Filter.fromPil(cfg.getInt("resample", Resize.Filter.BICUBIC.pilCode()));
        this.centerCrop = cfg.getBoolean("do_center_crop", true);
        JsonConfig crop = sizeOf(cfg, "crop_size", "height", CLIP_SIZE);
        this.cropHeight = crop.getInt("height", CLIP_SIZE);
        this.cropWidth = crop.getInt("width", cropHeight);
        this.rescale = cfg.getBoolean("do_rescale", true);
        this.rescaleFactor = cfg.getDouble("rescale_factor", 1 / 255.0);
        this.normalize = cfg.getBoolean("do_normalize", true);
        this.mean = floats(cfg, "image_mean", CLIP_MEAN);
        this.std = floats(cfg, "image_std", CLIP_STD);
    }

    /** Reads a {@code preprocessor_config.json}. */
    public static ImageProcessor read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("missing image processor config " + file);
        }
        return of(JsonConfig.read(file));
    }

    public static ImageProcessor of(JsonConfig config) {
        try {
            return new ImageProcessor(config);
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(config.source() + ": " + e.getMessage(), e);
        }
    }

    /**
     * A size entry: an object, or a bare number meaning {@code {key: n}} (older configs write {@code "size": 224},
     * {@code "crop_size": 224}, a square for the crop).
     */
    private static JsonConfig sizeOf(JsonConfig cfg, String key, String numberKey, int dflt) {
        var node = cfg.node().get(key);
        if (node != null && node.isNumber()) {
            JsonConfig square = JsonConfig.empty(cfg.source() + "#" + key).with(numberKey, node.asInt());
            return numberKey.equals("height") ? square.with("width", node.asInt()) : square;
        }
        JsonConfig obj = cfg.getObject(key);
        return obj != null ? obj : JsonConfig.empty(cfg.source() + "#" + key).with(numberKey, dflt);
    }

    private static float[] floats(JsonConfig cfg, String key, double[] dflt) {
        double[] v = cfg.getDoubleArray(key);
        double[] d = v != null ? v : dflt;
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /** The mean per channel ({@code image_mean}). */
    public float[] mean() {
        return mean.clone();
    }

    /** The standard deviation per channel ({@code image_std}). */
    public float[] std() {
        return std.clone();
    }

    /** The (height, width) this processor gives an {@code h x w} picture. */
    public int[] outputSize(int h, int w) {
        if (centerCrop) {
            return new int[] {cropHeight, cropWidth};
        }
        return resize ? resizedSize(h, w) : new int[] {h, w};
    }

    private int[] resizedSize(int h, int w) {
        if (shortestEdge <= 0) {
            return new int[] {height, width};
        }
        int shortSide = Math.min(h, w);
        int longSide = Math.max(h, w);
        // Python's int(size * long / short): a float64 quotient, truncated
        int longNew = (int) ((double) shortestEdge * longSide / shortSide);
        return w <= h ? new int[] {longNew, shortestEdge} : new int[] {shortestEdge, longNew};
    }

    /**
     * {@code pixel_values} {@code (B, C, h, w)} of pictures {@code (B, H, W, channels)} in [0, 1];
     * {@code C = channels}, or 3 for grayscale pictures when the config converts to RGB.
     */
    public Tensor apply(Tensor nhwc) {
        long[] s = nhwc.shape();
        if (s.length != 4 || (s[3] != 1 && s[3] != 3)) {
            throw new IllegalArgumentException(
                    "pictures must be (B, H, W, 1 or 3) in [0, 1], got " + Arrays.toString(s));
        }
        int batch = (int) s[0];
        int h = (int) s[1];
        int w = (int) s[2];
        int inChannels = (int) s[3];
        int c = convertRgb ? 3 : inChannels;
        if (normalize && (mean.length != c || std.length != c)) {
            throw new IllegalArgumentException("image_mean / image_std have " + mean.length + " / " + std.length
                    + " values for pictures of " + c + " channels");
        }
        int[] out = outputSize(h, w);
        int plane = out[0] * out[1];
        float[] pixels = new float[batch * c * plane];
        float[] src = nhwc.data();
        for (int b = 0; b < batch; b++) {
            int[] img = new int[h * w * c];
            for (int p = 0; p < h * w; p++) {
                for (int ch = 0; ch < c; ch++) {
                    img[p * c + ch] = Images.to8bit(src[(b * h * w + p) * inChannels + (inChannels == 1 ? 0 : ch)]);
                }
            }
            int ih = h;
            int iw = w;
            if (resize) {
                int[] r = resizedSize(h, w);
                img = Resize.resample8bit(img, w, h, c, r[1], r[0], resample);
                ih = r[0];
                iw = r[1];
            }
            if (centerCrop) {
                img = centerCrop(img, ih, iw, c);
                ih = cropHeight;
                iw = cropWidth;
            }
            for (int y = 0; y < ih; y++) {
                for (int x = 0; x < iw; x++) {
                    for (int ch = 0; ch < c; ch++) {
                        float v = rescale
                                ? (float) (img[(y * iw + x) * c + ch] * rescaleFactor)
                                : img[(y * iw + x) * c + ch];
                        pixels[(b * c + ch) * plane + y * iw + x] = v;
                    }
                }
            }
        }
        Tensor result = new Tensor(new long[] {batch, c, out[0], out[1]}, pixels);
        if (normalize) {
            normalize(result, mean, std);
        }
        return result;
    }

    /** The picture cropped to the crop size around its centre, zero-padded where it is smaller. */
    private int[] centerCrop(int[] img, int h, int w, int c) {
        int top = Math.floorDiv(h - cropHeight, 2);
        int left = Math.floorDiv(w - cropWidth, 2);
        int[] out = new int[cropHeight * cropWidth * c];
        for (int y = 0; y < cropHeight; y++) {
            int sy = y + top;
            for (int x = 0; x < cropWidth; x++) {
                int sx = x + left;
                if (sy >= 0 && sy < h && sx >= 0 && sx < w) {
                    System.arraycopy(img, (sy * w + sx) * c, out, (y * cropWidth + x) * c, c);
                }
            }
        }
        return out;
    }

    /** {@code (x - mean[c]) / std[c]} in place on an {@code (N, C, H, W)} tensor, in float32 as numpy does. */
    public static void normalize(Tensor nchw, float[] mean, float[] std) {
        float[] d = nchw.data();
        int channels = (int) nchw.dim(1);
        int plane = (int) (nchw.dim(2) * nchw.dim(3));
        for (int i = 0; i < d.length; i++) {
            int c = (i / plane) % channels;
            d[i] = (d[i] - mean[c]) / std[c];
        }
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.util.InvalidRequestException;

/**
 * The rules a request's values must meet, each checked here and nowhere else: the engine's requests apply them when
 * built, and the job's row planning and the CLI call the same methods before a request exists, so a bad value is
 * refused with the same message everywhere. Each throws {@link InvalidRequestException} naming the field in diffusers'
 * call-argument spelling.
 */
public final class RequestRules {
    private RequestRules() {}

    /** {@code num_inference_steps}, {@code num_frames}, {@code width}, ...: a positive integer. */
    public static int positive(String field, int value) {
        if (value <= 0) {
            throw new InvalidRequestException(field, field + " must be positive, got " + value);
        }
        return value;
    }

    /** A guidance scale or other real parameter: finite (NaN and infinities are refused). */
    public static double finite(String field, double value) {
        if (!Double.isFinite(value)) {
            throw new InvalidRequestException(field, field + " must be a finite number, got " + value);
        }
        return value;
    }

    /** {@code strength}: how far to re-noise an init image, in (0, 1] as diffusers requires. */
    public static double strength(double value) {
        if (!(value > 0 && value <= 1)) {
            throw new InvalidRequestException("strength", "strength must be in (0, 1], got " + value);
        }
        return value;
    }

    /** {@code noise_aug_strength} (image-to-video): finite and not negative. */
    public static double noiseAugStrength(double value) {
        if (!(finite("noise_aug_strength", value) >= 0)) {
            throw new InvalidRequestException("noise_aug_strength", "noise_aug_strength must be >= 0, got " + value);
        }
        return value;
    }

    /** {@code fps} (image-to-video): at least 1, since the UNet is conditioned on {@code fps - 1}. */
    public static int fps(int value) {
        if (value < 1) {
            throw new InvalidRequestException(
                    "fps", "fps must be >= 1 (the UNet is conditioned on fps - 1), got " + value);
        }
        return value;
    }

    /**
     * An output of at most {@code maxPixels} pixels, refused before anything is allocated for it: the engine's memory
     * grows with the pixels, and sizes beyond int range would overflow.
     */
    public static void pixels(int width, int height, long maxPixels) {
        long pixels = (long) width * height;
        if (pixels > maxPixels) {
            throw new InvalidRequestException(
                    "width",
                    "width x height = " + width + "x" + height + " = " + pixels + " pixels is over the limit of "
                            + maxPixels + " (limits.max_pixels)");
        }
    }

    /** The Kandinsky 2.2 prior's {@code num_inference_steps}: at least 2 (its UnCLIP schedule needs two). */
    public static int priorSteps(int value) {
        if (value < 2) {
            throw new InvalidRequestException(
                    "prior_num_inference_steps", "the Kandinsky prior needs at least 2 steps, got " + value);
        }
        return value;
    }
}

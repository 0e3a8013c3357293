package io.sparkdiffusion.jobs;

import io.sparkdiffusion.pipeline.RequestRules;
import io.sparkdiffusion.scheduler.Schedulers;
import io.sparkdiffusion.util.InvalidRequestException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Turns one input row into the images it asks for, or into one rejection naming the field and the reason. Pure
 * Java (no Spark), so every rule is unit-tested directly.
 *
 * <ul>
 *   <li>{@code id}: required, unique. Ids made of {@code [A-Za-z0-9._-]} are the file name; other characters are
 *       replaced by {@code _} and an 8-hex-digit hash of the id is appended (so two ids never share a file). An id
 *       with {@code /}, {@code \} or {@code ..} would form a path and is rejected.</li>
 *   <li>{@code seed}: a long; absent, it is derived from the id: the first 8 bytes of SHA-256(id), big-endian,
 *       with the sign bit cleared.</li>
 *   <li>{@code num_images_per_prompt} n &gt; 1: ids {@code <id>-<k>} with seeds {@code seed + k}, k = 0..n-1.</li>
 *   <li>Grid mode (config {@code grid.seeds} / {@code grid.guidance_scales}): every row expands to prompt x seeds x
 *       guidance, ids {@code <id>-s<seed>-g<guidance>}.</li>
 * </ul>
 */
public final class RowRules implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9._-]+");

    /** Job-wide defaults and limits. */
    @SuppressWarnings("ArrayRecordComponent") // a value carrier read in place, never compared or hashed
    public record Defaults(
            int steps,
            double guidance,
            Integer width,
            Integer height,
            String scheduler,
            String negativePrompt,
            int maxSteps,
            int maxImagesPerPrompt,
            long[] gridSeeds,
            double[] gridGuidance,
            String prompt,
            Double strength,
            String mode,
            boolean archive,
            Integer numFrames,
            int fps,
            int motionBucketId,
            double noiseAugStrength,
            int maxFrames,
            long maxPixels)
            implements Serializable {
        /** Whether rows carry an init image (img2img, inpaint). */
        boolean takesImage() {
            return "img2img".equals(mode) || "inpaint".equals(mode);
        }
    }

    /** What the model imposes, read on the driver from its configs. */
    public record ModelRules(
            boolean takesPrompt,
            int sizeMultiple,
            int defaultHeight,
            int defaultWidth,
            String modelScheduler,
            boolean imageToVideo)
            implements Serializable {
        public ModelRules(
                boolean takesPrompt, int sizeMultiple, int defaultHeight, int defaultWidth, String modelScheduler) {
            this(takesPrompt, sizeMultiple, defaultHeight, defaultWidth, modelScheduler, false);
        }
    }

    private final Defaults defaults;
    private final ModelRules model;

    public RowRules(Defaults defaults, ModelRules model) {
        this.defaults = defaults;
        this.model = model;
    }

    /** A rejection: which field, why. */
    public static final class Rejection extends Exception {
        private static final long serialVersionUID = 1L;

        /** The engine's refusal of a value, as a row rejection naming the same field. */
        static Rejection of(InvalidRequestException e) {
            return new Rejection(e.field() == null ? "generation" : e.field(), e.getMessage());
        }

        private final String field;

        public Rejection(String field, String reason) {
            super(reason);
            this.field = field;
        }

        public String field() {
            return field;
        }
    }

    /**
     * Plans one input row.
     *
     * @param field the row's value of an input column as text, or null when absent or null
     * @param idCount how many input rows carry this row's id
     */
    public List<PlannedRow> plan(Function<String, String> field, long idCount, String rawRow) {
        String id = field.apply("id");
        try {
            return expand(id, field, idCount);
        } catch (Rejection r) {
            return List.of(PlannedRow.rejected(id, r.field(), r.getMessage(), rawRow));
        }
    }

    private List<PlannedRow> expand(String id, Function<String, String> field, long idCount) throws Rejection {
        if (id == null || id.isBlank()) {
            throw new Rejection("id", "id is missing");
        }
        // the id must make a safe file key (throws the rejection otherwise); the key itself is made when planned
        if (defaults.archive()) {
            archiveKey(id);
        } else {
            fileKey(id);
        }
        if (idCount > 1) {
            throw new Rejection("id", "duplicate id: " + idCount + " input rows share it, none of them is generated");
        }
        String prompt = field.apply("prompt") != null ? field.apply("prompt") : defaults.prompt();
        if (model.takesPrompt() && !model.imageToVideo() && (prompt == null || prompt.isBlank())) {
            throw new Rejection("prompt", "prompt is missing (the model is text-to-image)");
        }
        String negative = field.apply("negative_prompt");
        if (negative == null) {
            negative = defaults.negativePrompt();
        }
        long seed = field.apply("seed") == null ? seedFromId(id) : parseLong("seed", field.apply("seed"));
        int steps = field.apply("num_inference_steps") == null
                ? defaults.steps()
                : parseInt("num_inference_steps", field.apply("num_inference_steps"));
        if (steps <= 0 || steps > defaults.maxSteps()) {
            throw new Rejection(
                    "num_inference_steps",
                    "num_inference_steps " + steps + " must be between 1 and " + defaults.maxSteps()
                            + " (limits.max_steps)");
        }
        double guidance = field.apply("guidance_scale") == null
                ? defaults.guidance()
                : parseDouble("guidance_scale", field.apply("guidance_scale"));
        // with an init image the size comes from the picture (decoded on the executor) unless the row sets it
        boolean sizedByImage = defaults.takesImage() || model.imageToVideo();
        int width = sizedByImage && field.apply("width") == null && defaults.width() == null
                ? 0
                : size("width", field.apply("width"), defaults.width(), model.defaultWidth());
        int height = sizedByImage && field.apply("height") == null && defaults.height() == null
                ? 0
                : size("height", field.apply("height"), defaults.height(), model.defaultHeight());
        if (width > 0 && height > 0) {
            checkPixels(width, height, defaults.maxPixels());
        }
        Double strength = defaults.strength();
        if (field.apply("strength") != null) {
            strength = parseDouble("strength", field.apply("strength"));
        }
        if (strength != null && !(strength > 0 && strength <= 1)) {
            throw new Rejection("strength", "strength " + strength + " must be in (0, 1]");
        }
        if ((defaults.takesImage() || model.imageToVideo()) && field.apply("image") == null) {
            throw new Rejection(
                    "image", "image is missing (mode " + defaults.mode() + " needs an init image: bytes or a path)");
        }
        if ("inpaint".equals(defaults.mode()) && field.apply("mask") == null) {
            throw new Rejection("mask", "mask is missing (inpainting needs a mask: white = repaint)");
        }
        String scheduler = field.apply("scheduler") != null ? field.apply("scheduler") : defaults.scheduler();
        if (scheduler != null && !Schedulers.isKnown(scheduler)) {
            throw new Rejection(
                    "scheduler", "unknown scheduler '" + scheduler + "'; known: " + Schedulers.knownNames());
        }
        int images = field.apply("num_images_per_prompt") == null
                ? 1
                : parseInt("num_images_per_prompt", field.apply("num_images_per_prompt"));
        if (images <= 0 || images > defaults.maxImagesPerPrompt()) {
            throw new Rejection(
                    "num_images_per_prompt",
                    "num_images_per_prompt " + images + " must be between 1 and " + defaults.maxImagesPerPrompt()
                            + " (limits.max_images_per_prompt)");
        }
        Integer frames = null;
        int fps = defaults.fps();
        int motion = defaults.motionBucketId();
        double noiseAug = defaults.noiseAugStrength();
        if ("video".equals(defaults.mode())) {
            frames = field.apply("num_frames") != null
                    ? Integer.valueOf(parseInt("num_frames", field.apply("num_frames")))
                    : defaults.numFrames();
            if (frames != null && (frames <= 0 || frames > defaults.maxFrames())) {
                throw new Rejection(
                        "num_frames",
                        "num_frames " + frames + " must be between 1 and " + defaults.maxFrames()
                                + " (limits.max_frames)");
            }
            if (field.apply("fps") != null) {
                fps = parseInt("fps", field.apply("fps"));
            }
            if (fps <= 0) {
                throw new Rejection("fps", "fps " + fps + " must be positive");
            }
            if (field.apply("motion_bucket_id") != null) {
                motion = parseInt("motion_bucket_id", field.apply("motion_bucket_id"));
            }
            if (field.apply("noise_aug_strength") != null) {
                noiseAug = parseDouble("noise_aug_strength", field.apply("noise_aug_strength"));
            }
            if (noiseAug < 0) {
                throw new Rejection("noise_aug_strength", "noise_aug_strength " + noiseAug + " must be >= 0");
            }
        }
        String resolvedScheduler = scheduler != null ? scheduler : model.modelScheduler();
        PlannedRow base =
                PlannedRow.accepted(id, id, prompt, negative, seed, steps, guidance, width, height, resolvedScheduler);
        base.setStrength(strength);
        base.setNumFrames(frames);
        base.setFps(fps);
        base.setMotionBucketId(motion);
        base.setNoiseAugStrength(noiseAug);
        base.setImageRef(field.apply("image"));
        base.setMaskRef(field.apply("mask"));
        List<PlannedRow> out = new ArrayList<>();
        long[] gridSeeds = defaults.gridSeeds();
        double[] gridGuidance = defaults.gridGuidance();
        if (gridSeeds.length > 0 || gridGuidance.length > 0) {
            long[] seeds = gridSeeds.length > 0 ? gridSeeds : new long[] {seed};
            double[] scales = gridGuidance.length > 0 ? gridGuidance : new double[] {guidance};
            for (long s : seeds) {
                for (double g : scales) {
                    out.add(base.variant(id + "-s" + s + "-g" + formatGuidance(g), s, g));
                }
            }
        } else if (images > 1) {
            for (int k = 0; k < images; k++) {
                out.add(base.variant(id + "-" + k, seed + k, guidance));
            }
        } else {
            out.add(base);
        }
        for (PlannedRow r : out) {
            r.setImageFile((defaults.archive() ? archiveKey(r.getId()) : fileKey(r.getId())) + ".png");
        }
        return out;
    }

    static String formatGuidance(double g) {
        return g == Math.rint(g) && Math.abs(g) < 1e15 ? Long.toString((long) g) : Double.toString(g);
    }

    private int size(String name, String value, Integer configured, int modelDefault) throws Rejection {
        int v = value != null ? parseInt(name, value) : configured != null ? configured : modelDefault;
        if (v <= 0 || v % model.sizeMultiple() != 0) {
            throw new Rejection(
                    name,
                    name + " " + v + " must be a positive multiple of " + model.sizeMultiple() + " for this model");
        }
        return v;
    }

    /**
     * Refuses an output of more than {@code limits.max_pixels} pixels before anything is allocated for it: the
     * engine's memory grows with the pixels (see docs/job.md), and sizes beyond int range would overflow.
     */
    static void checkPixels(int width, int height, long maxPixels) throws Rejection {
        try {
            RequestRules.pixels(width, height, maxPixels);
        } catch (InvalidRequestException e) {
            throw Rejection.of(e);
        }
    }

    /** The file name (without extension) for an id, or a rejection when the id would form a path. */
    static String fileKey(String id) throws Rejection {
        if (id.contains("/") || id.contains("\\") || id.contains("..") || id.equals(".")) {
            throw new Rejection("id", "id '" + id + "' would form a path (it contains '/', '\\' or '..')");
        }
        if (SAFE_ID.matcher(id).matches() && !id.startsWith(".")) {
            return id;
        }
        String safe = id.replaceAll("[^A-Za-z0-9._-]", "_").replaceAll("^\\.+", "_");
        if (safe.length() > 100) {
            safe = safe.substring(0, 100);
        }
        return safe + "-" + HexFormat.of().formatHex(sha256(id), 0, 4);
    }

    /**
     * Archive mode keeps the input's relative path: each segment becomes a safe name as {@link #fileKey} makes it;
     * empty segments and {@code ..} are rejected.
     */
    static String archiveKey(String relativePath) throws Rejection {
        StringBuilder sb = new StringBuilder();
        for (String segment : relativePath.split("/", -1)) {
            if (segment.isEmpty() || segment.equals("..") || segment.equals(".")) {
                throw new Rejection("id", "path '" + relativePath + "' has an empty, '.' or '..' segment");
            }
            if (sb.length() > 0) {
                sb.append('/');
            }
            sb.append(fileKey(segment));
        }
        return sb.toString();
    }

    /** A seed derived from the id alone: SHA-256(id)[0..8) big-endian, sign bit cleared. */
    public static long seedFromId(String id) {
        byte[] h = sha256(id);
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (h[i] & 0xff);
        }
        return v & Long.MAX_VALUE;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long parseLong(String name, String v) throws Rejection {
        try {
            String t = v.trim();
            if (t.endsWith(".0")) {
                t = t.substring(0, t.length() - 2);
            }
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new Rejection(name, name + " '" + v + "' is not an integer");
        }
    }

    private static int parseInt(String name, String v) throws Rejection {
        long l = parseLong(name, v);
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw new Rejection(name, name + " '" + v + "' is out of range");
        }
        return (int) l;
    }

    private static double parseDouble(String name, String v) throws Rejection {
        double d;
        try {
            d = Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new Rejection(name, name + " '" + v + "' is not a number");
        }
        if (!Double.isFinite(d)) {
            throw new Rejection(name, name + " must be finite, got " + v);
        }
        return d;
    }
}

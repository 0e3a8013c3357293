package io.sparkdiffusion.model;

import ai.onnxruntime.OnnxJavaType;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The components part of the pipeline registry ({@link PipelineFamily#components}): what the engine's pipelines need
 * from each component of a model folder, by family: the component folders, the tokenizers, and for each ONNX graph
 * the input and output names, element types and ranks the pipelines feed and read (see {@code
 * StableDiffusionPipeline}, {@code StableDiffusionXLPipeline}, {@code UnconditionalPipeline}, {@code
 * TextToVideoSDPipeline}, {@code StableVideoDiffusionPipeline}, {@code KandinskyV22Prior}, {@code
 * KandinskyV22Pipeline}, {@code LatentEncoder}, {@code LatentDecoder}, {@code VideoDecoder}). The names are Optimum's,
 * as in {@code testdata/fixtures}. Validation checks a folder against it.
 */
public final class ComponentContract {
    /** Accepted element types of a port (what {@code OnnxModel} converts to or reads from). */
    public enum Kind {
        FLOATS(EnumSet.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16, OnnxJavaType.DOUBLE), "float, float16 or double"),
        IDS(EnumSet.of(OnnxJavaType.INT32, OnnxJavaType.INT64), "int32 or int64"),
        NUMBER(
                EnumSet.of(
                        OnnxJavaType.FLOAT,
                        OnnxJavaType.FLOAT16,
                        OnnxJavaType.DOUBLE,
                        OnnxJavaType.INT32,
                        OnnxJavaType.INT64),
                "a number type (float, float16, double, int32, int64)"),
        MASK(
                EnumSet.of(
                        OnnxJavaType.BOOL,
                        OnnxJavaType.INT32,
                        OnnxJavaType.INT64,
                        OnnxJavaType.FLOAT,
                        OnnxJavaType.FLOAT16),
                "bool, int or float");

        @SuppressWarnings("ImmutableEnumChecker") // an EnumSet built once in the constructor and never changed
        final Set<OnnxJavaType> types;

        final String text;

        /** The element types accepted. */
        public Set<OnnxJavaType> types() {
            return types;
        }

        /** The accepted types in words, for messages. */
        public String text() {
            return text;
        }

        Kind(Set<OnnxJavaType> types, String text) {
            this.types = types;
            this.text = text;
        }
    }

    /** One input or output: name, accepted types, accepted ranks, and whether the pipeline needs it. */
    @SuppressWarnings("ArrayRecordComponent") // a value carrier read in place, never compared or hashed
    public record Port(String name, Kind kind, int[] ranks, boolean required) {
        /** The accepted ranks in words ("0 or 1"). */
        public String ranksText() {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < ranks.length; i++) {
                b.append(i == 0 ? "" : i == ranks.length - 1 ? " or " : ", ").append(ranks[i]);
            }
            return b.toString();
        }

        public boolean rankOk(int rank) {
            for (int r : ranks) {
                if (r == rank) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Rules beyond plain ports. */
    public enum Special {
        NONE,
        /** SDXL's first text encoder: the penultimate {@code hidden_states.N} output. */
        SDXL_TEXT_ENCODER,
        /** SDXL's second text encoder: {@code hidden_states.N} and the pooled {@code text_embeds}. */
        SDXL_TEXT_ENCODER_2,
        /** A VAE encoder: {@code latent_parameters}, or the legacy {@code latent_sample} (works, draws differ). */
        VAE_ENCODER,
        /** SVD's VAE encoder: {@code latent_parameters} only (it conditions on the posterior mean). */
        VAE_ENCODER_POSTERIOR
    }

    /**
     * A component folder and its graph's interface.
     *
     * @param ifMissing null when the pipeline cannot run without it; else what is lost without it (a WARN)
     */
    public record Component(String name, String ifMissing, List<Port> inputs, List<Port> outputs, Special special) {}

    static final String TIMESTEP = "timestep";

    private ComponentContract() {}

    /** The tokenizer folders the family needs, each paired with the text encoder that reads its ids. */
    static List<String[]> tokenizers(PipelineFamily family) {
        return switch (family) {
            case STABLE_DIFFUSION, LATENT_CONSISTENCY, TEXT_TO_VIDEO, KANDINSKY_22_PRIOR ->
                List.<String[]>of(new String[] {"tokenizer", "text_encoder"});
            case STABLE_DIFFUSION_XL ->
                List.of(new String[] {"tokenizer", "text_encoder"}, new String[] {"tokenizer_2", "text_encoder_2"});
            default -> List.of();
        };
    }

    /** The components of a family; {@code className} decides whether the VAE encoder is required. */
    static List<Component> components(PipelineFamily family, String className) {
        boolean imageClass = PipelineFamily.resolve(className)
                .map(r -> r.task() != Task.TEXT_TO_IMAGE)
                .orElse(false);
        String encoderMissing =
                imageClass ? null : "text-to-image only: image-to-image and inpainting need vae_encoder/";
        List<Component> c = new ArrayList<>();
        switch (family) {
            case STABLE_DIFFUSION, LATENT_CONSISTENCY -> {
                c.add(textEncoder(Special.NONE));
                c.add(unet(4, List.of(guidanceEmbedding())));
                c.add(vaeDecoder(false));
                c.add(vaeEncoder(encoderMissing, Special.VAE_ENCODER));
            }
            case STABLE_DIFFUSION_XL -> {
                c.add(new Component(
                        "text_encoder",
                        null,
                        List.of(in("input_ids", Kind.IDS, 2)),
                        List.of(),
                        Special.SDXL_TEXT_ENCODER));
                c.add(new Component(
                        "text_encoder_2",
                        null,
                        List.of(in("input_ids", Kind.IDS, 2)),
                        List.of(out("text_embeds", 2)),
                        Special.SDXL_TEXT_ENCODER_2));
                c.add(unet(
                        4,
                        List.of(
                                in("text_embeds", Kind.FLOATS, 2),
                                in("time_ids", Kind.FLOATS, 2),
                                guidanceEmbedding())));
                c.add(vaeDecoder(false));
                c.add(vaeEncoder(encoderMissing, Special.VAE_ENCODER));
            }
            case UNCONDITIONAL ->
                c.add(new Component(
                        "unet",
                        null,
                        List.of(in("sample", Kind.FLOATS, 4), in(TIMESTEP, Kind.NUMBER, 0, 1)),
                        List.of(out("out_sample", 4)),
                        Special.NONE));
            case TEXT_TO_VIDEO -> {
                c.add(textEncoder(Special.NONE));
                c.add(unet(5, List.of()));
                c.add(vaeDecoder(true));
            }
            case IMAGE_TO_VIDEO -> {
                c.add(new Component(
                        "image_encoder",
                        null,
                        List.of(in("pixel_values", Kind.FLOATS, 4)),
                        List.of(out("image_embeds", 2)),
                        Special.NONE));
                c.add(vaeEncoder(null, Special.VAE_ENCODER_POSTERIOR));
                c.add(new Component(
                        "unet",
                        null,
                        List.of(
                                in("sample", Kind.FLOATS, 5),
                                in(TIMESTEP, Kind.NUMBER, 0, 1),
                                in("encoder_hidden_states", Kind.FLOATS, 3),
                                in("added_time_ids", Kind.FLOATS, 2)),
                        List.of(out("out_sample", 5)),
                        Special.NONE));
                c.add(vaeDecoder(true));
            }
            case KANDINSKY_22_PRIOR -> {
                c.add(new Component(
                        "text_encoder",
                        null,
                        List.of(in("input_ids", Kind.IDS, 2), optional("attention_mask", Kind.MASK, 2)),
                        List.of(out("text_embeds", 2), out("last_hidden_state", 3)),
                        Special.NONE));
                c.add(new Component(
                        "prior",
                        null,
                        List.of(
                                in("hidden_states", Kind.FLOATS, 2),
                                in(TIMESTEP, Kind.NUMBER, 0, 1),
                                in("proj_embedding", Kind.FLOATS, 2),
                                in("encoder_hidden_states", Kind.FLOATS, 3),
                                optional("attention_mask", Kind.MASK, 2)),
                        List.of(out("predicted_image_embedding", 2)),
                        Special.NONE));
                c.add(new Component(
                        "image_encoder",
                        null,
                        List.of(in("pixel_values", Kind.FLOATS, 4)),
                        List.of(out("image_embeds", 2)),
                        Special.NONE));
            }
            case KANDINSKY_22 -> {
                c.add(new Component(
                        "unet",
                        null,
                        List.of(
                                in("sample", Kind.FLOATS, 4),
                                in(TIMESTEP, Kind.NUMBER, 0, 1),
                                in("image_embeds", Kind.FLOATS, 2)),
                        List.of(out("out_sample", 4)),
                        Special.NONE));
                c.add(new Component(
                        "movq_decoder",
                        null,
                        List.of(in("latent_sample", Kind.FLOATS, 4)),
                        List.of(out("sample", 4)),
                        Special.NONE));
                c.add(new Component(
                        "movq_encoder",
                        imageClass ? null : "text-to-image only: sketch-to-image needs movq_encoder/",
                        List.of(in("sample", Kind.FLOATS, 4)),
                        List.of(out("latent_sample", 4)),
                        Special.NONE));
            }
            default -> throw new IllegalStateException(family.name());
        }
        return c;
    }

    private static Component textEncoder(Special special) {
        return new Component(
                "text_encoder",
                null,
                List.of(in("input_ids", Kind.IDS, 2)),
                List.of(out("last_hidden_state", 3)),
                special);
    }

    private static Component unet(int sampleRank, List<Port> extra) {
        List<Port> inputs = new ArrayList<>(List.of(
                in("sample", Kind.FLOATS, sampleRank),
                in(TIMESTEP, Kind.NUMBER, 0, 1),
                in("encoder_hidden_states", Kind.FLOATS, 3)));
        inputs.addAll(extra);
        return new Component("unet", null, inputs, List.of(out("out_sample", sampleRank)), Special.NONE);
    }

    /** LCM-distilled UNets: the guidance-scale embedding ({@code TextToImagePipeline} feeds it when declared). */
    private static Port guidanceEmbedding() {
        return optional("timestep_cond", Kind.FLOATS, 2);
    }

    /** {@code VideoDecoder} also feeds {@code num_frames} to temporal decoders that declare it. */
    private static Component vaeDecoder(boolean video) {
        List<Port> inputs = video
                ? List.of(in("latent_sample", Kind.FLOATS, 4), optional("num_frames", Kind.NUMBER, 0, 1))
                : List.of(in("latent_sample", Kind.FLOATS, 4));
        return new Component("vae_decoder", null, inputs, List.of(out("sample", 4)), Special.NONE);
    }

    private static Component vaeEncoder(String ifMissing, Special special) {
        return new Component("vae_encoder", ifMissing, List.of(in("sample", Kind.FLOATS, 4)), List.of(), special);
    }

    private static Port in(String name, Kind kind, int... ranks) {
        return new Port(name, kind, ranks, true);
    }

    private static Port optional(String name, Kind kind, int... ranks) {
        return new Port(name, kind, ranks, false);
    }

    private static Port out(String name, int... ranks) {
        return new Port(name, Kind.FLOATS, ranks, true);
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.noise.ReplayNoise;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.scheduler.Schedulers;
import io.sparkdiffusion.tensor.Npy;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.text.ClipTokenizer;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * diffusers' {@code KandinskyV22PriorPipeline} ({@code pipelines/kandinsky2_2/pipeline_kandinsky2_2_prior.py}) on the
 * {@code prior/} folder: prompts to CLIP image embeddings for the decoder.
 *
 * <p>The CLIP text encoder ({@code text_embeds} and {@code last_hidden_state}) conditions a {@code PriorTransformer}
 * that denoises a {@code (rows, embedding_dim)} latent with the {@code UnCLIPScheduler} and classifier-free guidance
 * ({@code guidance_scale > 1}: unconditional rows first). The prior sees the tokenizer's attention mask; the text
 * encoder, as diffusers calls it, gets the ids alone (an all-ones mask where the export declares one).
 *
 * <p>Negative image embeddings: with negative prompts, diffusers runs them through the prior in the same call
 * ({@code prompt + negative_prompt}, batch 2B, each half guided by the negative prompts), and the second half of the
 * result is the negative embedding; without, it is the image encoder's embedding of an all-zero image
 * ({@code get_zero_embed}). A batch mixing rows with and without negative prompts runs the 2B layout and gives the
 * rows without one the zero embedding.
 *
 * <p>Post-processing {@code latents * clip_std + clip_mean} ({@code PriorTransformer.post_process_latents}) uses
 * {@code prior/prior/clip_mean.npy} and {@code clip_std.npy} when present; without them it is the identity (the
 * statistics are not part of the exported graph: an export whose graph does not fold them in must provide them).
 */
final class KandinskyV22Prior implements AutoCloseable {
    static final String TEXT_ENCODER = "text_encoder";
    static final String PRIOR = "prior";
    static final String IMAGE_ENCODER = "image_encoder";
    /** diffusers' defaults of the prior call. */
    public static final int DEFAULT_STEPS = 25;

    public static final double DEFAULT_GUIDANCE_SCALE = 4.0;

    private final ModelFolder folder;
    private final ClipTokenizer tokenizer;
    private final long eosId;
    private final OnnxModel textEncoder;
    private final OnnxModel prior;
    private final JsonConfig schedulerConfig;
    private final int embeddingDim;
    private final Tensor clipMean;
    private final Tensor clipStd;

    /** The image embeddings of a batch: {@code (B, embedding_dim)} each. */
    public record Embeddings(Tensor imageEmbeds, Tensor negativeImageEmbeds) {}

    public KandinskyV22Prior(ModelFolder folder) {
        this.folder = folder;
        this.tokenizer = ClipTokenizer.load(folder.componentDir("tokenizer"));
        // encode("") is [bos, eos, pad, ...]: the end-of-text id that closes the attention mask
        this.eosId = tokenizer.encode("")[1];
        this.textEncoder = folder.session(TEXT_ENCODER);
        this.prior = folder.session(PRIOR);
        this.schedulerConfig = folder.schedulerConfig();
        JsonConfig priorConfig = folder.componentConfig(PRIOR);
        long[] hidden = prior.inputShape(prior.inputOr("hidden_states"));
        this.embeddingDim = priorConfig.has("embedding_dim")
                ? priorConfig.getInt("embedding_dim", 768)
                : (int) hidden[hidden.length - 1];
        this.clipMean = optionalStats(folder.componentDir(PRIOR).resolve("clip_mean.npy"));
        this.clipStd = optionalStats(folder.componentDir(PRIOR).resolve("clip_std.npy"));
    }

    private Tensor optionalStats(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            Tensor t = Npy.read(file);
            if (t.size() != embeddingDim) {
                throw new ModelLoadException(
                        file + " has " + t.size() + " values, the prior's embedding_dim is " + embeddingDim);
            }
            return t;
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public ModelFolder folder() {
        return folder;
    }

    public int embeddingDim() {
        return embeddingDim;
    }

    /**
     * The image embeddings of {@code prompts}.
     *
     * @param negativePrompts one per row, entries may be null (no negative prompt: zero-image embedding); null for none
     * @param schedulerOverride a scheduler config instead of {@code prior/scheduler/} (replaying a recorded case), or
     *     null
     * @param noise the call's Gaussian draws: the initial latents, then one draw per prior step above t = 0
     */
    public Embeddings embed(
            List<String> prompts,
            List<String> negativePrompts,
            int steps,
            double guidanceScale,
            JsonConfig schedulerOverride,
            NoiseSource noise) {
        int rows = prompts.size();
        boolean[] hasNegative = new boolean[rows];
        boolean anyNegative = false;
        for (int r = 0; r < rows; r++) {
            hasNegative[r] = negativePrompts != null && negativePrompts.get(r) != null;
            anyNegative |= hasNegative[r];
        }
        int groups = anyNegative ? 2 : 1;
        List<String> conditional = new ArrayList<>(prompts);
        List<String> unconditional = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            for (int r = 0; r < rows; r++) {
                // without a negative prompt the unconditional text is "" (diffusers' uncond_tokens)
                unconditional.add(hasNegative[r] ? negativePrompts.get(r) : "");
            }
        }
        if (groups == 2) {
            conditional.addAll(unconditional.subList(0, rows));
        }
        boolean guided = guidanceScale > 1.0;
        TextFeeds text = guided ? encode(concat(unconditional, conditional)) : encode(conditional);

        Scheduler scheduler = Schedulers.create(schedulerOverride != null ? schedulerOverride : schedulerConfig);
        scheduler.setTimesteps(steps);
        NoiseSource draws = new PriorNoise(noise, rows, groups);
        int n = groups * rows;
        Tensor latents = Tensors.scale(draws.next(n, embeddingDim), scheduler.initNoiseSigma());
        String output = prior.outputOr("predicted_image_embedding");
        latents = DiffusionPipeline.denoise(
                scheduler,
                latents,
                (x, t) -> {
                    Tensor input = guided ? Tensors.concatBatch(x, x) : x;
                    int batch = (int) input.dim(0);
                    Tensor out = prior.run1(
                            Map.of(
                                    "hidden_states", input,
                                    "timestep", Tensor.full((float) t, batch),
                                    "proj_embedding", text.embeds,
                                    "encoder_hidden_states", text.hiddenStates,
                                    "attention_mask", text.mask),
                            output);
                    return guided ? DiffusionPipeline.guide(out, guidanceScale) : out;
                },
                draws,
                StepListener.NONE);
        latents = postProcess(latents);

        Tensor image = Tensors.sliceBatch(latents, 0, rows);
        Tensor negative;
        if (groups == 1) {
            negative = repeatRows(zeroEmbed(), rows);
        } else {
            negative = Tensors.sliceBatch(latents, rows, 2 * rows);
            Tensor zero = null;
            float[] d = negative.data();
            for (int r = 0; r < rows; r++) {
                if (!hasNegative[r]) {
                    zero = zero != null ? zero : zeroEmbed();
                    System.arraycopy(zero.data(), 0, d, r * embeddingDim, embeddingDim);
                }
            }
        }
        return new Embeddings(image, negative);
    }

    /** The prior's text inputs for a batch of texts. */
    private record TextFeeds(Tensor embeds, Tensor hiddenStates, Tensor mask) {}

    private TextFeeds encode(List<String> texts) {
        Tensor ids = tokenizer.encodeBatch(texts);
        int len = tokenizer.maxLength();
        float[] mask = new float[ids.size()];
        float[] id = ids.data();
        for (int r = 0; r < texts.size(); r++) {
            // tokenizer attention mask: 1 through the first end-of-text token (the text's own), 0 on the padding
            for (int i = 0; i < len; i++) {
                mask[r * len + i] = 1f;
                if (i > 0 && (long) id[r * len + i] == eosId) {
                    break;
                }
            }
        }
        Map<String, Tensor> out = textEncoder.run(
                Map.of("input_ids", ids, "attention_mask", Tensor.full(1f, texts.size(), len)),
                textEncoder.outputOr("text_embeds"),
                textEncoder.outputOr("last_hidden_state"));
        return new TextFeeds(
                out.get(textEncoder.outputOr("text_embeds")),
                out.get(textEncoder.outputOr("last_hidden_state")),
                new Tensor(ids.shape(), mask));
    }

    /** {@code PriorTransformer.post_process_latents}: {@code latents * clip_std + clip_mean}. */
    private Tensor postProcess(Tensor latents) {
        if (clipMean == null && clipStd == null) {
            return latents;
        }
        float[] d = latents.data().clone();
        for (int i = 0; i < d.length; i++) {
            int k = i % embeddingDim;
            float std = clipStd != null ? clipStd.data()[k] : 1f;
            float mean = clipMean != null ? clipMean.data()[k] : 0f;
            d[i] = d[i] * std + mean;
        }
        return new Tensor(latents.shape(), d);
    }

    /** {@code get_zero_embed}: the image encoder's embedding of an all-zero {@code image_size} square. */
    public Tensor zeroEmbed() {
        OnnxModel encoder = folder.session(IMAGE_ENCODER);
        String input = encoder.inputOr("pixel_values");
        long[] declared = encoder.inputShape(input);
        int size = folder.componentConfig(IMAGE_ENCODER)
                .getInt("image_size", declared.length == 4 && declared[2] > 0 ? (int) declared[2] : 224);
        int channels = declared.length == 4 && declared[1] > 0 ? (int) declared[1] : 3;
        return encoder.run1(Map.of(input, Tensor.zeros(1, channels, size, size)), encoder.outputOr("image_embeds"));
    }

    private static Tensor repeatRows(Tensor row, int rows) {
        List<Tensor> parts = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            parts.add(row);
        }
        return Tensors.concatBatch(parts);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> l = new ArrayList<>(a);
        l.addAll(b);
        return l;
    }

    /**
     * The prior's draws for {@code groups} stacked blocks of {@code rows} (prompts, then negative prompts), shape
     * {@code (groups * rows, ...)} as diffusers draws them. A {@link ReplayNoise} gets exactly that shape (the
     * recorded layout). A row-keyed source (one stream per row, {@code shape[0] = rows}) is asked for
     * {@code (rows, 2, ...)} whatever {@code groups} is: row r's prompt takes slot 0 and its negative prompt slot 1,
     * so a row's draws, and thus its embeddings, depend on its own seed only, not on its batch-mates.
     */
    static final class PriorNoise implements NoiseSource {
        private final NoiseSource base;
        private final int rows;
        private final int groups;

        PriorNoise(NoiseSource base, int rows, int groups) {
            this.base = base;
            this.rows = rows;
            this.groups = groups;
        }

        @Override
        public Tensor next(long... shape) {
            if (shape.length == 0 || shape[0] != (long) rows * groups) {
                throw new IllegalArgumentException(
                        "prior draw of shape " + Arrays.toString(shape) + " for " + groups + " x " + rows + " rows");
            }
            if (base instanceof ReplayNoise) {
                return base.next(shape);
            }
            long[] perRow = new long[shape.length + 1];
            perRow[0] = rows;
            perRow[1] = 2;
            System.arraycopy(shape, 1, perRow, 2, shape.length - 1);
            Tensor d = base.next(perRow);
            int inner = (int) (Tensor.numel(shape) / shape[0]);
            float[] out = new float[(int) Tensor.numel(shape)];
            for (int g = 0; g < groups; g++) {
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(d.data(), (r * 2 + g) * inner, out, (g * rows + r) * inner, inner);
                }
            }
            return new Tensor(shape.clone(), out);
        }
    }

    @Override
    public void close() {
        tokenizer.close();
        folder.close();
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.util.InvalidRequestException;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.util.ModelLoadException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The text-conditioned UNet that SD, SDXL and ModelScope text-to-video share: the prompts encoded once per call
 * ({@link PromptEncoder}), then for every step the UNet's noise prediction with classifier-free guidance (Ho &amp;
 * Salimans 2022) when {@code guidance_scale > 1}, or with the guidance-scale embedding of an LCM-distilled UNet
 * ({@code timestep_cond}, diffusers' {@code get_guidance_scale_embedding}) instead of a second pass.
 */
final class ConditionedUnet implements AutoCloseable {
    private static final String TIMESTEP_COND = "timestep_cond";

    private final ModelFolder model;
    private final OnnxModel unet;
    private final PromptEncoder prompts;
    private final boolean guidanceEmbedded;
    /** Width of the UNet's {@code timestep_cond} input (LCM-distilled UNets); 0 when it has none. */
    private final int guidanceEmbeddingDim;

    private final String unetOutput;
    /** {@code block_out_channels[0]} of unet/config.json (0 when absent): what sizes a call's activations. */
    private final int firstBlockChannels;

    private final int vaeScaleFactor;

    ConditionedUnet(ModelFolder model, PromptEncoder prompts, int vaeScaleFactor) {
        this.model = model;
        this.unet = model.session("unet");
        this.prompts = prompts;
        JsonConfig unetConfig = model.componentConfig("unet");
        // LCM-distilled UNets take the guidance as an embedding (time_cond_proj_dim, fed as timestep_cond) instead
        // of a second pass; diffusers skips classifier-free guidance for them
        this.guidanceEmbeddingDim = unet.hasInput(TIMESTEP_COND) ? guidanceEmbeddingDim(unetConfig) : 0;
        this.guidanceEmbedded = unetConfig.has("time_cond_proj_dim") || guidanceEmbeddingDim > 0;
        this.unetOutput = unet.outputOr("out_sample");
        this.firstBlockChannels = firstBlockChannels(unetConfig);
        this.vaeScaleFactor = vaeScaleFactor;
    }

    private static int firstBlockChannels(JsonConfig unetConfig) {
        double[] blocks = unetConfig.getDoubleArray("block_out_channels");
        return blocks == null || blocks.length == 0 ? 0 : (int) blocks[0];
    }

    /**
     * What a call fixes before the loop: rows, size, whether it is guided, the prompt conditioning, and the UNet's
     * runs with the inputs no step changes (conditioning, guidance embedding) converted once, one per slice of rows
     * the UNet takes in one call ({@link io.sparkdiffusion.model.RuntimeOptions#rowsPerRun}). Close it when the call
     * ends.
     */
    record Call(
            int rows,
            int height,
            int width,
            boolean guided,
            double guidanceScale,
            Conditioning cond,
            Tensor guidanceEmbedding,
            List<Slice> slices)
            implements AutoCloseable {
        @Override
        public void close() {
            slices.forEach(s -> s.runs().close());
        }
    }

    /** Rows {@code [from, to)} of a call, and the UNet runs that take them. */
    static final class Slice {
        private final int from;
        private final int to;
        private final OnnxModel.Runs runs;
        /** The last extra channels given for the whole call, and this slice's rows of them. */
        private Tensor extraOfCall;

        private Tensor extra;
        /**
         * A guided step's input [x; x] and output [uncond; cond]: arrays of this call, reused at every step, because
         * a run copies its inputs into the session's buffers ({@link OnnxModel.Runs#run}) and the output is combined
         * at once ({@code guide}).
         */
        private float[] doubledInput;

        private float[] guidedOutput;

        Slice(int from, int to, OnnxModel.Runs runs) {
            this.from = from;
            this.to = to;
            this.runs = runs;
        }

        OnnxModel.Runs runs() {
            return runs;
        }

        /**
         * This slice's rows of {@code extraChannels} (a call of {@code rows} rows), cut once: a caller passes the
         * same extra channels at every step (inpainting's mask and masked-image latents).
         */
        Tensor extraRows(Tensor extraChannels, int rows) {
            if (extraChannels != extraOfCall) {
                extra = rowsOf(extraChannels, from, to, rows);
                extraOfCall = extraChannels;
            }
            return extra;
        }

        /** [x; x] in this slice's reused array: valid until the next step. */
        Tensor twice(Tensor x) {
            Tensor both = Tensors.concatBatchInto(doubledInput, List.of(x, x));
            doubledInput = both.data();
            return both;
        }

        /** A guided run's output [uncond; cond], in this slice's reused array: read before the next step. */
        Tensor runGuided(Map<String, Tensor> feeds, String output) {
            Tensor out = runs.run1Into(feeds, output, guidedOutput);
            guidedOutput = out.data();
            return out;
        }
    }

    /**
     * Encodes a call's prompts for pictures of {@code height x width} (the caller has checked the size). Without a
     * prompt list the request is refused: these are text-conditioned models.
     */
    Call begin(GenerationRequest request, int height, int width) {
        return begin(request, height, width, 1);
    }

    /** {@link #begin(GenerationRequest, int, int)} for rows of {@code frames} frames each (text-to-video). */
    Call begin(GenerationRequest request, int height, int width, int frames) {
        if (request.prompts() == null) {
            throw new InvalidRequestException(
                    "prompt", model.name() + " is a text-conditioned model: every row needs a prompt");
        }
        int rows = request.rows();
        boolean guided = usesGuidance(request.guidanceScale());
        List<String> negatives =
                request.negativePrompts() != null ? request.negativePrompts() : Collections.nCopies(rows, null);
        Conditioning cond = prompts.encode(request.prompts(), negatives, guided, height, width);
        Tensor guidanceEmbedding = guidanceEmbeddingDim > 0
                ? GuidanceEmbedding.of(request.guidanceScale(), guidanceEmbeddingDim, rows)
                : null;
        Map<String, Tensor> fixed = new HashMap<>(cond.feeds());
        if (guidanceEmbedding != null) {
            fixed.put(TIMESTEP_COND, guidanceEmbedding);
        }
        int perRun = rowsPerRun(guided, height, width, frames);
        List<Slice> slices = new ArrayList<>();
        try {
            for (int from = 0; from < rows; from += perRun) {
                int to = Math.min(rows, from + perRun);
                Map<String, Tensor> sliced = new HashMap<>();
                for (Map.Entry<String, Tensor> e : fixed.entrySet()) {
                    sliced.put(e.getKey(), rowsOf(e.getValue(), from, to, rows));
                }
                slices.add(new Slice(from, to, unet.runs(sliced)));
            }
        } catch (RuntimeException e) {
            slices.forEach(s -> s.runs().close());
            throw e;
        }
        return new Call(rows, height, width, guided, request.guidanceScale(), cond, guidanceEmbedding, slices);
    }

    /**
     * Rows per UNet call for pictures of {@code height x width}: the runtime's choice for this UNet's first block
     * ({@code block_out_channels[0]} float32 channels at the latent size, per frame, twice with guidance).
     */
    private int rowsPerRun(boolean guided, int height, int width, int frames) {
        long latentPixels = (long) (height / vaeScaleFactor) * (width / vaeScaleFactor) * frames;
        long bytesPerRow = (guided ? 2L : 1L) * firstBlockChannels * latentPixels * Float.BYTES;
        return model.options().rowsPerRun(bytesPerRow);
    }

    /**
     * Rows {@code [from, to)} of a per-row tensor of a call of {@code rows} rows: with guidance ({@code 2 x rows}
     * rows, negatives first) the same rows of both halves; a tensor of any other batch (shared by every row) whole.
     */
    static Tensor rowsOf(Tensor t, int from, int to, int rows) {
        if ((from == 0 && to == rows) || t.rank() == 0) {
            return t;
        }
        long batch = t.dim(0);
        if (batch == rows) {
            return Tensors.sliceBatch(t, from, to);
        }
        if (batch == 2L * rows) {
            return Tensors.concatBatch(Tensors.sliceBatch(t, from, to), Tensors.sliceBatch(t, rows + from, rows + to));
        }
        return t;
    }

    /** diffusers: guidance runs when {@code guidance_scale > 1} and the UNet does not embed guidance itself. */
    boolean usesGuidance(double guidanceScale) {
        return guidanceScale > 1.0 && !guidanceEmbedded;
    }

    /**
     * The UNet's noise prediction for the scaled latents {@code x} at {@code t}, with classifier-free guidance when
     * the call is guided. {@code extraChannels} (9-channel inpainting: mask and masked-image latents, already
     * doubled for guidance), when not null, is appended on the channel axis after the scaled latents. A call of
     * several slices runs the UNet once per slice and joins the predictions in row order.
     */
    Tensor predict(Call call, Tensor x, double t, Tensor extraChannels) {
        List<Slice> slices = call.slices();
        if (slices.size() == 1) {
            return predictSlice(call, slices.get(0), x, t, extraChannels);
        }
        List<Tensor> parts = new ArrayList<>(slices.size());
        for (Slice s : slices) {
            Tensor extra = extraChannels == null ? null : s.extraRows(extraChannels, call.rows());
            parts.add(predictSlice(call, s, Tensors.sliceBatch(x, s.from, s.to), t, extra));
        }
        return Tensors.concatBatch(parts);
    }

    private Tensor predictSlice(Call call, Slice slice, Tensor x, double t, Tensor extraChannels) {
        Tensor input = call.guided() ? slice.twice(x) : x;
        if (extraChannels != null) {
            input = Tensors.concatChannels(input, extraChannels);
        }
        Map<String, Tensor> feeds =
                Map.of("sample", input, "timestep", DiffusionPipeline.timestepTensor(t, (int) input.dim(0)));
        if (!call.guided()) {
            return slice.runs().run1(feeds, unetOutput); // the caller's to keep (a multistep scheduler's history)
        }
        return DiffusionPipeline.guide(slice.runGuided(feeds, unetOutput), call.guidanceScale());
    }

    /** The UNet's {@code in_channels}: from unet/config.json, else the session's declared {@code sample} shape. */
    int inChannels() {
        JsonConfig config = model.componentConfig("unet");
        if (config.has("in_channels")) {
            return config.getInt("in_channels", 4);
        }
        long[] shape = unet.inputShape(unet.inputOr("sample"));
        if (shape.length != 4 || shape[1] <= 0) {
            throw new ModelLoadException(model.root() + ": cannot tell the UNet's input channels (no in_channels in"
                    + " unet/config.json, sample input " + Arrays.toString(shape) + ")");
        }
        return (int) shape[1];
    }

    /** {@code time_cond_proj_dim} from unet/config.json, else the width the session declares for timestep_cond. */
    private int guidanceEmbeddingDim(JsonConfig unetConfig) {
        if (unetConfig.has("time_cond_proj_dim")) {
            return unetConfig.getInt("time_cond_proj_dim", 0);
        }
        long[] shape = unet.inputShape(TIMESTEP_COND);
        if (shape.length != 2 || shape[1] <= 0) {
            throw new ModelLoadException(model.root() + ": the UNet takes timestep_cond " + Arrays.toString(shape)
                    + " but unet/config.json has no time_cond_proj_dim to say its width");
        }
        return (int) shape[1];
    }

    @Override
    public void close() {
        prompts.close();
    }
}

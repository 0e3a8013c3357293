package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import java.util.Map;

/**
 * Text conditioning for a batch of B rows, as UNet feeds by input name ({@code encoder_hidden_states}, and for SDXL
 * {@code text_embeds} and {@code time_ids}). With classifier-free guidance every feed holds 2B rows: the
 * unconditional (negative) rows first, then the prompt rows, as diffusers concatenates them.
 */
public final class Conditioning {
    private final Map<String, Tensor> feeds;
    private final boolean guided;

    private Conditioning(Map<String, Tensor> feeds, boolean guided) {
        this.feeds = Map.copyOf(feeds);
        this.guided = guided;
    }

    /** Conditioning without guidance: the prompt rows only. */
    public static Conditioning unguided(Map<String, Tensor> positive) {
        return new Conditioning(positive, false);
    }

    /** Conditioning with guidance: each feed holds {@code cat[negative, positive]} on the batch axis. */
    public static Conditioning guided(Map<String, Tensor> negativesThenPrompts) {
        return new Conditioning(negativesThenPrompts, true);
    }

    public boolean guided() {
        return guided;
    }

    public Map<String, Tensor> feeds() {
        return feeds;
    }

    /** The prompt half of one feed (all of it without guidance); null when there is no such feed. */
    public Tensor positive(String name) {
        Tensor t = feeds.get(name);
        if (!guided || t == null) {
            return t;
        }
        int half = (int) t.dim(0) / 2;
        return Tensors.sliceBatch(t, half, 2 * half);
    }

    /** The negative half of one feed; null without guidance or without such a feed. */
    public Tensor negative(String name) {
        Tensor t = feeds.get(name);
        if (!guided || t == null) {
            return null;
        }
        return Tensors.sliceBatch(t, 0, (int) t.dim(0) / 2);
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code vae_decoder} of a video model, frame latents to frames, a chunk of frames per call. A 2D VAE
 * (text-to-video) decodes each frame on its own, so the chunk only bounds memory. SVD's temporal decoder
 * ({@code AutoencoderKLTemporalDecoder}) mixes the frames of one call: diffusers decodes {@code decode_chunk_size}
 * frames of the flattened {@code (B*F)} sequence at a time with {@code num_frames} = the chunk's length
 * (pipeline_stable_video_diffusion.py, {@code decode_latents}); exports take it from the batch axis, or as a
 * {@code num_frames} input when they declare one.
 */
final class VideoDecoder {
    private final OnnxModel session;
    private final LatentScaling scaling;
    private final String input;
    private final String output;
    private final int latentChannels;

    VideoDecoder(ModelFolder model) {
        this.session = model.session(LatentDecoder.COMPONENT);
        this.scaling = LatentScaling.of(model.componentConfig(LatentDecoder.COMPONENT));
        this.input = session.inputOr("latent_sample");
        this.output = session.outputOr("sample");
        this.latentChannels = model.componentConfig(LatentDecoder.COMPONENT).getInt("latent_channels", 4);
    }

    int latentChannels() {
        return latentChannels;
    }

    /** Frame latents {@code (N, C, h, w)} (UNet scale) to frames {@code (N, H, W, C)} in [0, 1]. */
    Tensor decode(Tensor frameLatents, int chunk) {
        Tensor z = scaling.unscale(frameLatents);
        int n = (int) z.dim(0);
        List<Tensor> parts = new ArrayList<>();
        for (int i = 0; i < n; i += chunk) {
            Tensor part = Tensors.sliceBatch(z, i, Math.min(n, i + chunk));
            Map<String, Tensor> feeds = new HashMap<>();
            feeds.put(input, part);
            feeds.put("num_frames", Tensor.full((float) part.dim(0), 1));
            parts.add(DiffusionPipeline.toImage01(session.run1(feeds, output)));
        }
        return Tensors.concatBatch(parts);
    }
}

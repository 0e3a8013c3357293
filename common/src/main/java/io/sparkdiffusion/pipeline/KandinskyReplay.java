package io.sparkdiffusion.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.util.JsonConfig;

/**
 * {@link CaseReplay} support for Kandinsky 2.2 sketch-to-image cases ({@code kandinsky22-tiny/cases/sketch2img}):
 * the model directory is the root holding {@code prior/} and {@code decoder/}; {@code case.json} records the prior
 * call ({@code prior_steps}, {@code prior_guidance_scale}, {@code negative_prior_prompt}, {@code prior_scheduler})
 * and the decoder call ({@code decoder_steps}, {@code guidance_scale}, {@code strength}, {@code decoder_scheduler});
 * {@code input_image.npy} is the sketch.
 */
final class KandinskyReplay {
    static final String KIND = "KandinskyV22PriorPipeline + KandinskyV22Img2ImgPipeline";

    private KandinskyReplay() {}

    /**
     * The case's call arguments under the keys {@link CaseReplay#request()} reads: {@code decoder_steps} as
     * {@code num_inference_steps}, {@code negative_prior_prompt} as {@code negative_prompt} (the prior's, the only
     * one the pipelines take); other cases unchanged.
     */
    static JsonConfig callArguments(JsonConfig caseJson) {
        if (!KIND.equals(caseJson.getString("pipeline", null))) {
            return caseJson;
        }
        JsonConfig c = caseJson;
        if (c.has("decoder_steps") && !c.has("num_inference_steps")) {
            c = c.with("num_inference_steps", c.getInt("decoder_steps", 100));
        }
        JsonNode negative = c.node().get("negative_prior_prompt");
        if (negative != null && !negative.isNull() && !c.has("negative_prompt")) {
            c = c.with("negative_prompt", negative);
        }
        return c;
    }

    /** Where the case keeps the (decoder's) scheduler config: {@code decoder_scheduler} or {@code scheduler}. */
    static String decoderSchedulerKey(JsonConfig caseJson) {
        return KIND.equals(caseJson.getString("pipeline", null)) ? "decoder_scheduler" : "scheduler";
    }

    /** The prior's recorded steps, guidance and scheduler config on the request (Kandinsky cases only). */
    static void prior(JsonConfig caseJson, ImageRequest.Builder b) {
        if (!KIND.equals(caseJson.getString("pipeline", null))) {
            return;
        }
        b.prior(
                caseJson.has("prior_steps") ? caseJson.getInt("prior_steps", KandinskyV22Prior.DEFAULT_STEPS) : null,
                caseJson.has("prior_guidance_scale")
                        ? caseJson.getDouble("prior_guidance_scale", KandinskyV22Prior.DEFAULT_GUIDANCE_SCALE)
                        : null,
                caseJson.getObject("prior_scheduler"));
    }
}

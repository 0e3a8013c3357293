package io.sparkdiffusion.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;

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

    /** The image-to-image pipeline with the case's prior steps, prior guidance and both scheduler configs. */
    static KandinskyV22Pipeline open(Path modelDir, JsonConfig caseJson, RuntimeOptions options) {
        KandinskyV22Pipeline p = KandinskyV22Pipeline.open(modelDir, options, Task.IMAGE_TO_IMAGE);
        try {
            if (caseJson.has("prior_steps")) {
                p.priorSteps(caseJson.getInt("prior_steps", KandinskyV22Prior.DEFAULT_STEPS));
            }
            if (caseJson.has("prior_guidance_scale")) {
                p.priorGuidanceScale(
                        caseJson.getDouble("prior_guidance_scale", KandinskyV22Prior.DEFAULT_GUIDANCE_SCALE));
            }
            JsonConfig priorScheduler = caseJson.getObject("prior_scheduler");
            if (priorScheduler != null) {
                p.prior().setSchedulerConfig(priorScheduler);
            }
            JsonConfig decoderScheduler = caseJson.getObject("decoder_scheduler");
            if (decoderScheduler != null) {
                p.setSchedulerConfig(decoderScheduler);
            }
            return p;
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }
}

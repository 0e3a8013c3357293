package io.sparkdiffusion.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.noise.ReplayNoise;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Replays a recorded diffusers run (a case folder: {@code case.json} + {@code noise_NNN.npy}) on a model folder:
 * the same call arguments, the same scheduler config and the same Gaussian draws, so the output must match the
 * case's {@code image.npy}. A user runs this to check that the engine reproduces diffusers on their own export.
 */
public final class CaseReplay implements AutoCloseable {
    /** The case kinds replay handles so far. */
    public static final Set<String> SUPPORTED = Set.of("StableDiffusionPipeline", "StableDiffusionXLPipeline",
            "DDPMPipeline", "DDIMPipeline");

    private final JsonConfig caseJson;
    private final Path caseDir;
    private final DiffusionPipeline pipeline;

    public CaseReplay(Path modelDir, Path caseDir, RuntimeOptions options) {
        this.caseDir = caseDir;
        this.caseJson = JsonConfig.read(caseDir.resolve("case.json"));
        String kind = caseJson.getString("pipeline", null);
        if (kind == null || !SUPPORTED.contains(kind)) {
            throw new IllegalArgumentException(caseDir + ": case pipeline '" + kind
                    + "' is not supported by replay yet; supported: " + String.join(", ", SUPPORTED));
        }
        ModelFolder model = new ModelFolder(modelDir, options);
        try {
            this.pipeline = Pipelines.forClass(kind, model);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        JsonConfig sched = caseJson.getObject("scheduler");
        if (sched != null) {
            pipeline.setSchedulerConfig(sched);
        }
    }

    public DiffusionPipeline pipeline() {
        return pipeline;
    }

    public JsonConfig caseJson() {
        return caseJson;
    }

    /** The call's arguments as an engine request. */
    public GenerationRequest request() {
        GenerationRequest.Builder b = GenerationRequest.builder()
                .steps(caseJson.getInt("num_inference_steps", 50))
                .guidanceScale(caseJson.getDouble("guidance_scale", 7.5));
        if (caseJson.has("height") || caseJson.has("width")) {
            b.size(caseJson.has("width") ? caseJson.getInt("width", 0) : null,
                    caseJson.has("height") ? caseJson.getInt("height", 0) : null);
        }
        if (pipeline.takesPrompt()) {
            List<String> prompts = texts(caseJson.node().get("prompt"));
            b.prompts(prompts);
            JsonNode neg = caseJson.node().get("negative_prompt");
            if (neg != null && !neg.isNull()) {
                List<String> negs = texts(neg);
                b.negativePrompts(negs.size() == 1 && prompts.size() > 1 ? repeat(negs.get(0), prompts.size()) : negs);
            }
        } else {
            b.rows(caseJson.getInt("batch_size", 1));
        }
        return b.build();
    }

    /** Runs the case; the result is the final image batch {@code (B, H, W, C)} in [0, 1]. */
    public Tensor run(StepListener listener) throws IOException {
        ReplayNoise noise = ReplayNoise.fromCaseDir(caseDir);
        Tensor image = pipeline.generate(request(), noise, listener);
        if (noise.consumed() != noise.recorded()) {
            throw new IllegalStateException("the run used " + noise.consumed() + " noise draws but " + caseDir
                    + " recorded " + noise.recorded() + ": the draw order departs from diffusers");
        }
        return image;
    }

    public static boolean hasCase(Path dir) {
        return Files.isRegularFile(dir.resolve("case.json"));
    }

    private static List<String> texts(JsonNode n) {
        List<String> out = new ArrayList<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (n.isArray()) {
            n.forEach(e -> out.add(e.isNull() ? null : e.asText()));
        } else {
            out.add(n.asText());
        }
        return out;
    }

    private static List<String> repeat(String s, int n) {
        List<String> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(s);
        }
        return l;
    }

    @Override
    public void close() {
        pipeline.close();
    }
}

package bench;

import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.pipeline.ImagePipeline;
import io.sparkdiffusion.pipeline.ImageRequest;
import io.sparkdiffusion.pipeline.Pipelines;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;

/** spark-diffusion through its public library API (docs/library.md). */
public final class SdEngine implements Engine {
    private final ImagePipeline pipeline;
    private final int px;
    private final String prompt;

    public SdEngine(String model, int px, int intra, int inter, String prompt) {
        this.pipeline = Pipelines.openImage(Path.of(model), options(intra, inter));
        this.px = px;
        this.prompt = prompt;
    }

    /**
     * The threads given, and with -Druntime=KEY=VALUE,KEY=VALUE more of the job's runtime.* settings (e.g.
     * spinning=true) through RuntimeOptions.fromMap, for builds that have it.
     */
    private static RuntimeOptions options(int intra, int inter) {
        String extra = System.getProperty("runtime", "");
        if (extra.isBlank()) {
            return new RuntimeOptions(intra, inter, "all", "cpu", 0);
        }
        Map<String, String> m = new java.util.HashMap<>();
        m.put("intra_op_threads", Integer.toString(intra));
        m.put("inter_op_threads", Integer.toString(inter));
        for (String kv : extra.split(",")) {
            String[] p = kv.split("=", 2);
            m.put(p[0].trim(), p[1].trim());
        }
        return RuntimeOptions.fromMap(m);
    }

    @Override
    public void generate(String scheduler, int batch, int steps, double guidance, long seed) {
        long[] seeds = new long[batch];
        for (int i = 0; i < batch; i++) {
            seeds[i] = seed + i;
        }
        pipeline.generate(
                ImageRequest.builder()
                        .prompts(prompts(batch, seed))
                        .steps(steps)
                        .guidanceScale(guidance)
                        .scheduler(scheduler)
                        .size(px, px)
                        .build(),
                new SeededNoise(seeds));
    }

    /**
     * The prompt for every row; with -Ddistinct=true a different one per row (the row's seed appended), so that the
     * pipeline's embedding cache never hits and every call runs the text encoder, as sd4j does.
     */
    private java.util.List<String> prompts(int batch, long seed) {
        if (!Boolean.getBoolean("distinct")) {
            return Collections.nCopies(batch, prompt);
        }
        java.util.List<String> p = new java.util.ArrayList<>();
        for (int i = 0; i < batch; i++) {
            p.add(prompt + " " + (seed + i));
        }
        return p;
    }

    @Override
    public long runNanos() {
        long sum = 0;
        for (OnnxModel.RunStats s : pipeline.runStats().values()) {
            sum += s.nanos();
        }
        return sum;
    }

    @Override
    public String calls() {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, OnnxModel.RunStats> e : pipeline.runStats().entrySet()) {
            b.append(e.getKey()).append('=').append(e.getValue().calls()).append(' ');
        }
        return b.toString().trim();
    }

    @Override
    public void close() {
        pipeline.close();
    }
}

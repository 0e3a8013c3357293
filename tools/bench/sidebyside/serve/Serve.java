package bench;

import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.pipeline.ImagePipeline;
import io.sparkdiffusion.pipeline.ImageRequest;
import io.sparkdiffusion.pipeline.Pipelines;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;

/**
 * spark-diffusion as a line server for the full-size side-by-side driver: "gen STEPS BATCH SEED GUIDANCE SIZE".
 * {@code -Drows_per_run=N} sets the runtime's rows per UNet call (default 0: chosen); {@code -Dmemory_pattern=false}
 * sets ONNX Runtime's memory pattern (default auto).
 */
public final class Serve {
    public static void main(String[] a) throws Exception {
        Locale.setDefault(Locale.ROOT);
        int intra = Integer.parseInt(a[1]);
        long t0 = System.nanoTime();
        ImagePipeline p = Pipelines.openImage(Path.of(a[0]), RuntimeOptions.fromMap(Map.of(
                        "intra_op_threads", Integer.toString(intra),
                        "inter_op_threads", "1",
                        "rows_per_run", System.getProperty("rows_per_run", "0"),
                        "memory_pattern", System.getProperty("memory_pattern", "auto"))));
        System.out.printf("loaded %.3f %s%n", (System.nanoTime() - t0) / 1e9, Harness.memory());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            String[] f = line.trim().split(" ");
            if (f[0].equals("quit")) {
                break;
            }
            int steps = Integer.parseInt(f[1]);
            int batch = Integer.parseInt(f[2]);
            long seed = Long.parseLong(f[3]);
            double guidance = Double.parseDouble(f[4]);
            int size = Integer.parseInt(f[5]);
            long[] seeds = new long[batch];
            for (int i = 0; i < batch; i++) {
                seeds[i] = seed + i;
            }
            long r0 = runNanos(p);
            long t = System.nanoTime();
            p.generate(
                    ImageRequest.builder()
                            .prompts(Collections.nCopies(batch, "a photo of a cat"))
                            .steps(steps)
                            .guidanceScale(guidance)
                            .size(size, size)
                            .build(),
                    new SeededNoise(seeds));
            long dt = System.nanoTime() - t;
            System.out.printf("ok %.3f %.3f %s%n", dt / 1e9, (runNanos(p) - r0) / 1e9, Harness.memory());
        }
        p.close();
    }

    static long runNanos(ImagePipeline p) {
        long s = 0;
        for (OnnxModel.RunStats r : p.runStats().values()) {
            s += r.nanos();
        }
        return s;
    }
}

package io.sparkdiffusion.quality;

import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A scorer's session call on a whole batch: one {@code run}, or one per chunk where the export declares a fixed batch
 * size (an input whose first dimension is a number), the outputs concatenated in order.
 */
final class BatchRuns {
    private BatchRuns() {}

    static Map<String, Tensor> run(OnnxModel model, Map<String, Tensor> feeds, String... outputs) {
        int batch = -1;
        int chunk = Integer.MAX_VALUE;
        for (Map.Entry<String, Tensor> f : feeds.entrySet()) {
            if (model.hasInput(f.getKey())) {
                batch = (int) f.getValue().dim(0);
                long[] declared = model.inputShape(f.getKey());
                if (declared.length > 0 && declared[0] > 0) {
                    chunk = (int) Math.min(chunk, declared[0]);
                }
            }
        }
        if (batch <= chunk) {
            return model.run(feeds, outputs);
        }
        Map<String, List<Tensor>> parts = new LinkedHashMap<>();
        for (int from = 0; from < batch; from += chunk) {
            int to = Math.min(batch, from + chunk);
            Map<String, Tensor> slice = new HashMap<>();
            for (Map.Entry<String, Tensor> f : feeds.entrySet()) {
                slice.put(f.getKey(), Tensors.sliceBatch(f.getValue(), from, to));
            }
            model.run(slice, outputs)
                    .forEach((k, v) ->
                            parts.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        parts.forEach((k, v) -> out.put(k, Tensors.concatBatch(v)));
        return out;
    }
}

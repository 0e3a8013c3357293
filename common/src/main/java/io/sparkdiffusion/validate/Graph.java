package io.sparkdiffusion.validate;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.sparkdiffusion.model.OrtRuntime;
import io.sparkdiffusion.model.RuntimeOptions;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** A loaded graph's declared inputs and outputs, in declaration order; the session is closed right after reading them. */
record Graph(Map<String, TensorInfo> inputs, Map<String, TensorInfo> outputs) {
    static Graph load(Path file, RuntimeOptions options) throws OrtException {
        try (OrtSession.SessionOptions so = options.toSessionOptions(file);
                OrtSession s = OrtRuntime.environment().createSession(file.toString(), so)) {
            return new Graph(tensors(s.getInputInfo()), tensors(s.getOutputInfo()));
        }
    }

    private static Map<String, TensorInfo> tensors(Map<String, NodeInfo> nodes) {
        Map<String, TensorInfo> m = new LinkedHashMap<>();
        for (Map.Entry<String, NodeInfo> e : nodes.entrySet()) {
            if (!(e.getValue().getInfo() instanceof TensorInfo ti)) {
                throw new IllegalStateException(
                        "'" + e.getKey() + "' is not a tensor (" + e.getValue().getInfo() + ")");
            }
            m.put(e.getKey(), ti);
        }
        return Collections.unmodifiableMap(m);
    }
}

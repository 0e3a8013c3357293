package io.sparkdiffusion.cli;

import io.sparkdiffusion.model.RuntimeOptions;
import picocli.CommandLine.Option;

/** ONNX Runtime settings shared by every command. */
final class RuntimeMixin {
    @Option(names = "--intra-op-threads", paramLabel = "N", defaultValue = "0",
            description = "Threads inside one operator (0 = ONNX Runtime's choice). Default: ${DEFAULT-VALUE}.")
    int intraOp;

    @Option(names = "--inter-op-threads", paramLabel = "N", defaultValue = "0",
            description = "Threads across operators (0 = ONNX Runtime's choice). Default: ${DEFAULT-VALUE}.")
    int interOp;

    @Option(names = "--optimization", paramLabel = "LEVEL", defaultValue = "all",
            description = "Graph optimisation: none, basic, extended, all. Default: ${DEFAULT-VALUE}.")
    String optimization;

    @Option(names = "--provider", paramLabel = "EP", defaultValue = "cpu",
            description = "Execution provider: cpu or cuda (needs the onnxruntime_gpu build). Default: ${DEFAULT-VALUE}.")
    String provider;

    @Option(names = "--device-id", paramLabel = "ID", defaultValue = "0",
            description = "CUDA device ordinal. Default: ${DEFAULT-VALUE}.")
    int deviceId;

    RuntimeOptions options() {
        return new RuntimeOptions(intraOp, interOp, optimization, provider, deviceId);
    }
}

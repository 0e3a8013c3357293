package io.sparkdiffusion.cli;

import io.sparkdiffusion.model.RuntimeOptions;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** ONNX Runtime settings shared by every command. */
final class RuntimeMixin {
    @Option(
            names = "--intra-op-threads",
            paramLabel = "N",
            defaultValue = "0",
            description = "Threads inside one operator (0 = ONNX Runtime's choice). Default: ${DEFAULT-VALUE}.")
    int intraOp;

    @Option(
            names = "--inter-op-threads",
            paramLabel = "N",
            defaultValue = "0",
            description = "Threads across operators (0 = ONNX Runtime's choice). Default: ${DEFAULT-VALUE}.")
    int interOp;

    @Option(
            names = "--optimization",
            paramLabel = "LEVEL",
            defaultValue = "all",
            description = "Graph optimisation: none, basic, extended, all. Default: ${DEFAULT-VALUE}.")
    String optimization;

    @Option(
            names = "--provider",
            paramLabel = "EP",
            defaultValue = "cpu",
            description =
                    "Execution provider: cpu or cuda (needs the onnxruntime_gpu build). Default: ${DEFAULT-VALUE}.")
    String provider;

    @Option(
            names = "--device-id",
            paramLabel = "ID",
            defaultValue = "0",
            description = "CUDA device ordinal. Default: ${DEFAULT-VALUE}.")
    int deviceId;

    /** The options, or a usage error naming the flag at fault. */
    RuntimeOptions options(CommandLine cl) {
        check(cl, intraOp >= 0, "--intra-op-threads must be >= 0, got " + intraOp);
        check(cl, interOp >= 0, "--inter-op-threads must be >= 0, got " + interOp);
        check(
                cl,
                java.util.List.of("none", "basic", "extended", "all").contains(optimization),
                "--optimization must be none, basic, extended or all, got '" + optimization + "'");
        check(
                cl,
                provider.equals("cpu") || provider.equals("cuda"),
                "--provider must be cpu or cuda, got '" + provider + "'");
        check(cl, deviceId >= 0, "--device-id must be >= 0, got " + deviceId);
        return new RuntimeOptions(intraOp, interOp, optimization, provider, deviceId);
    }

    private static void check(CommandLine cl, boolean ok, String message) {
        if (!ok) {
            throw new CommandLine.ParameterException(cl, message);
        }
    }
}

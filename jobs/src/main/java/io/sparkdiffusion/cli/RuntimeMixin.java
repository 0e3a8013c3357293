package io.sparkdiffusion.cli;

import io.sparkdiffusion.model.RuntimeOptions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    @Option(
            names = "--runtime",
            paramLabel = "KEY=VALUE",
            description = "Another ONNX Runtime setting, as the job's runtime.KEY: memory_pattern, cpu_arena, spinning,"
                    + " rows_per_run (rows of a batch per UNet call; 0 = chosen), cuda.conv_algo_search,"
                    + " cuda.conv_max_workspace, cuda.arena_extend_strategy, cuda.mem_limit_mb, cuda.prefer_nhwc,"
                    + " cuda.tf32 (repeatable).")
    Map<String, String> settings = new LinkedHashMap<>();

    /** The options, or a usage error naming the flag at fault. */
    RuntimeOptions options(CommandLine cl) {
        check(cl, intraOp >= 0, "--intra-op-threads must be >= 0, got " + intraOp);
        check(cl, interOp >= 0, "--inter-op-threads must be >= 0, got " + interOp);
        check(
                cl,
                List.of("none", "basic", "extended", "all").contains(optimization),
                "--optimization must be none, basic, extended or all, got '" + optimization + "'");
        check(
                cl,
                provider.equals("cpu") || provider.equals("cuda"),
                "--provider must be cpu or cuda, got '" + provider + "'");
        check(cl, deviceId >= 0, "--device-id must be >= 0, got " + deviceId);
        Map<String, String> m = new LinkedHashMap<>(settings);
        for (String flag : List.of("intra_op_threads", "inter_op_threads", "optimization", "provider", "device_id")) {
            check(
                    cl,
                    !m.containsKey(flag),
                    "--runtime " + flag + ": use --"
                            + flag.replace("_op_", "-op-").replace('_', '-'));
        }
        m.put("intra_op_threads", Integer.toString(intraOp));
        m.put("inter_op_threads", Integer.toString(interOp));
        m.put("optimization", optimization);
        m.put("provider", provider);
        m.put("device_id", Integer.toString(deviceId));
        try {
            return RuntimeOptions.fromMap(m);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--runtime: " + e.getMessage());
        }
    }

    private static void check(CommandLine cl, boolean ok, String message) {
        if (!ok) {
            throw new CommandLine.ParameterException(cl, message);
        }
    }
}

package io.sparkdiffusion.model;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.Serializable;
import java.util.Locale;
import java.util.Map;

/**
 * ONNX Runtime session settings, from configuration: threads, graph optimisation level and execution provider.
 *
 * @param intraOpThreads threads inside one operator; 0 lets ONNX Runtime choose (all cores)
 * @param interOpThreads threads across independent operators; 0 lets ONNX Runtime choose
 * @param optimization {@code none}, {@code basic}, {@code extended} or {@code all}
 * @param provider {@code cpu} or {@code cuda}
 * @param deviceId the CUDA device ordinal (ignored on CPU)
 */
public record RuntimeOptions(int intraOpThreads, int interOpThreads, String optimization, String provider, int deviceId)
        implements Serializable {

    public static final RuntimeOptions DEFAULT = new RuntimeOptions(0, 0, "all", "cpu", 0);

    public RuntimeOptions {
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException(
                    "thread counts must be >= 0, got intra=" + intraOpThreads + " inter=" + interOpThreads);
        }
        optimization = optimization.toLowerCase(Locale.ROOT);
        provider = provider.toLowerCase(Locale.ROOT);
        optLevel(optimization);
        if (!provider.equals("cpu") && !provider.equals("cuda")) {
            throw new IllegalArgumentException("execution provider must be cpu or cuda, got '" + provider + "'");
        }
        if (deviceId < 0) {
            throw new IllegalArgumentException("device id must be >= 0, got " + deviceId);
        }
    }

    /** Reads {@code intra_op_threads}, {@code inter_op_threads}, {@code optimization}, {@code provider}, {@code device_id}. */
    public static RuntimeOptions fromMap(Map<String, String> m) {
        return new RuntimeOptions(
                parseInt(m, "intra_op_threads", DEFAULT.intraOpThreads),
                parseInt(m, "inter_op_threads", DEFAULT.interOpThreads),
                m.getOrDefault("optimization", DEFAULT.optimization),
                m.getOrDefault("provider", DEFAULT.provider),
                parseInt(m, "device_id", DEFAULT.deviceId));
    }

    private static int parseInt(Map<String, String> m, String key, int dflt) {
        String v = m.get(key);
        if (v == null) {
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be an integer, got '" + v + "'");
        }
    }

    public RuntimeOptions withDevice(String newProvider, int newDeviceId) {
        return new RuntimeOptions(intraOpThreads, interOpThreads, optimization, newProvider, newDeviceId);
    }

    private static OrtSession.SessionOptions.OptLevel optLevel(String name) {
        return switch (name) {
            case "none" -> OrtSession.SessionOptions.OptLevel.NO_OPT;
            case "basic" -> OrtSession.SessionOptions.OptLevel.BASIC_OPT;
            case "extended" -> OrtSession.SessionOptions.OptLevel.EXTENDED_OPT;
            case "all" -> OrtSession.SessionOptions.OptLevel.ALL_OPT;
            default ->
                throw new IllegalArgumentException(
                        "optimization must be none, basic, extended or all, got '" + name + "'");
        };
    }

    /** Fresh session options; the caller closes them. */
    public OrtSession.SessionOptions toSessionOptions() throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setOptimizationLevel(optLevel(optimization));
        if (intraOpThreads > 0) {
            o.setIntraOpNumThreads(intraOpThreads);
        }
        if (interOpThreads > 0) {
            o.setInterOpNumThreads(interOpThreads);
        }
        if (provider.equals("cuda")) {
            try {
                o.addCUDA(deviceId);
            } catch (OrtException | UnsatisfiedLinkError e) {
                o.close();
                throw new IllegalStateException(
                        "CUDA execution provider requested (device " + deviceId
                                + ") but unavailable: build with mvn -Pgpu (onnxruntime_gpu) and install CUDA 12 + cuDNN 9 ("
                                + e.getMessage() + ")",
                        e);
            }
        }
        return o;
    }

    @Override
    public String toString() {
        return provider + (provider.equals("cuda") ? ":" + deviceId : "") + " intra=" + intraOpThreads + " inter="
                + interOpThreads + " opt=" + optimization;
    }
}

package io.sparkdiffusion.model;

import ai.onnxruntime.OrtEnvironment;

/** The one {@link OrtEnvironment} of this JVM (ONNX Runtime allows a single environment per process). */
public final class OrtRuntime {
    private OrtRuntime() {}

    public static OrtEnvironment environment() {
        return OrtEnvironment.getEnvironment();
    }
}

package io.sparkdiffusion.text;

import java.nio.file.Path;

/**
 * Keeps DJL's tokenizer native library offline and on its CPU build. On a CUDA machine DJL otherwise tries to
 * download a GPU flavour of the Rust library; the CPU library inside the jar is all a tokenizer needs. The
 * environment variables {@code DJL_OFFLINE}, {@code RUST_FLAVOR} and {@code DJL_CACHE_DIR} are honoured first;
 * the system properties set here cover JVMs started without them (Spark executors, the CLI).
 */
final class DjlOffline {
    private DjlOffline() {}

    public static synchronized void apply() {
        setIfAbsent("ai.djl.offline", "DJL_OFFLINE", "true");
        setIfAbsent("DJL_OFFLINE", "DJL_OFFLINE", "true");
        setIfAbsent("RUST_FLAVOR", "RUST_FLAVOR", "cpu");
        setIfAbsent(
                "DJL_CACHE_DIR",
                "DJL_CACHE_DIR",
                Path.of(System.getProperty("java.io.tmpdir"), "spark-diffusion-djl-" + System.getProperty("user.name"))
                        .toString());
    }

    private static void setIfAbsent(String property, String env, String value) {
        if (System.getProperty(property) == null) {
            String fromEnv = System.getenv(env);
            System.setProperty(property, fromEnv != null ? fromEnv : value);
        }
    }
}

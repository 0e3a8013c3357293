package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.model.OrtRuntime;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime starts in a JVM with a 100,000-character command line and no {@code ORT_DISABLE_TELEMETRY}: the
 * job needs no variable from its user (a plain {@code OrtEnvironment.getEnvironment()} on the main thread dies with
 * SIGSEGV there, exit 139).
 */
@Slow
class OrtStartupTest {
    /** Started by the test in a JVM of its own: starts ONNX Runtime as the job does, then opens a session. */
    public static void main(String[] args) throws Exception {
        OrtStartup.environment();
        try (var session =
                OrtRuntime.environment().createSession(args[0], new ai.onnxruntime.OrtSession.SessionOptions())) {
            System.out.println("session inputs " + session.getInputNames());
        }
    }

    @Test
    void startsWithALongCommandLineAndNoVariable() throws IOException, InterruptedException {
        Path unet = Fixtures.model("digits-t2i").resolve("unet/model.onnx");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(List.of(
                        java,
                        "-Dpadding=" + "x".repeat(100_000),
                        "-cp",
                        System.getProperty("java.class.path"),
                        OrtStartupTest.class.getName(),
                        unet.toString()))
                .redirectErrorStream(true);
        pb.environment().remove("ORT_DISABLE_TELEMETRY");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the JVM did not finish");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("session inputs"), out);
    }
}

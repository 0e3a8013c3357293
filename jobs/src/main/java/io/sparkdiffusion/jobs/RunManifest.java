package io.sparkdiffusion.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.util.JsonConfig;
import java.io.IOException;
import java.time.Instant;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The run manifest, {@code _job.json}: how runs are named, and how a manifest this tool wrote is told from any
 * other file of that name, by its content: {@code --overwrite} deletes an output only when its manifest is ours.
 */
final class RunManifest {
    static final String FILE = "_job.json";
    static final String TOOL = "spark-diffusion";
    /** What {@link #newRunId()} makes: the start instant (":" and "." as "-") and 8 hex digits. */
    private static final Pattern RUN_ID = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T[0-9-]+Z-[0-9a-f]{8}");

    private static final Pattern FINGERPRINT = Pattern.compile("[0-9a-f]{64}");
    private static final Set<String> STATES = Set.of("running", "finished", "failed", "stopped");
    /** A manifest is a few hundred bytes; a larger {@code _job.json} is not one. */
    static final int MAX_BYTES = 1 << 20;

    private RunManifest() {}

    static String newRunId() {
        return Instant.now().toString().replaceAll("[:.]", "-") + "-"
                + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Null when {@code json} is a manifest this tool wrote; otherwise what gives it away. */
    static String notOurs(byte[] json) {
        if (json.length > MAX_BYTES) {
            return "it is " + json.length + " bytes long";
        }
        JsonNode m;
        try {
            m = JsonConfig.mapper().readTree(json);
        } catch (IOException e) {
            return "it is not JSON";
        }
        if (m == null || !m.isObject()) {
            return "it is not a JSON object";
        }
        if (!TOOL.equals(m.path("tool").asText(null))) {
            return "its \"tool\" is not \"" + TOOL + "\"";
        }
        if (!RUN_ID.matcher(m.path("run_id").asText("")).matches()) {
            return "its \"run_id\" is not one this tool makes";
        }
        if (!FINGERPRINT.matcher(m.path("model_fingerprint").asText("")).matches()) {
            return "it has no model fingerprint";
        }
        if (!STATES.contains(m.path("state").asText(""))) {
            return "its \"state\" is not running, finished, failed or stopped";
        }
        return null;
    }
}

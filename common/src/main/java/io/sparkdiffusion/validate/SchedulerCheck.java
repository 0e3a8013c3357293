package io.sparkdiffusion.validate;

import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.scheduler.Schedulers;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** {@code scheduler/scheduler_config.json} builds a known scheduler; the line shows its settings and 4 timesteps. */
final class SchedulerCheck {
    private SchedulerCheck() {}

    static Check check(Path dir, String subject) {
        Path f = dir.resolve("scheduler").resolve("scheduler_config.json");
        if (!Files.isRegularFile(f)) {
            return Check.fail(subject, "scheduler/scheduler_config.json is missing");
        }
        try {
            JsonConfig c = JsonConfig.read(f);
            Scheduler s = Schedulers.create(c);
            s.setTimesteps(4);
            StringBuilder b = new StringBuilder(c.getString("_class_name", "?"));
            List<String> details = new ArrayList<>();
            for (String key : List.of("prediction_type", "timestep_spacing", "beta_schedule", "timestep_type")) {
                if (c.has(key)) {
                    details.add(key + " " + c.getString(key, ""));
                }
            }
            if (c.getBoolean("use_karras_sigmas", false)) {
                details.add("karras sigmas");
            }
            if (!details.isEmpty()) {
                b.append(" (").append(String.join(", ", details)).append(')');
            }
            double[] ts = s.timesteps();
            b.append("; 4 steps -> timesteps ")
                    .append(Arrays.stream(ts)
                            .limit(6)
                            .mapToObj(t ->
                                    t == Math.rint(t) ? Long.toString((long) t) : String.format(Locale.ROOT, "%.1f", t))
                            .collect(Collectors.joining(", ", "[", ts.length > 6 ? ", ...]" : "]")));
            return Check.ok(subject, b.toString());
        } catch (RuntimeException e) {
            return Check.fail(
                    subject,
                    "scheduler_config.json does not build a scheduler: " + CheckText.oneLine(e)
                            + " (a job can still name one with --scheduler)");
        }
    }
}

package io.sparkdiffusion.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkdiffusion.util.JsonConfig;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A {@code scheduler_config.json} read the way one diffusers scheduler class reads it ({@code ConfigMixin.from_config},
 * {@code extract_init_dict} in {@code configuration_utils.py}). Each class declares {@link Keys}: every parameter of
 * its diffusers {@code __init__}, with diffusers' default, either honoured or refused. Then:
 *
 * <ul>
 *   <li>a key listed in {@code _use_default_values} takes the class's default (diffusers drops it before
 *       {@code __init__}), so a swapped-in scheduler gets its own defaults, not the saved class's;
 *   <li>a refused key whose value is not its default fails with the key, the class and the config's source; a
 *       honoured string key outside its supported values fails the same way;
 *   <li>a key outside the signature belongs to another class (a swapped scheduler keeps its model's config) and has
 *       no effect, as diffusers ignores it; the private keys ({@code _class_name}, {@code _diffusers_version},
 *       ...) are metadata.
 * </ul>
 *
 * Immutable; a class reads only the keys it declares ({@link #string}, {@link #bool}, ...; an undeclared read is a
 * programming error), or asks {@link #declares} first where shared code serves classes with and without a key.
 */
final class SchedulerConfig {
    /** The beta schedules of {@link NoiseSchedule} that every class with a {@code beta_schedule} key takes. */
    static final String[] BETA_SCHEDULES = {"linear", "scaled_linear", "squaredcos_cap_v2"};

    private final Keys keys;
    private final JsonConfig json;

    private SchedulerConfig(Keys keys, JsonConfig json) {
        this.keys = keys;
        this.json = json;
    }

    /**
     * {@code config} with {@code key} set to {@code value} as a keyword argument of diffusers' {@code from_config}:
     * the value wins over {@code _use_default_values} (an alias such as {@code dpmpp_2m_karras}).
     */
    static JsonConfig override(JsonConfig config, String key, Object value) {
        JsonConfig c = config.with(key, value);
        JsonNode used = c.node().get("_use_default_values");
        if (used instanceof ArrayNode list) {
            ArrayNode kept = list.deepCopy();
            kept.removeAll();
            for (JsonNode k : list) {
                if (!key.equals(k.asText())) {
                    kept.add(k);
                }
            }
            c = c.with("_use_default_values", kept);
        }
        return c;
    }

    String className() {
        return keys.className;
    }

    String source() {
        return json.source();
    }

    /** The config as this class sees it (after {@code _use_default_values}), for messages and cache keys. */
    JsonConfig json() {
        return json;
    }

    /** Whether this class's diffusers signature has {@code key}. */
    boolean declares(String key) {
        return keys.all.containsKey(key);
    }

    String string(String key) {
        JsonNode v = value(key);
        return v == null ? null : v.asText();
    }

    boolean bool(String key) {
        JsonNode v = value(key);
        return v != null && v.asBoolean();
    }

    int integer(String key) {
        JsonNode v = number(key);
        return v.asInt();
    }

    double real(String key) {
        JsonNode v = number(key);
        return v == null ? Double.NaN : v.asDouble();
    }

    /** A numeric array, or null when the key is null. */
    double[] reals(String key) {
        JsonNode v = value(key);
        if (v == null) {
            return null;
        }
        if (!v.isArray()) {
            throw invalid(key, v, "an array");
        }
        double[] out = new double[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.get(i).asDouble();
        }
        return out;
    }

    /**
     * A key diffusers reads with {@code hasattr(self.config, key)} ({@code sigma_min} / {@code sigma_max} in
     * {@code _convert_to_karras} and its siblings): the class's own value when it declares the key, otherwise the
     * value {@code from_config} saved for compatible classes; NaN when absent or null.
     */
    double visibleReal(String key) {
        if (declares(key)) {
            return real(key);
        }
        JsonNode v = json.node().get(key);
        if (v == null || v.isNull()) {
            return Double.NaN;
        }
        if (!v.isNumber()) {
            throw invalid(key, v, "a number");
        }
        return v.asDouble();
    }

    /** The failure for a value this class does not support (one message format for every key). */
    IllegalArgumentException unsupported(String key, Object value, String detail) {
        return new IllegalArgumentException(source() + ": " + keys.className + " does not support " + key + " = "
                + render(value) + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")"));
    }

    private JsonNode number(String key) {
        JsonNode v = value(key);
        if (v != null && !v.isNumber()) {
            throw invalid(key, v, "a number");
        }
        return v;
    }

    private IllegalArgumentException invalid(String key, JsonNode v, String what) {
        return new IllegalArgumentException(
                source() + ": " + key + " must be " + what + " for " + keys.className + ", got " + v);
    }

    /** The value of a declared key: the config's, or the class default when absent, null or a used default. */
    private JsonNode value(String key) {
        Key k = keys.all.get(key);
        if (k == null) {
            throw new IllegalStateException(keys.className + " reads '" + key + "', which it does not declare");
        }
        JsonNode v = json.node().get(key);
        return v == null || v.isNull() ? k.defaultNode() : v;
    }

    private static String render(Object value) {
        return value instanceof String s ? "'" + s + "'" : String.valueOf(value);
    }

    /** One parameter of a diffusers scheduler's {@code __init__}. */
    private record Key(String name, JsonNode defaultNode, boolean honoured, List<String> values, String reason) {}

    /** The keys of one diffusers scheduler class: its {@code __init__} parameters with their defaults. */
    static final class Keys {
        private final String className;
        private final Map<String, Key> all = new LinkedHashMap<>();

        private Keys(String className) {
            this.className = className;
        }

        static Keys of(String className) {
            return new Keys(className);
        }

        /** A key this class implements, with diffusers' default. */
        Keys honour(String key, Object dflt) {
            return put(new Key(key, node(dflt), true, List.of(), null));
        }

        /** A string key of which this class implements only {@code supported} (the default among them). */
        Keys honour(String key, String dflt, String... supported) {
            return put(new Key(key, node(dflt), true, List.of(supported), null));
        }

        /**
         * A key diffusers has and this engine does not implement: accepted at its default, refused otherwise,
         * naming {@code reason} (what it is for, or why it cannot apply).
         */
        Keys refuse(String key, Object dflt, String reason) {
            return put(new Key(key, node(dflt), false, List.of(), reason));
        }

        /**
         * The training-schedule keys most classes share, in diffusers' order: {@code num_train_timesteps} (1000),
         * {@code beta_start}, {@code beta_end}, {@code beta_schedule} (of {@code supported}) and
         * {@code trained_betas}.
         */
        Keys betas(double start, double end, String schedule, String... supported) {
            return honour("num_train_timesteps", 1000)
                    .honour("beta_start", start)
                    .honour("beta_end", end)
                    .honour("beta_schedule", schedule, supported.length == 0 ? BETA_SCHEDULES : supported)
                    .honour("trained_betas", null);
        }

        /** {@code timestep_spacing} (linspace, leading, trailing) with this class's default, and {@code steps_offset}. */
        Keys spacing(String dflt) {
            return honour("timestep_spacing", dflt, "linspace", "leading", "trailing")
                    .honour("steps_offset", 0);
        }

        /**
         * Dynamic thresholding's keys (Saharia et al. 2022, arXiv:2205.11487): {@code thresholding} (false),
         * {@code dynamic_thresholding_ratio} (0.995) and {@code sample_max_value} (1.0); the two values act only
         * when {@code thresholding} is on, so they are accepted when it is refused.
         */
        Keys thresholding(boolean implemented) {
            Keys k =
                    implemented ? honour("thresholding", false) : refuse("thresholding", false, "dynamic thresholding");
            return k.honour("dynamic_thresholding_ratio", 0.995).honour("sample_max_value", 1.0);
        }

        /**
         * The flow-matching keys of the DPM-Solver, UniPC and DEIS classes: {@code use_flow_sigmas} and
         * {@code use_dynamic_shifting} refused (they are for flow-matching models, which this engine does not run);
         * {@code flow_shift} and {@code time_shift_type} act only with those, so they are accepted.
         */
        Keys flowMatchingRefused() {
            return refuse("use_flow_sigmas", false, "flow-matching sigmas, for flow-matching models")
                    .honour("flow_shift", 1.0)
                    .refuse("use_dynamic_shifting", false, "resolution-dependent shifting of flow-matching sigmas")
                    .honour("time_shift_type", "exponential");
        }

        /** {@code prediction_type}, epsilon by default, of {@code supported}. */
        Keys prediction(String... supported) {
            return honour("prediction_type", "epsilon", supported);
        }

        /** The same keys under another class name, for a class whose signature extends or trims this one. */
        Keys copyAs(String otherClass, String... without) {
            Keys k = new Keys(otherClass);
            Set<String> dropped = Set.of(without);
            all.forEach((name, key) -> {
                if (!dropped.contains(name)) {
                    k.all.put(name, key);
                }
            });
            return k;
        }

        /** The declared keys, for tests against diffusers' signatures. */
        Set<String> names() {
            return Collections.unmodifiableSet(all.keySet());
        }

        /** The honoured keys. */
        List<String> honoured() {
            return all.values().stream().filter(Key::honoured).map(Key::name).toList();
        }

        private Keys put(Key k) {
            all.put(k.name(), k);
            return this;
        }

        private static JsonNode node(Object dflt) {
            return JsonConfig.valueToTree(dflt);
        }

        /** Reads {@code config} as this class: drops used defaults, refuses unsupported values. */
        SchedulerConfig bind(JsonConfig config) {
            SchedulerConfig c = new SchedulerConfig(this, withoutUsedDefaults(config));
            for (Key k : all.values()) {
                JsonNode v = c.json.node().get(k.name());
                if (v == null || v.isNull()) {
                    continue;
                }
                if (!k.honoured() && !sameValue(v, k.defaultNode())) {
                    throw c.unsupported(k.name(), plain(v), k.reason());
                }
                if (!k.values().isEmpty() && !k.values().contains(v.asText())) {
                    throw c.unsupported(k.name(), v.asText(), "supported: " + String.join(", ", k.values()));
                }
            }
            return c;
        }

        /** diffusers' {@code extract_init_dict} drops the keys of {@code _use_default_values} first. */
        private static JsonConfig withoutUsedDefaults(JsonConfig config) {
            JsonNode used = config.node().get("_use_default_values");
            if (!(used instanceof ArrayNode list) || list.isEmpty()) {
                return config;
            }
            ObjectNode copy = config.node().deepCopy();
            for (JsonNode k : list) {
                copy.remove(k.asText());
            }
            return new JsonConfig(copy, config.source());
        }

        private static boolean sameValue(JsonNode v, JsonNode dflt) {
            if (dflt == null) {
                return v == null || v.isNull();
            }
            if (v.isNumber() && dflt.isNumber()) {
                return v.asDouble() == dflt.asDouble();
            }
            if (v.isArray() && dflt.isArray() && v.isEmpty() && dflt.isEmpty()) {
                return true;
            }
            return v.equals(dflt);
        }

        private static Object plain(JsonNode v) {
            if (v.isTextual()) {
                return v.asText();
            }
            if (v.isArray()) {
                double[] d = new double[v.size()];
                for (int i = 0; i < d.length; i++) {
                    d[i] = v.get(i).asDouble();
                }
                return Arrays.toString(d);
            }
            return v.toString().toLowerCase(Locale.ROOT);
        }
    }
}

package io.sparkdiffusion.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.util.JsonConfig;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Builds a scheduler from a {@code scheduler_config.json}, as diffusers' {@code from_config} does: the class comes
 * from {@code _class_name} unless a name overrides it. A name is a diffusers class name or a short alias
 * ({@code euler_a}, {@code dpmpp_2m_karras}, ...). The config's other fields carry over, so swapping the scheduler
 * keeps the model's beta schedule, offset and prediction type.
 *
 * <p>Parsing a config and building its training tables happens once: the first {@link #create} of a (class, config)
 * pair keeps the instance as an immutable template, and every call returns a fresh copy that shares the template's
 * tables and starts with no per-call state, so a resident pipeline's per-call scheduler costs almost nothing.
 */
public final class Schedulers {
    /** The classes whose diffusers {@code set_timesteps} takes {@code timesteps} (diffusers' retrieve_timesteps). */
    static final String CUSTOM_TIMESTEPS = "EulerDiscreteScheduler, HeunDiscreteScheduler, DDPMScheduler, "
            + "LCMScheduler, TCDScheduler, DPMSolverMultistepScheduler, DPMSolverSinglestepScheduler";
    /** The classes whose diffusers {@code set_timesteps} takes a list of {@code sigmas}. */
    static final String CUSTOM_SIGMAS = "EulerDiscreteScheduler";

    private static final Map<String, Function<JsonConfig, AbstractScheduler>> BY_CLASS = new LinkedHashMap<>();
    /** Templates by class name and config, never handed out; bounded, least recently used first out. */
    private static final int MAX_TEMPLATES = 64;

    private static final Map<ByContent, AbstractScheduler> TEMPLATES = new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<ByContent, AbstractScheduler> eldest) {
            return size() > MAX_TEMPLATES;
        }
    };
    /** Templates held by class and content now (tests). */
    static int templatesByContent() {
        synchronized (TEMPLATES) {
            return TEMPLATES.size();
        }
    }

    /**
     * A class name and a config, compared by the config's source and JSON content (Jackson's structural equality;
     * the map holds a copy of the content). Not by the JSON's text: printing a node starts Jackson's object mapper, a
     * tenth of a second of a fresh JVM's first image.
     */
    private record ByContent(String className, String source, JsonNode content) {}

    /** alias -> class name, plus config overrides the alias implies. */
    private static final Map<String, Alias> ALIASES = new LinkedHashMap<>();

    private record Alias(String className, String key, Object value) {}

    static {
        BY_CLASS.put("DDIMScheduler", DdimScheduler::new);
        BY_CLASS.put("EulerDiscreteScheduler", EulerDiscreteScheduler::new);
        BY_CLASS.put("DPMSolverMultistepScheduler", DpmSolverMultistepScheduler::new);
        BY_CLASS.put("UniPCMultistepScheduler", UniPcMultistepScheduler::new);
        BY_CLASS.put("EulerAncestralDiscreteScheduler", EulerAncestralDiscreteScheduler::new);
        BY_CLASS.put("LMSDiscreteScheduler", LmsDiscreteScheduler::new);
        BY_CLASS.put("DDPMScheduler", DdpmScheduler::new);
        BY_CLASS.put("PNDMScheduler", PndmScheduler::new);
        BY_CLASS.put("LCMScheduler", LcmScheduler::new);
        BY_CLASS.put("UnCLIPScheduler", UnClipScheduler::new);
        BY_CLASS.put("HeunDiscreteScheduler", HeunDiscreteScheduler::new);
        BY_CLASS.put("KDPM2DiscreteScheduler", KDpm2DiscreteScheduler::new);
        BY_CLASS.put("KDPM2AncestralDiscreteScheduler", KDpm2AncestralDiscreteScheduler::new);
        BY_CLASS.put("DPMSolverSinglestepScheduler", DpmSolverSinglestepScheduler::new);
        BY_CLASS.put("DEISMultistepScheduler", DeisMultistepScheduler::new);
        BY_CLASS.put("EDMEulerScheduler", EdmEulerScheduler::new);
        BY_CLASS.put("EDMDPMSolverMultistepScheduler", EdmDpmSolverMultistepScheduler::new);
        BY_CLASS.put("TCDScheduler", TcdScheduler::new);
        BY_CLASS.put("IPNDMScheduler", IpndmScheduler::new);
        alias("ddim", "DDIMScheduler");
        alias("euler", "EulerDiscreteScheduler");
        alias("dpmpp_2m", "DPMSolverMultistepScheduler");
        alias("dpmpp_2m_karras", "DPMSolverMultistepScheduler", "use_karras_sigmas", true);
        alias("unipc", "UniPCMultistepScheduler");
        alias("euler_a", "EulerAncestralDiscreteScheduler");
        alias("euler_ancestral", "EulerAncestralDiscreteScheduler");
        alias("lms", "LMSDiscreteScheduler");
        alias("ddpm", "DDPMScheduler");
        alias("pndm", "PNDMScheduler");
        alias("lcm", "LCMScheduler");
        alias("unclip", "UnCLIPScheduler");
        alias("heun", "HeunDiscreteScheduler");
        alias("kdpm2", "KDPM2DiscreteScheduler");
        alias("kdpm2_a", "KDPM2AncestralDiscreteScheduler");
        alias("dpmpp_2s", "DPMSolverSinglestepScheduler");
        // "DPM++ 2M SDE": the multistep solver's stochastic variant (diffusers' docs map A1111's name this way)
        alias("dpmpp_sde", "DPMSolverMultistepScheduler", "algorithm_type", "sde-dpmsolver++");
        alias("dpmpp_2m_sde", "DPMSolverMultistepScheduler", "algorithm_type", "sde-dpmsolver++");
        alias("deis", "DEISMultistepScheduler");
        alias("edm_euler", "EDMEulerScheduler");
        alias("edm_dpmpp_2m", "EDMDPMSolverMultistepScheduler");
        alias("tcd", "TCDScheduler");
        alias("ipndm", "IPNDMScheduler");
    }

    private Schedulers() {}

    private static void alias(String name, String className) {
        ALIASES.put(name, new Alias(className, null, null));
    }

    private static void alias(String name, String className, String key, Object value) {
        ALIASES.put(name, new Alias(className, key, value));
    }

    /** Every accepted name: class names and aliases. */
    public static String knownNames() {
        return String.join(", ", ALIASES.keySet()) + " (or the class names " + String.join(", ", BY_CLASS.keySet())
                + ")";
    }

    /** The scheduler named by {@code _class_name} of the config. */
    public static Scheduler create(JsonConfig config) {
        return create(null, config);
    }

    /**
     * The scheduler called {@code name} (null: the config's {@code _class_name}), configured from {@code config}.
     *
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static Scheduler create(String name, JsonConfig config) {
        return template(name, config).fresh();
    }

    private static AbstractScheduler template(String name, JsonConfig config) {
        String wanted = name == null ? config.getString("_class_name", null) : name;
        if (wanted == null) {
            throw new IllegalArgumentException(config.source() + " has no _class_name and no scheduler was named");
        }
        JsonConfig effective = config;
        String className = wanted;
        Alias alias = ALIASES.get(wanted.toLowerCase(Locale.ROOT).replace('-', '_'));
        if (alias != null) {
            className = alias.className();
            if (alias.key() != null) {
                effective = SchedulerConfig.override(effective, alias.key(), alias.value());
            }
        }
        Function<JsonConfig, AbstractScheduler> ctor = BY_CLASS.get(className);
        if (ctor == null) {
            throw new IllegalArgumentException("unknown scheduler '" + wanted + "'; known: " + knownNames());
        }
        return template(className, effective, ctor);
    }

    /** The cached template of {@code className} built from {@code config}, built now if absent. */
    private static AbstractScheduler template(
            String className, JsonConfig config, Function<JsonConfig, AbstractScheduler> ctor) {
        ByContent key = new ByContent(className, config.source(), config.node());
        synchronized (TEMPLATES) {
            AbstractScheduler t = TEMPLATES.get(key);
            if (t != null) {
                return t;
            }
        }
        AbstractScheduler built = ctor.apply(config); // outside the lock: a bad config throws and caches nothing
        // the map keeps a copy of the content: a caller changing its config's node later cannot change a stored key
        ByContent stored =
                new ByContent(className, config.source(), config.node().deepCopy());
        synchronized (TEMPLATES) {
            return TEMPLATES.computeIfAbsent(stored, k -> built);
        }
    }

    /**
     * What a pipeline calls instead of {@code setTimesteps(steps)} when a request may carry a custom schedule:
     * diffusers' {@code retrieve_timesteps} (every pipeline's helper). At most one of {@code timesteps} and
     * {@code sigmas} may be given (null: absent); with one, {@code steps} is ignored and the scheduler must take
     * it, else it is refused naming the class and the classes that do.
     *
     * @return the number of inference steps as {@code retrieve_timesteps} returns it: {@code steps}, or with a
     *     custom schedule the length of {@code scheduler.timesteps()} (what img2img's strength then applies to)
     */
    public static int retrieveTimesteps(Scheduler scheduler, int steps, double[] timesteps, double[] sigmas) {
        if (timesteps != null && sigmas != null) {
            throw new IllegalArgumentException("only one of custom timesteps and custom sigmas can be given");
        }
        if (timesteps != null) {
            scheduler.setTimesteps(timesteps);
            return scheduler.timesteps().length;
        }
        if (sigmas != null) {
            scheduler.setSigmas(sigmas);
            return scheduler.timesteps().length;
        }
        scheduler.setTimesteps(steps);
        return steps;
    }

    /** The diffusers class names this engine implements. */
    static Set<String> classNames() {
        return Collections.unmodifiableSet(BY_CLASS.keySet());
    }

    /** True when {@code name} is a known scheduler name or alias. */
    public static boolean isKnown(String name) {
        return name != null
                && (BY_CLASS.containsKey(name)
                        || ALIASES.containsKey(name.toLowerCase(Locale.ROOT).replace('-', '_')));
    }
}

package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.caseDir;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.schedulerConfig;
import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.JsonConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The one mechanism by which every scheduler reads its config ({@link SchedulerConfig}): each key of a class's
 * diffusers signature is honoured or refused by name, keys of other classes are ignored as diffusers ignores them,
 * {@code _use_default_values} gives the class default, and every real diffusers config in the fixtures is accepted.
 */
class SchedulerConfigTest {

    /** Every scheduler config of the fixtures (model folders, recorded cases, scheduler traces), as diffusers wrote them. */
    static List<JsonConfig> fixtureConfigs() throws IOException {
        List<JsonConfig> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Fixtures.root().resolve("testdata"))) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (name.equals("scheduler_config.json")) {
                    out.add(JsonConfig.read(f));
                } else if (name.equals("case.json") || name.equals("trace.json")) {
                    JsonConfig c = JsonConfig.read(f);
                    for (String key : List.of("scheduler", "prior_scheduler", "decoder_scheduler")) {
                        if (c.has(key)) {
                            out.add(c.getObject(key));
                        }
                    }
                }
            }
        }
        return out;
    }

    @Test
    void everyFixtureConfigIsAcceptedByItsClass() throws IOException {
        List<JsonConfig> configs = fixtureConfigs();
        assertTrue(configs.size() > 30, "found " + configs.size());
        for (JsonConfig c : configs) {
            Scheduler s = Schedulers.create(c);
            s.setTimesteps(4);
            assertEquals(c.getString("_class_name", null), ((AbstractScheduler) s).className(), c.source());
        }
    }

    @Test
    void aRefusedKeyIsNamedWithTheClassAndTheSource() {
        JsonConfig c = sdConfig("DPMSolverMultistepScheduler", "use_flow_sigmas", true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Schedulers.create(c));
        assertTrue(e.getMessage().contains("use_flow_sigmas"), e.getMessage());
        assertTrue(e.getMessage().contains("DPMSolverMultistepScheduler"), e.getMessage());
        assertTrue(e.getMessage().startsWith("test config"), e.getMessage());
        IllegalArgumentException p = assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(
                        sdConfig("UniPCMultistepScheduler", "solver_p", "DPMSolverMultistepScheduler")));
        assertTrue(p.getMessage().contains("solver_p") && p.getMessage().contains("UniPCMultistepScheduler"));
    }

    @Test
    void aRefusedKeyAtItsDefaultIsAccepted() {
        Scheduler s = Schedulers.create(
                sdConfig("DPMSolverMultistepScheduler", "use_flow_sigmas", false, "variance_type", null));
        s.setTimesteps(4);
        assertEquals(4, s.timesteps().length);
    }

    @Test
    void anUnsupportedValueListsTheSupportedOnes() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.create(sdConfig("EulerDiscreteScheduler", "interpolation_type", "log_linear")));
        assertTrue(e.getMessage().contains("interpolation_type = 'log_linear'"), e.getMessage());
        assertTrue(e.getMessage().contains("supported: linear"), e.getMessage());
    }

    /** A swapped-in class ignores the keys of the saved class, as diffusers' from_config does. */
    @Test
    void keysOfOtherClassesHaveNoEffect() {
        Scheduler plain = Schedulers.create(sdConfig("EulerDiscreteScheduler"));
        Scheduler foreign = Schedulers.create(sdConfig(
                "EulerDiscreteScheduler", "skip_prk_steps", true, "solver_order", 3, "algorithm_type", "deis"));
        plain.setTimesteps(5);
        foreign.setTimesteps(5);
        assertArrayEquals(plain.timesteps(), foreign.timesteps(), 0.0);
        // Euler ancestral has no use_karras_sigmas: an Euler config's true is ignored
        Scheduler ancestral =
                Schedulers.create("euler_a", sdConfig("EulerDiscreteScheduler", "use_karras_sigmas", true));
        Scheduler ancestralPlain = Schedulers.create("euler_a", sdConfig("EulerDiscreteScheduler"));
        ancestral.setTimesteps(5);
        ancestralPlain.setTimesteps(5);
        assertArrayEquals(ancestralPlain.timesteps(), ancestral.timesteps(), 0.0);
    }

    /**
     * diffusers drops the keys of {@code _use_default_values} before {@code __init__}: a DDIM config saved with its
     * default leading spacing gives Euler its own default (linspace); a named alias's override still wins.
     */
    @Test
    void usedDefaultsTakeTheClassDefault() {
        ArrayNode used =
                JsonNodeFactory.instance.arrayNode().add("timestep_spacing").add("use_karras_sigmas");
        JsonConfig ddim = sdConfig("DDIMScheduler", "timestep_spacing", "leading", "use_karras_sigmas", false)
                .with("_use_default_values", used);
        Scheduler euler = Schedulers.create("euler", ddim);
        euler.setTimesteps(4);
        Scheduler linspace = Schedulers.create(sdConfig("EulerDiscreteScheduler", "timestep_spacing", "linspace"));
        linspace.setTimesteps(4);
        assertArrayEquals(linspace.timesteps(), euler.timesteps(), 0.0);

        DpmSolverMultistepScheduler karras = (DpmSolverMultistepScheduler) Schedulers.create("dpmpp_2m_karras", ddim);
        assertEquals(SigmaSchedule.Kind.KARRAS, karras.sigmaKind);
        // the recorded DDIM case lists its defaults: replaying it as DDIM is unchanged
        JsonConfig recorded = schedulerConfig(caseDir("sd-tiny", "txt2img_ddim"));
        assertTrue(recorded.node().has("_use_default_values"));
        Scheduler s = Schedulers.create(recorded);
        s.setTimesteps(4);
        assertArrayEquals(SchedulerTestSupport.recordedTimesteps(caseDir("sd-tiny", "txt2img_ddim")), s.timesteps());
    }

    /**
     * diffusers' {@code _convert_to_karras} reads {@code sigma_min} / {@code sigma_max} with {@code hasattr}, so a
     * DPM-Solver built from an Euler config that sets them ramps between them (Karras et al. 2022, eq. 5).
     */
    @Test
    void karrasRangeComesFromTheConfigAsDiffusersReadsIt() {
        JsonConfig c = sdConfig("EulerDiscreteScheduler", "sigma_min", 0.1, "sigma_max", 10.0);
        DpmSolverMultistepScheduler dpm = (DpmSolverMultistepScheduler) Schedulers.create("dpmpp_2m_karras", c);
        dpm.setTimesteps(4);
        double[] s = dpm.sigmas();
        assertEquals(10.0, s[0], 1e-5);
        assertEquals(0.1, s[3], 1e-6);
        double r = Math.pow(Math.pow(10.0, 1 / 7.0) + (Math.pow(0.1, 1 / 7.0) - Math.pow(10.0, 1 / 7.0)) / 3, 7);
        assertEquals(r, s[1], 1e-5 * r);
        // LMS's Karras ramp ignores them (its _convert_to_karras takes the interpolated ends)
        LmsDiscreteScheduler lms = (LmsDiscreteScheduler) Schedulers.create("lms", c.with("use_karras_sigmas", true));
        lms.setTimesteps(4);
        assertTrue(lms.sigmas()[0] > 14, "LMS starts at the largest training sigma: " + lms.sigmas()[0]);
    }

    @Test
    void classesReadOnlyKeysTheyDeclare() {
        SchedulerConfig c = DdimScheduler.KEYS.bind(sdConfig("DDIMScheduler"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.bool("use_karras_sigmas"));
        assertTrue(e.getMessage().contains("use_karras_sigmas"), e.getMessage());
        assertFalse(c.declares("use_karras_sigmas"));
        assertTrue(c.declares("clip_sample"));
        assertTrue(c.bool("clip_sample"), "DDIM's own default");
    }
}

package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import org.junit.jupiter.api.Test;

/**
 * {@link Schedulers#create}: one cached, immutable template per (class, config), from which every call gets a fresh
 * instance that shares the training tables and none of the per-call state.
 */
class SchedulersTest {
    private static final long[] SHAPE = {1, 4, 3, 3};

    /** A config every class accepts: SD's schedule; UnCLIP's own cosine schedule; a positive sigma_min for DPM. */
    static JsonConfig configFor(String className) {
        return switch (className) {
            case "UnCLIPScheduler" -> JsonConfig.parse("{\"_class_name\":\"UnCLIPScheduler\"}", "test config");
            default -> sdConfig(className);
        };
    }

    @Test
    void everyClassComesFromACachedTemplateAsAFreshInstanceOfItsOwnClass() {
        for (String name : Schedulers.classNames()) {
            JsonConfig c = configFor(name);
            AbstractScheduler a = (AbstractScheduler) Schedulers.create(c);
            AbstractScheduler b = (AbstractScheduler) Schedulers.create(c);
            assertNotSame(a, b, name);
            assertSame(a.getClass(), b.getClass(), name);
            assertEquals(name, a.className());
            assertSame(a.config, b.config, name + ": the parsed config is shared");
            assertSame(a.schedule, b.schedule, name + ": the training tables are shared");
        }
    }

    /** Two instances from one template, stepped in turns, give what each gives alone: no shared per-call state. */
    @Test
    void instancesFromOneTemplateDoNotShareState() {
        for (String name : Schedulers.classNames()) {
            JsonConfig c = configFor(name);
            int steps = name.equals("LCMScheduler") ? 4 : 6;
            Tensor aloneA = runAlone(Schedulers.create(c), steps, 0);
            Tensor aloneB = runAlone(Schedulers.create(c), steps, 7);

            Scheduler a = Schedulers.create(c);
            Scheduler b = Schedulers.create(c);
            a.setTimesteps(steps);
            b.setTimesteps(steps);
            double[] ts = a.timesteps();
            Tensor xa = SchedulerTestSupport.pattern(SHAPE, 0);
            Tensor xb = SchedulerTestSupport.pattern(SHAPE, 7);
            NoiseSource na = new SchedulerTestSupport.CountingNoise();
            NoiseSource nb = new SchedulerTestSupport.CountingNoise();
            for (int i = 0; i < ts.length; i++) {
                a.scaleModelInput(xa, ts[i]);
                xa = a.step(SchedulerTestSupport.pattern(SHAPE, 1 + i), ts[i], xa, na);
                b.scaleModelInput(xb, ts[i]);
                xb = b.step(SchedulerTestSupport.pattern(SHAPE, 1 + i), ts[i], xb, nb);
            }
            assertArrayEquals(aloneA.data(), xa.data(), 0f, name);
            assertArrayEquals(aloneB.data(), xb.data(), 0f, name);
        }
    }

    private static Tensor runAlone(Scheduler s, int steps, double phase) {
        s.setTimesteps(steps);
        double[] ts = s.timesteps();
        Tensor x = SchedulerTestSupport.pattern(SHAPE, phase);
        NoiseSource n = new SchedulerTestSupport.CountingNoise();
        for (int i = 0; i < ts.length; i++) {
            s.scaleModelInput(x, ts[i]);
            x = s.step(SchedulerTestSupport.pattern(SHAPE, 1 + i), ts[i], x, n);
        }
        return x;
    }

    @Test
    void aNewConfigObjectPerCallIsNotHeldForever() {
        // a job may parse a row's scheduler config per batch: each is a new object with its own source; the cache
        // stays bounded
        for (int i = 0; i < 500; i++) {
            Schedulers.create(
                    null,
                    JsonConfig.parse(sdConfig("EulerDiscreteScheduler").node().toString(), "row " + i));
        }
        assertTrue(Schedulers.templatesByContent() <= 64, "templates: " + Schedulers.templatesByContent());
    }

    @Test
    void configsFromOneSourceWithDifferentContentGetTheirOwnTemplates() {
        // templates are found by the config's source and JSON content: a row's override under the same name as the
        // model's config must not get the model's scheduler
        JsonConfig model = sdConfig("EulerDiscreteScheduler");
        JsonConfig other = sdConfig("EulerDiscreteScheduler", "beta_end", 0.02);
        JsonConfig sameAsModel = sdConfig("EulerDiscreteScheduler", "beta_end", 0.012);
        assertEquals(model.source(), other.source());
        double modelSigma = initSigma(model);
        double otherSigma = initSigma(other);
        assertTrue(modelSigma != otherSigma, "beta_end 0.012 and 0.02 gave init sigma " + modelSigma);
        assertEquals(modelSigma, initSigma(sameAsModel));
    }

    @Test
    void aConfigChangedAfterUseDoesNotBreakTheBoundOnTemplates() {
        // the cache keeps its own copy of a config's content: changing the config afterwards (its node is public and
        // mutable) must neither change a stored key nor stop the least recently used templates from leaving
        for (int i = 0; i < 200; i++) {
            JsonConfig c = sdConfig("EulerDiscreteScheduler", "num_train_timesteps", 1000 + i);
            Schedulers.create(c);
            c.node().put("beta_end", 0.5);
        }
        assertTrue(Schedulers.templatesByContent() <= 64, "templates: " + Schedulers.templatesByContent());
    }

    /** The initial noise sigma of a 4-step schedule from {@code config}. */
    private static double initSigma(JsonConfig config) {
        Scheduler s = Schedulers.create(config);
        s.setTimesteps(4);
        return s.initNoiseSigma();
    }

    @Test
    void aBadConfigIsRefusedEveryTimeAndCachesNothing() {
        JsonConfig bad = sdConfig("EulerDiscreteScheduler", "interpolation_type", "log_linear");
        assertThrows(IllegalArgumentException.class, () -> Schedulers.create(bad));
        assertThrows(IllegalArgumentException.class, () -> Schedulers.create(bad));
    }

    @Test
    void unknownNamesListTheKnownOnes() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> Schedulers.create("nope", sdConfig("DDIMScheduler")));
        assertTrue(e.getMessage().contains("euler_a"), e.getMessage());
        assertTrue(e.getMessage().contains("DDIMScheduler"), e.getMessage());
    }
}

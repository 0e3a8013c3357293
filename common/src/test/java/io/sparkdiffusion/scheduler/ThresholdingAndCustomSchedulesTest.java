package io.sparkdiffusion.scheduler;

import static io.sparkdiffusion.scheduler.SchedulerTestSupport.sdConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Dynamic thresholding (Saharia et al. 2022, Section 2.3) against its definition, and the custom-schedule API
 * ({@link Schedulers#retrieveTimesteps}, diffusers' retrieve_timesteps): who takes timesteps or sigmas, who refuses.
 */
class ThresholdingAndCustomSchedulesTest {

    /** torch.quantile's linear rule: sorted v, rank q (n - 1), v[lo] + (rank - lo) (v[lo + 1] - v[lo]). */
    @Test
    void quantileInterpolatesLinearly() {
        float[] v = {5, 1, 4, 2, 3};
        assertEquals(4.6f, SampleClipping.quantile(v.clone(), 0.9f), 1e-6f); // rank 3.6 between 4 and 5
        assertEquals(1f, SampleClipping.quantile(v.clone(), 0f), 0f);
        assertEquals(5f, SampleClipping.quantile(v.clone(), 1f), 0f);
        assertEquals(2.5f, SampleClipping.quantile(v.clone(), 0.375f), 1e-6f);
    }

    /** Per row: s = clamp(quantile(|x|, ratio), 1, max); x = clamp(x, -s, s) / s. */
    @Test
    void thresholdingScalesEachRowByItsQuantile() {
        SchedulerConfig c = DdimScheduler.KEYS.bind(sdConfig(
                "DDIMScheduler", "thresholding", true, "dynamic_thresholding_ratio", 0.75, "sample_max_value", 3.0));
        SampleClipping clipping = SampleClipping.from(c);
        float[] row0 = {0.5f, -4f, 2f, -1f, 1.5f}; // |x| sorted 0.5 1 1.5 2 4: rank 3 -> s = 2
        float[] row1 = {0.1f, 0.2f, -0.3f, 0.4f, 0.5f}; // quantile 0.4 -> clamped up to 1
        float[] data = new float[10];
        System.arraycopy(row0, 0, data, 0, 5);
        System.arraycopy(row1, 0, data, 5, 5);
        Tensor out = clipping.apply(new Tensor(new long[] {2, 5}, data));
        float[] want = {0.25f, -1f, 1f, -0.5f, 0.75f, 0.1f, 0.2f, -0.3f, 0.4f, 0.5f};
        assertArrayEquals(want, out.data(), 1e-6f);
        // sample_max_value caps s: with max 1.5 row 0 is clamped to [-1.5, 1.5] and divided by 1.5
        SampleClipping capped = SampleClipping.from(DdimScheduler.KEYS.bind(sdConfig(
                "DDIMScheduler", "thresholding", true, "dynamic_thresholding_ratio", 0.75, "sample_max_value", 1.5)));
        Tensor c2 = capped.apply(new Tensor(new long[] {1, 5}, row0.clone()));
        assertArrayEquals(new float[] {0.5f / 1.5f, -1f, 1f, -1f / 1.5f, 1f}, c2.data(), 1e-6f);
    }

    /** The lists of classes named in the refusals match what each class accepts. */
    @Test
    void everyClassAcceptsExactlyWhatDiffusersTakes() {
        List<String> timesteps = Arrays.asList(Schedulers.CUSTOM_TIMESTEPS.split(", "));
        List<String> sigmas = Arrays.asList(Schedulers.CUSTOM_SIGMAS.split(", "));
        for (String name : Schedulers.classNames()) {
            Scheduler s = Schedulers.create(SchedulersTest.configFor(name));
            assertEquals(timesteps.contains(name), s.acceptsCustomTimesteps(), name + " custom timesteps");
            assertEquals(sigmas.contains(name), s.acceptsCustomSigmas(), name + " custom sigmas");
            if (!s.acceptsCustomTimesteps()) {
                IllegalArgumentException e = assertThrows(
                        IllegalArgumentException.class,
                        () -> Schedulers.retrieveTimesteps(s, 4, new double[] {900, 500, 100}, null));
                assertTrue(e.getMessage().startsWith(name + " does not take custom timesteps"), e.getMessage());
            }
            if (!s.acceptsCustomSigmas()) {
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Schedulers.retrieveTimesteps(s, 4, null, new double[] {10, 1, 0}));
            }
        }
    }

    @Test
    void retrieveTimestepsReturnsTheStepCountDiffusersReturns() {
        Scheduler euler = Schedulers.create(sdConfig("EulerDiscreteScheduler"));
        assertEquals(4, Schedulers.retrieveTimesteps(euler, 4, null, null));
        assertEquals(4, euler.timesteps().length);
        assertEquals(3, Schedulers.retrieveTimesteps(euler, 50, new double[] {900, 500, 100}, null));
        assertArrayEquals(new double[] {900, 500, 100}, euler.timesteps(), 0.0);
        assertEquals(2, Schedulers.retrieveTimesteps(euler, 50, null, new double[] {10, 1, 0}));
        Scheduler heun = Schedulers.create(sdConfig("HeunDiscreteScheduler"));
        assertEquals(5, Schedulers.retrieveTimesteps(heun, 50, new double[] {900, 500, 100}, null), "2n - 1");
        assertThrows(
                IllegalArgumentException.class,
                () -> Schedulers.retrieveTimesteps(euler, 4, new double[] {900}, new double[] {1, 0}));
        Scheduler ddpm = Schedulers.create(JsonConfig.parse("{\"_class_name\":\"DDPMScheduler\"}", "test"));
        assertThrows(IllegalArgumentException.class, () -> ddpm.setTimesteps(new double[] {100, 500}), "ascending");
        assertThrows(IllegalArgumentException.class, () -> ddpm.setTimesteps(new double[] {1000, 500}), "too large");
    }
}

package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.scheduler.Schedulers;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import io.sparkdiffusion.util.InvalidRequestException;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A request's custom timesteps or sigmas reach the scheduler as diffusers' {@code retrieve_timesteps} passes them:
 * custom timesteps equal to a scheduler's own spacing give the same picture as the plain request; the loop visits
 * exactly the custom timesteps; a scheduler whose diffusers {@code set_timesteps} takes none refuses them, naming
 * the field.
 */
@Slow
class CustomScheduleTest {
    private static final Path SD = Fixtures.fixture("sd-tiny");

    private static ImageRequest.Builder request(String scheduler) {
        return ImageRequest.builder()
                .prompts(List.of("a red apple"))
                .steps(4)
                .guidanceScale(5)
                .scheduler(scheduler);
    }

    @Test
    void customTimestepsEqualToTheOwnSpacingGiveTheSamePicture() {
        JsonConfig config = JsonConfig.read(SD.resolve("scheduler/scheduler_config.json"));
        Scheduler euler = Schedulers.create("euler", config);
        euler.setTimesteps(4);
        double[] own = euler.timesteps();
        try (ImagePipeline p = Pipelines.openImage(SD, RuntimeOptions.DEFAULT)) {
            Tensor plain = p.generate(request("euler").build(), new SeededNoise(9));
            List<Double> visited = new ArrayList<>();
            Tensor custom = p.generate(
                    request("euler").timesteps(own).build(), new SeededNoise(9), (i, t, x) -> visited.add(t));
            assertArrayEquals(plain.data(), custom.data());
            assertEquals(own.length, visited.size());

            double[] fewer = {own[0], own[2]};
            visited.clear();
            p.generate(request("euler").timesteps(fewer).build(), new SeededNoise(9), (i, t, x) -> visited.add(t));
            assertEquals(List.of(fewer[0], fewer[1]), visited, "the loop visits exactly the custom timesteps");
        }
    }

    @Test
    void aSchedulerThatTakesNoCustomScheduleRefusesItByField() {
        try (ImagePipeline p = Pipelines.openImage(SD, RuntimeOptions.DEFAULT)) {
            InvalidRequestException e = assertThrows(
                    InvalidRequestException.class,
                    () -> p.generate(request("pndm").timesteps(900, 500, 100).build(), new SeededNoise(1)));
            assertEquals("timesteps", e.field());
            InvalidRequestException s = assertThrows(
                    InvalidRequestException.class,
                    () -> p.generate(request("ddim").sigmas(10, 5, 1, 0).build(), new SeededNoise(1)));
            assertEquals("sigmas", s.field());
            InvalidRequestException both = assertThrows(
                    InvalidRequestException.class,
                    () -> request("euler").timesteps(1).sigmas(1).build());
            assertTrue(both.getMessage().contains("not both"), both.getMessage());
        }
    }
}

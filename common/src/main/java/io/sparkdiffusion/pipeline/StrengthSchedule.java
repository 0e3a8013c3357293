package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.util.InvalidRequestException;
import java.util.Arrays;

/**
 * Where a denoising run from an init image starts (diffusers' {@code get_timesteps} in the img2img and inpainting
 * pipelines): {@code init_timestep = min(int(steps * strength), steps)}, {@code t_start = max(steps - init_timestep, 0)};
 * the loop runs {@code timesteps[t_start * order:]} and the scheduler's begin index is {@code t_start * order}.
 *
 * @param begin index of the first kept timestep in {@code scheduler.timesteps()}
 * @param timesteps the kept timesteps, in loop order
 */
@SuppressWarnings("ArrayRecordComponent") // a value carrier read in place, never compared or hashed
record StrengthSchedule(int begin, double[] timesteps) {
    /**
     * Sets {@code scheduler}'s begin index for {@code strength}, after its schedule of {@code steps} inference steps
     * was set ({@link DiffusionPipeline#setSchedule}).
     */
    static StrengthSchedule apply(Scheduler scheduler, int steps, double strength) {
        if (!(strength > 0 && strength <= 1)) {
            throw new InvalidRequestException("strength", "strength must be in (0, 1], got " + strength);
        }
        int initTimestep = Math.min((int) (steps * strength), steps);
        if (initTimestep < 1) {
            throw new InvalidRequestException(
                    "strength",
                    "strength " + strength + " with num_inference_steps " + steps
                            + " leaves int(steps * strength) = 0 denoising steps; raise strength or steps so that"
                            + " steps * strength >= 1");
        }
        int begin = (steps - initTimestep) * scheduler.order();
        scheduler.setBeginIndex(begin);
        double[] all = scheduler.timesteps();
        return new StrengthSchedule(begin, Arrays.copyOfRange(all, begin, all.length));
    }

    /** The timestep the init latents are noised to ({@code add_noise} at {@code timesteps[0]}). */
    double first() {
        return timesteps[0];
    }
}

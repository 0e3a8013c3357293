package io.sparkdiffusion.scheduler;

/**
 * The ways diffusers spreads inference timesteps over the training range, in one place: {@code linspace},
 * {@code leading} (plus {@code steps_offset}) and {@code trailing} (Lin et al. 2023, arXiv:2305.08891, Table 2) as
 * the single-step schedulers ({@link #discrete}, {@link #continuous}) and the multistep solvers ({@link #multistep})
 * compute them, and the consistency-distilled schedules ({@link #distilled}). Returned in descending order.
 */
public final class TimestepSpacing {
    private TimestepSpacing() {}

    /**
     * Integer timesteps as DDIM/DDPM/PNDM/LCM/DPM compute them:
     * linspace: {@code round(linspace(0, T-1, n))[::-1]};
     * leading: {@code (arange(n) * (T // n))[::-1] + steps_offset};
     * trailing: {@code round(arange(T, 0, -T/n)) - 1}.
     */
    public static double[] discrete(String spacing, int numTrain, int steps, int stepsOffset) {
        double[] t = new double[steps];
        switch (spacing) {
            case "linspace" -> {
                for (int i = 0; i < steps; i++) {
                    double v = steps == 1 ? 0 : (double) i * (numTrain - 1) / (steps - 1);
                    t[steps - 1 - i] = Math.rint(v);
                }
            }
            case "leading" -> {
                int ratio = numTrain / steps;
                for (int i = 0; i < steps; i++) {
                    t[steps - 1 - i] = (double) i * ratio + stepsOffset;
                }
            }
            case "trailing" -> {
                double ratio = (double) numTrain / steps;
                for (int i = 0; i < steps; i++) {
                    t[i] = Math.rint(numTrain - i * ratio) - 1;
                }
            }
            default -> throw unknown(spacing);
        }
        return t;
    }

    /**
     * Fractional timesteps as the sigma-based schedulers (Euler, Euler ancestral, LMS) compute them: linspace is
     * {@code linspace(0, T-1, n)[::-1]} without rounding (float32); leading and trailing as in {@link #discrete}.
     */
    public static double[] continuous(String spacing, int numTrain, int steps, int stepsOffset) {
        if (!"linspace".equals(spacing)) {
            return discrete(spacing, numTrain, steps, stepsOffset);
        }
        double[] t = new double[steps];
        for (int i = 0; i < steps; i++) {
            double v = steps == 1 ? 0 : (double) i * (numTrain - 1) / (steps - 1);
            t[steps - 1 - i] = (float) v;
        }
        return t;
    }

    /**
     * Integer timesteps of the multistep solvers (DPM-Solver, UniPC, DEIS), which space {@code n + 1} points and
     * drop the last (t = 0): linspace {@code round(linspace(0, last - 1, n + 1))[::-1][:-1]} (round half to even);
     * leading {@code (arange(n + 1) * (last // (n + 1)))[::-1][:-1] + steps_offset}; trailing
     * {@code round(arange(last, 0, -T/n)) - 1}, with numpy's arange arithmetic. {@code last} is
     * {@code num_train_timesteps}, less DPM-Solver's {@code lambda_min_clipped} cut.
     */
    static double[] multistep(String spacing, int numTrain, int last, int steps, int stepsOffset) {
        switch (spacing) {
            case "linspace" -> {
                double[] t = new double[steps];
                double step = (double) (last - 1) / steps;
                for (int k = 0; k < steps; k++) {
                    int i = steps - k; // position in the ascending linspace; i = steps is its exact end point
                    t[k] = i == steps ? last - 1 : Math.rint(i * step);
                }
                return t;
            }
            case "leading" -> {
                double[] t = new double[steps];
                int ratio = last / (steps + 1);
                for (int k = 0; k < steps; k++) {
                    t[k] = (double) (steps - k) * ratio + stepsOffset;
                }
                return t;
            }
            case "trailing" -> {
                double ratio = (double) numTrain / steps;
                int n = (int) Math.ceil(last / ratio);
                double delta = (last - ratio) - last; // numpy fills start + i * (second - start)
                double[] t = new double[n];
                for (int i = 0; i < n; i++) {
                    double v = i == 0 ? last : i == 1 ? last - ratio : last + i * delta;
                    t[i] = Math.rint(v) - 1;
                }
                return t;
            }
            default -> throw unknown(spacing);
        }
    }

    /**
     * The timesteps of consistency-distilled schedulers (LCM, TCD: {@code set_timesteps} of diffusers'
     * {@code LCMScheduler} / {@code TCDScheduler}): the distillation schedule {@code k*i - 1, i = 1..L} with
     * {@code k = T // original_steps} and {@code L = int(original_steps * strength)} (img2img cuts it), reversed,
     * sampled at {@code floor(linspace(0, L, steps, endpoint=False))}.
     */
    static double[] distilled(int numTrain, int originalSteps, double strength, int steps) {
        if (originalSteps > numTrain) {
            throw new IllegalArgumentException("original_inference_steps " + originalSteps
                    + " cannot exceed the scheduler's " + numTrain + " training timesteps");
        }
        int k = numTrain / originalSteps;
        int len = (int) (originalSteps * strength);
        if (len / steps < 1) {
            throw new IllegalArgumentException("original_inference_steps x strength (" + originalSteps + " x "
                    + strength + ") is smaller than num_inference_steps " + steps);
        }
        if (steps > originalSteps) {
            throw new IllegalArgumentException(
                    "num_inference_steps " + steps + " cannot exceed original_inference_steps " + originalSteps);
        }
        double[] t = new double[steps];
        double stride = (double) len / steps;
        for (int i = 0; i < steps; i++) {
            int index = (int) Math.floor(i * stride); // into the reversed schedule k*len-1, ..., k-1
            t[i] = (double) (len - index) * k - 1;
        }
        return t;
    }

    public static IllegalArgumentException unknown(String spacing) {
        return new IllegalArgumentException(
                "timestep_spacing '" + spacing + "' is not supported (linspace, leading, trailing)");
    }
}

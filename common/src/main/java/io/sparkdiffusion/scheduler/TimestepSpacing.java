package io.sparkdiffusion.scheduler;

/**
 * The three ways diffusers spreads inference timesteps over the training range (Lin et al. 2023, Table 2):
 * {@code linspace}, {@code leading} (plus {@code steps_offset}) and {@code trailing}. Returned in descending order.
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

    public static IllegalArgumentException unknown(String spacing) {
        return new IllegalArgumentException(
                "timestep_spacing '" + spacing + "' is not supported (linspace, leading, trailing)");
    }
}

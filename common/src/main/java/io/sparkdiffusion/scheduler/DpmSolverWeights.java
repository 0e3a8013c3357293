package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.scheduler.MultistepVpScheduler.Vp;

/**
 * The weights of one DPM-Solver update from {@code s} to {@code t}, {@code h = lambda_t - lambda_s}, for each
 * {@code algorithm_type}, as the update functions of diffusers' DPM-Solver schedulers write them (multistep
 * {@code dpm_solver_first_order_update}, {@code multistep_dpm_solver_second_order_update},
 * {@code multistep_dpm_solver_third_order_update}; singlestep {@code singlestep_dpm_solver_*_order_update}; the EDM
 * variant). Every update is {@code x * sample + d0 * D0 + d1 * D1 (+ d2 * D2) + noise * z}; the schedulers differ in
 * what D0, D1, D2 are (the finite differences of the converted model outputs).
 *
 * <ul>
 *   <li>{@code dpmsolver++} (data prediction, arXiv:2211.01095 eqs. 8-9, Algorithm 2): {@code x = sigma_t/sigma_s},
 *       {@code d0 = -alpha_t (e^-h - 1)}, midpoint {@code d1 = d0 / 2}, heun {@code d1 = alpha_t ((e^-h - 1)/h + 1)},
 *       {@code d2 = -alpha_t ((e^-h - 1 + h)/h^2 - 1/2)};
 *   <li>{@code dpmsolver} (noise prediction, arXiv:2206.00927 eq. 3.7): {@code x = alpha_t/alpha_s},
 *       {@code d0 = -sigma_t (e^h - 1)}, midpoint {@code d1 = d0 / 2}, heun {@code d1 = -sigma_t ((e^h - 1)/h - 1)},
 *       {@code d2 = -sigma_t ((e^h - 1 - h)/h^2 - 1/2)};
 *   <li>{@code sde-dpmsolver++} (arXiv:2211.01095 Appendix; Gonzalez et al. 2023): {@code x = sigma_t/sigma_s e^-h},
 *       {@code d0 = alpha_t (1 - e^-2h)}, midpoint {@code d1 = d0 / 2}, heun
 *       {@code d1 = alpha_t ((1 - e^-2h)/(-2h) + 1)}, {@code d2 = alpha_t ((1 - e^-2h - 2h)/(2h)^2 - 1/2)},
 *       {@code noise = sigma_t sqrt(1 - e^-2h)};
 *   <li>{@code sde-dpmsolver}: {@code x = alpha_t/alpha_s}, {@code d0 = -2 sigma_t (e^h - 1)}, midpoint
 *       {@code d1 = d0 / 2}, heun {@code d1 = -2 sigma_t ((e^h - 1)/h - 1)}, {@code noise = sigma_t sqrt(e^2h - 1)}
 *       (no third order).
 * </ul>
 */
record DpmSolverWeights(double x, double d0, double d1Midpoint, double d1Heun, double d2, double noise) {
    static DpmSolverWeights of(String algorithm, Vp t, Vp s, double h) {
        double eMinus = Math.expm1(-h); // e^-h - 1
        double ePlus = Math.expm1(h); // e^h - 1
        double e2 = -Math.expm1(-2 * h); // 1 - e^-2h
        return switch (algorithm) {
            case "dpmsolver++" ->
                new DpmSolverWeights(
                        t.sigma() / s.sigma(),
                        -t.alpha() * eMinus,
                        -0.5 * t.alpha() * eMinus,
                        t.alpha() * (eMinus / h + 1),
                        -t.alpha() * ((eMinus + h) / (h * h) - 0.5),
                        0);
            case "dpmsolver" ->
                new DpmSolverWeights(
                        t.alpha() / s.alpha(),
                        -t.sigma() * ePlus,
                        -0.5 * t.sigma() * ePlus,
                        -t.sigma() * (ePlus / h - 1),
                        -t.sigma() * ((ePlus - h) / (h * h) - 0.5),
                        0);
            case "sde-dpmsolver++" ->
                new DpmSolverWeights(
                        t.sigma() / s.sigma() * Math.exp(-h),
                        t.alpha() * e2,
                        0.5 * t.alpha() * e2,
                        t.alpha() * (e2 / (-2 * h) + 1),
                        t.alpha() * ((e2 - 2 * h) / (4 * h * h) - 0.5),
                        t.sigma() * Math.sqrt(e2));
            case "sde-dpmsolver" ->
                new DpmSolverWeights(
                        t.alpha() / s.alpha(),
                        -2 * t.sigma() * ePlus,
                        -t.sigma() * ePlus,
                        -2 * t.sigma() * (ePlus / h - 1),
                        Double.NaN,
                        t.sigma() * Math.sqrt(Math.expm1(2 * h)));
            default -> throw new IllegalArgumentException("unknown DPM-Solver algorithm_type '" + algorithm + "'");
        };
    }

    /** The weight of D1 for {@code solver_type} midpoint or heun (second-order updates). */
    double d1(boolean midpoint) {
        return midpoint ? d1Midpoint : d1Heun;
    }
}

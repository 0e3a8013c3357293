package io.sparkdiffusion.scheduler;

/**
 * The Beta(a, b) distribution's quantile function, for {@link SigmaSchedule#beta} ({@code use_beta_sigmas}; diffusers
 * calls {@code scipy.stats.beta.ppf}). The CDF is the regularized incomplete beta function {@code I_x(a, b)},
 * evaluated by its continued fraction (DLMF 8.17.22, by the modified Lentz method, on the side of {@code x} where
 * it converges fast, DLMF 8.17.4 for the other), and inverted by bisection to double precision.
 */
final class BetaDistribution {
    private static final double TINY = 1e-300;

    private BetaDistribution() {}

    /** The {@code q}-quantile of Beta(a, b): the x in [0, 1] with {@code I_x(a, b) = q}. */
    static double quantile(double q, double a, double b) {
        if (!(q >= 0 && q <= 1)) {
            throw new IllegalArgumentException("a quantile needs q in [0, 1], got " + q);
        }
        if (q == 0 || q == 1) {
            return q;
        }
        double lo = 0;
        double hi = 1;
        for (int i = 0; i < 200 && hi - lo > 0; i++) {
            double mid = 0.5 * (lo + hi);
            if (mid <= lo || mid >= hi) {
                break;
            }
            if (cdf(mid, a, b) < q) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return 0.5 * (lo + hi);
    }

    /** The regularized incomplete beta function {@code I_x(a, b)}. */
    static double cdf(double x, double a, double b) {
        if (x <= 0) {
            return 0;
        }
        if (x >= 1) {
            return 1;
        }
        // x^a (1 - x)^b / B(a, b), in logs
        double front = Math.exp(a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b));
        if (x < (a + 1) / (a + b + 2)) {
            return front * continuedFraction(x, a, b) / a;
        }
        return 1 - front * continuedFraction(1 - x, b, a) / b; // I_x(a, b) = 1 - I_{1-x}(b, a)
    }

    /**
     * {@code 1 / (1 + d1 / (1 + d2 / (1 + ...)))} with {@code d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1))} and
     * {@code d_{2m} = m (b-m) x / ((a+2m-1)(a+2m))} (DLMF 8.17.22), by the modified Lentz method.
     */
    private static double continuedFraction(double x, double a, double b) {
        double c = 1;
        double d = 1 - (a + b) * x / (a + 1);
        d = 1 / nonZero(d);
        double f = d;
        for (int m = 1; m <= 1000; m++) {
            int m2 = 2 * m;
            double even = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 / nonZero(1 + even * d);
            c = nonZero(1 + even / c);
            f *= d * c;
            double odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 / nonZero(1 + odd * d);
            c = nonZero(1 + odd / c);
            double delta = d * c;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16) {
                break;
            }
        }
        return f;
    }

    private static double nonZero(double v) {
        return Math.abs(v) < TINY ? TINY : v;
    }

    /** {@code log B(a, b) = log Gamma(a) + log Gamma(b) - log Gamma(a + b)}. */
    static double logBeta(double a, double b) {
        return logGamma(a) + logGamma(b) - logGamma(a + b);
    }

    /** Lanczos's approximation (g = 7, nine terms) of {@code log Gamma(x)} for x > 0, relative error ~1e-15. */
    static double logGamma(double x) {
        if (x < 0.5) {
            // reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x)
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
        }
        double[] c = {
            0.9999999999998099,
            676.5203681218851,
            -1259.1392167224028,
            771.3234287776531,
            -176.6150291621406,
            12.507343278686905,
            -0.13857109526572012,
            9.984369578019572e-06,
            1.5056327351493116e-07
        };
        double z = x - 1;
        double sum = c[0];
        for (int i = 1; i < c.length; i++) {
            sum += c[i] / (z + i);
        }
        double t = z + 7.5;
        return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
    }
}

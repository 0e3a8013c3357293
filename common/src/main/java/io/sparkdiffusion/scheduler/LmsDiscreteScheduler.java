package io.sparkdiffusion.scheduler;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;

/**
 * Linear multistep sampler in sigma space (k-diffusion's {@code sample_lms}; Karras et al. 2022,
 * arXiv:2206.00364), as diffusers' {@code LMSDiscreteScheduler}. The ODE {@code dx/dsigma = d(x, sigma)} with
 * {@code d = (x - x0) / sigma} is advanced by an Adams–Bashforth-type rule on the non-uniform sigma grid:
 * <pre>
 *   x_{i+1} = x_i + sum_{j=0}^{m-1} c_j d_{i-j},
 *   c_j = integral from sigma_i to sigma_{i+1} of  prod_{k != j} (tau - sigma_{i-k}) / (sigma_{i-j} - sigma_{i-k}) dtau
 * </pre>
 * (the Lagrange basis polynomial of node {@code sigma_{i-j}} integrated over the step), with
 * {@code m = min(i + 1, 4)}. The integrand is a polynomial of degree m - 1, so an m-point Gauss–Legendre rule
 * integrates it exactly (diffusers calls {@code scipy.integrate.quad}, whose Gauss–Kronrod rule is also exact here).
 *
 * <p>Sigmas, timesteps (linspace / leading / trailing, optional {@code use_karras_sigmas} between the interpolated
 * ends, {@code use_exponential_sigmas}, {@code use_beta_sigmas}),
 * {@code init_noise_sigma}, {@link #scaleModelInput} and {@link #addNoise} are the Euler scheduler's.
 * {@code prediction_type} epsilon, v_prediction or sample. Deterministic: no noise is drawn.
 */
public class LmsDiscreteScheduler extends EulerDiscreteScheduler {
    static final SchedulerConfig.Keys KEYS = SchedulerConfig.Keys.of("LMSDiscreteScheduler")
            .betas(0.0001, 0.02, "linear")
            .honour("use_karras_sigmas", false)
            .honour("use_exponential_sigmas", false)
            .honour("use_beta_sigmas", false)
            .prediction("epsilon", "v_prediction", "sample")
            .spacing("linspace");

    /** diffusers' default {@code order} argument of {@code step}. */
    public static final int LMS_ORDER = 4;

    private final int lmsOrder;
    /** The last {@link #lmsOrder} derivatives, newest first; made by {@link #setTimesteps}. */
    private Deque<float[]> derivatives = new ArrayDeque<>();

    public LmsDiscreteScheduler(JsonConfig config) {
        super(KEYS.bind(config));
        this.lmsOrder = LMS_ORDER;
    }

    /** diffusers' LMS {@code _convert_to_karras} ramps between the interpolated ends, ignoring sigma_min/sigma_max. */
    @Override
    protected boolean karrasFromConfigRange() {
        return false;
    }

    @Override
    public void setTimesteps(int steps) {
        super.setTimesteps(steps);
        derivatives = new ArrayDeque<>();
    }

    /**
     * The LMS coefficient {@code c_j} ({@code j = currentOrder}) of a step from {@code sigmas[t]} to
     * {@code sigmas[t+1]} with {@code order} history nodes {@code sigmas[t], sigmas[t-1], ...}.
     */
    public double lmsCoefficient(int order, int t, int currentOrder) {
        if (order < 1 || currentOrder < 0 || currentOrder >= order || t - (order - 1) < 0 || t + 1 >= sigmas.length) {
            throw new IllegalArgumentException(
                    "invalid LMS coefficient request: order " + order + ", t " + t + ", current order " + currentOrder);
        }
        double[] nodes = new double[order];
        for (int k = 0; k < order; k++) {
            nodes[k] = sigmas[t - k];
        }
        return integrateLagrangeBasis(nodes, currentOrder, sigmas[t], sigmas[t + 1]);
    }

    /**
     * {@code integral_a^b prod_{k != j} (tau - nodes[k]) / (nodes[j] - nodes[k]) dtau} by n-point Gauss–Legendre,
     * n = nodes.length: exact (up to rounding) since the integrand has degree n - 1 &lt;= 2n - 1.
     */
    static double integrateLagrangeBasis(double[] nodes, int j, double a, double b) {
        int n = nodes.length;
        double[][] rule = GaussLegendre.rule(n);
        double half = (b - a) / 2;
        double mid = (a + b) / 2;
        double sum = 0;
        for (int q = 0; q < n; q++) {
            double tau = mid + half * rule[0][q];
            double prod = 1;
            for (int k = 0; k < n; k++) {
                if (k != j) {
                    prod *= (tau - nodes[k]) / (nodes[j] - nodes[k]);
                }
            }
            sum += rule[1][q] * prod;
        }
        return sum * half;
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        initStepIndex(timestep);
        float sigma = (float) sigmas[stepIndex];
        float[] x = sample.data();
        float[] m = modelOutput.data();
        if (x.length != m.length) {
            throw new IllegalArgumentException(
                    "model output and sample differ in size: " + m.length + " vs " + x.length);
        }
        // float32 element-wise arithmetic in diffusers' order
        float[] d = new float[x.length];
        float cOut = -sigma / (float) Math.sqrt(sigma * sigma + 1f);
        float cSkipDen = sigma * sigma + 1f;
        for (int i = 0; i < x.length; i++) {
            float x0 = switch (predictionType) {
                case "epsilon" -> x[i] - sigma * m[i];
                case "sample" -> m[i];
                default -> m[i] * cOut + x[i] / cSkipDen; // v: c_out * v + c_skip * x
            };
            d[i] = (x[i] - x0) / sigma;
        }
        derivatives.addFirst(d);
        if (derivatives.size() > lmsOrder) {
            derivatives.removeLast();
        }
        int order = Math.min(stepIndex + 1, lmsOrder);
        // diffusers zips coefficients with the stored derivatives: after an img2img begin index the history is
        // shorter than the order, and only the first coefficients are used
        int used = Math.min(order, derivatives.size());
        float[] acc = new float[x.length];
        Iterator<float[]> it = derivatives.iterator();
        for (int j = 0; j < used; j++) {
            float c = (float) lmsCoefficient(order, stepIndex, j);
            float[] dj = it.next();
            for (int i = 0; i < acc.length; i++) {
                acc[i] = acc[i] + c * dj[i];
            }
        }
        float[] out = new float[x.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = x[i] + acc[i];
        }
        stepIndex++;
        return new Tensor(sample.shape(), out);
    }

    /** Gauss–Legendre nodes and weights on [-1, 1], by Newton's method on the Legendre polynomial. */
    static final class GaussLegendre {
        private static final double[][][] CACHE = new double[16][][];

        private GaussLegendre() {}

        /** {nodes, weights} of the n-point rule. */
        static synchronized double[][] rule(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("Gauss-Legendre rule needs at least one point, got " + n);
            }
            if (n < CACHE.length && CACHE[n] != null) {
                return CACHE[n];
            }
            double[] x = new double[n];
            double[] w = new double[n];
            for (int i = 0; i < n; i++) {
                double z = Math.cos(Math.PI * (i + 0.75) / (n + 0.5));
                double dp = 0;
                for (int iter = 0; iter < 100; iter++) {
                    // P_n(z) by the three-term recurrence, and its derivative
                    double p0 = 1;
                    double p1 = z;
                    for (int k = 2; k <= n; k++) {
                        double p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
                        p0 = p1;
                        p1 = p2;
                    }
                    // p1 = P_n(z), p0 = P_{n-1}(z); P_n'(z) = n (z P_n - P_{n-1}) / (z^2 - 1)
                    dp = n * (z * p1 - p0) / (z * z - 1);
                    double dz = p1 / dp;
                    z -= dz;
                    if (Math.abs(dz) < 1e-16) {
                        break;
                    }
                }
                x[i] = z;
                w[i] = 2 / ((1 - z * z) * dp * dp);
            }
            double[][] r = {x, w};
            if (n < CACHE.length) {
                CACHE[n] = r;
            }
            return r;
        }
    }
}

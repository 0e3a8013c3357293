package bench;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Side-by-side timing of diffusion engines in one JVM. Each engine lives in its own class loader (so two builds of
 * spark-diffusion can be compared in one run); ONNX Runtime, DJL and Jackson come from the parent class path.
 *
 * <pre>
 * pairs ENGINE... -- CELL...   CELL = scheduler:batch; ENGINE = name=sd:CLASSES:MODEL:PX | name=sd4j:MODEL:PX
 * solo ENGINE images batch scheduler
 * </pre>
 * System properties: steps (4), guidance (7.5), pairs (7), warmup (3), intra (0), inter (0).
 */
public final class Harness {
    static final String HOME = System.getProperty("bench.home", "tools/bench/sidebyside");
    /** oracle/sd4j built with its own Maven build (target/sd4j-*.jar, target/lib/). */
    static final String SD4J = System.getProperty("sd4j.home", "/work/bench/sd4j");
    static final String PROMPT = "a photo of a cat";
    static final int STEPS = Integer.getInteger("steps", 4);
    static final double GUIDANCE = Double.parseDouble(System.getProperty("guidance", "7.5"));
    static final int INTRA = Integer.getInteger("intra", 0);
    static final int INTER = Integer.getInteger("inter", 0);

    record Named(String name, Engine engine) {}

    public static void main(String[] args) throws Exception {
        Locale.setDefault(Locale.ROOT);
        if (args[0].equals("batches")) {
            batches(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]));
            return;
        }
        if (args[0].equals("solo")) {
            solo(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]), args[4]);
            return;
        }
        List<String> engines = new ArrayList<>();
        List<String> cells = new ArrayList<>();
        boolean c = false;
        for (String a : Arrays.copyOfRange(args, 1, args.length)) {
            if (a.equals("--")) {
                c = true;
            } else {
                (c ? cells : engines).add(a);
            }
        }
        pairs(engines, cells);
    }

    static Engine load(String spec) throws Exception {
        String[] p = spec.split(":");
        URLClassLoader loader;
        if (p[0].equals("sd")) {
            loader = new URLClassLoader(
                    new URL[] {new File(p[1]).toURI().toURL(), new File(HOME + "/sd/out/").toURI().toURL()},
                    Harness.class.getClassLoader());
            return (Engine) loader.loadClass("bench.SdEngine")
                    .getConstructor(String.class, int.class, int.class, int.class, String.class)
                    .newInstance(p[2], Integer.parseInt(p[3]), INTRA, INTER, PROMPT);
        }
        List<URL> urls = new ArrayList<>();
        urls.add(new File(SD4J + "/target/sd4j-1.1-1.14.0.jar").toURI().toURL());
        urls.add(new File(HOME + "/sd4j/out/").toURI().toURL());
        try (var s = Files.list(Path.of(SD4J + "/target/lib"))) {
            for (Path j : s.filter(f -> f.getFileName().toString().startsWith("commons-")).toList()) {
                urls.add(j.toUri().toURL());
            }
        }
        loader = new URLClassLoader(urls.toArray(URL[]::new), Harness.class.getClassLoader());
        return (Engine) loader.loadClass("bench.Sd4jEngine")
                .getConstructor(String.class, int.class, String.class)
                .newInstance(p[1], Integer.parseInt(p[2]), PROMPT);
    }

    static void solo(String spec, int images, int batch, String scheduler) throws Exception {
        com.sun.management.ThreadMXBean tmx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long a0 = tmx.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        Engine e = load(spec.substring(spec.indexOf('=') + 1));
        long loaded = System.nanoTime();
        long a1 = tmx.getCurrentThreadAllocatedBytes();
        e.generate(scheduler, batch, STEPS, GUIDANCE, 0);
        long first = System.nanoTime();
        long a2 = tmx.getCurrentThreadAllocatedBytes();
        long run0 = e.runNanos();
        for (int i = 1; i < images; i++) {
            e.generate(scheduler, batch, STEPS, GUIDANCE, (long) i * batch);
        }
        long end = System.nanoTime();
        long a3 = tmx.getCurrentThreadAllocatedBytes();
        System.out.printf("ALLOC load_mb %.1f first_call_mb %.1f per_batch_kb %.1f (main thread)%n",
                (a1 - a0) / 1e6, (a2 - a1) / 1e6, images > 1 ? (a3 - a2) / 1e3 / (images - 1) : Double.NaN);
        double steady = images > 1 ? (images - 1) * batch / ((end - first) / 1e9) : Double.NaN;
        long jvmUp = ManagementFactory.getRuntimeMXBean().getUptime();
        System.out.printf(
                "SOLO %s load_ms %.1f first_call_ms %.1f steady_img_s %.2f overhead %.3f jvm_uptime_ms %d %s calls[%s]%n",
                spec.substring(0, spec.indexOf('=')),
                (loaded - t0) / 1e6,
                (first - loaded) / 1e6,
                steady,
                images > 1 && run0 >= 0 ? (end - first) / (double) (e.runNanos() - run0) : Double.NaN,
                jvmUp,
                memory(),
                e.calls());
        e.close();
    }

    /** Peak and current resident set of this process, from /proc/self/status. */
    static String memory() throws Exception {
        long hwm = 0;
        long rss = 0;
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmHWM:")) {
                hwm = Long.parseLong(l.replaceAll("\\D", ""));
            } else if (l.startsWith("VmRSS:")) {
                rss = Long.parseLong(l.replaceAll("\\D", ""));
            }
        }
        return String.format("peak_rss_mib %.1f rss_mib %.1f", hwm / 1024.0, rss / 1024.0);
    }

    static void pairs(List<String> specs, List<String> cells) throws Exception {
        int pairs = Integer.getInteger("pairs", 7);
        int warmup = Integer.getInteger("warmup", 3);
        List<Named> engines = new ArrayList<>();
        for (String s : specs) {
            long t0 = System.nanoTime();
            engines.add(new Named(s.substring(0, s.indexOf('=')), load(s.substring(s.indexOf('=') + 1))));
            System.out.printf("loaded %s in %.0f ms%n", engines.get(engines.size() - 1).name(), (System.nanoTime() - t0) / 1e6);
        }
        System.out.printf("steps %d guidance %s intra %d inter %d pairs %d warmup %d %s%n",
                STEPS, GUIDANCE, INTRA, INTER, pairs, warmup, loadavg());
        for (String cell : cells) {
            String scheduler = cell.split(":")[0];
            int batch = Integer.parseInt(cell.split(":")[1]);
            long seed = 1000;
            for (int w = 0; w < warmup; w++) {
                for (Named n : engines) {
                    n.engine().generate(scheduler, batch, STEPS, GUIDANCE, seed);
                }
                seed += batch;
            }
            int k = engines.size();
            double[][] ms = new double[k][pairs];
            double[][] ovh = new double[k][pairs];
            String before = loadavg();
            for (int p = 0; p < pairs; p++) {
                for (int i = 0; i < k; i++) {
                    Engine e = engines.get(i).engine();
                    long r0 = e.runNanos();
                    long t0 = System.nanoTime();
                    e.generate(scheduler, batch, STEPS, GUIDANCE, seed);
                    long dt = System.nanoTime() - t0;
                    long r = e.runNanos() - r0;
                    ms[i][p] = dt / 1e6;
                    ovh[i][p] = r0 >= 0 ? dt / (double) r : Double.NaN;
                }
                seed += batch;
            }
            System.out.printf("%n== cell %s batch %d (load %s -> %s)%n", scheduler, batch, before, loadavg());
            System.out.printf("%-12s %10s %10s %9s %22s %s%n", "engine", "ms/batch", "images/s", "overhead", "ratio vs " + engines.get(0).name() + " (med [min,max])", "calls");
            for (int i = 0; i < k; i++) {
                double[] ratio = new double[pairs];
                for (int p = 0; p < pairs; p++) {
                    ratio[p] = ms[0][p] / ms[i][p]; // images/s of i over images/s of engine 0, per pair
                }
                double med = median(ms[i]);
                System.out.printf("%-12s %10.2f %10.2f %9.3f %8.3f [%.3f,%.3f]   %s%n",
                        engines.get(i).name(), med, batch / (med / 1e3), median(ovh[i]), median(ratio),
                        min(ratio), max(ratio), engines.get(i).engine().calls());
            }
        }
        for (Named n : engines) {
            n.engine().close();
        }
    }

    /** One engine, batch b1 and batch b2 alternating (b1, b2, b1, b2, ...): images/s of each and their ratio per pair. */
    static void batches(String spec, String scheduler, int b1, int b2) throws Exception {
        int pairs = Integer.getInteger("pairs", 7);
        int warmup = Integer.getInteger("warmup", 2);
        Engine e = load(spec.substring(spec.indexOf('=') + 1));
        long seed = 1000;
        for (int w = 0; w < warmup; w++) {
            e.generate(scheduler, b1, STEPS, GUIDANCE, seed);
            e.generate(scheduler, b2, STEPS, GUIDANCE, seed);
        }
        double[] r1 = new double[pairs];
        double[] r2 = new double[pairs];
        double[] o1 = new double[pairs];
        double[] o2 = new double[pairs];
        String before = loadavg();
        for (int p = 0; p < pairs; p++) {
            for (int k = 0; k < 2; k++) {
                int b = k == 0 ? b1 : b2;
                long run0 = e.runNanos();
                long t0 = System.nanoTime();
                e.generate(scheduler, b, STEPS, GUIDANCE, seed);
                long dt = System.nanoTime() - t0;
                (k == 0 ? r1 : r2)[p] = b / (dt / 1e9);
                (k == 0 ? o1 : o2)[p] = dt / (double) (e.runNanos() - run0);
                seed += b;
            }
        }
        double[] ratio = new double[pairs];
        for (int p = 0; p < pairs; p++) {
            ratio[p] = r2[p] / r1[p];
        }
        System.out.printf("batches %s %s steps %d guidance %s intra %d: batch %d %.2f img/s (overhead %.3f), batch %d %.2f img/s"
                        + " (overhead %.3f), ratio per pair median %.3f [%.3f,%.3f], %d pairs, load %s -> %s%n",
                spec.substring(0, spec.indexOf('=')), scheduler, STEPS, GUIDANCE, INTRA, b1, median(r1), median(o1), b2,
                median(r2), median(o2), median(ratio), min(ratio), max(ratio), pairs, before, loadavg());
        e.close();
    }

    static String loadavg() throws Exception {
        String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
        return "loadavg " + f[0];
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }
}

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Prints line and branch coverage per package from a JaCoCo CSV report, one line each, for the build log. Run by the
 * build ({@code exec-maven-plugin}, phase {@code verify}) as a single-file source program: {@code java
 * tools/build/CoverageSummary.java MODULE target/site/jacoco/jacoco.csv}. A missing report (tests skipped, a module
 * without code) prints one line saying so. It reports figures; it enforces no threshold.
 */
public final class CoverageSummary {
    private CoverageSummary() {}

    public static void main(String[] args) throws IOException {
        String module = args[0];
        Path csv = Path.of(args[1]);
        if (!Files.isRegularFile(csv)) {
            System.out.println("[coverage] " + module + ": no JaCoCo report (" + csv + "); were the tests skipped?");
            return;
        }
        // columns: GROUP,PACKAGE,CLASS,INSTRUCTION_MISSED,INSTRUCTION_COVERED,BRANCH_MISSED,BRANCH_COVERED,
        //          LINE_MISSED,LINE_COVERED,COMPLEXITY_MISSED,COMPLEXITY_COVERED,METHOD_MISSED,METHOD_COVERED
        List<String> rows = Files.readAllLines(csv);
        Map<String, long[]> byPackage = new TreeMap<>();
        long[] total = new long[4];
        for (String row : rows.subList(1, rows.size())) {
            String[] c = row.split(",", -1);
            long[] counts = {
                Long.parseLong(c[7]), Long.parseLong(c[8]), Long.parseLong(c[5]), Long.parseLong(c[6])
            };
            long[] p = byPackage.computeIfAbsent(c[1], k -> new long[4]);
            for (int i = 0; i < 4; i++) {
                p[i] += counts[i];
                total[i] += counts[i];
            }
        }
        System.out.println("[coverage] " + module + ": line and branch coverage per package (JaCoCo)");
        byPackage.forEach((pkg, p) -> System.out.println(line(pkg, p)));
        System.out.println(line("(all of " + module + ")", total));
    }

    private static String line(String name, long[] p) {
        return String.format(
                Locale.ROOT,
                "[coverage]   %-34s lines %6s of %5d   branches %6s of %5d",
                name,
                percent(p[1], p[0] + p[1]),
                p[0] + p[1],
                percent(p[3], p[2] + p[3]),
                p[2] + p[3]);
    }

    private static String percent(long covered, long all) {
        return all == 0 ? "-" : String.format(Locale.ROOT, "%.1f%%", 100.0 * covered / all);
    }
}

package io.sparkdiffusion.validate;

import io.sparkdiffusion.validate.Check.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/** Every check of a validation, in order, and how many reference cases were replayed and reproduced. */
public final class ValidationReport {
    private final List<Check> checks = new ArrayList<>();
    private final Consumer<Check> onCheck;
    private int casesRun;
    private int casesReproduced;

    /** {@code onCheck} sees each check as it is added (progress on a console). */
    ValidationReport(Consumer<Check> onCheck) {
        this.onCheck = onCheck;
    }

    void add(Check check) {
        checks.add(check);
        onCheck.accept(check);
    }

    void add(List<Check> some) {
        some.forEach(this::add);
    }

    /** The line of a replayed reference case, and whether it reproduces diffusers. */
    void addCase(Check check, boolean reproduced) {
        add(check);
        casesRun++;
        if (reproduced) {
            casesReproduced++;
        }
    }

    /** True when no check failed. */
    public boolean passed() {
        return count(Status.FAIL) == 0;
    }

    public String summary() {
        String cases = casesRun == 0
                ? "no reference cases run"
                : casesReproduced + "/" + casesRun + " reference cases reproduce diffusers";
        return String.format(
                Locale.ROOT,
                "summary: %d OK, %d WARN, %d FAIL; %s -> %s",
                count(Status.OK),
                count(Status.WARN),
                count(Status.FAIL),
                cases,
                passed() ? "the folder is usable" : "NOT usable: fix the FAIL lines above");
    }

    private long count(Status s) {
        return checks.stream().filter(c -> c.status() == s).count();
    }
}

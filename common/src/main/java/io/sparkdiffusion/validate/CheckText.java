package io.sparkdiffusion.validate;

import io.sparkdiffusion.util.Errors;
import java.util.Arrays;
import java.util.stream.Collectors;

/** Text the check messages share. */
final class CheckText {
    private CheckText() {}

    /** A shape as {@code [1,?,77]}: {@code ?} for a dynamic axis. */
    static String shape(long[] dims) {
        return Arrays.stream(dims)
                .mapToObj(d -> d < 0 ? "?" : Long.toString(d))
                .collect(Collectors.joining(",", "[", "]"));
    }

    static String oneLine(Throwable ex) {
        return Errors.oneLine(ex, 500);
    }
}

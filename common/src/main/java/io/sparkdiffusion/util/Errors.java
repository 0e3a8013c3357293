package io.sparkdiffusion.util;

/** Error messages for one-line reports (CLI errors, validate lines, the errors table). */
public final class Errors {
    private Errors() {}

    /**
     * The first line of the message (Spark's exceptions carry a whole query plan), plus the root cause's first line
     * when it says something else, cut to {@code maxLength} characters.
     */
    public static String oneLine(Throwable ex, int maxLength) {
        String m = firstLine(ex);
        Throwable root = ex;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String r = firstLine(root);
        String line = root == ex || m.contains(r) ? m : m + " (cause: " + r + ")";
        return line.length() > maxLength ? line.substring(0, maxLength) + " ..." : line;
    }

    private static String firstLine(Throwable t) {
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        int nl = m.indexOf('\n');
        return (nl >= 0 ? m.substring(0, nl) : m).strip();
    }
}

package io.sparkdiffusion.jobs;

import java.net.URI;
import java.util.Locale;
import java.util.regex.Pattern;

/** Keeps credentials out of logs, error messages and the contact sheet. */
public final class Redaction {
    private static final Pattern SECRET_KEY = Pattern.compile(
            "(?i).*(secret|password|passwd|token|credential|access\\.key|session\\.key|signature|\\bkey$).*");
    private static final Pattern USER_INFO = Pattern.compile("(?<=://)[^/@\\s]+@");

    private Redaction() {}

    /** The value of a setting, or {@code ******} when its key names a credential. */
    public static String value(String key, String value) {
        if (value == null) {
            return "null";
        }
        return SECRET_KEY.matcher(key.toLowerCase(Locale.ROOT)).matches() ? "******" : uri(value);
    }

    /** A URI or path with any {@code user:password@} part removed. */
    public static String uri(String text) {
        return text == null ? null : USER_INFO.matcher(text).replaceAll("******@");
    }

    static String uri(URI u) {
        return uri(u.toString());
    }
}

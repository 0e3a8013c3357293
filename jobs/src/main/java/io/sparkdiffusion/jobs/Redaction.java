package io.sparkdiffusion.jobs;

import java.net.URI;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps credentials out of logs, error messages, the contact sheet and Spark's UI and event logs. One rule decides
 * which names hold a credential ({@link #SECRET_NAME}): setting keys ({@code hadoop.*}, Spark's configuration),
 * environment variables and URI query parameters.
 */
public final class Redaction {
    public static final String MASK = "******";

    /**
     * A name holds a credential when it contains {@code secret}, {@code passw}, {@code pwd}, {@code passphrase},
     * {@code token}, {@code credential}, {@code signature} or {@code private}, has a word {@code sas} or {@code sig},
     * or has {@code key} not followed by a lower-case letter: {@code fs.s3a.secret.key},
     * {@code fs.azure.account.key.<account>.blob.core.windows.net}, {@code my.custom.apikey}, {@code accessKeyId},
     * {@code AWS_ACCESS_KEY_ID}, but not {@code keep_unmasked} or {@code keystore.type}. Over-masking a harmless value
     * costs a line of log; missing a credential is what this class is for.
     */
    public static final Pattern SECRET_NAME = Pattern.compile("(?i:secret|passw|pwd|passphrase|token|credential"
            + "|signature|private)|(?i:key)(?![a-z])|(?<![A-Za-z0-9])(?i:sas|sig)(?![A-Za-z0-9])");

    private static final Pattern USER_INFO = Pattern.compile("(?<=://)[^/@\\s]+@");
    private static final Pattern QUERY_PARAMETER = Pattern.compile("(?<=[?&])([^=&#\\s]+)=([^&#\\s]*)");

    private Redaction() {}

    public static boolean isSecretName(String name) {
        return name != null && SECRET_NAME.matcher(name).find();
    }

    /** The value of a setting: masked when its key names a credential, else without credentials in URIs. */
    public static String value(String key, String value) {
        if (value == null) {
            return "null";
        }
        return isSecretName(key) ? MASK : uri(value);
    }

    /** A URI or path with any {@code user:password@} part and credential query parameters ({@code sig=}) masked. */
    public static String uri(String text) {
        if (text == null) {
            return null;
        }
        String noUser = USER_INFO.matcher(text).replaceAll(MASK + "@");
        Matcher m = QUERY_PARAMETER.matcher(noUser);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String replacement = isSecretName(m.group(1)) ? m.group(1) + "=" + MASK : m.group();
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    static String uri(URI u) {
        return uri(u.toString());
    }

    /**
     * The credentials on a command line: the value of every {@code KEY=VALUE} argument whose key names a credential
     * ({@code --set hadoop.fs.s3a.secret.key=...}, {@code --conf spark.hadoop...=...}), and the argument after a bare
     * credential key (a {@code --set KEY VALUE} typo leaves the value as a stray argument, which parsers echo).
     */
    public static Set<String> secretsIn(List<String> args) {
        Set<String> secrets = new LinkedHashSet<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i).startsWith("--set=") ? args.get(i).substring("--set=".length()) : args.get(i);
            int eq = a.indexOf('=');
            String name = eq > 0 ? a.substring(0, eq) : a;
            if (!isSecretName(name)) {
                continue;
            }
            if (eq > 0 && eq < a.length() - 1) {
                secrets.add(a.substring(eq + 1));
            } else if (eq < 0
                    && i + 1 < args.size()
                    && !name.startsWith("-")
                    && !args.get(i + 1).startsWith("-")) {
                secrets.add(args.get(++i));
            }
        }
        return secrets;
    }

    /** {@code text} with every occurrence of the given credentials masked, and URIs' credentials too. */
    public static String mask(String text, Set<String> secrets) {
        if (text == null) {
            return null;
        }
        String out = text;
        for (String s : secrets) {
            if (!s.isEmpty()) {
                out = out.replace(s, MASK);
            }
        }
        return uri(out);
    }
}

package io.sparkdiffusion.validate;

import java.util.Locale;

/** One line of a validation: its status, what it is about (a component, {@code tokenizer}, {@code case NAME}, ...) and why. */
public record Check(Status status, String subject, String message) {
    public enum Status {
        OK,
        /** Usable, with a caveat. */
        WARN,
        /** The job would fail or produce wrong pictures. */
        FAIL
    }

    /** The console line: status, subject, message. */
    public String line() {
        return String.format(Locale.ROOT, "%-4s  %-26s %s", status, subject, message);
    }

    static Check ok(String subject, String message) {
        return new Check(Status.OK, subject, message);
    }

    static Check warn(String subject, String message) {
        return new Check(Status.WARN, subject, message);
    }

    static Check fail(String subject, String message) {
        return new Check(Status.FAIL, subject, message);
    }
}

package io.sparkdiffusion.quality;

import java.util.Objects;

/** A metadata field a {@link Scorer} fills: its column name, value type and meaning. */
public record ScoreField(String name, Type type, String description) {
    /** The value types of score fields ({@code Boolean}, {@code Double}, {@code String} in a score row). */
    public enum Type {
        BOOLEAN,
        DOUBLE,
        STRING
    }

    public ScoreField {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(description, "description");
    }
}

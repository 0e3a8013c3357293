package io.sparkdiffusion.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;

/**
 * A test class of the full loop only: it starts Spark or another JVM, replays reference cases through whole
 * pipelines, makes videos, or checks quality over many images. {@code mvn -B verify -Pfast} leaves these out;
 * the README's {@code mvn -B verify} (and CI) runs them. Inherited, so a base class (a Spark session) tags its tests.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Inherited
@Tag(Slow.TAG)
public @interface Slow {
    String TAG = "slow";
}

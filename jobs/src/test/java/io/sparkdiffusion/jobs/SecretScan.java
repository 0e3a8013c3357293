package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Looks for credentials in every file under some folders: logs, outputs, event logs, crash files, Spark's dirs. */
final class SecretScan {
    private SecretScan() {}

    /** Files (not followed through links) under {@code roots} whose bytes contain one of {@code secrets}. */
    static List<String> filesHolding(List<Path> roots, List<String> secrets) throws IOException {
        List<String> found = new ArrayList<>();
        for (Path root : roots) {
            if (!Files.exists(root)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(root)) {
                for (Path f : files.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                        .toList()) {
                    String text;
                    try {
                        text = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
                    } catch (IOException e) {
                        continue; // removed while walking (a JVM's temporary file)
                    }
                    for (String s : secrets) {
                        if (text.contains(s)) {
                            found.add(f + " holds " + s);
                        }
                    }
                }
            }
        }
        return found;
    }

    static void assertNotIn(Path root, List<String> secrets) throws IOException {
        List<String> found = filesHolding(List.of(root), secrets);
        assertEquals(List.of(), found, "credentials written to files");
    }
}

package io.sparkdiffusion.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The owner-only folders the native-library, tokenizer and graph caches share. */
class PrivateFoldersTest {
    @TempDir
    Path tmp;

    @Test
    void missingFoldersAreCreatedOwnerOnlyParentsIncluded() throws IOException {
        Path dir = tmp.resolve("a").resolve("b");
        assertNull(PrivateFolders.ensure(dir));
        for (Path p : new Path[] {dir, dir.getParent()}) {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p.toString());
        }
        assertNull(PrivateFolders.ensure(dir), "an existing folder of ours is usable again");
    }

    @Test
    void aFolderOthersCanWriteIntoOrALinkIsRefused() throws IOException {
        Path open = Files.createDirectory(tmp.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        String why = PrivateFolders.ensure(open);
        assertNotNull(why);
        assertTrue(why.contains("rwxrwxrwx"), why);

        Path target = Files.createDirectory(tmp.resolve("target"));
        Files.setPosixFilePermissions(target, PrivateFolders.OWNER_ONLY);
        Path link = Files.createSymbolicLink(tmp.resolve("link"), target);
        assertEquals("not a directory", PrivateFolders.ensure(link));
        assertEquals("not a directory", PrivateFolders.problem(tmp.resolve("absent")));
    }

    @Test
    void theTemporaryFolderIsNamedForTheUser() {
        Path p = PrivateFolders.inTemp("spark-diffusion-x");
        assertEquals(Path.of(System.getProperty("java.io.tmpdir")), p.getParent());
        assertTrue(p.getFileName().toString().startsWith("spark-diffusion-x-"), p.toString());
    }
}

package io.sparkdiffusion.util;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Folders only this user can use, for what a process writes and a later process reads or loads (ONNX Runtime's native
 * libraries, compiled tokenizers, optimised graphs): a folder another user could write into, or a link, is not used.
 */
public final class PrivateFolders {
    /** {@code rwx------}. */
    public static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

    private PrivateFolders() {}

    /** {@code java.io.tmpdir/NAME-USER}, the user name made safe for a file name. */
    public static Path inTemp(String name) {
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9_.-]", "_");
        return Path.of(System.getProperty("java.io.tmpdir"), name + "-" + user);
    }

    /**
     * Creates {@code dir} and its missing parents owner-only (a concurrent process creating one first is fine), then
     * checks it: null when it is usable, else why not ({@link #problem}).
     *
     * @throws UnsupportedOperationException on a file system without POSIX permissions
     */
    public static String ensure(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            List<Path> missing = new ArrayList<>();
            for (Path p = dir; p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
                missing.add(0, p);
            }
            for (Path p : missing) {
                try {
                    Files.createDirectory(p, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
                } catch (FileAlreadyExistsException e) {
                    // made by a concurrent process: checked below
                }
            }
        }
        return problem(dir);
    }

    /** Null when {@code dir} is a directory (not a link) of this user that only this user can access; else why not. */
    public static String problem(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return "not a directory";
        }
        String user = System.getProperty("user.name");
        String owner = Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).getName();
        if (!owner.equals(user)) {
            return "owned by " + owner + ", not " + user;
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
        if (!perms.equals(OWNER_ONLY)) {
            return "permissions " + PosixFilePermissions.toString(perms) + ", not rwx------";
        }
        return null;
    }
}

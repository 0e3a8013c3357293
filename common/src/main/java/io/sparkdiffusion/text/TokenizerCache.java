package io.sparkdiffusion.text;

import io.sparkdiffusion.util.PrivateFolders;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Compiled tokenizers ({@link ClipBpe#compiled(String)}) of this user, so that a fresh JVM reads a tokenizer in a few
 * milliseconds instead of parsing its 3.6 MB {@code tokenizer.json}: {@code java.io.tmpdir}/
 * {@code spark-diffusion-tokenizers-USER/}, a folder only this user can access (as ONNX Runtime's native libraries,
 * {@code OrtRuntime}). An entry is named and keyed by the {@code tokenizer.json} it was made from: its real path,
 * size, modification time and file key (inode), and the compiled layout's version; the full key is stored in the
 * entry and compared when it is read. Entries are written to a temporary file and renamed into place. Anything
 * unusual (another owner, no POSIX permissions, a corrupt entry) leaves the tokenizer to be parsed as before.
 */
final class TokenizerCache {
    /** The layout of an entry: the key's length and bytes, then the compiled tokenizer. */
    private static final String FORMAT = "spark-diffusion tokenizer 1";

    private TokenizerCache() {}

    /** The key of {@code tokenizerJson} as it is now; null when the file cannot be identified. */
    static String key(Path tokenizerJson) {
        try {
            Path real = tokenizerJson.toRealPath();
            BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class);
            // the compiled layout's version too, so that two releases on one machine each keep their own entry
            return FORMAT + " compiled " + ClipBpe.VERSION + "\n" + real + "\n" + a.size() + " "
                    + a.lastModifiedTime().to(TimeUnit.NANOSECONDS) + " " + a.fileKey();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The compiled tokenizer stored for {@code key}, or null. */
    static byte[] read(String key) {
        try {
            Path entry = entry(key);
            if (entry == null || !Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS)) {
                return null;
            }
            byte[] all = Files.readAllBytes(entry);
            byte[] k = key.getBytes(StandardCharsets.UTF_8);
            if (all.length < 4 + k.length) {
                return null;
            }
            ByteBuffer b = ByteBuffer.wrap(all);
            if (b.getInt() != k.length || !Arrays.equals(all, 4, 4 + k.length, k, 0, k.length)) {
                return null; // another file's entry under the same name
            }
            return Arrays.copyOfRange(all, 4 + k.length, all.length);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Stores {@code compiled} for {@code key}; quietly does nothing when it cannot. */
    static void write(String key, byte[] compiled) {
        Path tmp = null;
        try {
            Path entry = entry(key);
            if (entry == null) {
                return;
            }
            byte[] k = key.getBytes(StandardCharsets.UTF_8);
            tmp = Files.createTempFile(entry.getParent(), "tok", ".part");
            ByteBuffer head = ByteBuffer.allocate(4).putInt(k.length);
            try (var out = Files.newOutputStream(tmp)) {
                out.write(head.array());
                out.write(k);
                out.write(compiled);
            }
            try {
                Files.move(tmp, entry, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, entry, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException | RuntimeException e) {
            // the tokenizer works without its compiled copy
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    // a temporary file of ours in our folder; the next write replaces nothing it
                }
            }
        }
    }

    /** The entry file of {@code key} in this user's folder, or null when there is no usable folder. */
    static Path entry(String key) throws IOException {
        Path dir = PrivateFolders.inTemp("spark-diffusion-tokenizers");
        try {
            // only a folder of ours that nobody else can write into may hold what this process reads
            if (PrivateFolders.ensure(dir) != null) {
                return null;
            }
        } catch (UnsupportedOperationException e) {
            return null; // no POSIX permissions
        }
        return dir.resolve(Integer.toHexString(key.hashCode()) + "-" + key.length() + ".bin");
    }
}

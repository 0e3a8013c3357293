package io.sparkdiffusion.model;

import ai.onnxruntime.OrtEnvironment;
import io.sparkdiffusion.util.PrivateFolders;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.CodeSource;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one {@link OrtEnvironment} of this JVM (ONNX Runtime allows a single environment per process).
 *
 * <p>ONNX Runtime's Java binding unpacks its native libraries (about 28 MB on Linux x64) from its jar into a new
 * temporary folder in every process, a fifth of a small model's start. Unless {@code onnxruntime.native.path} is
 * set, the first use here unpacks them once into a cache folder of this user ({@code java.io.tmpdir}/
 * {@code spark-diffusion-ort-USER/} and a key of the jar's path, size and date; owner-only permissions) and points
 * the binding at it; later processes load from there. Anything unusual (no jar, another owner, no POSIX
 * permissions) leaves the binding's own behaviour.
 */
public final class OrtRuntime {
    /** Every native library an ONNX Runtime jar may carry (CPU and GPU builds), as {@code System.mapLibraryName}. */
    private static final List<String> LIBRARIES = List.of(
            "onnxruntime",
            "onnxruntime4j_jni",
            "onnxruntime_providers_shared",
            "onnxruntime_providers_cuda",
            "onnxruntime_providers_tensorrt");

    private static final String NATIVE_PATH = "onnxruntime.native.path";

    private OrtRuntime() {}

    public static OrtEnvironment environment() {
        Holder.prepared();
        return OrtEnvironment.getEnvironment();
    }

    private static final AtomicBoolean PRELOADING = new AtomicBoolean();

    /**
     * Starts loading ONNX Runtime (its native libraries and environment, a fifth of a second) in the background, once
     * per JVM, so that it overlaps the caller's reading of configs and tokenizers; {@link #environment} then waits
     * for it, or does it itself when it comes first.
     */
    public static void preload() {
        if (PRELOADING.compareAndSet(false, true)) {
            Thread t = new Thread(
                    () -> {
                        try {
                            environment();
                        } catch (RuntimeException | LinkageError e) {
                            // the caller's own environment() reports it
                        }
                    },
                    "spark-diffusion-ort-init");
            t.setDaemon(true);
            t.start();
        }
    }

    /** Runs the native-library preparation once, before any ONNX Runtime class loads its libraries. */
    private static final class Holder {
        static final boolean PREPARED = prepareNativeLibraries();

        static boolean prepared() {
            return PREPARED;
        }
    }

    private static boolean prepareNativeLibraries() {
        if (System.getProperty(NATIVE_PATH) != null) {
            return false;
        }
        try {
            Path dir = cacheFolder();
            if (dir == null) {
                return false;
            }
            String platform = platform();
            boolean any = false;
            for (String library : LIBRARIES) {
                String file = System.mapLibraryName(library);
                String resource = "/ai/onnxruntime/native/" + platform + "/" + file;
                try (InputStream in = OrtEnvironment.class.getResourceAsStream(resource)) {
                    if (in == null) {
                        continue;
                    }
                    Path target = dir.resolve(file);
                    if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
                        // write beside, then rename: a concurrent process never loads half a library
                        Path tmp = Files.createTempFile(dir, file, ".part");
                        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                        try {
                            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                        } catch (AtomicMoveNotSupportedException e) {
                            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                    any = true;
                }
            }
            if (any && Files.isRegularFile(dir.resolve(System.mapLibraryName("onnxruntime4j_jni")))) {
                System.setProperty(NATIVE_PATH, dir.toString());
                return true;
            }
            return false;
        } catch (IOException | RuntimeException e) {
            return false; // the binding unpacks into a temporary folder as usual
        }
    }

    /** This user's cache folder for the jar ONNX Runtime was loaded from, created owner-only; null if unusable. */
    private static Path cacheFolder() throws IOException {
        CodeSource source = OrtEnvironment.class.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            return null;
        }
        Path jar;
        try {
            jar = Path.of(source.getLocation().toURI());
        } catch (URISyntaxException | IllegalArgumentException e) {
            return null;
        }
        if (!Files.isRegularFile(jar)) {
            return null;
        }
        String key = Integer.toHexString(jar.toAbsolutePath().toString().hashCode()) + "-" + Files.size(jar) + "-"
                + Files.getLastModifiedTime(jar).toMillis();
        Path base = PrivateFolders.inTemp("spark-diffusion-ort");
        try {
            // only a folder of ours that nobody else can write into may hold libraries this process loads
            for (Path dir : List.of(base, base.resolve(key))) {
                if (PrivateFolders.ensure(dir) != null) {
                    return null;
                }
            }
        } catch (UnsupportedOperationException e) {
            return null; // no POSIX permissions (Windows): keep the binding's own unpacking
        }
        return base.resolve(key);
    }

    /** The binding's platform folder name: linux-x64, linux-aarch64, osx-aarch64, ... */
    private static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.contains("mac") || os.contains("darwin") ? "osx" : os.contains("win") ? "win" : "linux";
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x64" : arch;
        return o + "-" + a;
    }
}

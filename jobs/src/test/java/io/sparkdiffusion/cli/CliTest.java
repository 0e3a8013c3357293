package io.sparkdiffusion.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.tensor.Npy;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import io.sparkdiffusion.validate.CaseComparison;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Slow
class CliTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {}

    @BeforeAll
    static void pointAtTheProject() {
        System.setProperty("spark.diffusion.home", Fixtures.root().toString());
    }

    static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void generateWritesOneGrayscalePngPerSeedWithTheBundledModel() throws Exception {
        Run r = cli(
                "generate",
                "--prompt",
                "a handwritten digit three",
                "--seeds",
                "1,2,3",
                "--steps",
                "8",
                "--guidance",
                "3",
                "--batch-size",
                "2",
                "--out",
                tmp.toString());
        assertEquals(0, r.code(), r.err());
        for (int seed = 1; seed <= 3; seed++) {
            BufferedImage img =
                    ImageIO.read(tmp.resolve("seed-" + seed + ".png").toFile());
            assertEquals(16, img.getWidth());
            assertEquals(16, img.getHeight());
            assertEquals(BufferedImage.TYPE_BYTE_GRAY, img.getType());
        }
        assertTrue(r.out().contains("[3/3]") && r.out().contains("ms/image"), r.out());
    }

    @Test
    void generateRunsUnconditionalModelsWithoutAPrompt() throws Exception {
        Run r = cli(
                "generate",
                "--model",
                Fixtures.model("digits-ddpm").toString(),
                "--seeds",
                "4",
                "--steps",
                "5",
                "--out",
                tmp.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.size(tmp.resolve("seed-4.png")) > 0);
    }

    @Test
    void badArgumentsGiveOneLineNamingTheArgumentAndExitTwo() {
        for (String[] args : new String[][] {
            {"generate", "--prompt", "x", "--seeds", "1,b", "--out", tmp.toString()},
            {"generate", "--prompt", "x", "--seeds", "1", "--steps", "0", "--out", tmp.toString()},
            {"generate", "--prompt", "x", "--seeds", "1", "--scheduler", "warp_drive", "--out", tmp.toString()},
            {"generate", "--prompt", "x", "--seeds", "1", "--guidance", "NaN", "--out", tmp.toString()},
            {"generate", "--seeds", "1", "--out", tmp.toString()},
            {"generate", "--prompt", "x", "--seeds", "1", "--out", tmp.toString(), "--optimization", "max"},
        }) {
            Run r = cli(args);
            assertEquals(2, r.code(), String.join(" ", args) + " -> " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(
                    r.err().matches("(?s).*(--seeds|--steps|--scheduler|--guidance|--prompt|--optimization).*"),
                    r.err());
        }
    }

    @Test
    void replayReproducesTheRecordedCase() throws Exception {
        Path out = tmp.resolve("out.npy");
        Path caseDir = Fixtures.fixture("digits/digits-t2i/cases/ddim_20_g3");
        Run r = cli(
                "replay",
                "--model",
                Fixtures.model("digits-t2i").toString(),
                "--case",
                caseDir.toString(),
                "--out",
                out.toString());
        assertEquals(0, r.code(), r.err());
        Tensor got = Npy.read(out);
        Tensor expected = Npy.read(caseDir.resolve("image.npy"));
        assertTrue(Tensors.maxAbsDiff(got, expected) <= CaseComparison.PIXEL_TOLERANCE);
        assertTrue(r.out().contains("parity"), r.out());
    }

    @Test
    void replayOfAnUnsupportedCaseKindSaysSo() throws Exception {
        Path caseDir = Files.createDirectories(tmp.resolve("case"));
        Files.writeString(caseDir.resolve("case.json"), "{\"pipeline\": \"AudioLDMPipeline\"}");
        Run r = cli(
                "replay",
                "--model",
                Fixtures.fixture("t2v-tiny").toString(),
                "--case",
                caseDir.toString(),
                "--out",
                tmp.resolve("x.npy").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("AudioLDMPipeline") && r.err().contains("not supported"), r.err());
    }

    @Test
    void replayOfAVideoCaseWritesFramesLikeFramesNpy() throws Exception {
        Path out = tmp.resolve("frames.npy");
        Path caseDir = Fixtures.fixture("t2v-tiny/cases/t2v");
        Run r = cli(
                "replay",
                "--model",
                Fixtures.fixture("t2v-tiny").toString(),
                "--case",
                caseDir.toString(),
                "--out",
                out.toString());
        assertEquals(0, r.code(), r.err());
        Tensor got = Npy.read(out);
        Tensor expected = Npy.read(caseDir.resolve("frames.npy"));
        assertTrue(Tensors.maxAbsDiff(got, expected) <= CaseComparison.PIXEL_TOLERANCE);
        assertTrue(r.out().contains("frames.npy") && r.out().contains("parity"), r.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"generate", "replay", "bench", "job", "bench-job", "validate"})
    void everyCommandHasHelp(String command) {
        Run r = cli(command, "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Usage: spark-diffusion " + command), r.out());
    }

    @Test
    void benchPrintsLoadMemoryRateCallsPerImageAndTheTimeSplit() {
        Run r = cli(
                "bench", "--steps", "2", "--batch", "1", "--iterations", "1", "--warmup", "0", "--scheduler", "euler");
        assertEquals(0, r.code(), r.err());
        for (String line : List.of(
                "load ",
                "peak memory ",
                "images/s ",
                "KB of Java heap per image",
                "run unet",
                "(2.00 calls per image",
                "ratio total / sum(run)")) {
            assertTrue(r.out().contains(line), line + " in\n" + r.out());
        }
    }

    @Test
    void benchOnCudaWithoutTheGpuBuildFailsWithOneLine() {
        Run r = cli("bench", "--provider", "cuda", "--iterations", "1", "--warmup", "0");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("CUDA execution provider requested"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}

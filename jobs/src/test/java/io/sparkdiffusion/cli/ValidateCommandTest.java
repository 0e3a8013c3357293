package io.sparkdiffusion.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.OnnxGraphs;
import io.sparkdiffusion.testing.Slow;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code validate} on every fixture folder (all checks OK, every reference case reproduced), on the bundled digits
 * models with their cases elsewhere ({@code --cases}), and on deliberately broken copies, each of which must name
 * its mistake: a component removed, an output renamed, a truncated {@code model.onnx}, external weights left behind,
 * a legacy {@code latent_sample} VAE encoder, an SDXL text encoder without {@code hidden_states.*}, float16 on CPU.
 */
@Slow
class ValidateCommandTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
        /** The lines starting with {@code status} whose subject is {@code subject}. */
        List<String> lines(String status, String subject) {
            return out.lines()
                    .filter(l -> l.startsWith(status) && l.substring(6).startsWith(subject + " "))
                    .collect(Collectors.toList());
        }

        boolean has(String status, String subject, String... words) {
            return lines(status, subject).stream()
                    .anyMatch(l -> Stream.of(words).allMatch(l::contains));
        }
    }

    @BeforeAll
    static void pointAtTheProject() {
        System.setProperty("spark.diffusion.home", Fixtures.root().toString());
    }

    static Run validate(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = Stream.concat(Stream.of("validate"), Stream.of(args)).toArray(String[]::new);
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), all);
        return new Run(code, out.toString(), err.toString());
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "fixtures/sd-tiny",
                "fixtures/sd-inpaint-tiny",
                "fixtures/sdxl-tiny",
                "fixtures/ddpm-tiny",
                "fixtures/t2v-tiny",
                "fixtures/svd-tiny",
                "fixtures/kandinsky22-tiny",
                "exported/sd-lcm-tiny"
            })
    void everyFixtureFolderPassesWithEveryCaseReproduced(String folder) throws IOException {
        Path dir = Fixtures.testdata(folder);
        Run r = validate("--model", dir.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertFalse(r.out().contains("\nFAIL"), r.out());
        long cases;
        try (Stream<Path> s = Files.list(dir.resolve("cases"))) {
            cases = s.filter(p -> Files.isRegularFile(p.resolve("case.json"))).count();
        }
        assertTrue(cases > 0);
        assertEquals(
                cases,
                r.out()
                        .lines()
                        .filter(l -> l.startsWith("OK") && l.contains(" case "))
                        .count(),
                r.out());
        assertTrue(r.out().contains(cases + "/" + cases + " reference cases reproduce diffusers"), r.out());
        assertTrue(r.out().contains("OK    engine"), r.out());
        assertTrue(r.out().contains("OK    geometry"), r.out());
    }

    @Test
    void eachComponentGetsALoadLineAndAnInterfaceLine() {
        Run r = validate("--model", Fixtures.fixture("sdxl-tiny").toString(), "--skip-cases");
        assertEquals(0, r.code(), r.out());
        for (String c : List.of("text_encoder", "text_encoder_2", "unet", "vae_decoder", "vae_encoder")) {
            assertTrue(r.has("OK", c, "loads in"), c + "\n" + r.out());
            assertTrue(r.has("OK", c, "io ["), c + "\n" + r.out());
        }
        assertTrue(r.has("OK", "unet", "text_embeds", "time_ids", "out_sample"), r.out());
        assertTrue(r.has("OK", "tokenizer", "[49406, 320, 1125, 539, 320, 2368, 49407, ...]"), r.out());
        assertTrue(r.has("OK", "tokenizer_2", "pad 0"), r.out());
        assertTrue(r.has("OK", "scheduler", "EulerDiscreteScheduler"), r.out());
        assertFalse(r.out().contains(" case "), r.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"digits-t2i", "digits-ddpm"})
    void theBundledDigitsModelsPassWithTheirCasesFromTestdata(String name) {
        Path cases = Fixtures.fixture("digits/" + name + "/cases");
        Run r = validate("--model", Fixtures.model(name).toString(), "--cases", cases.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("2/2 reference cases reproduce diffusers"), r.out());
    }

    @Test
    void aMissingComponentFailsNamingIt() throws IOException {
        Path model = copy("sd-tiny");
        deleteTree(model.resolve("vae_decoder"));
        Run r = validate("--model", model.toString());
        assertEquals(1, r.code(), r.out());
        assertTrue(r.has("FAIL", "vae_decoder", "component folder vae_decoder/ is missing"), r.out());
        // the cases are not replayed on a folder that already failed
        assertTrue(r.has("WARN", "cases", "not run"), r.out());
        assertTrue(r.out().contains("NOT usable"), r.out());
    }

    @Test
    void anLcmUnetExportedWithoutItsGuidanceInputWarns() throws IOException {
        Path model = copy(Fixtures.exported("sd-lcm-tiny"));
        // the graph of a UNet traced without timestep_cond, under the LCM UNet's config (time_cond_proj_dim 32)
        Files.copy(
                Fixtures.fixture("sd-tiny/unet/model.onnx"),
                model.resolve("unet/model.onnx"),
                StandardCopyOption.REPLACE_EXISTING);
        Run r = validate("--model", model.toString(), "--skip-cases");
        assertEquals(0, r.code(), r.out());
        assertTrue(
                r.has(
                        "WARN",
                        "unet",
                        "time_cond_proj_dim 32",
                        "no 'timestep_cond' input",
                        "guidance_scale has no effect"),
                r.out());
        // the intact export declares it and passes without that warning
        Run intact = validate("--model", Fixtures.exported("sd-lcm-tiny").toString(), "--skip-cases");
        assertTrue(intact.has("OK", "unet", "timestep_cond"), intact.out());
        assertFalse(intact.out().contains("time_cond_proj_dim"), intact.out());
    }

    @Test
    void aMissingModelFileInAnExistingFolderSaysWhatTheFolderHolds() throws IOException {
        Path model = copy("sd-tiny");
        Path unet = model.resolve("unet");
        Files.delete(unet.resolve("model.onnx"));
        Files.write(unet.resolve("diffusion_pytorch_model.safetensors"), new byte[] {0});
        Run r = validate("--model", model.toString(), "--skip-cases");
        assertEquals(1, r.code(), r.out());
        assertTrue(r.has("FAIL", "unet", "unet/model.onnx is missing", "PyTorch weights, not an ONNX export"), r.out());
    }

    @Test
    void aRenamedOutputFailsNamingTheExpectedAndTheActualNames() throws IOException {
        Path model = copy("sd-tiny");
        Files.write(
                model.resolve("vae_decoder/model.onnx"),
                OnnxGraphs.identity("latent_sample", OnnxGraphs.FLOAT, 4, "image"));
        Run r = validate("--model", model.toString());
        assertEquals(1, r.code(), r.out());
        assertTrue(r.has("OK", "vae_decoder", "loads in"), r.out());
        assertTrue(r.has("FAIL", "vae_decoder", "has no output 'sample'", "outputs: [image FLOAT[?,?,?,?]]"), r.out());
        // the other components are still checked
        assertTrue(r.has("OK", "unet", "io ["), r.out());
    }

    @Test
    void anInputThePipelineDoesNotFeedFails() throws IOException {
        Path model = copy("sd-tiny");
        Files.write(model.resolve("vae_decoder/model.onnx"), OnnxGraphs.identity("z", OnnxGraphs.FLOAT, 4, "sample"));
        Run r = validate("--model", model.toString(), "--skip-cases");
        assertEquals(1, r.code(), r.out());
        assertTrue(r.has("FAIL", "vae_decoder", "declares input 'z'", "does not feed"), r.out());
        assertTrue(r.has("FAIL", "vae_decoder", "has no input 'latent_sample'"), r.out());
    }

    @Test
    void aWrongRankFails() throws IOException {
        Path model = copy("sd-tiny");
        Files.write(
                model.resolve("vae_decoder/model.onnx"),
                OnnxGraphs.identity("latent_sample", OnnxGraphs.FLOAT, 3, "sample"));
        Run r = validate("--model", model.toString(), "--skip-cases");
        assertEquals(1, r.code(), r.out());
        assertTrue(r.has("FAIL", "vae_decoder", "input 'latent_sample' has rank 3", "needs rank 4"), r.out());
    }

    @Test
    void aTruncatedModelFileFailsSayingItIsTruncated() throws IOException {
        Path model = copy("sd-tiny");
        Path unet = model.resolve("unet/model.onnx");
        byte[] all = Files.readAllBytes(unet);
        Files.write(unet, java.util.Arrays.copyOf(all, all.length / 2));
        Run r = validate("--model", model.toString());
        assertEquals(1, r.code(), r.out());
        assertTrue(
                r.has(
                        "FAIL",
                        "unet",
                        "unet/model.onnx is damaged",
                        "truncated (" + all.length / 2 + " bytes)",
                        "download or export it again"),
                r.out());
    }

    @Test
    void missingExternalDataFailsNamingTheDataFile() throws IOException {
        Path model = copy("sd-tiny");
        Path dir = model.resolve("vae_decoder");
        Files.write(
                dir.resolve("model.onnx"),
                OnnxGraphs.withExternalWeight("latent_sample", 4, "sample", "model.onnx_data"));
        Run r = validate("--model", model.toString(), "--skip-cases");
        assertEquals(1, r.code(), r.out());
        assertTrue(
                r.has("FAIL", "vae_decoder", "external data", "'model.onnx_data' is missing", "copy the data file"),
                r.out());

        // with the data file next to it the graph loads, and the file is named on the load line
        Files.write(dir.resolve("model.onnx_data"), OnnxGraphs.externalWeight());
        Run fixed = validate("--model", model.toString(), "--skip-cases");
        assertTrue(fixed.has("OK", "vae_decoder", "loads in", "+ model.onnx_data"), fixed.out());
        assertTrue(fixed.has("OK", "vae_decoder", "io [latent_sample"), fixed.out());
    }

    @Test
    void aLegacyLatentSampleEncoderWarnsThatDrawsDiffer() throws IOException {
        Path model = copy("sd-tiny");
        Files.write(
                model.resolve("vae_encoder/model.onnx"),
                OnnxGraphs.identity("sample", OnnxGraphs.FLOAT, 4, "latent_sample"));
        Run r = validate("--model", model.toString(), "--skip-cases");
        assertEquals(0, r.code(), r.out());
        assertTrue(
                r.has(
                        "WARN",
                        "vae_encoder",
                        "latent_sample",
                        "legacy",
                        "draws differ from diffusers",
                        "latent_parameters"),
                r.out());
    }

    @Test
    void aLegacyEncoderIsAFailureForStableVideoDiffusion() throws IOException {
        Path model = copy("svd-tiny");
        Files.write(
                model.resolve("vae_encoder/model.onnx"),
                OnnxGraphs.identity("sample", OnnxGraphs.FLOAT, 4, "latent_sample"));
        Run r = validate("--model", model.toString(), "--skip-cases");
        assertEquals(1, r.code(), r.out());
        assertTrue(r.has("FAIL", "vae_encoder", "posterior mean", "latent_parameters"), r.out());
    }

    @Test
    void anSdxlTextEncoderWithoutHiddenStatesFails() throws IOException {
        Path model = copy("sdxl-tiny");
        byte[] encoder = OnnxGraphs.graph()
                .input("input_ids", OnnxGraphs.INT64, 2)
                .int64s("axes", 2)
                .node("Cast", new String[] {"input_ids"}, new String[] {"ids_f"}, "to", OnnxGraphs.FLOAT)
                .node("Unsqueeze", new String[] {"ids_f", "axes"}, new String[] {"last_hidden_state"})
                .output("last_hidden_state", OnnxGraphs.FLOAT, 3)
                .bytes();
        Files.write(model.resolve("text_encoder/model.onnx"), encoder);
        Run r = validate("--model", model.toString(), "--skip-cases");
        assertEquals(1, r.code(), r.out());
        assertTrue(
                r.has("FAIL", "text_encoder", "no hidden_states.* outputs", "SDXL", "output_hidden_states"), r.out());
        assertTrue(r.has("OK", "text_encoder_2", "io ["), r.out());
    }

    @Test
    void float16OnTheCpuProviderWarns() throws IOException {
        Path model = copy("sd-tiny");
        Files.write(
                model.resolve("vae_decoder/model.onnx"),
                OnnxGraphs.cast("latent_sample", OnnxGraphs.FLOAT16, 4, "sample"));
        Run r = validate("--model", model.toString(), "--skip-cases");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.has("WARN", "vae_decoder", "float16", "CPU provider", "--provider cuda"), r.out());
        assertTrue(r.has("OK", "vae_decoder", "latent_sample FLOAT16"), r.out());
    }

    @Test
    void weightsStoredAsFloat16InAFloat32GraphAreNotAFloat16GraphAndTheCaseReplays() {
        Run r = validate("--model", Fixtures.fixture("sd-tiny-fp16w").toString());
        assertEquals(0, r.code(), r.out());
        for (String component : new String[] {"text_encoder", "unet", "vae_decoder"}) {
            assertTrue(r.has("OK", component, "weights stored as float16", "float32 arithmetic"), r.out());
        }
        assertFalse(r.out().contains("float16 graph"), r.out());
        assertTrue(r.has("OK", "case f16w_euler", "max |diff|"), r.out());
    }

    @Test
    void aFailingCaseReportsItsDifferenceAndWhereItDiverges() throws IOException {
        Path model = copy("sd-tiny");
        try (Stream<Path> s = Files.list(model.resolve("cases"))) {
            for (Path c : s.filter(c -> !c.getFileName().toString().matches("txt2img_(ddim|euler)"))
                    .collect(Collectors.toList())) {
                deleteTree(c);
            }
        }
        // the initial latents of one case with their signs flipped: same shapes, another picture
        Path noise = model.resolve("cases/txt2img_ddim/noise_000.npy");
        byte[] bytes = Files.readAllBytes(noise);
        for (int i = bytes.length - 4 * 64; i < bytes.length; i += 4) {
            bytes[i + 3] ^= (byte) 0x80;
        }
        Files.write(noise, bytes);
        Run r = validate("--model", model.toString());
        assertEquals(1, r.code(), r.out());
        assertTrue(
                r.has(
                        "FAIL",
                        "case txt2img_ddim",
                        "max |diff|",
                        "> 2e-03",
                        "prompt_embeds match",
                        "latents first differ after step 0"),
                r.out());
        assertTrue(r.has("OK", "case txt2img_euler", "max |diff|"), r.out());
        assertTrue(r.out().contains("1/2 reference cases reproduce diffusers"), r.out());
    }

    @Test
    void kandinskyRootsNeedBothHalves() throws IOException {
        Path model = copy("kandinsky22-tiny");
        Run half = validate("--model", model.resolve("prior").toString(), "--skip-cases");
        assertEquals(1, half.code(), half.out());
        assertTrue(half.has("FAIL", "layout", "one half of Kandinsky 2.2", "prior/ and decoder/"), half.out());

        deleteTree(model.resolve("decoder"));
        Run r = validate("--model", model.toString());
        assertEquals(1, r.code(), r.out());
        assertTrue(r.has("FAIL", "layout", "needs both prior/ and decoder/", "decoder/ is missing"), r.out());
    }

    @Test
    void aFolderThatIsNotAModelFails() {
        Run missing = validate("--model", tmp.resolve("nope").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.has("FAIL", "model", "does not exist"), missing.out());
        Run empty = validate("--model", tmp.toString());
        assertEquals(1, empty.code());
        assertTrue(empty.has("FAIL", "layout", "no model_index.json"), empty.out());
    }

    @Test
    void anExplicitCasesFolderThatDoesNotExistFails() {
        Run r = validate(
                "--model",
                Fixtures.fixture("ddpm-tiny").toString(),
                "--cases",
                tmp.resolve("nope").toString());
        assertEquals(1, r.code());
        assertTrue(r.has("FAIL", "cases", "does not exist"), r.out());
    }

    @Test
    void helpDescribesTheCommand() {
        Run r = validate("--help");
        assertEquals(0, r.code());
        assertTrue(
                r.out().contains("Usage: spark-diffusion validate")
                        && r.out().contains("--cases")
                        && r.out().contains("--skip-cases")
                        && r.out().contains("--provider"),
                r.out());
    }

    // ---------------------------------------------------------------- helpers

    private Path copy(String fixture) throws IOException {
        return copy(Fixtures.fixture(fixture));
    }

    private Path copy(Path from) throws IOException {
        Path to = tmp.resolve(from.getFileName().toString());
        try (Stream<Path> s = Files.walk(from)) {
            s.forEach(p -> {
                try {
                    Path target = to.resolve(from.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(target);
                    } else {
                        Files.copy(p, target);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        return to;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.delete(p);
            }
        }
    }
}

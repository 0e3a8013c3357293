package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.ReplayNoise;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import io.sparkdiffusion.validate.CaseComparison;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Kandinsky 2.2 sketch-to-image ({@code KandinskyV22PriorPipeline} + {@code KandinskyV22Img2ImgPipeline}) against the
 * recorded diffusers run {@code kandinsky22-tiny/cases/sketch2img}: the prior's image embeddings (1e-3), then the
 * decoder's latents after every step (1e-3) and the final pixels (2e-3), the tolerances of
 * testdata/fixtures/README.md.
 */
@Slow
class KandinskyParityTest {
    private static final Path ROOT = Fixtures.fixture("kandinsky22-tiny");
    private static final Path CASE = Fixtures.fixture("kandinsky22-tiny/cases/sketch2img");

    /** The prior alone, on the case's first draws: image_embeds and the negative prompt's embeds. */
    @Test
    void priorEmbeddingsMatchDiffusers() throws Exception {
        try (CaseReplay replay = new CaseReplay(ROOT, CASE, RuntimeOptions.DEFAULT)) {
            KandinskyV22Pipeline pipeline = assertInstanceOf(KandinskyV22Pipeline.class, replay.pipeline());
            ImageRequest r = replay.request();
            assertEquals(3, r.priorSteps());
            assertEquals(4.0, r.priorGuidanceScale());
            ReplayNoise noise = ReplayNoise.fromCaseDir(CASE);
            KandinskyV22Prior.Embeddings e = pipeline.prior()
                    .embed(
                            r.prompts(),
                            r.negativePrompts(),
                            r.priorSteps(),
                            r.priorGuidanceScale(),
                            r.priorSchedulerConfig(),
                            noise);
            assertEquals(3, noise.consumed(), "prior draws: initial latents and the steps at t = 999 and 500");
            double image = Fixtures.maxDiff(e.imageEmbeds(), Fixtures.npy(CASE.resolve("image_embeds.npy")));
            double negative =
                    Fixtures.maxDiff(e.negativeImageEmbeds(), Fixtures.npy(CASE.resolve("negative_image_embeds.npy")));
            System.out.printf(
                    "kandinsky sketch2img: image_embeds max|diff| %.3g, negative_image_embeds %.3g%n", image, negative);
            assertTrue(image <= CaseComparison.INTERMEDIATE_TOLERANCE, "image_embeds differ by " + image);
            assertTrue(
                    negative <= CaseComparison.INTERMEDIATE_TOLERANCE, "negative_image_embeds differ by " + negative);
        }
    }

    /** The whole call: every recorded draw consumed, latents after each decoder step, final pixels. */
    @Test
    void sketchToImageMatchesDiffusers() throws Exception {
        try (CaseReplay replay = new CaseReplay(ROOT, CASE, RuntimeOptions.DEFAULT)) {
            ImageRequest r = replay.request();
            assertEquals(4, r.steps());
            assertEquals(0.6, r.strength());
            assertEquals(List.of(""), r.negativePrompts());
            assertArrayEquals(new long[] {1, 32, 32, 3}, r.image().shape());
        }
        CaseComparison.Result result = ParityCheck.check(ROOT, CASE);
        assertEquals(2, result.stepsRun(), "strength 0.6 of 4 DDIM steps runs 2");
        assertEquals(2, result.steps().size(), "latents compared after each decoder step");
    }

    /** Another strength, step count and seed through Pipelines.open: finite pixels of the sketch's size. */
    @Test
    void otherStrengthStepsAndSeedGiveFiniteImages() throws Exception {
        Tensor sketch = Fixtures.npy(CASE.resolve("input_image.npy")).reshape(1, 32, 32, 3);
        try (ImagePipeline p = Pipelines.openImage(ROOT, RuntimeOptions.DEFAULT, Task.IMAGE_TO_IMAGE)) {
            assertInstanceOf(KandinskyV22Pipeline.class, p);
            ImageRequest two = ImageRequest.builder()
                    .prior(5, 2.0, null)
                    .prompts(List.of("a blue horse", "a house"))
                    .negativePrompts(java.util.Arrays.asList("blurry", null))
                    .image(Tensors.concatBatch(sketch, sketch))
                    .strength(0.9)
                    .steps(6)
                    .guidanceScale(3.0)
                    .scheduler("euler_a")
                    .build();
            Tensor out = p.generate(two, new SeededNoise(7, 8));
            assertArrayEquals(new long[] {2, 32, 32, 3}, out.shape());
            assertFiniteIn01(out);
            assertTrue(
                    Tensors.maxAbsDiff(Tensors.sliceBatch(out, 0, 1), Tensors.sliceBatch(out, 1, 2)) > 1e-3,
                    "different prompts and seeds give different pictures");

            // a row's seed alone fixes its picture, whatever its batch-mates
            ImageRequest one = ImageRequest.builder()
                    .prior(5, 2.0, null)
                    .prompts(List.of("a house"))
                    .negativePrompts(java.util.Collections.singletonList(null))
                    .image(sketch)
                    .strength(0.9)
                    .steps(6)
                    .guidanceScale(3.0)
                    .scheduler("euler_a")
                    .build();
            Tensor alone = p.generate(one, new SeededNoise(8));
            assertTrue(Tensors.maxAbsDiff(alone, Tensors.sliceBatch(out, 1, 2)) < 1e-5, "row 1 alone vs in the batch");

            // unguided decoder, default strength (0.3 of 10 steps: 3 steps)
            ImageRequest unguided = ImageRequest.builder()
                    .prior(5, 2.0, null)
                    .prompts(List.of("a cat"))
                    .image(sketch)
                    .steps(10)
                    .guidanceScale(1.0)
                    .build();
            List<Double> ts = new ArrayList<>();
            Tensor u = p.generate(unguided, new SeededNoise(3), (i, t, latents) -> ts.add(t));
            assertEquals(3, ts.size());
            assertArrayEquals(new long[] {1, 32, 32, 3}, u.shape());
            assertFiniteIn01(u);
        }
    }

    @Test
    void textToImageFromTheDecoderAndClearErrors() {
        try (ImagePipeline p = Pipelines.openImage(ROOT, RuntimeOptions.DEFAULT, Task.TEXT_TO_IMAGE)) {
            ImageRequest r = ImageRequest.builder()
                    .prompts(List.of("a red cat"))
                    .size(48, 32)
                    .steps(3)
                    .guidanceScale(4.0)
                    .build();
            Tensor out = p.generate(r, new SeededNoise(11));
            assertArrayEquals(new long[] {1, 32, 48, 3}, out.shape());
            assertFiniteIn01(out);
            IllegalArgumentException odd = assertThrows(
                    IllegalArgumentException.class,
                    () -> p.generate(
                            ImageRequest.builder()
                                    .prompts(List.of("x"))
                                    .size(30, 32)
                                    .steps(2)
                                    .build(),
                            new SeededNoise(1)));
            assertTrue(odd.getMessage().contains("multiple of 4"), odd.getMessage());
        }
        IllegalArgumentException inpaint = assertThrows(
                IllegalArgumentException.class, () -> Pipelines.open(ROOT, RuntimeOptions.DEFAULT, Task.INPAINT));
        assertTrue(
                inpaint.getMessage().contains("INPAINT") && inpaint.getMessage().contains("IMAGE_TO_IMAGE"),
                inpaint.getMessage());
        try (ImagePipeline p = Pipelines.openImage(ROOT, RuntimeOptions.DEFAULT, Task.IMAGE_TO_IMAGE)) {
            IllegalArgumentException noImage = assertThrows(
                    IllegalArgumentException.class,
                    () -> p.generate(
                            ImageRequest.builder()
                                    .prompts(List.of("x"))
                                    .steps(2)
                                    .build(),
                            new SeededNoise(1)));
            assertTrue(noImage.getMessage().contains("init image"), noImage.getMessage());
            // the fixture's MoVQ encoder has a fixed 32x32 input: another size fails before any model runs
            IllegalArgumentException fixed = assertThrows(
                    IllegalArgumentException.class,
                    () -> p.generate(
                            ImageRequest.builder()
                                    .prompts(List.of("x"))
                                    .image(Tensor.zeros(1, 64, 64, 3))
                                    .steps(2)
                                    .build(),
                            new SeededNoise(1)));
            assertTrue(
                    fixed.getMessage().contains("32x32") && fixed.getMessage().contains("64x64"), fixed.getMessage());
        }
    }

    @Test
    void modelInfoOfTheTwoFolderRoot() {
        ModelInfo info = ModelInfo.of(ROOT);
        assertEquals("KandinskyV22PriorPipeline + KandinskyV22Img2ImgPipeline", info.pipelineClass());
        assertTrue(info.takesPrompt());
        assertEquals(2, info.vaeFactor(), "MoVQ block_out_channels [32, 64]");
        assertEquals(4, info.sizeMultiple(), "times the UNet's 2 blocks");
        assertArrayEquals(new int[] {512, 512}, info.defaultSize(), "no UNet sample_size: diffusers' 512");
        assertEquals(3, info.imageChannels());
        // the decoder folder alone gives the same geometry
        try (ModelFolder decoder = new ModelFolder(ROOT.resolve("decoder"), RuntimeOptions.DEFAULT)) {
            ModelInfo d = ModelInfo.of(decoder);
            assertEquals("KandinskyV22Img2ImgPipeline", d.pipelineClass());
            assertEquals(info.sizeMultiple(), d.sizeMultiple());
            assertArrayEquals(info.defaultSize(), d.defaultSize());
        }
        // a plain model folder still reads as before
        assertEquals(
                "StableDiffusionPipeline",
                ModelInfo.of(Fixtures.fixture("sd-tiny")).pipelineClass());
    }

    private static void assertFiniteIn01(Tensor t) {
        for (float v : t.data()) {
            assertTrue(Float.isFinite(v) && v >= 0f && v <= 1f, "pixel " + v);
        }
    }
}

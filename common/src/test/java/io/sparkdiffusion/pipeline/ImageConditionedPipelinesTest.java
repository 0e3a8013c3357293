package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Image-to-image and inpainting beyond the recorded cases: task selection, other strengths and step counts, the
 * strength error, {@code keepUnmasked}, and batching (a row gives the same picture alone or in a batch).
 */
@Slow
class ImageConditionedPipelinesTest {
    private static final String IMAGE = "sd-inpaint-tiny/cases/inpaint_ddim/input_image.npy";
    private static final String MASK = "sd-inpaint-tiny/cases/inpaint_ddim/mask.npy";

    /** The fixture's (H, W, C) image as one row. */
    private static Tensor image() {
        Tensor t = Fixtures.npy(Fixtures.fixture(IMAGE));
        return t.reshape(1, t.dim(0), t.dim(1), t.dim(2));
    }

    /** The fixture's (H, W) mask as one row. */
    private static Tensor mask() {
        Tensor t = Fixtures.npy(Fixtures.fixture(MASK));
        return t.reshape(1, t.dim(0), t.dim(1));
    }

    /** A row mirrored left-right (another picture, or another mask, of the same size). */
    private static Tensor mirrored(Tensor rows) {
        long[] s = rows.shape();
        int h = (int) s[1];
        int w = (int) s[2];
        int c = s.length == 4 ? (int) s[3] : 1;
        float[] in = rows.data();
        float[] out = new float[in.length];
        for (int b = 0; b < s[0]; b++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    for (int k = 0; k < c; k++) {
                        out[((b * h + y) * w + x) * c + k] = in[((b * h + y) * w + (w - 1 - x)) * c + k];
                    }
                }
            }
        }
        return new Tensor(s, out);
    }

    private static ImageRequest.Builder request(String prompt) {
        return ImageRequest.builder()
                .prompts(List.of(prompt))
                .guidanceScale(7.5)
                .image(image());
    }

    /** Runs and returns the number of denoising steps the loop made. */
    private static int countSteps(ImagePipeline p, ImageRequest r) {
        int[] steps = {0};
        Tensor out = p.generate(r, new SeededNoise(3), (i, t, latents) -> steps[0]++);
        assertArrayEquals(new long[] {1, 32, 32, 3}, out.shape());
        for (float v : out.data()) {
            assertTrue(v >= 0 && v <= 1, "pixel " + v);
        }
        return steps[0];
    }

    @Test
    void everyTaskOfAnSdOrSdxlFolderHasItsPipeline() {
        RuntimeOptions o = RuntimeOptions.DEFAULT;
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sd-tiny"), o, Task.IMAGE_TO_IMAGE)) {
            assertInstanceOf(StableDiffusionImg2ImgPipeline.class, p);
        }
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sd-tiny"), o, Task.INPAINT)) {
            assertFalse(
                    assertInstanceOf(StableDiffusionInpaintPipeline.class, p).usesMaskChannels());
        }
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sd-inpaint-tiny"), o, Task.INPAINT)) {
            assertTrue(assertInstanceOf(StableDiffusionInpaintPipeline.class, p).usesMaskChannels());
        }
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sd-inpaint-tiny"), o)) {
            // model_index.json names StableDiffusionInpaintPipeline
            assertInstanceOf(StableDiffusionInpaintPipeline.class, p);
        }
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sdxl-tiny"), o, Task.IMAGE_TO_IMAGE)) {
            assertInstanceOf(StableDiffusionXLImg2ImgPipeline.class, p);
        }
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sdxl-tiny"), o, Task.INPAINT)) {
            assertFalse(
                    assertInstanceOf(StableDiffusionXLInpaintPipeline.class, p).usesMaskChannels());
        }
    }

    @Test
    void otherStrengthsAndStepCountsRunIntStepsTimesStrengthSteps() {
        RuntimeOptions o = RuntimeOptions.DEFAULT;
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sd-tiny"), o, Task.IMAGE_TO_IMAGE)) {
            assertEquals(
                    4,
                    countSteps(
                            p,
                            request("a lake")
                                    .steps(7)
                                    .strength(0.6)
                                    .scheduler("euler_a")
                                    .build()));
            // the default strength, 0.8
            assertEquals(
                    4,
                    countSteps(p, request("a lake").steps(5).scheduler("ddim").build()));
            // sd-tiny's own PNDM has steps + 1 timesteps (one repeated), so the loop makes one more, as in diffusers
            assertEquals(5, countSteps(p, request("a lake").steps(5).build()));
        }
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sd-tiny"), o, Task.INPAINT)) {
            assertEquals(
                    3,
                    countSteps(
                            p,
                            request("a wall")
                                    .mask(mask())
                                    .steps(5)
                                    .strength(0.6)
                                    .scheduler("ddim")
                                    .build()));
        }
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sd-inpaint-tiny"), o, Task.INPAINT)) {
            assertEquals(
                    3,
                    countSteps(
                            p,
                            request("a wall")
                                    .mask(mask())
                                    .steps(6)
                                    .strength(0.6)
                                    .scheduler("dpmpp_2m")
                                    .build()));
        }
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sdxl-tiny"), o, Task.IMAGE_TO_IMAGE)) {
            // the default strength, 0.3: int(10 * 0.3) = 3
            assertEquals(
                    3, countSteps(p, request("a fox").steps(10).guidanceScale(0).build()));
        }
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sdxl-tiny"), o, Task.INPAINT)) {
            assertEquals(
                    3,
                    countSteps(
                            p,
                            request("a fox")
                                    .mask(mask())
                                    .steps(5)
                                    .strength(0.6)
                                    .guidanceScale(5)
                                    .build()));
        }
    }

    @Test
    void tooFewStepsForTheStrengthIsAClearError() {
        RuntimeOptions o = RuntimeOptions.DEFAULT;
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sd-tiny"), o, Task.IMAGE_TO_IMAGE)) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> p.generate(request("x").steps(4).strength(0.2).build(), new SeededNoise(1)));
            assertTrue(
                    e.getMessage().contains("strength 0.2") && e.getMessage().contains("num_inference_steps 4"),
                    e.getMessage());
        }
        try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture("sd-inpaint-tiny"), o, Task.INPAINT)) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> p.generate(
                            request("x").mask(mask()).steps(3).strength(0.3).build(), new SeededNoise(1)));
            assertTrue(
                    e.getMessage().contains("strength 0.3") && e.getMessage().contains("num_inference_steps 3"),
                    e.getMessage());
        }
    }

    @Test
    void keepUnmaskedKeepsEveryPixelOutsideTheMask() {
        // a mask with grey levels: below 0.5 counts as keep, 0.5 and above as repaint
        Tensor mask = mask().copy();
        float[] m = mask.data();
        for (int i = 0; i < m.length; i++) {
            m[i] = m[i] > 0 ? (i % 3 == 0 ? 0.5f : 0.9f) : (i % 2 == 0 ? 0.3f : 0f);
        }
        try (ImagePipeline p =
                Pipelines.openImage(Fixtures.fixture("sd-inpaint-tiny"), RuntimeOptions.DEFAULT, Task.INPAINT)) {
            ImageRequest.Builder r = request("a red brick wall").mask(mask).steps(4);
            Tensor plain = p.generate(r.build(), new SeededNoise(9));
            Tensor kept = p.generate(r.keepUnmasked(true).build(), new SeededNoise(9));
            Tensor input = image();
            int channels = 3;
            int changed = 0;
            for (int i = 0; i < kept.size(); i++) {
                if (m[i / channels] < 0.5f) {
                    assertEquals(input.data()[i], kept.data()[i], "pixel " + i + " outside the mask");
                    changed += plain.data()[i] != input.data()[i] ? 1 : 0;
                } else {
                    assertEquals(plain.data()[i], kept.data()[i], "pixel " + i + " inside the mask");
                }
            }
            assertTrue(changed > 0, "without keepUnmasked the decode changes pixels outside the mask");
        }
    }

    @Test
    void aBatchOfTwoRowsEqualsEachRowAlone() {
        Tensor images = Tensors.concatBatch(image(), mirrored(image()));
        Tensor masks = Tensors.concatBatch(mask(), mirrored(mask()));
        List<String> prompts = List.of("a red brick wall", "a bowl of ramen");
        long[] seeds = {5, 77};
        // rows_per_run 1: the batch goes through the UNet and the VAE decoder one row per call, the inpainting
        // UNet's extra channels (mask, masked image) and the guided conditioning sliced with it
        record Setup(String folder, Task task, String scheduler, RuntimeOptions options) {}
        RuntimeOptions sliced = RuntimeOptions.DEFAULT.withRowsPerRun(1);
        for (Setup s : List.of(
                new Setup("sd-tiny", Task.IMAGE_TO_IMAGE, "euler_a", RuntimeOptions.DEFAULT),
                new Setup("sd-tiny", Task.INPAINT, "ddim", RuntimeOptions.DEFAULT),
                new Setup("sd-inpaint-tiny", Task.INPAINT, "euler_a", RuntimeOptions.DEFAULT),
                new Setup("sdxl-tiny", Task.INPAINT, "euler_a", RuntimeOptions.DEFAULT),
                new Setup("sd-tiny", Task.IMAGE_TO_IMAGE, "euler_a", sliced),
                new Setup("sd-inpaint-tiny", Task.INPAINT, "euler_a", sliced),
                new Setup("sdxl-tiny", Task.INPAINT, "euler_a", sliced))) {
            try (ImagePipeline p = Pipelines.openImage(Fixtures.fixture(s.folder()), s.options(), s.task())) {
                boolean inpaint = s.task() == Task.INPAINT;
                ImageRequest.Builder both = ImageRequest.builder()
                        .prompts(prompts)
                        .negativePrompts(java.util.Arrays.asList("blurry", null))
                        .image(images)
                        .steps(5)
                        .strength(0.8)
                        .scheduler(s.scheduler());
                Tensor batch = p.generate((inpaint ? both.mask(masks) : both).build(), new SeededNoise(seeds));
                List<Double> diffs = new ArrayList<>();
                for (int r = 0; r < 2; r++) {
                    ImageRequest.Builder one = ImageRequest.builder()
                            .prompts(List.of(prompts.get(r)))
                            .negativePrompts(java.util.Arrays.asList(r == 0 ? "blurry" : null))
                            .image(Tensors.sliceBatch(images, r, r + 1))
                            .steps(5)
                            .strength(0.8)
                            .scheduler(s.scheduler());
                    if (inpaint) {
                        one.mask(Tensors.sliceBatch(masks, r, r + 1));
                    }
                    Tensor alone = p.generate(one.build(), new SeededNoise(seeds[r]));
                    diffs.add(Tensors.maxAbsDiff(alone, Tensors.sliceBatch(batch, r, r + 1)));
                }
                System.out.printf(
                        "batch vs alone, %s %s %s: max |diff| %s%n", s.folder(), s.task(), s.options(), diffs);
                for (double d : diffs) {
                    assertTrue(d < 1e-4, s + ": a row differs by " + d + " between batched and alone");
                }
            }
        }
    }
}

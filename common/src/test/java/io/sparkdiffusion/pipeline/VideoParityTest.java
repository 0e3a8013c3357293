package io.sparkdiffusion.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.image.AntialiasResize;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.SeededNoise;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.scheduler.Schedulers;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import io.sparkdiffusion.util.JsonConfig;
import io.sparkdiffusion.validate.CaseComparison;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Video pipelines against diffusers: {@code TextToVideoSDPipeline} ({@code t2v-tiny/cases/t2v}: UNet3D, latents
 * {@code (B, C, F, h, w)}, DDIM stepped per frame) and {@code StableVideoDiffusionPipeline}
 * ({@code svd-tiny/cases/img2vid}: CLIP image embedding, noise-augmented VAE mode, 8-channel UNet, per-frame guidance,
 * EDM Euler, temporal VAE decoder). Embeddings and per-step latents within 1e-3, frames within 2e-3
 * (testdata/fixtures/README.md); then other frame counts, sizes, batches, seeds and schedulers.
 */
@Slow
class VideoParityTest {
    private static final Path T2V = Fixtures.fixture("t2v-tiny");
    private static final Path T2V_CASE = Fixtures.fixture("t2v-tiny/cases/t2v");
    private static final Path SVD = Fixtures.fixture("svd-tiny");
    private static final Path SVD_CASE = Fixtures.fixture("svd-tiny/cases/img2vid");

    @Test
    void textToVideoMatchesDiffusers() throws Exception {
        assertEveryStepAndFrameCompared(ParityCheck.check(T2V, T2V_CASE));
    }

    @Test
    void imageToVideoMatchesDiffusers() throws Exception {
        assertEveryStepAndFrameCompared(ParityCheck.check(SVD, SVD_CASE));
    }

    /** The video cases record every step's latents and the frames: all of them were compared. */
    private static void assertEveryStepAndFrameCompared(CaseComparison.Result result) {
        assertTrue(result.stepsRecorded() > 0, "the case records the latents of each step");
        assertEquals(result.stepsRecorded(), result.steps().size(), "denoising steps");
        assertEquals("frames.npy", result.outputDifference().name());
    }

    @Test
    void imageToVideoEmbeddingsMatchDiffusers() throws Exception {
        try (CaseReplay replay = new CaseReplay(SVD, SVD_CASE, RuntimeOptions.DEFAULT)) {
            StableVideoDiffusionPipeline svd = assertInstanceOf(StableVideoDiffusionPipeline.class, replay.pipeline());
            VideoRequest r = replay.videoRequest();
            Tensor nchw = Tensors.nhwcToNchw(r.image());
            // the case is guided (max_guidance_scale 3): recorded as cat[zeros, conditional]
            Tensor embeds = svd.encodeImage(nchw);
            Tensor embeddings = Tensors.concatBatch(Tensor.zeros(embeds.shape()), embeds);
            double de = Tensors.maxAbsDiff(embeddings, Fixtures.npy(SVD_CASE.resolve("image_embeddings.npy")));
            Tensor mean = svd.encodeVae(nchw, Fixtures.npy(SVD_CASE.resolve("noise_000.npy")), r.noiseAugStrength());
            Tensor latents = Tensors.concatBatch(Tensor.zeros(mean.shape()), mean);
            double dl = Tensors.maxAbsDiff(latents, Fixtures.npy(SVD_CASE.resolve("image_latents.npy")));
            System.out.printf("img2vid: image_embeddings max|diff| %.3g, image_latents max|diff| %.3g%n", de, dl);
            assertTrue(de <= CaseComparison.INTERMEDIATE_TOLERANCE, "image_embeddings differ by " + de);
            assertTrue(dl <= CaseComparison.INTERMEDIATE_TOLERANCE, "image_latents differ by " + dl);
        }
    }

    @Test
    void textToVideoOtherFramesSizesSeedsAndSchedulers() {
        try (VideoPipeline video = Pipelines.openVideo(T2V, RuntimeOptions.DEFAULT)) {
            assertInstanceOf(TextToVideoSDPipeline.class, video);
            // two rows, 3 frames, 48x32, a stochastic scheduler drawing per-frame step noise, chunked decode
            VideoRequest r = VideoRequest.builder()
                    .prompts(List.of("a cat surfing", "a dog skiing"))
                    .negativePrompts(java.util.Arrays.asList("blurry", null))
                    .numFrames(3)
                    .steps(4)
                    .guidanceScale(7)
                    .size(48, 32)
                    .scheduler("euler_a")
                    .decodeChunkSize(2)
                    .build();
            Tensor frames = video.generate(r, new SeededNoise(5, 6));
            assertFrames(frames, 2, 3, 32, 48);
            // a row's seed alone fixes its video, whatever the batch
            VideoRequest one = VideoRequest.builder()
                    .prompts(List.of("a dog skiing"))
                    .numFrames(3)
                    .steps(4)
                    .guidanceScale(7)
                    .size(48, 32)
                    .scheduler("euler_a")
                    .build();
            Tensor alone = video.generate(one, new SeededNoise(6));
            double d = Tensors.maxAbsDiff(Tensors.sliceBatch(frames, 1, 2), alone);
            assertTrue(d < 1e-4, "row 1 alone differs from row 1 in a batch by " + d);
            // one frame, unguided, default size (32x32)
            Tensor single = video.generate(
                    VideoRequest.builder()
                            .prompts(List.of("x"))
                            .numFrames(1)
                            .steps(2)
                            .guidanceScale(1)
                            .build(),
                    new SeededNoise(1));
            assertFrames(single, 1, 1, 32, 32);
            // another seed gives another video
            Tensor other = video.generate(
                    VideoRequest.builder()
                            .prompts(List.of("a dog skiing"))
                            .numFrames(3)
                            .steps(4)
                            .guidanceScale(7)
                            .size(48, 32)
                            .scheduler("euler_a")
                            .build(),
                    new SeededNoise(7));
            assertTrue(Tensors.maxAbsDiff(alone, other) > 1e-3, "seeds 6 and 7 gave the same video");
        }
    }

    @Test
    void imageToVideoOtherFramesSizesSeedsAndChunks() {
        try (VideoPipeline video = Pipelines.openVideo(SVD, RuntimeOptions.DEFAULT)) {
            assertInstanceOf(StableVideoDiffusionPipeline.class, video);
            assertEquals(25, video.defaultFrames(), "the UNet config's num_frames");
            // 2 rows of 40x24 images (the CLIP encoder takes 32x32: anti-aliased resize), 5 frames decoded 2 at a
            // time (chunks cross the row boundary, as diffusers' flattened decode), guidance 1.5 -> 2.5
            Tensor images = testImages(2, 24, 40);
            VideoRequest r = VideoRequest.builder()
                    .image(images)
                    .numFrames(5)
                    .steps(3)
                    .guidanceRange(1.5, 2.5)
                    .fps(6)
                    .motionBucketId(100)
                    .noiseAugStrength(0.1)
                    .decodeChunkSize(2)
                    .build();
            Tensor frames = video.generate(r, new SeededNoise(3, 4));
            assertFrames(frames, 2, 5, 24, 40);
            Tensor alone = video.generate(
                    VideoRequest.builder()
                            .image(Tensors.sliceBatch(images, 1, 2))
                            .numFrames(5)
                            .steps(3)
                            .guidanceRange(1.5, 2.5)
                            .fps(6)
                            .motionBucketId(100)
                            .noiseAugStrength(0.1)
                            .decodeChunkSize(5)
                            .build(),
                    new SeededNoise(4));
            assertFrames(alone, 1, 5, 24, 40);
            // unguided (max_guidance_scale 1), one frame, one chunk per frame
            Tensor still = video.generate(
                    VideoRequest.builder()
                            .image(testImages(1, 32, 32))
                            .numFrames(1)
                            .steps(2)
                            .guidanceRange(1, 1)
                            .decodeChunkSize(1)
                            .build(),
                    new SeededNoise(9));
            assertFrames(still, 1, 1, 32, 32);
            assertThrows(
                    IllegalArgumentException.class,
                    () -> video.generate(
                            VideoRequest.builder()
                                    .image(images)
                                    .scheduler("ddim")
                                    .steps(2)
                                    .numFrames(2)
                                    .build(),
                            new SeededNoise(1, 2)),
                    "the EDM UNet needs continuous timesteps");
        }
    }

    @Test
    void videoModelsOpenForTheVideoTaskOnly() {
        assertThrows(
                IllegalArgumentException.class, () -> Pipelines.open(T2V, RuntimeOptions.DEFAULT, Task.TEXT_TO_IMAGE));
        assertThrows(IllegalArgumentException.class, () -> Pipelines.openImage(T2V, RuntimeOptions.DEFAULT));
        assertThrows(
                IllegalArgumentException.class, () -> Pipelines.open(SVD, RuntimeOptions.DEFAULT, Task.IMAGE_TO_IMAGE));
        assertThrows(
                IllegalArgumentException.class,
                () -> Pipelines.open(Fixtures.fixture("sd-tiny"), RuntimeOptions.DEFAULT, Task.VIDEO));
        assertThrows(
                IllegalArgumentException.class,
                () -> Pipelines.open(Fixtures.fixture("kandinsky22-tiny"), RuntimeOptions.DEFAULT, Task.VIDEO));
    }

    @Test
    void edmEulerSchedule() {
        JsonConfig config = JsonConfig.read(SVD.resolve("scheduler/scheduler_config.json"));
        Scheduler s = Schedulers.create(config);
        s.setTimesteps(3);
        // Karras ramp from the config's sigma_max 700 to sigma_min 0.002 (rho 7); the UNet sees 0.25 ln(sigma)
        double mid = Math.pow((Math.pow(700, 1 / 7.0) + Math.pow(0.002, 1 / 7.0)) / 2, 7);
        double[] expected = {0.25 * Math.log(700), 0.25 * Math.log(mid), 0.25 * Math.log(0.002)};
        assertArrayEquals(expected, s.timesteps(), 1e-6);
        assertEquals(Math.sqrt(700.0 * 700.0 + 1), s.initNoiseSigma(), 1e-3, "leading spacing: sqrt(sigma_max^2 + 1)");
        // the same config without the EDM keys keeps the discrete Euler behaviour
        Scheduler plain = Schedulers.create(
                config.with("timestep_type", "discrete").with("sigma_min", null).with("sigma_max", null));
        plain.setTimesteps(3);
        assertTrue(plain.timesteps()[0] > 100, "discrete Karras timesteps are training timesteps");
    }

    @Test
    void antialiasResizeKeepsSizeAndConstants() {
        Tensor img = Tensors.nhwcToNchw(testImages(1, 20, 28));
        Tensor same = AntialiasResize.resize(img, 20, 28);
        assertTrue(Tensors.maxAbsDiff(img, same) < 1e-6, "resizing to the same size is the identity");
        Tensor flat = AntialiasResize.resize(Tensor.full(0.25f, 1, 3, 64, 96), 16, 24);
        for (float v : flat.data()) {
            assertEquals(0.25f, v, 1e-6f);
        }
        Tensor down = AntialiasResize.resize(img, 7, 9);
        assertArrayEquals(new long[] {1, 3, 7, 9}, down.shape());
    }

    private static void assertFrames(Tensor frames, int rows, int count, int h, int w) {
        assertArrayEquals(new long[] {rows, count, h, w, 3}, frames.shape());
        for (float v : frames.data()) {
            assertTrue(Float.isFinite(v) && v >= 0 && v <= 1, "frame value " + v);
        }
    }

    /** Smooth colour gradients, {@code (rows, h, w, 3)} in [0, 1], different per row. */
    private static Tensor testImages(int rows, int h, int w) {
        float[] d = new float[rows * h * w * 3];
        int i = 0;
        for (int r = 0; r < rows; r++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    d[i++] = (float) (0.5 + 0.5 * Math.sin(6.0 * x / w + r));
                    d[i++] = (float) y / (h - 1);
                    d[i++] = 1f - (float) x * y / (w * h);
                }
            }
        }
        return new Tensor(new long[] {rows, h, w, 3}, d);
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.util.Map;

/**
 * diffusers' {@code DDPMPipeline} and {@code DDIMPipeline}: a pixel-space {@code UNet2DModel} denoising pure noise,
 * any channel count. {@code DDIMPipeline} swaps the model's scheduler for DDIM (eta 0) as diffusers does.
 */
public final class UnconditionalPipeline extends DiffusionPipeline {
    private final OnnxModel unet;
    private final int channels;
    private final int[] size;
    private final boolean forceDdim;
    private final int sizeMultiple;

    public UnconditionalPipeline(ModelFolder model) {
        super(model);
        this.unet = model.session("unet");
        JsonConfig c = model.componentConfig("unet");
        long[] declared = unet.inputShape("sample");
        this.channels = c.has("in_channels") ? c.getInt("in_channels", 3) : (int) declared[1];
        this.size = sampleSize(c, declared);
        this.forceDdim = "DDIMPipeline".equals(model.pipelineClass());
        double[] blocks = c.getDoubleArray("block_out_channels");
        this.sizeMultiple = blocks == null ? 1 : 1 << (blocks.length - 1);
    }

    /** {@code sample_size} of the UNet config (an int or [h, w]), else the export's fixed dims, else 32. */
    static int[] sampleSize(JsonConfig c, long[] declared) {
        if (c.node().path("sample_size").isNumber()) {
            int s = c.getInt("sample_size", 32);
            return new int[] {s, s};
        }
        double[] arr = c.getDoubleArray("sample_size");
        if (arr != null && arr.length == 2) {
            return new int[] {(int) arr[0], (int) arr[1]};
        }
        if (declared.length == 4 && declared[2] > 0 && declared[3] > 0) {
            return new int[] {(int) declared[2], (int) declared[3]};
        }
        return new int[] {32, 32};
    }

    @Override
    public Tensor generate(GenerationRequest request, NoiseSource noise, StepListener listener) {
        int h = request.height() != null ? request.height() : size[0];
        int w = request.width() != null ? request.width() : size[1];
        for (int pixels : new int[] {h, w}) {
            if (pixels <= 0 || pixels % sizeMultiple != 0) {
                throw new IllegalArgumentException("size " + w + "x" + h + " must be positive multiples of "
                        + sizeMultiple + " for " + model.name() + " (the UNet's downsampling)");
            }
        }
        Scheduler scheduler = schedulerFor(request);
        scheduler.setTimesteps(request.steps());
        int rows = request.rows();
        Tensor image = noise.next(rows, channels, h, w);
        Tensor out = denoise(scheduler, image,
                (x, t) -> unet.run1(Map.of("sample", x, "timestep", timestepTensor(t, rows)), unet.outputOr("out_sample")),
                noise, listener);
        return toImage01(out);
    }

    @Override
    protected String defaultSchedulerName() {
        return forceDdim ? "DDIMScheduler" : null;
    }

    @Override
    public int imageChannels() {
        return channels;
    }

    @Override
    public int[] defaultSize() {
        return size.clone();
    }

    @Override
    public int sizeMultiple() {
        return sizeMultiple;
    }

    @Override
    public boolean takesPrompt() {
        return false;
    }
}

package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.model.ModelFolder;
import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.OnnxModel;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.util.JsonConfig;
import java.util.Map;

/**
 * diffusers' {@code DDPMPipeline} and {@code DDIMPipeline}: a pixel-space {@code UNet2DModel} denoising pure noise,
 * any channel count. {@code DDIMPipeline} swaps the model's scheduler for DDIM (eta 0) as diffusers does.
 */
final class UnconditionalPipeline extends DiffusionPipeline implements ImagePipeline {
    private final OnnxModel unet;
    private final int channels;
    private final ModelInfo info;
    private final boolean forceDdim;

    UnconditionalPipeline(ModelFolder model) {
        super(model, Task.TEXT_TO_IMAGE);
        this.unet = model.session("unet");
        JsonConfig c = model.componentConfig("unet");
        // the export's fixed channel dimension when the config does not say
        this.channels = c.has("in_channels") ? c.getInt("in_channels", 3) : (int) unet.inputShape("sample")[1];
        this.info = ModelInfo.of(model);
        this.forceDdim = "DDIMPipeline".equals(model.pipelineClass());
    }

    @Override
    public Tensor generate(ImageRequest request, NoiseSource noise, StepListener listener) {
        int h = request.height() != null ? request.height() : info.defaultSize()[0];
        int w = request.width() != null ? request.width() : info.defaultSize()[1];
        checkSize(info, "height", h);
        checkSize(info, "width", w);
        Scheduler scheduler = schedulerFor(request);
        setSchedule(scheduler, request, ImageRequest.DEFAULT_STEPS);
        int rows = request.rows();
        Tensor image = noise.next(rows, channels, h, w);
        Tensor out = denoise(
                scheduler,
                image,
                (x, t) -> unet.run1(
                        Map.of("sample", x, "timestep", timestepTensor(t, rows)), unet.outputOr("out_sample")),
                noise,
                listener);
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
    public ModelInfo info() {
        return info;
    }
}

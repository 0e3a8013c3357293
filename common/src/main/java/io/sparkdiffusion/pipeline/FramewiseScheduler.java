package io.sparkdiffusion.pipeline;

import io.sparkdiffusion.noise.NoiseSource;
import io.sparkdiffusion.noise.ReplayNoise;
import io.sparkdiffusion.scheduler.Scheduler;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.VideoTensors;

/**
 * A scheduler over text-to-video latents {@code (B, C, F, h, w)} that steps, as diffusers' {@code TextToVideoSDPipeline}
 * does, on the per-frame reshape {@code (B*F, C, h, w)} (pipeline_text_to_video_synth.py: {@code permute(0, 2, 1, 3,
 * 4).reshape} around {@code scheduler.step}). That reshape decides the shape of a stochastic scheduler's step noise.
 */
final class FramewiseScheduler implements Scheduler {
    private final Scheduler inner;
    private final int batch;

    FramewiseScheduler(Scheduler inner, int batch) {
        this.inner = inner;
        this.batch = batch;
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        inner.setTimesteps(numInferenceSteps);
    }

    @Override
    public void setTimesteps(double[] timesteps) {
        inner.setTimesteps(timesteps);
    }

    @Override
    public void setSigmas(double[] sigmas) {
        inner.setSigmas(sigmas);
    }

    @Override
    public boolean acceptsCustomTimesteps() {
        return inner.acceptsCustomTimesteps();
    }

    @Override
    public boolean acceptsCustomSigmas() {
        return inner.acceptsCustomSigmas();
    }

    @Override
    public double[] timesteps() {
        return inner.timesteps();
    }

    @Override
    public double initNoiseSigma() {
        return inner.initNoiseSigma();
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        // diffusers scales the 5-D latents directly; every scheduler's scaling is element-wise
        return inner.scaleModelInput(sample, timestep);
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, NoiseSource noise) {
        Tensor prev = inner.step(
                VideoTensors.channelsFirstToFrames(modelOutput),
                timestep,
                VideoTensors.channelsFirstToFrames(sample),
                perFrame(noise, batch));
        return VideoTensors.framesToChannelsFirst(prev, batch);
    }

    @Override
    public Tensor addNoise(Tensor originalSamples, Tensor noise, double timestep) {
        return VideoTensors.framesToChannelsFirst(
                inner.addNoise(
                        VideoTensors.channelsFirstToFrames(originalSamples),
                        VideoTensors.channelsFirstToFrames(noise),
                        timestep),
                batch);
    }

    @Override
    public void setBeginIndex(int beginIndex) {
        inner.setBeginIndex(beginIndex);
    }

    @Override
    public int order() {
        return inner.order();
    }

    /**
     * The noise for draws of shape {@code (B*F, ...)}. A replayed diffusers run recorded them in that shape (one
     * generator); a per-row source ({@link NoiseSource}'s batch contract) draws {@code (B, F, ...)} instead, the
     * same values in the same order for one row, so each row's frames come from that row's stream.
     */
    static NoiseSource perFrame(NoiseSource noise, int batch) {
        return shape -> {
            if (shape.length == 0 || shape[0] == batch || shape[0] % batch != 0 || noise instanceof ReplayNoise) {
                return noise.next(shape);
            }
            long[] rowShape = new long[shape.length + 1];
            rowShape[0] = batch;
            rowShape[1] = shape[0] / batch;
            System.arraycopy(shape, 1, rowShape, 2, shape.length - 1);
            return noise.next(rowShape).reshape(shape);
        };
    }
}

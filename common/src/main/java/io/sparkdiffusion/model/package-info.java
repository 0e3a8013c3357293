/**
 * Model folders and ONNX Runtime sessions.
 *
 * <p>API: {@link io.sparkdiffusion.model.RuntimeOptions} (threads, optimisation, CPU or CUDA),
 * {@link io.sparkdiffusion.model.Task}, {@link io.sparkdiffusion.model.ModelInfo} (a model's family and geometry from
 * its configs, without sessions) and {@link io.sparkdiffusion.model.PipelineFamily}, the registry of the pipeline
 * families the engine runs (class names, tasks, inputs; with {@link io.sparkdiffusion.model.ComponentContract}, their
 * components).
 *
 * <p>Engine internals, public only because the engine's other packages use them (no compatibility promise):
 * {@link io.sparkdiffusion.model.ModelFolder}, {@link io.sparkdiffusion.model.OnnxModel} (all session IO adaptation in
 * one place), {@link io.sparkdiffusion.model.OrtRuntime}, {@link io.sparkdiffusion.model.OnnxFileScan},
 * {@link io.sparkdiffusion.model.KandinskyFolders}. Nothing here depends on the pipelines.
 */
package io.sparkdiffusion.model;

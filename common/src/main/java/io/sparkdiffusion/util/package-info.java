/**
 * What every layer shares. API: the two failures a caller tells apart,
 * {@link io.sparkdiffusion.util.InvalidRequestException} (this request's fault: skip the row) and
 * {@link io.sparkdiffusion.util.EngineException} (the model, session or device: stop), with
 * {@link io.sparkdiffusion.util.ModelLoadException}. Engine internals: {@link io.sparkdiffusion.util.JsonConfig} (every
 * config file is read through it) and {@link io.sparkdiffusion.util.Errors} (one-line messages).
 */
package io.sparkdiffusion.util;

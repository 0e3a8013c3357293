/**
 * Checks a model folder before a job ({@code bin/spark-diffusion validate}): files, graph interfaces, tokenizers,
 * scheduler, geometry, that the engine opens it, and reference cases replayed against diffusers. Sits above the
 * pipelines; nothing in the engine depends on it.
 */
package io.sparkdiffusion.validate;

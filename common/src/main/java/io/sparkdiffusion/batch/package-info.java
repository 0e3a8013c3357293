/**
 * Generation over a stream of rows, with no storage and no Spark: {@link io.sparkdiffusion.batch.BatchGenerator}
 * batches {@link io.sparkdiffusion.batch.GenerationRow}s of equal shape, gives each its own seed's noise, and returns an
 * {@link io.sparkdiffusion.batch.Outcome} per row (generated, or failed with the field at fault). The Spark job and the
 * DataFrame transformer both wrap it, so they cannot drift apart. API.
 */
package io.sparkdiffusion.batch;

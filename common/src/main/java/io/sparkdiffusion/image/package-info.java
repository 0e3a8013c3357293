/**
 * Pictures in and out. API: {@link io.sparkdiffusion.image.Images#toPng} (a generated picture as PNG bytes) and
 * {@link io.sparkdiffusion.image.ImageDecoder} (defensive decoding of init images and masks, with size limits checked
 * before any pixel is decoded). Engine internals: the resampling ({@link io.sparkdiffusion.image.Resize}, Pillow's
 * filters; {@link io.sparkdiffusion.image.AntialiasResize}) and the transformers image processors of scorers and image
 * encoders ({@link io.sparkdiffusion.image.ImageProcessor}).
 */
package io.sparkdiffusion.image;

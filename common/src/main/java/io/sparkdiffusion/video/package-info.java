/**
 * Videos out. API: {@link io.sparkdiffusion.video.VideoFormat} (MP4, GIF or PNG frames, by name) and its
 * {@link io.sparkdiffusion.video.VideoWriter}; {@link io.sparkdiffusion.video.PngFrames} for poster frames. The
 * encoders themselves are package-private.
 */
package io.sparkdiffusion.video;

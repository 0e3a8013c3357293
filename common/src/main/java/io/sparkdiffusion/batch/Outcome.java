package io.sparkdiffusion.batch;

import io.sparkdiffusion.tensor.Tensor;

/**
 * What {@link BatchGenerator} returns for each row, with the caller's tag: the generated picture or video, or the
 * reason the row could not be generated (the row's fault; an engine that cannot work throws instead).
 *
 * @param <T> the caller's tag type
 */
public sealed interface Outcome<T> {
    T tag();

    /**
     * A generated row.
     *
     * @param output the picture {@code (H, W, C)} or the video's frames {@code (F, H, W, C)}, in [0, 1]
     * @param generationMillis the batch's engine time divided by its rows
     */
    record Generated<T>(T tag, Tensor output, long generationMillis) implements Outcome<T> {
        /** True for a video's frames. */
        public boolean video() {
            return output.rank() == 4;
        }

        public int width() {
            return (int) output.dim(output.rank() - 2);
        }

        public int height() {
            return (int) output.dim(output.rank() - 3);
        }

        /** Frames of a video; 1 for a picture. */
        public int frames() {
            return video() ? (int) output.dim(0) : 1;
        }
    }

    /**
     * A row the engine refused.
     *
     * @param field the request field at fault ({@code prompt}, {@code height}, ...; {@code generation} when none is
     *     named)
     */
    record Failed<T>(T tag, String field, String reason) implements Outcome<T> {}
}

package io.sparkdiffusion.noise;

import io.sparkdiffusion.tensor.Npy;
import io.sparkdiffusion.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * Replays recorded draws ({@code noise_000.npy, noise_001.npy, ...} of a diffusers reference case) in order, so a
 * pipeline reproduces that run. A draw whose shape differs from the recording, or a draw past the last recording,
 * fails with the draw's number: that is where the pipeline's draw order departs from diffusers'.
 */
public final class ReplayNoise implements NoiseSource {
    private final List<Tensor> draws;
    private final String origin;
    private int position;

    public ReplayNoise(List<Tensor> draws, String origin) {
        this.draws = List.copyOf(draws);
        this.origin = origin;
    }

    /** Loads every {@code noise_NNN.npy} of a case folder, in numeric order. */
    public static ReplayNoise fromCaseDir(Path caseDir) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(caseDir)) {
            files = s.filter(p -> p.getFileName().toString().matches("noise_\\d+\\.npy"))
                    .sorted()
                    .toList();
        }
        List<Tensor> draws = new ArrayList<>();
        for (Path f : files) {
            draws.add(Npy.read(f));
        }
        return new ReplayNoise(draws, caseDir.toString());
    }

    @Override
    public Tensor next(long... shape) {
        if (position >= draws.size()) {
            throw new IllegalStateException("draw " + position + " of shape " + Arrays.toString(shape) + " asked, but "
                    + origin + " recorded only " + draws.size() + " draws");
        }
        Tensor t = draws.get(position);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalStateException("draw " + position + " asked with shape " + Arrays.toString(shape) + " but "
                    + origin + " recorded " + Arrays.toString(t.shape()));
        }
        position++;
        return t.copy();
    }

    /** Draws consumed so far. */
    public int consumed() {
        return position;
    }

    public int recorded() {
        return draws.size();
    }
}

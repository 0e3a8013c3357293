package io.sparkdiffusion.validate;

import io.sparkdiffusion.model.ModelInfo;
import io.sparkdiffusion.model.PipelineFamily;
import java.nio.file.Path;
import java.util.Locale;

/** The picture geometry the component configs give: default size, size multiple, channels. */
final class GeometryCheck {
    private GeometryCheck() {}

    static Check check(Path root) {
        try {
            ModelInfo info = ModelInfo.of(root);
            int[] size = info.defaultSize();
            return Check.ok(
                    "geometry",
                    String.format(
                            Locale.ROOT,
                            "default size %dx%d (width x height), sizes multiples of %d, %d" + " channel(s)%s",
                            size[1],
                            size[0],
                            info.sizeMultiple(),
                            info.imageChannels(),
                            info.family() == PipelineFamily.UNCONDITIONAL ? ", unconditional (no prompt)" : ""));
        } catch (RuntimeException e) {
            return Check.fail(
                    "geometry", "the component configs do not give the picture geometry: " + CheckText.oneLine(e));
        }
    }
}

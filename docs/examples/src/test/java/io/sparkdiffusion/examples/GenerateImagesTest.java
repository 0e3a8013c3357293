package io.sparkdiffusion.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.testing.Slow;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The library example runs as documented and writes every picture it promises, each a 16x16 PNG. */
@Slow
class GenerateImagesTest {
    @TempDir
    Path tmp;

    @Test
    void theExampleWritesTwelvePictures() throws Exception {
        GenerateImages.main(new String[] {Fixtures.model("digits-t2i").toString(), tmp.toString()});
        List<Path> pngs;
        try (Stream<Path> s = Files.list(tmp)) {
            pngs = s.filter(p -> p.toString().endsWith(".png")).sorted().toList();
        }
        assertEquals(12, pngs.size(), pngs.toString());
        for (Path p : pngs) {
            BufferedImage img = ImageIO.read(p.toFile());
            assertEquals(16, img.getWidth(), p.toString());
            assertEquals(16, img.getHeight(), p.toString());
        }
        assertTrue(Files.isRegularFile(tmp.resolve("digit-9.png")));
    }
}

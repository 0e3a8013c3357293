package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.testing.Fixtures;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** img2img, inpainting and sketch-to-image jobs on the CC0 photos, and the bad-input suite. */
class ImageJobTest extends LocalSparkTest {
    private static final Path PHOTOS = Fixtures.root().resolve("testdata/assets/images");
    private static final Path DECODE = Fixtures.root().resolve("testdata/assets/decode");

    @TempDir
    Path tmp;

    static Map<String, String> settings(Path model, String mode, Path input, Path output, String... more) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", model.toString());
        m.put("mode", mode);
        m.put("input", input.toString());
        m.put("input_format", "parquet");
        m.put("output", output.toString());
        m.put("images.max_side", "64");
        m.put("defaults.num_inference_steps", "4");
        m.put("defaults.guidance_scale", "3");
        m.put("batch_size", "2");
        m.put("progress.log_interval_seconds", "60");
        m.put("max_error_fraction", "1");
        for (int i = 0; i < more.length; i += 2) {
            m.put(more[i], more[i + 1]);
        }
        return m;
    }

    /** A Parquet table with id, prompt, image and mask as bytes (null allowed). */
    Path table(String name, List<Object[]> rows) {
        StructType schema = new StructType()
                .add("id", DataTypes.StringType)
                .add("prompt", DataTypes.StringType)
                .add("image", DataTypes.BinaryType)
                .add("mask", DataTypes.BinaryType);
        List<Row> r = new ArrayList<>();
        for (Object[] o : rows) {
            r.add(RowFactory.create(o));
        }
        Path p = tmp.resolve(name);
        spark.createDataFrame(r, schema).coalesce(1).write().parquet(p.toString());
        return p;
    }

    static byte[] photo(String name) throws Exception {
        return Files.readAllBytes(PHOTOS.resolve(name));
    }

    static byte[] png(BufferedImage img) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    static JobSummary run(Map<String, String> s) {
        return GenerateJob.run(spark, JobConfig.load(null, s));
    }

    /** Every pixel where the mask thumbnail is black equals the input thumbnail (both at the output's size). */
    static void assertUnmaskedPixelsKept(Path out, String file) throws Exception {
        BufferedImage result =
                ImageIO.read(out.resolve("images/" + file + ".png").toFile());
        BufferedImage input =
                ImageIO.read(out.resolve("thumbs/" + file + "-input.png").toFile());
        BufferedImage mask =
                ImageIO.read(out.resolve("thumbs/" + file + "-mask.png").toFile());
        assertEquals(input.getWidth(), result.getWidth(), "thumbnail at full size for small outputs");
        int kept = 0;
        int masked = 0;
        for (int y = 0; y < result.getHeight(); y++) {
            for (int x = 0; x < result.getWidth(); x++) {
                if ((mask.getRGB(x, y) & 0xff) < 128) {
                    assertEquals(input.getRGB(x, y), result.getRGB(x, y), "pixel " + x + "," + y + " outside the mask");
                    kept++;
                } else {
                    masked++;
                }
            }
        }
        assertTrue(kept > 0 && masked > 0, "kept " + kept + " masked " + masked);
    }

    @Test
    void inpaintsTheAstronautWithA9ChannelAndA4ChannelUnet() throws Exception {
        Path in = table("in", List.<Object[]>of(new Object[] {
            "astro", "a red brick wall", photo("astronaut_512.jpg"), photo("astronaut_mask_512.png")
        }));
        Path nine = tmp.resolve("nine");
        JobSummary a = run(settings(Fixtures.fixture("sd-inpaint-tiny"), "inpaint", in, nine));
        assertEquals(1, a.written(), "sd-inpaint-tiny");
        assertUnmaskedPixelsKept(nine, "astro");
        Path four = tmp.resolve("four");
        JobSummary b = run(settings(
                Fixtures.fixture("sdxl-tiny"),
                "inpaint",
                in,
                four,
                "defaults.guidance_scale",
                "0",
                "defaults.strength",
                "0.8"));
        assertEquals(1, b.written(), "sdxl-tiny (4-channel blending)");
        assertUnmaskedPixelsKept(four, "astro");
        BufferedImage out = ImageIO.read(four.resolve("images/astro.png").toFile());
        assertEquals(64, out.getWidth());
        assertEquals(64, out.getHeight());
        String html = Files.readString(four.resolve("index.html"));
        assertTrue(
                html.contains("thumbs/astro-input.png")
                        && html.contains("thumbs/astro-mask.png")
                        && html.contains("images/astro.png"),
                "input, mask and output side by side");
    }

    @Test
    void turnsTheHorseSketchIntoAPictureWithKandinsky() throws Exception {
        Path in = table("in", List.<Object[]>of(new Object[] {
            "horse", "a brown horse in a field", photo("horse_sketch_512.png"), null
        }));
        Path out = tmp.resolve("out");
        // the tiny fixture's MoVQ encoder was exported for 32x32 pictures only
        JobSummary s = run(settings(
                Fixtures.fixture("kandinsky22-tiny"),
                "img2img",
                in,
                out,
                "defaults.strength",
                "0.8",
                "images.max_side",
                "32"));
        assertEquals(1, s.written());
        BufferedImage img = ImageIO.read(out.resolve("images/horse.png").toFile());
        assertTrue(
                img.getWidth() > 0 && img.getWidth() <= 64 && img.getHeight() <= 64,
                img.getWidth() + "x" + img.getHeight());
    }

    @Test
    void badInputsLandInErrorsAndGoodRowsAreWritten() throws Exception {
        byte[] jpg = photo("astronaut_512.jpg");
        Path zero = Files.write(tmp.resolve("zero.png"), new byte[0]);
        Path text = Files.writeString(tmp.resolve("notes.png"), "this is not a picture\n");
        BufferedImage one = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        BufferedImage black = new BufferedImage(512, 512, BufferedImage.TYPE_INT_RGB);
        BufferedImage smallMask =
                ImageIO.read(PHOTOS.resolve("astronaut_mask_512.png").toFile()).getSubimage(0, 0, 512, 512);
        BufferedImage otherSize = new BufferedImage(128, 128, BufferedImage.TYPE_INT_RGB);
        otherSize.getGraphics().drawImage(smallMask, 0, 0, 128, 128, null);
        Path goodImage = PHOTOS.resolve("astronaut_512.jpg");
        Path goodMask = PHOTOS.resolve("astronaut_mask_512.png");
        Path truncated = Files.write(tmp.resolve("truncated.jpg"), Arrays.copyOf(jpg, jpg.length / 2));
        Path tiny = Files.write(tmp.resolve("tiny.png"), png(one));
        Path bomb = Files.write(tmp.resolve("bomb.png"), io.sparkdiffusion.image.ImageDecoderBombs.png(10_000, 10_000));
        Path blackMask = Files.write(tmp.resolve("black.png"), png(black));
        Path resizedMask = Files.write(tmp.resolve("mask128.png"), png(otherSize));
        // what a careless or hostile table may name: devices, system files, links out, pipes, folders, other schemes
        Path linkToDevice = Files.createSymbolicLink(tmp.resolve("zero-link.png"), Path.of("/dev/zero"));
        Path linkOut = Files.createSymbolicLink(tmp.resolve("passwd.png"), Path.of("/etc/passwd"));
        Path fifo = tmp.resolve("pipe.png");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor(), "mkfifo");
        Path folder = Files.createDirectories(tmp.resolve("folder.png"));
        String[] columns = {"id", "prompt", "image", "mask", "width", "height"};
        StructType schema = new StructType();
        for (String c : columns) {
            schema = schema.add(c, DataTypes.StringType);
        }
        String good = goodMask.toString();
        List<Row> rows = List.of(
                RowFactory.create("good-1", "a cat", goodImage.toString(), good, null, null),
                RowFactory.create(
                        "good-2", "a dog", PHOTOS.resolve("chelsea_512.jpg").toString(), good, null, null),
                RowFactory.create(
                        "mask-other-size", "a bird", goodImage.toString(), resizedMask.toString(), null, null),
                RowFactory.create(
                        "phone-photo", "x", DECODE.resolve("orientation6.jpg").toString(), good, null, null),
                RowFactory.create("cmyk", "x", DECODE.resolve("cmyk_adobe.jpg").toString(), good, null, null),
                RowFactory.create("truncated", "x", truncated.toString(), good, null, null),
                RowFactory.create("zero", "x", zero.toString(), good, null, null),
                RowFactory.create("text", "x", text.toString(), good, null, null),
                RowFactory.create("tiny", "x", tiny.toString(), good, null, null),
                RowFactory.create("bomb", "x", bomb.toString(), good, null, null),
                RowFactory.create("black-mask", "x", goodImage.toString(), blackMask.toString(), null, null),
                RowFactory.create("missing", "x", tmp.resolve("nowhere.jpg").toString(), good, null, null),
                RowFactory.create("no-mask", "x", goodImage.toString(), null, null, null),
                RowFactory.create("huge", "x", goodImage.toString(), good, "100000", "100000"),
                RowFactory.create("device", "x", "/dev/zero", good, null, null),
                RowFactory.create("device-link", "x", linkToDevice.toString(), good, null, null),
                RowFactory.create("passwd", "x", "/etc/passwd", good, null, null),
                RowFactory.create("environ", "x", "/proc/self/environ", good, null, null),
                RowFactory.create("link-out", "x", linkOut.toString(), good, null, null),
                RowFactory.create("dot-dot", "x", tmp + "/../../../../etc/passwd", good, null, null),
                RowFactory.create("fifo", "x", fifo.toString(), good, null, null),
                RowFactory.create("folder", "x", folder.toString(), good, null, null),
                RowFactory.create("http", "x", "http://127.0.0.1:9/x.png", good, null, null),
                RowFactory.create(
                        "too-many-bytes",
                        "x",
                        PHOTOS.resolve("camera_512_rgb.png").toString(),
                        good,
                        null,
                        null));
        Path in = tmp.resolve("paths");
        spark.createDataFrame(rows, schema).coalesce(1).write().parquet(in.toString());
        Path out = tmp.resolve("out");
        JobSummary s = run(settings(
                Fixtures.fixture("sd-inpaint-tiny"),
                "inpaint",
                in,
                out,
                "images.allowed_roots",
                tmp + "," + PHOTOS + "," + DECODE,
                "images.max_file_bytes",
                "100000"));
        Map<String, String> reasons = new HashMap<>();
        Map<String, String> fields = new HashMap<>();
        for (Row r : spark.read().parquet(out.resolve("errors").toString()).collectAsList()) {
            reasons.put(r.getAs("id"), r.getAs("reason"));
            fields.put(r.getAs("id"), r.getAs("field"));
        }
        assertEquals(5, s.written(), "good-1, good-2, the resized mask, the phone photo and the CMYK JPEG: " + reasons);
        assertEquals(19, reasons.size(), reasons.toString());
        assertTrue(
                reasons.get("truncated").contains("damaged")
                        || reasons.get("truncated").contains("decode"),
                reasons.get("truncated"));
        assertTrue(reasons.get("zero").contains("empty"), reasons.get("zero"));
        assertTrue(reasons.get("text").contains("not a readable image"), reasons.get("text"));
        assertTrue(reasons.get("tiny").contains("too small"), reasons.get("tiny"));
        assertTrue(reasons.get("bomb").contains("refused before decoding"), reasons.get("bomb"));
        assertTrue(reasons.get("black-mask").contains("no white pixel"), reasons.get("black-mask"));
        assertTrue(reasons.get("missing").contains("not found"), reasons.get("missing"));
        assertTrue(reasons.get("huge").contains("limits.max_pixels"), reasons.get("huge"));
        for (String outside : List.of("device", "passwd", "environ", "dot-dot")) {
            assertTrue(reasons.get(outside).contains("outside the folders"), outside + ": " + reasons.get(outside));
            assertTrue(reasons.get(outside).contains("images.allowed_roots"), reasons.get(outside));
        }
        for (String link : List.of("device-link", "link-out")) {
            assertTrue(reasons.get(link).contains("is a link to"), link + ": " + reasons.get(link));
            assertTrue(reasons.get(link).contains("images.allowed_roots"), reasons.get(link));
        }
        assertTrue(reasons.get("fifo").contains("not a regular file"), reasons.get("fifo"));
        assertTrue(reasons.get("folder").contains("not a regular file"), reasons.get("folder"));
        assertTrue(
                reasons.get("http").contains("scheme 'http' is not allowed")
                        && reasons.get("http").contains("images.allowed_roots"),
                reasons.get("http"));
        assertTrue(
                reasons.get("too-many-bytes").contains("images.max_file_bytes")
                        && reasons.get("too-many-bytes").contains("refused before reading"),
                reasons.get("too-many-bytes"));
        assertEquals("mask", fields.get("no-mask"));
        assertEquals("mask", fields.get("black-mask"));
        assertEquals("image", fields.get("bomb"));
        assertEquals("image", fields.get("device"));
        assertEquals("width", fields.get("huge"));
        Dataset<Row> meta = spark.read().parquet(out.resolve("metadata").toString());
        Row resized = meta.filter("id = 'mask-other-size'").first();
        assertTrue(((String) resized.getAs("notes")).contains("mask resized from 128x128"), (String)
                resized.getAs("notes"));
        // the phone photo is stored 40x24 with EXIF orientation 6: upright it is 24 wide and 40 high, as PIL sees it
        Row phone = meta.filter("id = 'phone-photo'").first();
        assertEquals(24, (int) phone.getAs("width"));
        assertEquals(40, (int) phone.getAs("height"));
        assertTrue(((String) phone.getAs("notes")).contains("EXIF orientation 6"), (String) phone.getAs("notes"));
        Row cmyk = meta.filter("id = 'cmyk'").first();
        assertTrue(((String) cmyk.getAs("notes")).contains("CMYK JPEG converted to RGB"), (String) cmyk.getAs("notes"));
    }

    @Test
    void picturesComeOnlyFromTheInputsFolderByDefault() throws Exception {
        Path pictures = Files.createDirectories(tmp.resolve("job/pictures"));
        Files.copy(PHOTOS.resolve("astronaut_512.jpg"), pictures.resolve("astro.jpg"));
        Files.copy(PHOTOS.resolve("astronaut_mask_512.png"), pictures.resolve("mask.png"));
        Path table = tmp.resolve("job/rows.jsonl");
        Files.write(
                table,
                List.of(
                        "{\"id\":\"relative\",\"prompt\":\"x\",\"image\":\"pictures/astro.jpg\",\"mask\":\"pictures/mask.png\"}",
                        "{\"id\":\"absolute\",\"prompt\":\"x\",\"image\":\"" + pictures.resolve("astro.jpg")
                                + "\",\"mask\":\"" + pictures.resolve("mask.png") + "\"}",
                        "{\"id\":\"elsewhere\",\"prompt\":\"x\",\"image\":\"" + PHOTOS.resolve("astronaut_512.jpg")
                                + "\",\"mask\":\"pictures/mask.png\"}",
                        "{\"id\":\"up\",\"prompt\":\"x\",\"image\":\"../../etc/passwd\",\"mask\":\"pictures/mask.png\"}"));
        Map<String, String> s = settings(
                Fixtures.fixture("sd-inpaint-tiny"), "inpaint", table, tmp.resolve("out"), "input_format", "json");
        JobSummary summary = run(s);
        assertEquals(2, summary.written(), "the pictures next to the table, by relative and absolute path");
        Map<String, String> reasons = new HashMap<>();
        for (Row r : spark.read().parquet(tmp.resolve("out/errors").toString()).collectAsList()) {
            reasons.put(r.getAs("id"), r.getAs("reason"));
        }
        assertEquals(java.util.Set.of("elsewhere", "up"), reasons.keySet());
        for (String reason : reasons.values()) {
            assertTrue(
                    reason.contains("outside the folders")
                            && reason.contains(tmp.resolve("job").toString())
                            && reason.contains("images.allowed_roots"),
                    reason);
        }
    }

    @Test
    void archiveModeKeepsRelativePathsAndResumes() throws Exception {
        Path images = Files.createDirectories(tmp.resolve("archive/images/2024/may"));
        Path masks = Files.createDirectories(tmp.resolve("archive/masks/2024/may"));
        Files.copy(PHOTOS.resolve("astronaut_512.jpg"), images.resolve("astro.jpg"));
        Files.copy(PHOTOS.resolve("astronaut_mask_512.png"), masks.resolve("astro.jpg"));
        Files.copy(PHOTOS.resolve("coffee_512.jpg"), images.resolve("../coffee.jpg"));
        Files.copy(PHOTOS.resolve("astronaut_mask_512.png"), masks.resolve("../coffee.jpg"));
        // a link back to a parent folder (walking it would list every picture again, without end) and a picture
        // that links out of the archive
        Files.createSymbolicLink(images.resolve("loop"), images.getParent());
        Files.createSymbolicLink(images.resolve("escape.jpg"), PHOTOS.resolve("chelsea_512.jpg"));
        Files.copy(PHOTOS.resolve("astronaut_mask_512.png"), masks.resolve("escape.jpg"));
        Path out = tmp.resolve("out");
        Map<String, String> s = settings(
                Fixtures.fixture("sd-inpaint-tiny"),
                "inpaint",
                tmp.resolve("unused"),
                out,
                "archive.images",
                tmp.resolve("archive/images").toString(),
                "archive.masks",
                tmp.resolve("archive/masks").toString(),
                "defaults.prompt",
                "clean background");
        JobSummary first = run(s);
        assertEquals(3, first.inputRows(), "astro, coffee and the link out; nothing through the loop");
        assertEquals(2, first.written());
        Row escape = spark.read().parquet(out.resolve("errors").toString()).first();
        assertEquals("2024/may/escape", escape.getAs("id"));
        assertTrue(((String) escape.getAs("reason")).contains("is a link to"), (String) escape.getAs("reason"));
        assertTrue(Files.exists(out.resolve("images/2024/may/astro.png")));
        assertTrue(Files.exists(out.resolve("images/2024/coffee.png")));
        s.put("resume", "true");
        JobSummary second = run(s);
        assertEquals(0, second.written());
        assertEquals(2, second.skipped());
        assertEquals(1, second.failed(), "the link out, again");
    }

    @Test
    void img2imgReadsImageBytesFromTheTable() throws Exception {
        Path in =
                table("in", List.<Object[]>of(new Object[] {"cam", "a watercolor", photo("camera_512_rgb.png"), null}));
        Path out = tmp.resolve("out");
        JobSummary s = run(settings(
                Fixtures.fixture("sd-tiny"), "img2img", in, out, "defaults.strength", "0.75", "images.max_side", "48"));
        assertEquals(1, s.written());
        Dataset<Row> meta = spark.read().parquet(out.resolve("metadata").toString());
        Row r = meta.first();
        assertEquals(48, (int) r.getAs("width"));
        assertEquals(0.75, (double) r.getAs("strength"));
        assertTrue(((String) r.getAs("input_image")).contains("bytes in the input row"));
    }
}

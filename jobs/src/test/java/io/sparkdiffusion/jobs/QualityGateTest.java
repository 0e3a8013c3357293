package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkdiffusion.batch.Outcome;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.model.Task;
import io.sparkdiffusion.quality.ImageClassifier;
import io.sparkdiffusion.quality.SafetyChecker;
import io.sparkdiffusion.tensor.Tensor;
import io.sparkdiffusion.tensor.Tensors;
import io.sparkdiffusion.testing.Fixtures;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The executor's quality gate on recorded pictures whose scores are known (testdata/fixtures/quality: the tiny safety
 * checker flags pictures 0 and 1 of images_a; the digits classifier's labels of the recorded digits cases).
 */
class QualityGateTest {
    private static final Path SAFETY = Fixtures.fixture("quality/safety-tiny");
    private static final Path DIGITS = Fixtures.model("digits-classifier");
    private static final JsonConfig REFERENCE = JsonConfig.read(Fixtures.fixture("quality/reference/reference.json"));

    @AfterAll
    static void closeScorers() {
        ResidentPipelines.closeAll();
    }

    private static ModelHandle handle(Path model) {
        return new ModelHandle(
                model.toString(),
                model.getFileName().toString(),
                "unused for local folders",
                System.getProperty("java.io.tmpdir"),
                new HadoopConf(new Configuration()),
                RuntimeOptions.DEFAULT,
                "cpu",
                false,
                Task.TEXT_TO_IMAGE);
    }

    private static QualityGate gate(Path model, Map<String, String> settings) {
        QualityConfig q = JobConfig.load(null, settings).quality();
        return QualityGate.prepare(q, handle(model), model);
    }

    /** Each picture of a (B, H, W, C) batch as a generated outcome whose tag is its planned row. */
    private static List<Outcome<PlannedRow>> outcomes(Tensor pictures, List<String> prompts) {
        List<Outcome<PlannedRow>> out = new ArrayList<>();
        for (int i = 0; i < pictures.dim(0); i++) {
            PlannedRow row = new PlannedRow();
            row.setId("p" + i);
            row.setPrompt(prompts.get(i));
            Tensor one = Tensors.sliceBatch(pictures, i, i + 1);
            out.add(new Outcome.Generated<>(row, one.reshape(one.dim(1), one.dim(2), one.dim(3)), 5));
        }
        return out;
    }

    private static List<Boolean> referenceFlags() {
        return REFERENCE.getObject("safety").getStringList("nsfw").stream()
                .map(Boolean::parseBoolean)
                .toList();
    }

    private static Tensor imagesA() {
        return Fixtures.npy(Fixtures.fixture("quality/reference/images_a.npy"));
    }

    @Test
    void flaggedPicturesAreDroppedWithTheirScoresAndTheOthersKept() {
        Tensor pictures = imagesA();
        List<Outcome<PlannedRow>> batch = outcomes(pictures, Collections.nCopies((int) pictures.dim(0), "a photo"));
        batch.add(new Outcome.Failed<>(new PlannedRow(), "height", "17 is not a multiple of 8"));
        List<QualityGate.Judged<PlannedRow>> judged = gate(
                        SAFETY, Map.of("quality.safety_checker", "required", "quality.flagged", "drop"))
                .judgeBatch(batch, Function.identity());
        List<Boolean> flags = referenceFlags();
        assertEquals(batch.size(), judged.size());
        for (int i = 0; i < flags.size(); i++) {
            QualityGate.Verdict v = judged.get(i).verdict();
            assertEquals(flags.get(i), v.scores().get(SafetyChecker.NSFW), "picture " + i);
            assertTrue(v.scores().get(SafetyChecker.NSFW_SCORE) instanceof Double, "picture " + i);
            assertEquals(flags.get(i), v.dropped(), "picture " + i);
            if (flags.get(i)) {
                assertEquals(ErrorStage.SAFETY, v.stage());
                assertEquals(SafetyChecker.NSFW, v.rule());
                assertTrue(
                        v.reason().startsWith("flagged by the safety checker; scores: nsfw true, nsfw_score "),
                        v.reason());
            }
        }
        QualityGate.Judged<PlannedRow> failure = judged.get(flags.size());
        assertSame(batch.get(flags.size()), failure.outcome(), "a failed row passes through");
        assertFalse(failure.verdict().dropped());
    }

    @Test
    void flaggedPicturesAreBlackedOutOrKeptAsSet() {
        Tensor pictures = imagesA();
        List<Outcome<PlannedRow>> batch = outcomes(pictures, Collections.nCopies((int) pictures.dim(0), "a photo"));
        List<Boolean> flags = referenceFlags();
        List<QualityGate.Judged<PlannedRow>> blacked = gate(
                        SAFETY, Map.of("quality.safety_checker", "on", "quality.flagged", "black_out"))
                .judgeBatch(batch, Function.identity());
        List<QualityGate.Judged<PlannedRow>> kept =
                gate(SAFETY, Map.of("quality.safety_checker", "on")).judgeBatch(batch, Function.identity());
        for (int i = 0; i < flags.size(); i++) {
            Tensor original = ((Outcome.Generated<PlannedRow>) batch.get(i)).output();
            Tensor black = ((Outcome.Generated<PlannedRow>) blacked.get(i).outcome()).output();
            assertFalse(blacked.get(i).verdict().dropped());
            assertEquals(
                    flags.get(i) ? QualityGate.Action.BLACK_OUT : QualityGate.Action.KEEP,
                    blacked.get(i).verdict().action());
            if (flags.get(i)) {
                assertEquals(0.0, Tensors.maxAbsDiff(Tensor.zeros(original.shape()), black), "picture " + i);
                assertTrue(Tensors.maxAbsDiff(Tensor.zeros(original.shape()), original) > 0, "it was not black");
            } else {
                assertSame(original, black, "picture " + i);
            }
            assertSame(original, ((Outcome.Generated<PlannedRow>) kept.get(i).outcome()).output());
            assertEquals(flags.get(i), kept.get(i).verdict().scores().get(SafetyChecker.NSFW));
        }
    }

    @Test
    void aClassifierFilterDropsThePicturesThatAreNotTheExpectedLabel() {
        JsonConfig digits = REFERENCE.getObject("digits");
        List<Tensor> pictures = new ArrayList<>();
        for (String c : digits.getStringList("cases")) {
            pictures.add(Fixtures.npy(Fixtures.fixture(c).resolve("image.npy")));
        }
        List<String> labels = digits.getStringList("labels");
        List<String> prompts = new ArrayList<>(digits.getStringList("prompts"));
        List<Outcome<PlannedRow>> batch = outcomes(Tensors.concatBatch(pictures), prompts);
        // picture 1 has no prompt: its expected label comes from the row (an input column)
        batch.get(1).tag().setExpectedLabel("two");
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("quality.classifier", DIGITS.toString());
        settings.put("quality.filters", "label_matches == true");
        List<QualityGate.Judged<PlannedRow>> judged =
                gate(Fixtures.model("digits-t2i"), settings).judgeBatch(batch, Function.identity());
        for (int i = 0; i < batch.size(); i++) {
            QualityGate.Verdict v = judged.get(i).verdict();
            assertEquals(labels.get(i), v.scores().get(ImageClassifier.LABEL), "picture " + i);
            Object matches = v.scores().get(ImageClassifier.LABEL_MATCHES);
            assertEquals(!Boolean.TRUE.equals(matches), v.dropped(), "picture " + i + " label_matches " + matches);
            if (v.dropped()) {
                assertEquals(ErrorStage.FILTER, v.stage());
                assertEquals("label_matches == true", v.rule());
                assertTrue(v.reason().startsWith("fails label_matches == true (label_matches "), v.reason());
                assertTrue(v.reason().contains("label " + labels.get(i) + ", label_score "), v.reason());
            } else {
                assertNull(v.stage());
            }
        }
        // an unprompted picture without an expected label is not known to match: dropped
        assertNull(judged.get(0).verdict().scores().get(ImageClassifier.LABEL_MATCHES));
        assertTrue(judged.get(0).verdict().reason().contains("(label_matches is null)"));
        // the row's expected label reaches the classifier, by alias
        assertEquals(labels.get(1).equals("2"), judged.get(1).verdict().scores().get(ImageClassifier.LABEL_MATCHES));
    }

    @Test
    void withoutScorersOrFiltersEveryPictureIsKeptUnscored() {
        Tensor pictures = imagesA();
        List<Outcome<PlannedRow>> batch = outcomes(pictures, Collections.nCopies((int) pictures.dim(0), "x"));
        for (QualityGate.Judged<PlannedRow> j : gate(SAFETY, Map.of()).judgeBatch(batch, Function.identity())) {
            assertSame(QualityGate.Verdict.UNSCORED, j.verdict());
        }
    }
}

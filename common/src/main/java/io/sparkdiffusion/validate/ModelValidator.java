package io.sparkdiffusion.validate;

import io.sparkdiffusion.model.ComponentContract;
import io.sparkdiffusion.model.ComponentContract.Component;
import io.sparkdiffusion.model.PipelineFamily;
import io.sparkdiffusion.model.RuntimeOptions;
import io.sparkdiffusion.validate.LayoutCheck.Folder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Checks a model folder the way a user needs before a job: does every component the folder's pipeline needs exist
 * and load, do the graphs' input and output names, element types and ranks match what the engine's pipelines feed
 * and read ({@link ComponentContract}), do the tokenizers encode CLIP ids, does {@code scheduler_config.json} build a
 * known scheduler, does the engine open the pipeline, and does it reproduce every reference case under
 * {@code cases/} within 2e-3 on final pixels ({@link CaseComparison}).
 *
 * <p>Each check gives {@link Check} lines: {@code OK}, {@code WARN} (usable, with a caveat) or {@code FAIL} (the job
 * would fail or produce wrong pictures). Messages name the common mistakes: a legacy VAE encoder exporting
 * {@code latent_sample}, an SDXL text encoder without {@code hidden_states.*}, external weights
 * ({@code model.onnx_data}) left behind, a truncated {@code model.onnx}, float16 graphs on the CPU provider.
 *
 * <p>Works on model folders ({@code model_index.json}) and on Kandinsky 2.2 roots ({@code prior/} + {@code decoder/}).
 * Sessions are opened one component at a time and closed after their check, so peak memory is one component. This
 * class only runs the checks, one class per concern, in order.
 */
public final class ModelValidator {
    private final Path root;
    private final RuntimeOptions options;
    private final Path casesDir;
    private final boolean runCases;

    /**
     * @param root the model folder or Kandinsky 2.2 root
     * @param casesDir where the reference cases are; null for {@code root/cases}
     * @param runCases false to skip replaying the cases
     */
    public ModelValidator(Path root, RuntimeOptions options, Path casesDir, boolean runCases) {
        this.root = root.toAbsolutePath().normalize();
        this.options = options;
        this.casesDir = casesDir;
        this.runCases = runCases;
    }

    /** Runs every check; {@code onCheck} sees each as it completes (progress on a console). */
    public ValidationReport run(Consumer<Check> onCheck) {
        ValidationReport report = new ValidationReport(onCheck == null ? c -> {} : onCheck);
        LayoutCheck.Layout layout = LayoutCheck.of(root);
        report.add(layout.checks());
        if (layout.folders().isEmpty()) {
            return report;
        }
        boolean runnable = true;
        for (Folder folder : layout.folders()) {
            runnable &= checkFolder(folder, report);
        }
        if (runnable && report.passed()) {
            report.add(GeometryCheck.check(root));
            report.add(EngineOpenCheck.check(root, options));
        }
        if (runCases) {
            ReferenceCaseCheck.Found found = ReferenceCaseCheck.find(root, casesDir, report.passed());
            report.add(found.checks());
            for (Path c : found.cases()) {
                ReferenceCaseCheck.Replayed replayed = ReferenceCaseCheck.replay(root, c, options);
                report.addCase(replayed.check(), replayed.reproduces());
            }
        }
        return report;
    }

    /** Checks one folder with a {@code model_index.json}; false when it is not runnable as such. */
    private boolean checkFolder(Folder folder, ValidationReport report) {
        LayoutCheck.Index index = LayoutCheck.index(folder);
        report.add(index.checks());
        PipelineFamily family = index.family();
        if (family == null) {
            return false;
        }
        Path dir = folder.dir();
        Map<String, Graph> graphs = new HashMap<>();
        for (Component c : family.components(index.className())) {
            String subject = folder.subject(c.name());
            ComponentFileCheck.Loaded loaded = ComponentFileCheck.check(dir, subject, c, index.className(), options);
            report.add(loaded.checks());
            if (loaded.graph() != null) {
                graphs.put(c.name(), loaded.graph());
                report.add(GraphInterfaceCheck.check(
                        subject, dir.resolve(c.name()), c, loaded.graph(), loaded.scan(), options.provider()));
            }
        }
        for (String[] tokenizer : family.tokenizers()) {
            String folderName = tokenizer[0];
            String encoder = tokenizer[1];
            report.add(TokenizerCheck.check(dir, folder.subject(folderName), folderName, encoder, graphs.get(encoder)));
        }
        if (family == PipelineFamily.KANDINSKY_22_PRIOR) {
            report.add(PriorStatisticsCheck.check(dir, folder.subject("prior clip_mean/std"), graphs.get("prior")));
        }
        report.add(LayoutCheck.extraFiles(folder, family));
        report.add(SchedulerCheck.check(dir, folder.subject("scheduler")));
        return index.runnable();
    }
}

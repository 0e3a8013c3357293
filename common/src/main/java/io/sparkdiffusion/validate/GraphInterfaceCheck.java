package io.sparkdiffusion.validate;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo;
import io.sparkdiffusion.model.ComponentContract;
import io.sparkdiffusion.model.ComponentContract.Component;
import io.sparkdiffusion.model.ComponentContract.Kind;
import io.sparkdiffusion.model.ComponentContract.Port;
import io.sparkdiffusion.model.ComponentContract.Special;
import io.sparkdiffusion.model.OnnxFileScan;
import io.sparkdiffusion.util.JsonConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A loaded graph's interface against what the pipelines feed and read ({@link ComponentContract}): input and output
 * names, element types and ranks, the special outputs of SDXL text encoders and VAE encoders, an LCM UNet's guidance
 * input, and float16 graphs on the CPU provider.
 */
final class GraphInterfaceCheck {
    private GraphInterfaceCheck() {}

    /** The interface line (or its FAILs) and the WARNs of component {@code c}, whose folder is {@code componentDir}. */
    static List<Check> check(
            String subject, Path componentDir, Component c, Graph g, OnnxFileScan scan, String provider) {
        List<Check> checks = new ArrayList<>(ports(subject, c, g));
        if (c.name().equals("unet") && !g.inputs().containsKey("timestep_cond")) {
            checks.addAll(guidanceEmbedding(subject, componentDir));
        }
        if (provider.equals("cpu")) {
            checks.addAll(float16OnCpu(subject, g, scan));
        }
        return checks;
    }

    private static List<Check> ports(String subject, Component c, Graph g) {
        List<String> problems = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        List<String> fed = c.inputs().stream().map(Port::name).collect(Collectors.toList());
        for (Map.Entry<String, TensorInfo> in : g.inputs().entrySet()) {
            if (!fed.contains(in.getKey())) {
                problems.add("declares input '" + in.getKey() + "' " + describe(in.getValue())
                        + " which the pipeline does not feed (it feeds " + fed + ")");
            }
        }
        for (Port p : c.inputs()) {
            TensorInfo ti = g.inputs().get(p.name());
            if (ti == null) {
                if (p.required()) {
                    problems.add("has no input '" + p.name() + "' (the pipeline feeds it; inputs: "
                            + g.inputs().keySet() + ")");
                }
                continue;
            }
            checkPort("input", p, ti, problems);
        }
        for (Port p : c.outputs()) {
            TensorInfo ti = g.outputs().get(p.name());
            if (ti == null) {
                problems.add("has no output '" + p.name() + "' (the pipeline reads it; outputs: "
                        + describeAll(g.outputs()) + ")");
                continue;
            }
            checkPort("output", p, ti, problems);
        }
        switch (c.special()) {
            case SDXL_TEXT_ENCODER, SDXL_TEXT_ENCODER_2 -> sdxlHiddenStates(g, problems);
            case VAE_ENCODER, VAE_ENCODER_POSTERIOR -> vaeEncoderOutput(c.special(), g, problems, warnings);
            default -> {}
        }
        List<Check> checks = new ArrayList<>();
        if (problems.isEmpty()) {
            checks.add(Check.ok(subject, "io " + describeAll(g.inputs()) + " -> " + describeAll(g.outputs())));
        } else {
            problems.forEach(p -> checks.add(Check.fail(subject, p)));
        }
        warnings.forEach(w -> checks.add(Check.warn(subject, w)));
        return checks;
    }

    /** SDXL conditions on the penultimate hidden state: the text encoders must export {@code hidden_states.*}. */
    private static void sdxlHiddenStates(Graph g, List<String> problems) {
        long hidden = g.outputs().keySet().stream()
                .filter(n -> n.startsWith("hidden_states."))
                .count();
        if (hidden < 2) {
            problems.add("exports no hidden_states.* outputs (outputs: "
                    + g.outputs().keySet() + "): SDXL "
                    + "conditions on the penultimate layer, hidden_states[-2]; re-export the text encoders with"
                    + " output_hidden_states=True (optimum-cli export onnx does for SDXL; or"
                    + " tools/export/export_onnx.py)");
        } else {
            TensorInfo pen = g.outputs().get("hidden_states." + (hidden - 2));
            if (pen == null || pen.getShape().length != 3) {
                problems.add("hidden_states.* outputs are not numbered 0.." + (hidden - 1) + " with rank 3");
            }
        }
    }

    /** {@code latent_parameters}, or the legacy {@code latent_sample} (usable, but not with recorded draws). */
    private static void vaeEncoderOutput(Special special, Graph g, List<String> problems, List<String> warnings) {
        if (g.outputs().containsKey("latent_parameters")) {
            checkPort(
                    "output",
                    new Port("latent_parameters", Kind.FLOATS, new int[] {4}, true),
                    g.outputs().get("latent_parameters"),
                    problems);
        } else if (g.outputs().containsKey("latent_sample")) {
            if (special == Special.VAE_ENCODER_POSTERIOR) {
                problems.add("outputs 'latent_sample' (a legacy export that samples the posterior inside the"
                        + " graph): Stable Video Diffusion conditions on the posterior mean and needs"
                        + " 'latent_parameters' (mean and log-variance); re-export the VAE encoder");
            } else {
                warnings.add("outputs 'latent_sample' (a legacy export that samples the posterior inside the"
                        + " graph): image-to-image and inpainting work, but their draws differ from diffusers'"
                        + " (the graph draws its own noise), so cases recorded with diffusers do not replay;"
                        + " re-export with 'latent_parameters' (optimum-cli export onnx, or"
                        + " tools/export/export_onnx.py) for parity");
            }
        } else {
            problems.add("has neither 'latent_parameters' nor 'latent_sample' among its outputs "
                    + describeAll(g.outputs()));
        }
    }

    /**
     * An LCM-distilled UNet ({@code time_cond_proj_dim} in its config) exported without its {@code timestep_cond}
     * input: it runs, but the graph was traced with no guidance embedding, so the guidance scale does nothing and the
     * pictures differ from diffusers'.
     */
    private static List<Check> guidanceEmbedding(String subject, Path componentDir) {
        JsonConfig config = ComponentFileCheck.config(componentDir);
        if (!config.has("time_cond_proj_dim")) {
            return List.of();
        }
        return List.of(Check.warn(
                subject,
                "unet/config.json has time_cond_proj_dim " + config.getInt("time_cond_proj_dim", 0)
                        + " (an LCM-distilled UNet) but the graph has no 'timestep_cond' input: guidance_scale has no"
                        + " effect and pictures differ from diffusers'; export it again with timestep_cond"
                        + " (optimum-cli export onnx, or tools/export/export_onnx.py)"));
    }

    private static List<Check> float16OnCpu(String subject, Graph g, OnnxFileScan scan) {
        List<String> half = g.inputs().entrySet().stream()
                .filter(e -> e.getValue().type == OnnxJavaType.FLOAT16)
                .map(Map.Entry::getKey)
                .collect(Collectors.toList());
        if (half.isEmpty() && scan.float16Initializers() == 0) {
            return List.of();
        }
        if (half.isEmpty() && scan.float16StoredAsFloat32() == scan.float16Initializers()) {
            return List.of(Check.ok(
                    subject,
                    scan.float16Initializers() + " weights stored as float16 and cast to float32 when the session"
                            + " opens: float32 arithmetic on the CPU"));
        }
        return List.of(
                Check.warn(
                        subject,
                        "float16 graph ("
                                + (half.isEmpty()
                                        ? scan.float16Initializers() + " float16 weights"
                                        : "float16 inputs " + half)
                                + ") on the CPU provider: ONNX Runtime's CPU float16 kernels are "
                                + "slow or missing (some graphs fail at run time); use --provider cuda, or an fp32 export on CPU"));
    }

    private static void checkPort(String what, Port p, TensorInfo ti, List<String> problems) {
        if (!p.kind().types().contains(ti.type)) {
            problems.add(what + " '" + p.name() + "' is " + ti.type + "; the pipeline needs "
                    + p.kind().text());
        }
        int rank = ti.getShape().length;
        if (!p.rankOk(rank)) {
            problems.add(what + " '" + p.name() + "' has rank " + rank + " " + CheckText.shape(ti.getShape())
                    + "; the pipeline needs rank " + p.ranksText());
        }
    }

    private static String describe(TensorInfo ti) {
        return ti.type + CheckText.shape(ti.getShape());
    }

    private static String describeAll(Map<String, TensorInfo> m) {
        return m.entrySet().stream()
                .map(e -> e.getKey() + " " + describe(e.getValue()))
                .collect(Collectors.joining(", ", "[", "]"));
    }
}

#!/usr/bin/env python3
"""Exports the scorer models of spark-diffusion's quality gates (docs/quality.md) to the folders the engine reads.

  clip MODEL OUT              a CLIP model (transformers CLIPModel, e.g. openai/clip-vit-large-patch14) as a CLIP
                              score scorer folder:
                                OUT/text_model/model.onnx     input_ids (B, 77) int64 -> text_embeds (B, D),
                                                              last_hidden_state, hidden_states.*
                                OUT/vision_model/model.onnx   pixel_values (B, 3, S, S) -> image_embeds (B, D)
                                OUT/tokenizer/                the CLIP tokenizer (vocab.json, merges.txt, configs)
                                OUT/preprocessor_config.json  the CLIPImageProcessor settings
                                OUT/config.json               the CLIPConfig (for reading only)
  safety-checker MODEL OUT    diffusers' StableDiffusionSafetyChecker (MODEL: a Stable Diffusion repository with
                              safety_checker/ and feature_extractor/, or the checker's own repository such as
                              CompVis/stable-diffusion-safety-checker) into a model folder OUT (usually the folder
                              of the exported pipeline it belongs to):
                                OUT/safety_checker/model.onnx clip_input (B, 3, S, S) -> concept_scores (B, 17),
                                                              special_scores (B, 3), image_embeds (B, D)
                                OUT/feature_extractor/preprocessor_config.json
                              The scores are the cosine similarities to the concept embeddings minus each
                              concept's threshold (diffusers' "concept_scores" and "special_scores" before the
                              special-care adjustment and the rounding); the engine applies the rest of
                              StableDiffusionSafetyChecker.forward. With --flags-in-graph the graph is instead
                              the one diffusers' scripts/convert_stable_diffusion_checkpoint_to_onnx.py writes
                              (forward_onnx: clip_input, images -> out_images, has_nsfw_concepts): flags only, no
                              scores; the engine reads both.

Examples:

  python3 tools/quality/export_quality_models.py clip openai/clip-vit-large-patch14 out/clip-vit-l14
  python3 tools/quality/export_quality_models.py safety-checker CompVis/stable-diffusion-safety-checker out/sd15

Needs torch, transformers, diffusers, onnx and onnxruntime (tools/export/requirements.txt). The ONNX graphs are
written by tools/export/export_onnx.py's Exporter (opset 17, io.json, checked against torch with onnxruntime).
"""
import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "export"))

import export_onnx  # noqa: E402  (the project's exporter: Exporter, onnx_io, require, UsageError)

SAFETY_OUTPUTS = ["concept_scores", "special_scores", "image_embeds"]


def _safety_scores():
    from torch import nn

    class SafetyScores(nn.Module):
        """StableDiffusionSafetyChecker up to its thresholds: cosine to each concept minus the concept's weight."""

        def __init__(self, checker):
            super().__init__()
            self.c = checker

        def forward(self, clip_input):
            from diffusers.pipelines.stable_diffusion.safety_checker import cosine_distance

            pooled = self.c.vision_model(clip_input)[1]
            image_embeds = self.c.visual_projection(pooled)
            concept = cosine_distance(image_embeds, self.c.concept_embeds) - self.c.concept_embeds_weights
            special = cosine_distance(image_embeds, self.c.special_care_embeds) - self.c.special_care_embeds_weights
            return concept, special, image_embeds

    return SafetyScores


def write_tokenizer(tokenizer, out):
    """The tokenizer as transformers saves it (tokenizer.json, vocab.json + merges.txt): what ClipTokenizer reads."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(out))


def export_clip(model, tokenizer, image_processor, out, ex):
    """A CLIPModel as a CLIP score scorer folder (see the module's docstring)."""
    import torch
    from transformers import CLIPTextModelWithProjection, CLIPVisionModelWithProjection

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    text = CLIPTextModelWithProjection(model.config.text_config)
    text.text_model.load_state_dict(model.text_model.state_dict())
    text.text_projection.load_state_dict(model.text_projection.state_dict())
    vision = CLIPVisionModelWithProjection(model.config.vision_config)
    vision.vision_model.load_state_dict(model.vision_model.state_dict())
    vision.visual_projection.load_state_dict(model.visual_projection.state_dict())
    # Optimum's clip-text-with-projection outputs: text_embeds, last_hidden_state, hidden_states.*
    export_onnx.export_text_encoder(ex, text, out / "text_model", with_proj=True, ids_dtype=torch.int64)
    size = model.config.vision_config.image_size
    wrappers = export_onnx._wrappers()
    ex.export(wrappers["ImageEncoder"](vision), (ex.floats(2, 3, size, size),), out / "vision_model",
              ["pixel_values"], ["image_embeds"], {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}})
    write_tokenizer(tokenizer, out / "tokenizer")
    image_processor.save_pretrained(str(out))
    model.config.save_pretrained(str(out))


def export_safety_checker(checker, image_processor, out, ex, flags_in_graph=False):
    """StableDiffusionSafetyChecker into OUT/safety_checker/ and OUT/feature_extractor/ (see the docstring)."""
    import torch

    out = Path(out)
    comp = out / "safety_checker"
    size = checker.config.vision_config.image_size
    clip_input = ex.floats(1, 3, size, size)
    if flags_in_graph:
        # as diffusers' scripts/convert_stable_diffusion_checkpoint_to_onnx.py exports it
        checker.forward = checker.forward_onnx
        ex.export(checker, (clip_input, torch.rand(1, 16, 16, 3)), comp, ["clip_input", "images"],
                  ["out_images", "has_nsfw_concepts"],
                  {"clip_input": {0: "batch", 1: "channels", 2: "height", 3: "width"},
                   "images": {0: "batch", 1: "height", 2: "width", 3: "channels"}})
        del checker.forward
    else:
        ex.export(_safety_scores()(checker), (clip_input,), comp, ["clip_input"], SAFETY_OUTPUTS,
                  {n: {0: "batch_size"} for n in ["clip_input"] + SAFETY_OUTPUTS})
    checker.config.save_pretrained(str(comp))
    image_processor.save_pretrained(str(out / "feature_extractor"))


def _load_checker(model):
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPImageProcessor

    for checker_dir, fe_dir in (("safety_checker", "feature_extractor"), (None, None)):
        try:
            kw = {"subfolder": checker_dir} if checker_dir else {}
            checker = StableDiffusionSafetyChecker.from_pretrained(model, **kw)
            fe = CLIPImageProcessor.from_pretrained(model, **({"subfolder": fe_dir} if fe_dir else {}))
            return checker.eval(), fe
        except (OSError, ValueError) as e:
            last = e
    raise export_onnx.UsageError(f"{model}: no StableDiffusionSafetyChecker with a feature extractor ({last})")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("clip", help="a CLIP model as a CLIP score scorer folder")
    c.add_argument("model")
    c.add_argument("out")
    s = sub.add_parser("safety-checker", help="StableDiffusionSafetyChecker into a model folder")
    s.add_argument("model")
    s.add_argument("out")
    s.add_argument("--flags-in-graph", action="store_true",
                   help="diffusers' forward_onnx graph (flags only) instead of the scores graph")
    for q in (c, s):
        q.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    try:
        export_onnx.require("torch", "transformers", "diffusers", "onnx")
        ex = export_onnx.Exporter(device=args.device)
        if args.what == "clip":
            from transformers import CLIPModel, CLIPProcessor

            model = CLIPModel.from_pretrained(args.model).eval()
            processor = CLIPProcessor.from_pretrained(args.model)
            export_clip(model, processor.tokenizer, processor.image_processor, args.out, ex)
        else:
            checker, fe = _load_checker(args.model)
            export_safety_checker(checker, fe, args.out, ex, flags_in_graph=args.flags_in_graph)
        print(json.dumps({k: v["io"] for k, v in ex.summary.items()}, indent=1))
    except export_onnx.UsageError as e:
        print("error:", e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

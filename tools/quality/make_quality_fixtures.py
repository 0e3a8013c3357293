#!/usr/bin/env python3
"""Builds testdata/fixtures/quality/: tiny random scorer models and the reference outputs of the PyTorch classes.

Not part of the build (the Java tests read what this writes; they need no Python). Run it again only to change
the fixtures:

  PYTHONPATH=/path/to/diffusers/src:/path/to/torchmetrics python3 tools/quality/make_quality_fixtures.py [OUT]

It needs torch, transformers, diffusers, onnx, onnxruntime, Pillow and torchmetrics (torchmetrics >= 1.4 with
its dependency lightning-utilities; `pip install --target DIR --no-deps torchmetrics lightning-utilities` and
DIR on PYTHONPATH is enough). What it writes (default OUT: testdata/fixtures/quality):

  clip-tiny/            a CLIP score scorer folder (tools/quality/export_quality_models.py's layout) made from a
                        random transformers CLIPModel: text_model/, vision_model/, tokenizer/ (the CLIP BPE
                        cut to its first 1000 merges, so the text embedding stays small),
                        preprocessor_config.json, config.json + model.safetensors (the PyTorch weights)
  safety-tiny/          a random diffusers StableDiffusionSafetyChecker as the scores graph:
                        safety_checker/{model.onnx, io.json, config.json, model.safetensors},
                        feature_extractor/preprocessor_config.json
  safety-tiny-flags/    the same weights as diffusers' convert script exports them (forward_onnx: flags only)
  reference/            inputs and the outputs of the PyTorch classes on them:
    images_a.npy (5, 40, 48, 3), images_b.npy (2, 20, 24, 3), images_gray.npy (2, 16, 16, 1): float32 in [0, 1]
    pixel_values_*.npy  transformers' CLIPImageProcessor on numpy_to_pil(images), as diffusers'
                        run_safety_checker and torchmetrics' CLIPScore feed it
    image_embeds_*.npy  CLIPModel.get_image_features;  text_embeds.npy: CLIPModel.get_text_features
    input_ids.npy       the CLIP tokenizer, padding="max_length", max_length=77, truncation
    safety_embeds_a.npy the safety checker's projected image embeddings
    resize_*.npy        PIL's Image.resize of an 8-bit RGB picture with each filter
    reference.json      prompts, CLIP scores (torchmetrics), safety flags and scores (diffusers), digit
                        classifier labels and probabilities (onnxruntime + numpy softmax), versions

The safety checker's concept and special-care embeddings and thresholds are set from the images' own embeddings
so that: image 0 is flagged by a concept (margin about 0.01); image 1 only through the special-care adjustment
(+0.01 on a concept score of -0.004); image 2 has a concept score of +0.0003, which diffusers' forward rounds to
0.0 (not flagged) and forward_onnx does not round (flagged); images 3 and 4 are clean.
"""
import json
import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import export_quality_models as eq  # noqa: E402

MERGES = 1000
PROMPTS = ["a photo of a cat", "a handwritten digit seven", "a red car on a road", "an astronaut riding a horse",
           "a bowl of fruit"]
VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
              patch_size=8)
TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=77)
PROJECTION = 16


def tiny_tokenizer(out):
    """The CLIP BPE (testdata/assets/clip-tokenizer) cut to its first MERGES merges: ids 0..511 are the bytes,
    512 + i the i-th merge, then <|startoftext|> and <|endoftext|>, as in the full vocabulary."""
    src = REPO / "testdata" / "assets" / "clip-tokenizer"
    vocab = json.loads((src / "vocab.json").read_text(encoding="utf-8"))
    merges = (src / "merges.txt").read_text(encoding="utf-8").splitlines()[1:MERGES + 1]
    keep = {t: i for t, i in vocab.items() if i < 512 + MERGES}
    keep["<|startoftext|>"] = 512 + MERGES
    keep["<|endoftext|>"] = 513 + MERGES
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps(keep, ensure_ascii=False), encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    for f in ("tokenizer_config.json", "special_tokens_map.json"):
        (out / f).write_text((src / f).read_text(encoding="utf-8"), encoding="utf-8")
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(out)), len(keep)


def test_images():
    import numpy as np

    rng = np.random.default_rng(16)

    def batch(h, w):
        y, x = np.mgrid[0:h, 0:w] / np.array([h, w], dtype=np.float64)[:, None, None]
        check = ((np.add.outer(np.arange(h) // 4, np.arange(w) // 4)) % 2)[..., None]
        rings = np.sin(((x - 0.5) ** 2 + (y - 0.5) ** 2) * 40) * 0.5 + 0.5
        return np.stack([
            np.stack([x, 0.5 + 0 * x, 1 - x], -1),
            rng.random((h, w, 3)),
            np.repeat(check, 3, -1) * 0.9 + 0.05,
            np.stack([rings, rings * 0.7, 1 - rings], -1),
            rng.random((h, w, 3)) * 0.2,
        ]).astype(np.float32)

    a = batch(40, 48)
    b = batch(20, 24)[1:3]
    gray = rng.random((2, 16, 16, 1)).astype(np.float32)
    return {"a": a, "b": b, "gray": gray}


def numpy_to_pil(images):
    from diffusers.image_processor import VaeImageProcessor

    return VaeImageProcessor.numpy_to_pil(images)


def pil_resizes(out):
    """PIL's own resize of one 8-bit picture with each filter, shrinking and enlarging (the engine's Resize)."""
    import numpy as np
    import PIL.Image

    rng = np.random.default_rng(3)
    src = (rng.random((13, 17, 3)) * 255).round().astype("uint8")
    np.save(out / "resize_source.npy", src.astype(np.float32))
    cases = {}
    for name, f in (("nearest", 0), ("lanczos", 1), ("bilinear", 2), ("bicubic", 3), ("box", 4), ("hamming", 5)):
        for w, h in ((7, 5), (31, 22), (17, 6)):
            key = f"resize_{name}_{w}x{h}"
            np.save(out / f"{key}.npy", np.asarray(PIL.Image.fromarray(src).resize((w, h), f)).astype(np.float32))
            cases[key] = {"filter": f, "width": w, "height": h}
    return cases


def digit_reference():
    """The bundled digit classifier on recorded diffusers pictures: onnxruntime logits, numpy softmax."""
    import numpy as np
    import onnxruntime as ort

    files = sorted((REPO / "testdata" / "fixtures" / "digits").glob("*/cases/*/image.npy"))
    images = np.concatenate([np.load(f) for f in files]).astype(np.float32)
    prompts = [json.loads((f.parent / "case.json").read_text()).get("prompt") for f in files]
    x = ((np.clip(images, 0, 1) * 255).round() / 255).astype(np.float32).transpose(0, 3, 1, 2)
    sess = ort.InferenceSession(str(REPO / "models" / "digits-classifier" / "model.onnx"))
    logits = sess.run(["logits"], {"image": x})[0].astype(np.float64)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return {"cases": [str(f.parent.relative_to(REPO / "testdata" / "fixtures")) for f in files],
            "prompts": prompts, "labels": [str(int(i)) for i in p.argmax(1)], "label_scores": p.max(1).tolist()}


class SafetyCapture:
    """Reads StableDiffusionSafetyChecker.forward's own per-image result dicts (a local variable) as it returns."""

    def __init__(self):
        self.result = None

    def __enter__(self):
        def profile(frame, event, arg):
            if event == "return" and frame.f_code.co_name == "forward" and "result" in frame.f_locals \
                    and "bad_concepts" in str(frame.f_locals.get("result")):
                self.result = frame.f_locals["result"]

        self.old = sys.getprofile()
        sys.setprofile(profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(self.old)


def main(argv):
    eq.export_onnx.require("torch", "transformers", "diffusers", "onnx", "onnxruntime", "torchmetrics")
    import numpy as np
    import torch
    from diffusers.image_processor import VaeImageProcessor
    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker, cosine_distance
    from torchmetrics.functional.multimodal.clip_score import _clip_score_update, clip_score
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    out = Path(argv[0]) if argv else REPO / "testdata" / "fixtures" / "quality"
    ref_dir = out / "reference"
    ref_dir.mkdir(parents=True, exist_ok=True)
    ex = eq.export_onnx.Exporter()

    # ---- CLIP score model
    clip_dir = out / "clip-tiny"
    tokenizer, vocab_size = tiny_tokenizer(clip_dir / "tokenizer")
    text_cfg = dict(TEXT, vocab_size=vocab_size, bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
                    pad_token_id=vocab_size - 1, projection_dim=PROJECTION)
    config = CLIPConfig(text_config=text_cfg, vision_config=dict(VISION, projection_dim=PROJECTION),
                        projection_dim=PROJECTION)
    fe = CLIPImageProcessor(size={"shortest_edge": VISION["image_size"]},
                            crop_size={"height": VISION["image_size"], "width": VISION["image_size"]})
    images = test_images()
    pils = {k: numpy_to_pil(v) for k, v in images.items()}
    pixel_values = {k: fe(v, return_tensors="pt").pixel_values for k, v in pils.items()}
    for seed in range(100):
        # a seed whose five image-prompt pairs include a negative cosine (a score floored at 0) and a positive one
        torch.manual_seed(seed)
        clip = CLIPModel(config).eval()
        with torch.no_grad():
            cos = torch.nn.functional.cosine_similarity(
                clip.get_image_features(pixel_values["a"]).pooler_output,
                clip.get_text_features(**tokenizer(PROMPTS, padding=True, return_tensors="pt")).pooler_output)
        if (cos < -0.05).any() and (cos > 0.05).any():
            break
    clip.save_pretrained(str(clip_dir))
    eq.export_clip(clip, tokenizer, fe, clip_dir, ex)
    # the tokenizer folder holds the cut vocabulary as written above, whatever save_pretrained added
    processor = CLIPProcessor(image_processor=fe, tokenizer=tokenizer)

    class FeaturesAsTensors(torch.nn.Module):
        """transformers 5 returns get_*_features as ModelOutput (the projected embedding in pooler_output);
        torchmetrics 1.9 expects the tensor itself."""

        def __init__(self, m):
            super().__init__()
            self.m, self.config = m, m.config

        def get_image_features(self, *a, **k):
            return self.m.get_image_features(*a, **k).pooler_output

        def get_text_features(self, *a, **k):
            return self.m.get_text_features(*a, **k).pooler_output

    metric_model = FeaturesAsTensors(clip)
    u8 = {k: torch.from_numpy((v * 255).round().astype("uint8")).permute(0, 3, 1, 2) for k, v in images.items()}
    with torch.no_grad():
        raw, _ = _clip_score_update(list(u8["a"]), PROMPTS, metric_model, processor)
        floored = [float(clip_score(u8["a"][i], PROMPTS[i], model_name_or_path=lambda: (metric_model, processor)))
                   for i in range(len(PROMPTS))]
        text_embeds = metric_model.get_text_features(**tokenizer(PROMPTS, padding=True, return_tensors="pt"))
        image_embeds = {k: metric_model.get_image_features(v) for k, v in pixel_values.items()}
    ids = tokenizer(PROMPTS, padding="max_length", max_length=77, truncation=True, return_tensors="np").input_ids
    np.save(ref_dir / "input_ids.npy", ids.astype(np.float32))
    np.save(ref_dir / "text_embeds.npy", text_embeds.numpy())
    for k in images:
        np.save(ref_dir / f"images_{k}.npy", images[k])
        np.save(ref_dir / f"pixel_values_{k}.npy", pixel_values[k].numpy())
        np.save(ref_dir / f"image_embeds_{k}.npy", image_embeds[k].numpy())

    # ---- safety checker: random weights, then concepts placed on the images' own embeddings
    torch.manual_seed(1)
    checker = StableDiffusionSafetyChecker(CLIPConfig(text_config=text_cfg, vision_config=dict(
        VISION, projection_dim=PROJECTION), projection_dim=PROJECTION)).eval()
    with torch.no_grad():
        emb = checker.visual_projection(checker.vision_model(pixel_values["a"])[1])
        concepts = torch.randn(17, PROJECTION)
        special = torch.randn(3, PROJECTION)
        concepts[3], concepts[5], concepts[7], special[1] = emb[0], emb[1], emb[2], emb[1]
        cos_c = cosine_distance(emb, concepts)
        cos_s = cosine_distance(emb, special)
        weights_c = cos_c.max(0).values + 0.05
        weights_s = cos_s.max(0).values + 0.05

        def between(cos, row):
            others = torch.cat([cos[:row], cos[row + 1:]])
            assert 1 - others.max() > 0.01, f"image {row} is too close to another one ({others.max():.4f})"
            return (1 + others.max()) / 2

        weights_c[3] = between(cos_c[:, 3], 0)        # image 0: flagged, margin ~0.01
        weights_s[1] = between(cos_s[:, 1], 1)        # image 1: special care ...
        weights_c[5] = cos_c[1, 5] + 0.004            # ... flips a concept score of -0.004 to +0.006
        weights_c[7] = cos_c[2, 7] - 0.0003           # image 2: +0.0003, rounded to 0.0 by forward only
        checker.concept_embeds.copy_(concepts)
        checker.special_care_embeds.copy_(special)
        checker.concept_embeds_weights.copy_(weights_c)
        checker.special_care_embeds_weights.copy_(weights_s)

    def run_safety_checker(batch):
        # StableDiffusionPipeline.run_safety_checker itself, on numpy images as the pipeline's numpy branch has them
        owner = types.SimpleNamespace(safety_checker=checker, feature_extractor=fe,
                                      image_processor=VaeImageProcessor())
        with SafetyCapture() as cap, torch.no_grad():
            blacked, flags = StableDiffusionPipeline.run_safety_checker(owner, batch.copy(), "cpu", torch.float32)
        return blacked, [bool(f) for f in flags], cap.result

    blacked, flags, result = run_safety_checker(images["a"])
    with torch.no_grad():
        _, onnx_flags = checker.forward_onnx(pixel_values["a"], torch.from_numpy(images["a"].copy()))
        safety_embeds = checker.visual_projection(checker.vision_model(pixel_values["a"])[1])
        concept_raw = cosine_distance(safety_embeds, checker.concept_embeds) - checker.concept_embeds_weights
        special_raw = cosine_distance(safety_embeds, checker.special_care_embeds) - checker.special_care_embeds_weights
    assert flags == [True, True, False, False, False], flags
    assert onnx_flags.tolist() == [True, True, True, False, False], onnx_flags
    np.save(ref_dir / "safety_embeds_a.npy", safety_embeds.numpy())
    np.save(ref_dir / "safety_concept_scores_a.npy", concept_raw.numpy())
    np.save(ref_dir / "safety_special_scores_a.npy", special_raw.numpy())
    np.save(ref_dir / "safety_checked_a.npy", blacked.astype(np.float32))

    for folder, flags_in_graph in (("safety-tiny", False), ("safety-tiny-flags", True)):
        eq.export_safety_checker(checker, fe, out / folder, ex, flags_in_graph=flags_in_graph)
    checker.save_pretrained(str(out / "safety-tiny" / "safety_checker"))

    def per_image(d):
        return [float(d[k]) for k in sorted(d)]

    reference = {
        "made_by": "tools/quality/make_quality_fixtures.py",
        "versions": {m.__name__: m.__version__ for m in (torch, np, __import__("transformers"),
                                                         __import__("diffusers"), __import__("torchmetrics"),
                                                         __import__("onnxruntime"), __import__("PIL"))},
        "prompts": PROMPTS,
        "clip_score": {"source": "torchmetrics.functional.multimodal.clip_score (per image pair, floored at 0)",
                       "scores": floored,
                       "unfloored": raw.tolist()},
        "safety": {
            "source": "diffusers StableDiffusionPipeline.run_safety_checker -> StableDiffusionSafetyChecker.forward",
            "nsfw": flags,
            "nsfw_forward_onnx": onnx_flags.tolist(),
            "concept_scores": [per_image(r["concept_scores"]) for r in result],
            "special_scores": [per_image(r["special_scores"]) for r in result],
            "bad_concepts": [r["bad_concepts"] for r in result],
        },
        "digits": digit_reference(),
        "resize": pil_resizes(ref_dir),
    }
    (ref_dir / "reference.json").write_text(json.dumps(reference, indent=1))
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"wrote {out} ({total / 2 ** 20:.2f} MiB); CLIP scores {floored}; safety flags {flags} "
          f"(forward_onnx {onnx_flags.tolist()})")


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/env python3
"""Exports a Hugging Face diffusers pipeline to the ONNX folder layout that spark-diffusion's engine reads.

The layout is Optimum's (``optimum-cli export onnx``) and the one of ``testdata/fixtures``: ``model_index.json``,
``scheduler/scheduler_config.json``, ``tokenizer/`` (``tokenizer_2/``), and one folder per component with
``model.onnx`` (+ ``model.onnx_data`` when the weights exceed 2 GB), ``config.json`` and ``io.json`` (the graph's
input/output names, element types and shapes, for reading only). Tensor names are Optimum's:

  text encoders     input_ids -> last_hidden_state, pooler_output | text_embeds, hidden_states.0..N
  unet              sample, timestep, encoder_hidden_states (+ text_embeds, time_ids for SDXL; added_time_ids
                    for SVD; image_embeds for the Kandinsky 2.2 decoder; timestep_cond for LCM-distilled UNets)
                    -> out_sample
  vae_decoder       latent_sample -> sample            vae_encoder   sample -> latent_parameters
  image_encoder     pixel_values -> image_embeds       prior         hidden_states, timestep, proj_embedding,
  movq_decoder      latent_sample -> sample                          encoder_hidden_states, attention_mask
  movq_encoder      sample -> latent_sample                          -> predicted_image_embedding

Families (from model_index.json's _class_name):

  sd         StableDiffusion{,Img2Img,Inpaint}Pipeline: SD 1.x / 2.x, SD-Turbo, SD inpainting (9-channel UNet);
             LatentConsistencyModelPipeline (LCM-distilled UNet: the extra input timestep_cond, the guidance embedding)
  sdxl       StableDiffusionXL{,Img2Img,Inpaint}Pipeline: SDXL, SDXL-Turbo, Playground v2 (text encoders with
             output_hidden_states, UNet timestep a float scalar)
  ddpm       DDPMPipeline / DDIMPipeline (UNet2DModel, e.g. google/ddpm-cifar10-32)
  t2v        TextToVideoSDPipeline (UNet3DConditionModel, e.g. ali-vilab/text-to-video-ms-1.7b)
  svd        StableVideoDiffusionPipeline (CLIP image encoder, spatio-temporal UNet, temporal VAE decoder)
  kandinsky  KandinskyV22Pipeline (decoder, MoVQ) given as MODEL, with --prior KandinskyV22PriorPipeline; written
             as OUT/prior/ and OUT/decoder/ (the engine runs OUT); the prior's clip_mean / clip_std are written to
             OUT/prior/prior/clip_mean.npy and clip_std.npy (PriorTransformer.post_process_latents)

Reference cases (--record-case NAME): after the export, runs the diffusers pipeline once on the same weights
(float32) with every Gaussian draw recorded (diffusers.utils.torch_utils.randn_tensor patched, as the
fixtures' generator gen_fixtures.py does) and writes OUT/cases/NAME/ in the fixture format: case.json, noise_NNN.npy,
latents_step_NNN.npy, image.npy or frames.npy, image.png, and prompt embeddings. Then

  bin/spark-diffusion validate --model OUT        (replays every case under OUT/cases)
  bin/spark-diffusion replay --model OUT --case OUT/cases/NAME --out /tmp/x.npy

show whether the Java engine reproduces diffusers on this export (parity: 2e-3 on final pixels). A case's scheduler
is the model's, or --scheduler NAME (the engine's short names or a diffusers class) with --scheduler-config
KEY=VALUE overrides, applied as from_config(pipe.scheduler.config, **overrides); --vae-config KEY=VALUE sets VAE
config values (Playground v2.5's latents_mean / latents_std). MODEL random:sd-turbo or random:sdxl is a full-size
architecture with seeded random weights (benchmarks without a download). MODEL tiny:FAMILY (sd, sd-inpaint, sd-lcm, sdxl, ddpm,
t2v, svd, kandinsky) is the tool's own tiny random pipeline, the weights of testdata/fixtures/<family>-tiny, so
--case-only adds reference cases to the fixtures.

Scheduler traces (--scheduler-traces OUT): scheduler-only diffusers runs with a synthetic model and every draw
recorded (custom timesteps and sigmas, TCD's eta, learned variances; SCHEDULER_TRACES below), for what a pipeline
case cannot carry; the fixtures keep them in testdata/fixtures/schedulers.

Examples:

  python3 tools/export/export_onnx.py stabilityai/sd-turbo out/sd-turbo
  python3 tools/export/export_onnx.py google/ddpm-cifar10-32 out/ddpm-cifar10 --record-case ddpm_10 --steps 10
  python3 tools/export/export_onnx.py kandinsky-community/kandinsky-2-2-decoder out/kandinsky22 \\
      --prior kandinsky-community/kandinsky-2-2-prior
  python3 tools/export/export_onnx.py stabilityai/stable-video-diffusion-img2vid out/svd --dtype fp16 --device cuda
  python3 tools/export/export_onnx.py --dry-run out/dry        (tiny random pipelines of every family)
  python3 tools/export/export_onnx.py tiny:sd testdata/fixtures/sd-tiny --case-only --record-case txt2img_heun \\
      --scheduler heun --seed 42 --steps 4 --guidance 7.5 --height 32 --width 32 --negative-prompt "blurry, low quality"

Needs torch, diffusers, transformers, onnx (and onnxruntime for the checks): tools/export/requirements.txt.
torch and diffusers are imported only when a command needs them, so --help works without them.
"""
import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FAMILIES = ("sd", "sdxl", "ddpm", "t2v", "svd", "kandinsky")
CLASS_FAMILY = {
    "StableDiffusionPipeline": "sd", "StableDiffusionImg2ImgPipeline": "sd", "StableDiffusionInpaintPipeline": "sd",
    "StableDiffusionXLPipeline": "sdxl", "StableDiffusionXLImg2ImgPipeline": "sdxl",
    "StableDiffusionXLInpaintPipeline": "sdxl",
    # LCM-distilled SD UNets (time_cond_proj_dim): the guidance scale enters as the UNet input timestep_cond
    "LatentConsistencyModelPipeline": "sd",
    "DDPMPipeline": "ddpm", "DDIMPipeline": "ddpm",
    "TextToVideoSDPipeline": "t2v",
    "StableVideoDiffusionPipeline": "svd",
    "KandinskyV22Pipeline": "kandinsky", "KandinskyV22Img2ImgPipeline": "kandinsky",
}
# short scheduler names, as the Java engine accepts them (scheduler.Schedulers)
SCHEDULER_ALIASES = {
    "ddim": ("DDIMScheduler", {}), "ddpm": ("DDPMScheduler", {}), "pndm": ("PNDMScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}), "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "lms": ("LMSDiscreteScheduler", {}), "dpmpp_2m": ("DPMSolverMultistepScheduler", {}),
    "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "unipc": ("UniPCMultistepScheduler", {}), "lcm": ("LCMScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}), "kdpm2": ("KDPM2DiscreteScheduler", {}),
    "kdpm2_a": ("KDPM2AncestralDiscreteScheduler", {}), "dpmpp_2s": ("DPMSolverSinglestepScheduler", {}),
    "dpmpp_sde": ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"}),
    "dpmpp_2m_sde": ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"}),
    "deis": ("DEISMultistepScheduler", {}), "edm_euler": ("EDMEulerScheduler", {}),
    "edm_dpmpp_2m": ("EDMDPMSolverMultistepScheduler", {}), "tcd": ("TCDScheduler", {}),
    "ipndm": ("IPNDMScheduler", {}),
}
TWO_GB = 2 * 1024 ** 3
T0 = time.time()


def log(*a):
    print(f"[{time.time() - T0:7.1f}s]", *a, flush=True)


class UsageError(Exception):
    """A bad argument or a missing dependency: printed as one line, exit code 2."""


def require(*modules):
    """Imports the heavy dependencies, or says which are missing and how to install them."""
    missing = []
    for m in modules:
        try:
            __import__(m)
        except ImportError:
            missing.append(m)
    if missing:
        raise UsageError("this needs the Python packages " + ", ".join(missing)
                         + ": pip install -r tools/export/requirements.txt")


# ---------------------------------------------------------------------------------------------- ONNX export

class Exporter:
    """torch.onnx.export of one component into OUT/<component>/, consolidated, described and checked."""

    def __init__(self, opset=17, dtype="fp32", device="cpu", external_data="auto", check=True):
        import torch

        self.opset = opset
        self.dtype = torch.float16 if dtype == "fp16" else torch.float32
        # fp16-weights: float32 graphs whose weights are stored in float16 and cast to float32 as the graph starts
        # (ONNX Runtime folds the casts when it opens the session): half the files, float32 arithmetic on CPU
        self.fp16_weights = dtype == "fp16-weights"
        self.device = device
        self.external_data = external_data
        self.check = check
        self.summary = {}

    def floats(self, *shape, dtype=None):
        import torch

        return torch.randn(*shape, dtype=torch.float32).to(self.device, dtype or self.dtype)

    def export(self, module, args, comp_dir, input_names, output_names, dynamic_axes, dtype=None, extra_checks=()):
        """Exports module(*args) to comp_dir/model.onnx and writes comp_dir/io.json.

        extra_checks: further argument tuples (other batch sizes, frame counts) on which ONNX Runtime must agree
        with torch; a disagreement is reported (the traced graph specialised a shape).
        """
        import torch

        comp_dir = Path(comp_dir)
        comp_dir.mkdir(parents=True, exist_ok=True)
        name = comp_dir.name
        dtype = dtype or self.dtype
        module = module.eval().to(self.device, dtype)
        fp16_weights = self.fp16_weights and dtype == torch.float32
        if fp16_weights:
            # round the module's own weights to float16 values in place, so that torch (the check here, and the
            # reference case recorded later on the same modules) computes with exactly the weights the file holds
            rounded = round_weights_to_fp16(module)
            log(f"  {name}: {rounded} weight tensors rounded to float16 values")
        args = tuple(a.to(self.device) for a in args)
        with torch.no_grad():
            ref = _as_tuple(module(*args))
        with tempfile.TemporaryDirectory(prefix="export-" + name + "-") as tmp:
            raw = Path(tmp) / "model.onnx"
            err = None
            for kw in ({"dynamo": False}, {}):
                try:
                    with torch.no_grad():
                        torch.onnx.export(module, args, str(raw), input_names=input_names, output_names=output_names,
                                          dynamic_axes=dynamic_axes, opset_version=self.opset,
                                          do_constant_folding=True, **kw)
                    err = None
                    break
                except TypeError as e:  # torch without the dynamo argument
                    err = e
                except Exception as e:  # noqa: BLE001
                    err = e
                    log(f"  {name}: export attempt {kw or '(default exporter)'} failed: {type(e).__name__}: "
                        f"{str(e)[:300]}")
            if err is not None:
                raise err
            final = comp_dir / "model.onnx"
            size = sum(f.stat().st_size for f in Path(tmp).iterdir() if f.is_file())
            self._consolidate(raw, final, size)
        if fp16_weights:
            self._store_weights_fp16(final)
        io = onnx_io(final)
        diffs = []
        if self.check:
            for i, check_args in enumerate((args,) + tuple(extra_checks)):
                check_args = tuple(a.to(self.device) for a in check_args)
                if i == 0:
                    expected = ref
                else:
                    with torch.no_grad():
                        expected = _as_tuple(module(*check_args))
                diffs.append(ort_diff(final, input_names, output_names, check_args, expected))
        io["max_abs_diff_vs_torch"] = diffs[0] if diffs else None
        if len(diffs) > 1:
            io["max_abs_diff_vs_torch_other_shapes"] = diffs[1:]
        (comp_dir / "io.json").write_text(json.dumps(io, indent=1))
        module.to("cpu", torch.float32)
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
        external = (comp_dir / "model.onnx_data").exists()
        line = f"  {name}: model.onnx {final.stat().st_size / 2 ** 20:.1f} MiB"
        if external:
            line += f" + model.onnx_data {(comp_dir / 'model.onnx_data').stat().st_size / 2 ** 30:.2f} GiB"
        line += f", {str(dtype).replace('torch.', '')}" + (" (weights stored as float16)" if fp16_weights else "")
        if diffs:
            line += ", max |onnxruntime - torch| " + ", ".join("n/a" if d is None else f"{d:.2e}" for d in diffs)
        log(line)
        tol = 1e-2 if dtype == torch.float16 else 1e-3
        bad = [d for d in diffs if d is not None and d > tol]
        if bad:
            log(f"  WARNING {name}: onnxruntime differs from torch by {max(bad):.3g} (> {tol:g})"
                + (": the traced graph may have specialised a shape; use the shapes of the first check"
                   if len(diffs) > 1 and diffs[0] is not None and diffs[0] <= tol else ""))
        self.summary[name] = {"io": io, "external_data": external}
        return io

    def _consolidate(self, raw, final, size):
        """One model.onnx, with the weights in model.onnx_data when they exceed 2 GB (or when asked)."""
        import onnx

        data = final.parent / "model.onnx_data"
        for stale in (final, data):
            if stale.exists():
                stale.unlink()  # onnx appends to an existing external data file
        external = self._external(size)
        if size > TWO_GB and self.external_data == "never":
            raise UsageError(f"{final.parent.name} is {size / 2 ** 30:.1f} GiB: a protobuf cannot exceed 2 GB;"
                             " use --external-data auto")
        save_model(onnx.load(str(raw), load_external_data=True), final, external)


    def _external(self, size):
        """Whether weights of size bytes go to model.onnx_data: always, never, or (auto) near the 2 GB limit."""
        return self.external_data == "always" or (self.external_data == "auto" and size > TWO_GB - 64 * 2 ** 20)

    def _store_weights_fp16(self, final):
        """Every float32 initializer that float16 holds exactly (the module's weights were rounded) becomes a float16
        initializer and a Cast to float32 at the start of the graph, under the old name; the graph is unchanged
        otherwise. Saved with external data only if it still needs it."""
        import numpy as np
        import onnx
        from onnx import helper, numpy_helper

        model = onnx.load(str(final), load_external_data=True)
        g = model.graph
        kept, casts, converted = [], [], 0
        for init in g.initializer:
            if init.data_type == onnx.TensorProto.FLOAT and np.prod(init.dims, dtype=np.int64) >= 16:
                a = numpy_helper.to_array(init)
                h = a.astype(np.float16)
                if np.array_equal(h.astype(np.float32), a):  # exact: finite, in range, already rounded
                    kept.append(numpy_helper.from_array(h, init.name + "__fp16"))
                    casts.append(helper.make_node("Cast", [init.name + "__fp16"], [init.name],
                                                  to=onnx.TensorProto.FLOAT, name=init.name + "__to_fp32"))
                    converted += 1
                    continue
            kept.append(init)
        del g.initializer[:]
        g.initializer.extend(kept)
        nodes = casts + list(g.node)
        del g.node[:]
        g.node.extend(nodes)
        data = final.parent / "model.onnx_data"
        for stale in (final, data):
            if stale.exists():
                stale.unlink()
        size = sum(len(i.raw_data) for i in kept)  # the weights, which is what the 2 GB protobuf limit is about
        save_model(model, final, self._external(size))
        log(f"  {final.parent.name}: {converted} initializers stored as float16")


def save_model(model, final, external):
    """Writes model to final, its weights in model.onnx_data beside it when external."""
    import onnx

    if external:
        onnx.save_model(model, str(final), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx_data", size_threshold=1024, convert_attribute=False)
    else:
        onnx.save_model(model, str(final))


def round_weights_to_fp16(module):
    """Rounds every floating parameter and buffer of module to the nearest float16 value, in place, where float16
    holds it (finite, |x| <= 65504); returns how many tensors were rounded."""
    import torch

    n = 0
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            if t.dtype == torch.float32 and t.numel() >= 16 and bool(torch.isfinite(t).all()) \
                    and float(t.abs().max()) <= 65504:
                t.copy_(t.half().float())
                n += 1
    return n


def _as_tuple(x):
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return (x,)


def onnx_io(path):
    """The graph's inputs and outputs (name, element type, shape with symbolic dims as names): io.json."""
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    init = {i.name for i in m.graph.initializer}

    def desc(v):
        t = v.type.tensor_type
        dims = [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim]
        return {"name": v.name, "type": onnx.TensorProto.DataType.Name(t.elem_type), "shape": dims}

    return {
        "opset": [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")],
        "inputs": [desc(v) for v in m.graph.input if v.name not in init],
        "outputs": [desc(v) for v in m.graph.output],
    }


def ort_diff(path, input_names, output_names, args, expected):
    """max |onnxruntime - torch| over the outputs, or None when onnxruntime cannot run the graph here."""
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        log("  (onnxruntime is not installed: no check against torch)")
        return None
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    try:
        sess = ort.InferenceSession(str(path), providers=providers)
        wanted = {i.name for i in sess.get_inputs()}
        feeds = {n: a.detach().cpu().numpy() for n, a in zip(input_names, args) if n in wanted}
        outs = sess.run(output_names, feeds)
    except Exception as e:  # noqa: BLE001
        log(f"  (onnxruntime could not run {Path(path).parent.name} here: {type(e).__name__}: {str(e)[:200]})")
        return None
    return max(float(np.abs(o.astype(np.float32) - r.detach().float().cpu().numpy()).max())
               for o, r in zip(outs, expected))


# ---------------------------------------------------------------------------------------------- wrappers

def _wrappers():
    """torch.nn.Module wrappers that give each component Optimum's positional inputs and outputs."""
    from torch import nn

    class TextEncoder(nn.Module):
        """CLIP text encoder -> [last_hidden_state, pooler_output | text_embeds, last_hidden_state] + hidden_states.*."""

        def __init__(self, m, with_proj):
            super().__init__()
            self.m, self.with_proj = m, with_proj

        def forward(self, input_ids):
            o = self.m(input_ids=input_ids, output_hidden_states=True)
            first = [o.text_embeds, o.last_hidden_state] if self.with_proj else [o.last_hidden_state, o.pooler_output]
            return tuple(first + list(o.hidden_states))

    class MaskedTextEncoder(nn.Module):
        """The Kandinsky 2.2 prior's CLIP text encoder: (input_ids, attention_mask) -> text_embeds, last_hidden_state."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            o = self.m(input_ids=input_ids, attention_mask=attention_mask)
            return o.text_embeds, o.last_hidden_state

    class ImageEncoder(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, pixel_values):
            return self.m(pixel_values=pixel_values).image_embeds

    class UNet(nn.Module):
        def __init__(self, unet):
            super().__init__()
            self.unet = unet

        def forward(self, sample, timestep, encoder_hidden_states, timestep_cond=None):
            # timestep_cond: LCM-distilled UNets' guidance-scale embedding (exported only when time_cond_proj_dim)
            return self.unet(sample, timestep, encoder_hidden_states, timestep_cond=timestep_cond,
                             return_dict=False)[0]

    class UNetUncond(nn.Module):
        def __init__(self, unet):
            super().__init__()
            self.unet = unet

        def forward(self, sample, timestep):
            return self.unet(sample, timestep, return_dict=False)[0]

    class UNetXL(nn.Module):
        def __init__(self, unet):
            super().__init__()
            self.unet = unet

        def forward(self, sample, timestep, encoder_hidden_states, text_embeds, time_ids, timestep_cond=None):
            return self.unet(sample, timestep, encoder_hidden_states, timestep_cond=timestep_cond,
                             added_cond_kwargs={"text_embeds": text_embeds, "time_ids": time_ids},
                             return_dict=False)[0]

    class UNetSVD(nn.Module):
        def __init__(self, unet):
            super().__init__()
            self.unet = unet

        def forward(self, sample, timestep, encoder_hidden_states, added_time_ids):
            return self.unet(sample, timestep, encoder_hidden_states, added_time_ids=added_time_ids,
                             return_dict=False)[0]

    class UNetKandinsky(nn.Module):
        def __init__(self, unet):
            super().__init__()
            self.unet = unet

        def forward(self, sample, timestep, image_embeds):
            return self.unet(sample, timestep, encoder_hidden_states=None,
                             added_cond_kwargs={"image_embeds": image_embeds}, return_dict=False)[0]

    class VaeDecoder(nn.Module):
        """latent_sample (unscaled: the engine divides by scaling_factor) -> sample in [-1, 1]."""

        def __init__(self, vae, temporal=False):
            super().__init__()
            self.vae, self.temporal = vae, temporal

        def forward(self, latent_sample):
            if self.temporal:
                # AutoencoderKLTemporalDecoder mixes the frames of one call: num_frames = the batch (one chunk)
                return self.vae.decode(latent_sample, num_frames=latent_sample.shape[0], return_dict=False)[0]
            return self.vae.decode(latent_sample, return_dict=False)[0]

    class VaeEncoder(nn.Module):
        """sample -> latent_parameters (mean and log-variance): the engine samples with a recorded draw."""

        def __init__(self, vae):
            super().__init__()
            self.vae = vae

        def forward(self, sample):
            return self.vae.encode(sample).latent_dist.parameters

    class Prior(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, hidden_states, timestep, proj_embedding, encoder_hidden_states, attention_mask):
            return self.m(hidden_states, timestep=timestep, proj_embedding=proj_embedding,
                          encoder_hidden_states=encoder_hidden_states,
                          attention_mask=attention_mask).predicted_image_embedding

    class MovqEncoder(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, sample):
            return self.m.encode(sample).latents

    class MovqDecoder(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, latent_sample):
            return self.m.decode(latent_sample, force_not_quantize=True).sample

    return dict(TextEncoder=TextEncoder, MaskedTextEncoder=MaskedTextEncoder, ImageEncoder=ImageEncoder, UNet=UNet,
                UNetUncond=UNetUncond, UNetXL=UNetXL, UNetSVD=UNetSVD, UNetKandinsky=UNetKandinsky,
                VaeDecoder=VaeDecoder, VaeEncoder=VaeEncoder, Prior=Prior, MovqEncoder=MovqEncoder,
                MovqDecoder=MovqDecoder)


# ---------------------------------------------------------------------------------------------- components

def export_text_encoder(ex, model, comp_dir, with_proj, ids_dtype):
    import torch

    w = _wrappers()
    n = model.config.num_hidden_layers
    names = (["text_embeds", "last_hidden_state"] if with_proj else ["last_hidden_state", "pooler_output"])
    names += [f"hidden_states.{i}" for i in range(n + 1)]
    length = getattr(model.config, "max_position_embeddings", 77)
    ids = torch.tensor([[49406, 320, 1125, 539, 320, 2368, 49407] + [49407] * (length - 7)] * 2, dtype=ids_dtype)
    ids = ids.clamp(max=model.config.vocab_size - 1)
    axes = {nm: {0: "batch_size"} for nm in ["input_ids"] + names}
    io = ex.export(w["TextEncoder"](model, with_proj), (ids,), comp_dir, ["input_ids"], names, axes,
                   dtype=ex.dtype)
    model.config.save_pretrained(str(comp_dir))
    return io


def latent_dummy_size(unet_config, cap=32):
    """A small latent size the UNet's downsampling divides (dynamic axes make any size work afterwards)."""
    s = unet_config.sample_size
    s = s if isinstance(s, int) else int(s[0])
    levels = len(unet_config.block_out_channels) - 1
    m = 2 ** levels
    s = min(s, cap)
    return max(m, s - s % m)


def export_unet(ex, unet, comp_dir, kind, text_embeds_dim=None, image_embeds_dim=None, frames=None):
    import torch

    w = _wrappers()
    c = unet.config
    s = latent_dummy_size(c)
    b = 2
    extra = ()
    if kind in ("sd", "sdxl"):
        args = [ex.floats(b, c.in_channels, s, s), torch.tensor([500.0] * b),
                ex.floats(b, 77, _cross_dim(c))]
        names = ["sample", "timestep", "encoder_hidden_states"]
        axes = {"sample": {0: "batch_size", 2: "height", 3: "width"}, "timestep": {0: "batch_size"},
                "encoder_hidden_states": {0: "batch_size"}, "out_sample": {0: "batch_size", 2: "height", 3: "width"}}
        module = w["UNet"](unet)
        if kind == "sdxl":
            # SDXL exports take the timestep as a float scalar (rank 0), as Optimum's and the fixtures'
            args[1] = torch.tensor(500.0)
            del axes["timestep"]
            h, wd = s * 8, s * 8
            args += [ex.floats(b, text_embeds_dim), torch.tensor([[h, wd, 0.0, 0.0, h, wd]] * b).to(ex.dtype)]
            names += ["text_embeds", "time_ids"]
            axes["text_embeds"] = {0: "batch_size"}
            axes["time_ids"] = {0: "batch_size"}
            module = w["UNetXL"](unet)
        if c.get("time_cond_proj_dim"):
            # LCM-distilled UNets: the guidance-scale embedding, Optimum's name timestep_cond, shape (B, dim)
            args.append(ex.floats(b, c.time_cond_proj_dim))
            names.append("timestep_cond")
            axes["timestep_cond"] = {0: "batch_size"}
    elif kind == "uncond":
        args = [ex.floats(1, c.in_channels, s, s), torch.tensor([500.0])]
        names = ["sample", "timestep"]
        axes = {"sample": {0: "batch_size", 2: "height", 3: "width"}, "timestep": {0: "batch_size"},
                "out_sample": {0: "batch_size", 2: "height", 3: "width"}}
        module = w["UNetUncond"](unet)
    elif kind == "t2v":
        # latents (B, C, F, H, W); the frame count is traced from the sample's shape
        args = [ex.floats(b, c.in_channels, frames, s, s), torch.tensor([500.0] * b), ex.floats(b, 77, _cross_dim(c))]
        names = ["sample", "timestep", "encoder_hidden_states"]
        axes = {"sample": {0: "batch_size", 1: "dim1", 2: "dim2", 3: "height", 4: "width"},
                "timestep": {0: "batch_size"}, "encoder_hidden_states": {0: "batch_size"}}
        axes["out_sample"] = dict(axes["sample"])
        module = w["UNet"](unet)
        other = max(2, frames // 2)
        extra = ((ex.floats(1, c.in_channels, other, s, s), torch.tensor([250.0]), ex.floats(1, 77, _cross_dim(c))),)
    elif kind == "svd":
        # latents (B, F, 2C, H, W): the noisy latents and the conditioning image's latents on the channel axis
        args = [ex.floats(b, frames, c.in_channels, s, s), torch.tensor([0.5] * b), ex.floats(b, 1, _cross_dim(c)),
                torch.tensor([[6.0, 127.0, 0.02]] * b).to(ex.dtype)]
        names = ["sample", "timestep", "encoder_hidden_states", "added_time_ids"]
        axes = {"sample": {0: "batch_size", 1: "dim1", 2: "dim2", 3: "height", 4: "width"},
                "timestep": {0: "batch_size"}, "encoder_hidden_states": {0: "batch_size"},
                "added_time_ids": {0: "batch_size"}}
        axes["out_sample"] = dict(axes["sample"])
        module = w["UNetSVD"](unet)
        other = max(2, frames // 2)
        extra = ((ex.floats(1, other, c.in_channels, s, s), torch.tensor([0.3]), ex.floats(1, 1, _cross_dim(c)),
                  torch.tensor([[6.0, 127.0, 0.02]]).to(ex.dtype)),)
    elif kind == "kandinsky":
        args = [ex.floats(b, c.in_channels, s, s), torch.tensor([500.0] * b), ex.floats(b, image_embeds_dim)]
        names = ["sample", "timestep", "image_embeds"]
        axes = {"sample": {0: "batch_size", 2: "height", 3: "width"}, "timestep": {0: "batch_size"},
                "image_embeds": {0: "batch_size"}, "out_sample": {0: "batch_size", 2: "height", 3: "width"}}
        module = w["UNetKandinsky"](unet)
    else:
        raise ValueError(kind)
    io = ex.export(module, tuple(args), comp_dir, names, ["out_sample"], axes, extra_checks=extra)
    unet.save_config(str(comp_dir))
    return io


def _cross_dim(config):
    d = config.cross_attention_dim
    return d if isinstance(d, int) else int(d[0])


def export_vae(ex, vae, out, temporal=False, encoder=True, dtype=None, decode_frames=None):
    """vae_decoder/ (and vae_encoder/), each with the VAE's config.json (scaling_factor, block_out_channels, ...)."""
    import torch

    w = _wrappers()
    c = vae.config
    lat = c.latent_channels
    f = 2 ** (len(c.block_out_channels) - 1)
    size = 64 if f >= 8 else 32
    dec_batch = decode_frames if temporal and decode_frames else 2
    extra = ()
    if temporal and dec_batch > 2:
        # another chunk length: the temporal decoder must not have specialised the traced frame count
        extra = ((ex.floats(dec_batch - 1, lat, size // f, size // f, dtype=dtype),),)
    ex.export(w["VaeDecoder"](vae, temporal), (ex.floats(dec_batch, lat, size // f, size // f, dtype=dtype),),
              out / "vae_decoder", ["latent_sample"], ["sample"],
              {"latent_sample": {0: "batch_size", 2: "h", 3: "w"}, "sample": {0: "batch_size", 2: "H", 3: "W"}},
              dtype=dtype, extra_checks=extra)
    vae.save_config(str(out / "vae_decoder"))
    if encoder:
        pixels = (torch.rand(1, c.in_channels, size, size) * 2 - 1).to(ex.device, dtype or ex.dtype)
        ex.export(w["VaeEncoder"](vae), (pixels,), out / "vae_encoder", ["sample"], ["latent_parameters"],
                  {"sample": {0: "batch_size", 2: "H", 3: "W"}, "latent_parameters": {0: "batch_size", 2: "h", 3: "w"}},
                  dtype=dtype)
        vae.save_config(str(out / "vae_encoder"))


def write_configs(pipe, out, skip=()):
    """model_index.json and every component's config, tokenizer and processor files, without torch weights."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pipe.save_config(str(out))
    for name, comp in pipe.components.items():
        if comp is None or name in skip:
            continue
        d = out / name
        cls = type(comp).__name__
        if "Tokenizer" in cls or "Processor" in cls or "FeatureExtractor" in cls:
            d.mkdir(parents=True, exist_ok=True)
            comp.save_pretrained(str(d))
        elif "Scheduler" in cls:
            comp.save_config(str(d))
        # models get their config.json next to their model.onnx when exported


# ---------------------------------------------------------------------------------------------- families

def export_family(family, pipes, out, ex, fp16_vae=False):
    """Exports the loaded pipeline(s) of one family into out/. pipes: {"main": pipe} (+ "prior" for Kandinsky)."""
    import torch

    out = Path(out)
    pipe = pipes["main"]
    if family == "kandinsky":
        export_kandinsky(pipes["prior"], pipe, out, ex)
        return
    write_configs(pipe, out, skip=("vae", "safety_checker"))
    if family in ("sd", "sdxl", "t2v"):
        export_text_encoder(ex, pipe.text_encoder, out / "text_encoder", False,
                            torch.int64 if family == "sdxl" else torch.int32)
    if family == "sdxl":
        export_text_encoder(ex, pipe.text_encoder_2, out / "text_encoder_2", True, torch.int64)
        te_dim = pipe.text_encoder_2.config.projection_dim
        export_unet(ex, pipe.unet, out / "unet", "sdxl", text_embeds_dim=te_dim)
        # the stock SDXL VAE overflows in float16 (NaN pictures): keep it float32 unless --fp16-vae
        vae_dtype = None if fp16_vae else torch.float32
        export_vae(ex, pipe.vae, out, dtype=vae_dtype)
    elif family == "sd":
        export_unet(ex, pipe.unet, out / "unet", "sd")
        export_vae(ex, pipe.vae, out)
    elif family == "ddpm":
        export_unet(ex, pipe.unet, out / "unet", "uncond")
    elif family == "t2v":
        export_unet(ex, pipe.unet, out / "unet", "t2v", frames=16 if pipe.unet.config.sample_size >= 32 else 4)
        export_vae(ex, pipe.vae, out, encoder=False)
    elif family == "svd":
        export_svd(pipe, out, ex)
    else:
        raise ValueError(family)


def export_svd(pipe, out, ex):
    w = _wrappers()
    enc = pipe.image_encoder
    size = enc.config.image_size
    ex.export(w["ImageEncoder"](enc), (ex.floats(1, 3, size, size),), out / "image_encoder", ["pixel_values"],
              ["image_embeds"], {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}})
    enc.config.save_pretrained(str(out / "image_encoder"))
    frames = pipe.unet.config.num_frames
    export_unet(ex, pipe.unet, out / "unet", "svd", frames=frames)
    export_vae(ex, pipe.vae, out, temporal=True, decode_frames=frames)


def export_kandinsky(prior_pipe, decoder_pipe, out, ex):
    import numpy as np
    import torch

    w = _wrappers()
    dp, dd = out / "prior", out / "decoder"
    write_configs(prior_pipe, dp)
    write_configs(decoder_pipe, dd)
    te = prior_pipe.text_encoder
    length = getattr(te.config, "max_position_embeddings", 77)
    ids = torch.tensor([[49406, 320, 2368, 49407] + [49407] * (length - 4)] * 2, dtype=torch.int64)
    am = torch.tensor([[1] * 4 + [0] * (length - 4)] * 2, dtype=torch.int64)
    ex.export(w["MaskedTextEncoder"](te), (ids, am), dp / "text_encoder", ["input_ids", "attention_mask"],
              ["text_embeds", "last_hidden_state"],
              {"input_ids": {0: "b"}, "attention_mask": {0: "b"}, "text_embeds": {0: "b"}, "last_hidden_state": {0: "b"}})
    te.config.save_pretrained(str(dp / "text_encoder"))
    ie = prior_pipe.image_encoder
    size = ie.config.image_size
    ex.export(w["ImageEncoder"](ie), (ex.floats(1, 3, size, size),), dp / "image_encoder", ["pixel_values"],
              ["image_embeds"], {"pixel_values": {0: "b"}, "image_embeds": {0: "b"}})
    ie.config.save_pretrained(str(dp / "image_encoder"))
    prior = prior_pipe.prior
    d = prior.config.embedding_dim
    text_dim = te.config.hidden_size
    ex.export(w["Prior"](prior), (ex.floats(2, d), torch.tensor([500.0, 500.0]), ex.floats(2, d),
                                  ex.floats(2, length, text_dim), am.bool()),
              dp / "prior", ["hidden_states", "timestep", "proj_embedding", "encoder_hidden_states", "attention_mask"],
              ["predicted_image_embedding"],
              {"hidden_states": {0: "b"}, "timestep": {0: "b"}, "proj_embedding": {0: "b"},
               "encoder_hidden_states": {0: "b"}, "attention_mask": {0: "b"}, "predicted_image_embedding": {0: "b"}})
    prior.save_config(str(dp / "prior"))
    # PriorTransformer.post_process_latents (latents * clip_std + clip_mean) is not in the graph: the engine reads
    # the statistics from prior/prior/ (KandinskyV22Prior)
    for stat in ("clip_mean", "clip_std"):
        v = getattr(prior, stat).detach().float().cpu().numpy().reshape(-1)
        np.save(str(dp / "prior" / f"{stat}.npy"), v.astype(np.float32))
    unet = decoder_pipe.unet
    export_unet(ex, unet, dd / "unet", "kandinsky", image_embeds_dim=unet.config.encoder_hid_dim or d)
    movq = decoder_pipe.movq
    f = 2 ** (len(movq.config.block_out_channels) - 1)
    size = 64 if f >= 8 else 32
    ex.export(w["MovqEncoder"](movq), ((torch.rand(1, 3, size, size) * 2 - 1).to(ex.device, ex.dtype),),
              dd / "movq_encoder", ["sample"], ["latent_sample"],
              {"sample": {0: "b", 2: "H", 3: "W"}, "latent_sample": {0: "b", 2: "h", 3: "w"}})
    ex.export(w["MovqDecoder"](movq), (ex.floats(1, movq.config.latent_channels, size // f, size // f),),
              dd / "movq_decoder", ["latent_sample"], ["sample"],
              {"latent_sample": {0: "b", 2: "h", 3: "w"}, "sample": {0: "b", 2: "H", 3: "W"}})
    for sub in ("movq", "movq_decoder", "movq_encoder"):
        movq.save_config(str(dd / sub))


# ---------------------------------------------------------------------------------------------- loading

def family_of(class_name, forced=None):
    if forced and forced != "auto":
        return forced
    if class_name == "KandinskyV22PriorPipeline":
        raise UsageError("that is the Kandinsky 2.2 prior: give the decoder as MODEL and the prior with --prior")
    fam = CLASS_FAMILY.get(class_name)
    if fam is None:
        raise UsageError(f"pipeline class '{class_name}' is not one the engine runs; known: "
                         + ", ".join(sorted(CLASS_FAMILY)) + " (or force one with --family)")
    return fam


def load_pipeline(src, args):
    """The diffusers pipeline at src (folder or hub id) in float32 on the CPU, and its family."""
    import torch
    from diffusers import DiffusionPipeline

    if src.startswith("random:"):
        # full-size architectures with random weights, for benchmarks without a download (see random_pipelines)
        name = src[len("random:"):]
        pipes = random_pipelines(name)
        for p in pipes.values():
            p.set_progress_bar_config(disable=True)
        log(f"random-weight pipeline {name} ({type(pipes['main']).__name__})")
        return ("sdxl" if name == "sdxl" else "sd"), pipes
    if src.startswith("tiny:"):
        # the tool's own tiny random pipelines (the fixtures' weights, see tiny_pipelines)
        name = src[len("tiny:"):]
        if name not in ("sd", "sd-inpaint", "sd-lcm", "sdxl", "ddpm", "t2v", "svd", "kandinsky"):
            raise UsageError(f"unknown tiny pipeline '{name}'")
        pipes = tiny_pipelines(name)
        for p in pipes.values():
            if hasattr(p, "set_progress_bar_config"):
                p.set_progress_bar_config(disable=True)
        log(f"tiny pipeline {name} ({type(pipes['main']).__name__})")
        return ("sd" if name.startswith("sd-") else name), pipes
    kw = {}
    if args.revision:
        kw["revision"] = args.revision
    if args.variant:
        kw["variant"] = args.variant
    cfg = DiffusionPipeline.load_config(src, **({"revision": args.revision} if args.revision else {}))
    family = family_of(cfg.get("_class_name"), args.family)
    log(f"loading {src} ({cfg.get('_class_name')}, family {family})")
    if family == "sd":
        kw["safety_checker"] = None  # not part of the export (and a large download)
    pipe = DiffusionPipeline.from_pretrained(src, torch_dtype=torch.float32, **kw)
    kw.pop("safety_checker", None)
    pipes = {"main": pipe}
    if family == "kandinsky":
        if not args.prior:
            raise UsageError("Kandinsky 2.2 needs the prior too: --prior kandinsky-community/kandinsky-2-2-prior")
        log(f"loading prior {args.prior}")
        pipes["prior"] = DiffusionPipeline.from_pretrained(args.prior, torch_dtype=torch.float32, **kw)
    for p in pipes.values():
        if hasattr(p, "set_progress_bar_config"):
            p.set_progress_bar_config(disable=True)
    return family, pipes


# ---------------------------------------------------------------------------------------------- reference cases

class Recorder:
    """Records every Gaussian draw of a diffusers call (randn_tensor patched in every diffusers module) and the
    latents after each step."""

    def __init__(self):
        from diffusers.utils import torch_utils

        self.orig = torch_utils.randn_tensor
        self.draws = []
        self.steps = []

    def randn(self, shape, generator=None, device=None, dtype=None, layout=None, **kw):
        t = self.orig(shape, generator=generator, device=device, dtype=dtype, layout=layout, **kw)
        self.draws.append(t.detach().float().cpu().numpy().copy())
        return t

    def __enter__(self):
        self.patched = []
        self.patch()
        return self

    def patch(self):
        """Points every loaded diffusers module's randn_tensor at the recorder (idempotent)."""
        for name, mod in list(sys.modules.items()):
            if mod is None or not name.startswith("diffusers"):
                continue
            if getattr(mod, "randn_tensor", None) is self.orig:
                setattr(mod, "randn_tensor", self.randn)
                self.patched.append(mod)

    def __exit__(self, *exc):
        for mod in self.patched:
            setattr(mod, "randn_tensor", self.orig)
        return False

    def on_step_end(self, pipe, i, t, kw):
        self.steps.append(kw["latents"].detach().float().cpu().numpy().copy())
        return kw

    def on_step_legacy(self, i, t, latents):
        self.steps.append(latents.detach().float().cpu().numpy().copy())

    def step_kwargs(self, pipe):
        """callback_on_step_end where the pipeline has it, else the legacy callback."""
        import inspect

        params = inspect.signature(pipe.__call__).parameters
        if "callback_on_step_end" in params:
            return {"callback_on_step_end": self.on_step_end}
        if "callback" in params:
            return {"callback": self.on_step_legacy, "callback_steps": 1}
        return {}


def scheduler_config(s):
    c = dict(s.config)
    c["_class_name"] = type(s).__name__
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in c.items()}


def key_values(pairs, option):
    """KEY=VALUE arguments, VALUE as JSON (a bare word is a string): {"use_karras_sigmas": true, ...}."""
    out = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} takes KEY=VALUE, got '{pair}'")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def set_scheduler(pipe, args):
    """--scheduler (a class or short name), --timestep-spacing and --scheduler-config KEY=VALUE, applied as
    diffusers' from_config(pipe.scheduler.config, **overrides) (the way a user swaps a pipeline's scheduler)."""
    extra = key_values(args.scheduler_config, "--scheduler-config")
    if not args.scheduler and not args.timestep_spacing and not extra:
        return
    import diffusers

    name, over = SCHEDULER_ALIASES.get((args.scheduler or "").lower(), (args.scheduler, {}))
    cls = getattr(diffusers, name) if name else type(pipe.scheduler)
    over = dict(over)
    if args.timestep_spacing:
        over["timestep_spacing"] = args.timestep_spacing
    over.update(extra)
    pipe.scheduler = cls.from_config(pipe.scheduler.config, **over)


def set_vae_config(pipes, args):
    """--vae-config KEY=VALUE on the pipeline's VAE (e.g. Playground v2.5's latents_mean / latents_std, which the
    SDXL pipeline applies when present)."""
    extra = key_values(args.vae_config, "--vae-config")
    if extra:
        vae = getattr(pipes["main"], "vae", None)
        if vae is None:
            raise UsageError("--vae-config: this pipeline has no vae")
        vae.register_to_config(**extra)


def test_image(size_hw, seed=0):
    """A deterministic picture in [0, 1], HWC float32 (the fixtures' generator)."""
    import numpy as np

    h, w = size_hw
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    y /= max(h - 1, 1)
    x /= max(w - 1, 1)
    img = np.stack([0.5 + 0.5 * np.sin(6.0 * x + seed), y, 1.0 - x * y], -1)
    img[((x - 0.55) ** 2 + (y - 0.45) ** 2) < 0.08] = [0.9, 0.8, 0.1]
    return img.astype(np.float32)


def test_mask(size_hw):
    import numpy as np

    h, w = size_hw
    m = np.zeros((h, w), np.float32)
    m[h // 4:h // 4 + h // 2, w // 4:w // 4 + w // 2] = 1.0  # 1 = repaint
    return m


def load_image(path, size_hw, mask=False):
    import numpy as np
    from PIL import Image

    im = Image.open(path)
    im = im.convert("L" if mask else "RGB").resize((size_hw[1], size_hw[0]), Image.LANCZOS)
    a = np.asarray(im).astype(np.float32) / 255.0
    return (a > 0.5).astype(np.float32) if mask else a


def default_size(family, pipes):
    """The pipeline's default (height, width): the UNet's sample_size times the VAE factor."""
    pipe = pipes["main"]
    if family == "ddpm":
        s = pipe.unet.config.sample_size
        return (s, s) if isinstance(s, int) else tuple(s)
    if family == "kandinsky":
        return (512, 512)
    vae = pipe.vae
    f = 2 ** (len(vae.config.block_out_channels) - 1)
    s = pipe.unet.config.sample_size
    s = (s, s) if isinstance(s, int) else tuple(s)
    return (s[0] * f, s[1] * f)  # diffusers' call default (SVD: 768x768; pass --height 576 --width 1024)


def record_case(family, pipes, out, name, args):
    """Runs the diffusers pipeline once with every draw recorded; writes out/cases/<name>/ (fixture format)."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    for p in pipes.values():
        p.to(args.device)
        if getattr(p, "safety_checker", None) is not None:
            p.safety_checker = None  # it may black out a picture: the case must hold the pipeline's own output
    h, w = (args.height, args.width) if args.height and args.width else default_size(family, pipes)
    cdir = Path(out) / "cases" / name
    if cdir.exists():
        shutil.rmtree(cdir)
    cdir.mkdir(parents=True)
    set_vae_config(pipes, args)
    meta, go, after = prepare_case(family, pipes, (h, w), args)
    meta = {**meta, "recorded_by": "tools/export/export_onnx.py", "seed": args.seed}
    if args.vae_config:
        meta["vae_config"] = key_values(args.vae_config, "--vae-config")
    log(f"recording case {name}: {meta['pipeline']}, {h}x{w}, {args.steps} steps, on {args.device}")
    rec = Recorder()
    with rec:
        torch.manual_seed(args.seed)
        rec.patch()  # modules imported since __enter__ (pipeline classes are imported lazily)
        outputs = go(rec)
    outputs.update(after())
    write_case(cdir, meta, rec, outputs)
    return cdir


def prepare_case(family, pipes, size_hw, args):
    """The case's call: (meta for case.json, go(recorder) -> outputs, after() -> extra outputs without draws)."""
    import numpy as np
    import torch

    dev = args.device
    h, w = size_hw
    pipe = pipes["main"]
    prompt, neg, steps, seed = args.prompt, args.negative_prompt, args.steps, args.seed

    def gen(offset=0):
        return torch.Generator(device="cpu").manual_seed(seed + offset)

    def image_input():
        return load_image(args.image, (h, w)) if args.image else test_image((h, w))

    def to_torch_image(img):
        return torch.from_numpy(img).permute(2, 0, 1)[None].to(dev)

    if family in ("sd", "sdxl"):
        from diffusers import (StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline,
                               StableDiffusionPipeline, StableDiffusionXLImg2ImgPipeline,
                               StableDiffusionXLInpaintPipeline, StableDiffusionXLPipeline)

        task = "inpaint" if pipe.unet.config.in_channels == 9 else args.case_task
        cls = {("sd", "txt2img"): StableDiffusionPipeline, ("sd", "img2img"): StableDiffusionImg2ImgPipeline,
               ("sd", "inpaint"): StableDiffusionInpaintPipeline, ("sdxl", "txt2img"): StableDiffusionXLPipeline,
               ("sdxl", "img2img"): StableDiffusionXLImg2ImgPipeline,
               ("sdxl", "inpaint"): StableDiffusionXLInpaintPipeline}[(family, task)]
        lcm = type(pipe).__name__ == "LatentConsistencyModelPipeline"
        if lcm and task == "txt2img":
            cls = type(pipe)  # record the model's own pipeline (it takes no negative prompt)
        if type(pipe) is cls:
            run = pipe
        else:
            params = _init_params(cls)
            run = cls(**{k: v for k, v in pipe.components.items() if k in params})
            run.set_progress_bar_config(disable=True)
        set_scheduler(run, args)
        guidance = args.guidance if args.guidance is not None else (5.0 if family == "sdxl" else 7.5)
        meta = {"pipeline": cls.__name__, "prompt": prompt, "negative_prompt": neg, "height": h, "width": w,
                "num_inference_steps": steps, "guidance_scale": guidance, "scheduler": scheduler_config(run.scheduler)}
        call = dict(prompt=prompt, negative_prompt=neg, num_inference_steps=steps, guidance_scale=guidance,
                    output_type="np")
        if cls.__name__ == "LatentConsistencyModelPipeline":
            del call["negative_prompt"]
            meta["negative_prompt"] = None
        inputs = {}
        if task == "txt2img":
            call.update(height=h, width=w)
        else:
            inputs["input_image"] = image_input()
            call.update(image=to_torch_image(inputs["input_image"]), strength=args.strength)
            meta.update(strength=args.strength, input_image="input_image.npy (HWC float in [0,1])")
            if task == "inpaint":
                inputs["mask"] = load_image(args.mask, (h, w), mask=True) if args.mask else test_mask((h, w))
                call.update(mask_image=torch.from_numpy(inputs["mask"])[None, None].to(dev), height=h, width=w)
                meta.update(mask="mask.npy (HW, 1 = repaint)", unet_in_channels=pipe.unet.config.in_channels)

        def go(rec):
            return {**inputs, "image": run(generator=gen(), **call, **rec.step_kwargs(run)).images}

        def after():
            # the prompt embeddings and timesteps, to tell a text-encoder problem from a denoising one
            extra = {"timesteps": run.scheduler.timesteps.float()}
            # diffusers: no second pass when the UNet embeds the guidance scale (time_cond_proj_dim)
            cfg = guidance > 1.0 and run.unet.config.get("time_cond_proj_dim") is None
            try:
                with torch.no_grad():
                    if family == "sd":
                        pe, npe = run.encode_prompt(prompt, dev, 1, cfg, neg)
                        extra["prompt_embeds"] = pe
                        if cfg and npe is not None:
                            extra["negative_prompt_embeds"] = npe
                    else:
                        pe, npe, ppe, nppe = run.encode_prompt(prompt, device=dev, num_images_per_prompt=1,
                                                               do_classifier_free_guidance=cfg, negative_prompt=neg)
                        extra.update(prompt_embeds=pe, pooled_prompt_embeds=ppe)
                        if cfg and npe is not None:
                            extra.update(negative_prompt_embeds=npe, negative_pooled_prompt_embeds=nppe)
            except Exception as e:  # noqa: BLE001
                log(f"  (prompt embeddings not recorded: {type(e).__name__}: {e})")
            return extra
        return meta, go, after

    if family == "ddpm":
        from diffusers import DDIMPipeline, DDIMScheduler, DDPMPipeline

        if (args.scheduler or "").lower() in ("ddim", "ddimscheduler"):
            run = DDIMPipeline(unet=pipe.unet, scheduler=DDIMScheduler.from_config(pipe.scheduler.config))
        elif isinstance(pipe, (DDPMPipeline, DDIMPipeline)):
            run = pipe
        else:
            run = DDPMPipeline(unet=pipe.unet, scheduler=pipe.scheduler)
        run.set_progress_bar_config(disable=True)
        meta = {"pipeline": type(run).__name__, "num_inference_steps": steps, "batch_size": 1,
                "scheduler": scheduler_config(run.scheduler)}
        call = dict(batch_size=1, num_inference_steps=steps, output_type="np")
        if isinstance(run, DDIMPipeline):
            call["eta"] = 0.0
            meta["eta"] = 0.0
        return meta, lambda rec: {"image": run(generator=gen(), **call).images}, dict

    if family == "t2v":
        set_scheduler(pipe, args)
        frames = args.num_frames or 16
        guidance = args.guidance if args.guidance is not None else 9.0
        meta = {"pipeline": "TextToVideoSDPipeline", "prompt": prompt, "negative_prompt": neg or "",
                "num_frames": frames, "height": h, "width": w, "num_inference_steps": steps,
                "guidance_scale": guidance, "scheduler": scheduler_config(pipe.scheduler),
                "layout": "latents (B, C, F, H, W); frames (B, F, H, W, C)"}

        def go(rec):
            o = pipe(prompt, negative_prompt=neg or "", num_frames=frames, height=h, width=w,
                     num_inference_steps=steps, guidance_scale=guidance, generator=gen(), output_type="np",
                     **rec.step_kwargs(pipe))
            return {"frames": np.asarray(o.frames)}
        return meta, go, dict

    if family == "svd":
        set_scheduler(pipe, args)
        frames = args.num_frames or pipe.unet.config.num_frames
        img = image_input()
        lo, hi = args.min_guidance, args.max_guidance
        meta = {"pipeline": "StableVideoDiffusionPipeline", "height": h, "width": w, "num_frames": frames,
                "num_inference_steps": steps, "min_guidance_scale": lo, "max_guidance_scale": hi, "fps": args.fps,
                "motion_bucket_id": args.motion_bucket_id, "noise_aug_strength": args.noise_aug_strength,
                "decode_chunk_size": frames, "scheduler": scheduler_config(pipe.scheduler),
                "note": "input image given as a tensor in [0,1]; added_time_ids = [fps-1, motion_bucket_id,"
                        " noise_aug_strength]; latents (B, F, C, H, W)"}

        def go(rec):
            o = pipe(to_torch_image(img), height=h, width=w, num_frames=frames, num_inference_steps=steps,
                     min_guidance_scale=lo, max_guidance_scale=hi, fps=args.fps,
                     motion_bucket_id=args.motion_bucket_id, noise_aug_strength=args.noise_aug_strength,
                     decode_chunk_size=frames, generator=gen(), output_type="np", **rec.step_kwargs(pipe))
            return {"input_image": img, "frames": np.asarray(o.frames)}
        return meta, go, dict

    if family == "kandinsky":
        from diffusers import KandinskyV22Img2ImgPipeline

        prior = pipes["prior"]
        dec = KandinskyV22Img2ImgPipeline(unet=pipe.unet, scheduler=pipe.scheduler, movq=pipe.movq).to(dev)
        dec.set_progress_bar_config(disable=True)
        set_scheduler(dec, args)
        img = image_input()
        guidance = args.guidance if args.guidance is not None else 4.0
        meta = {"pipeline": "KandinskyV22PriorPipeline + KandinskyV22Img2ImgPipeline", "prompt": prompt,
                "negative_prior_prompt": neg or "", "prior_steps": args.prior_steps,
                "prior_guidance_scale": args.prior_guidance, "decoder_steps": steps, "guidance_scale": guidance,
                "strength": args.strength, "height": h, "width": w,
                "prior_scheduler": scheduler_config(prior.scheduler), "decoder_scheduler": scheduler_config(dec.scheduler)}

        def go(rec):
            pr = prior(prompt, negative_prompt=neg or "", num_inference_steps=args.prior_steps,
                       guidance_scale=args.prior_guidance, generator=gen(), output_type="pt")
            o = dec(image=to_torch_image(img), image_embeds=pr.image_embeds,
                    negative_image_embeds=pr.negative_image_embeds, height=h, width=w, num_inference_steps=steps,
                    guidance_scale=guidance, strength=args.strength, generator=gen(1), output_type="np",
                    **rec.step_kwargs(dec))
            return {"input_image": img, "image_embeds": pr.image_embeds,
                    "negative_image_embeds": pr.negative_image_embeds, "image": o.images}
        return meta, go, dict
    raise ValueError(family)


def _init_params(cls):
    import inspect

    return set(inspect.signature(cls.__init__).parameters)


def write_case(cdir, meta, rec, outputs):
    import numpy as np

    def save(name, arr):
        if hasattr(arr, "detach"):
            arr = arr.detach().float().cpu().numpy()
        np.save(str(cdir / f"{name}.npy"), np.ascontiguousarray(np.asarray(arr)))

    for i, n in enumerate(rec.draws):
        save(f"noise_{i:03d}", n)
    for i, s in enumerate(rec.steps):
        save(f"latents_step_{i:03d}", s)
    stats = {}
    for k, v in outputs.items():
        v = v.detach().float().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)
        save(k, v.astype(np.float32) if v.dtype.kind == "f" else v)
        stats[k] = {"shape": list(v.shape), "min": float(v.min()), "max": float(v.max()), "mean": float(v.mean())}
        if k in ("image", "frames"):
            stats[k]["frac_saturated"] = float(((v <= 0.0) | (v >= 1.0)).mean())
    meta = dict(meta)
    meta["noise_draws"] = [list(n.shape) for n in rec.draws]
    meta["latents_steps_recorded"] = len(rec.steps)
    meta["outputs"] = stats
    (cdir / "case.json").write_text(json.dumps(meta, indent=1, default=str))
    picture = outputs.get("image")
    if picture is None and "frames" in outputs:
        picture = np.asarray(outputs["frames"])[0]
    if picture is not None:
        try:
            from PIL import Image

            a = (np.clip(np.asarray(picture)[0], 0, 1) * 255).round().astype(np.uint8)
            Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a).save(str(cdir / "image.png"))
        except Exception as e:  # noqa: BLE001
            log(f"  (no image.png: {e})")
    log(f"  case {cdir.name}: {len(rec.draws)} noise draws, {len(rec.steps)} steps -> {cdir}")


# ---------------------------------------------------------------------------------------------- scheduler traces

# Scheduler-only reference runs for what a pipeline case cannot carry (custom timesteps / sigmas, step arguments
# such as TCD's eta, learned variances): (name, class, config overrides, set_timesteps arguments, step arguments,
# model output layout: None = the sample's channels, "double" = twice them (mean + variance), "six" = 6 for a
# 3-channel sample (DeepFloyd IF's layout, which DPM-Solver cuts to [:, :3])).
SCHEDULER_TRACES = [
    ("euler_custom_timesteps", "EulerDiscreteScheduler", {}, {"timesteps": [999, 850, 600, 300, 50]}, {}, None),
    ("euler_custom_sigmas", "EulerDiscreteScheduler", {}, {"sigmas": [14.6, 8.0, 3.0, 1.0, 0.3, 0.0]}, {}, None),
    ("heun_custom_timesteps", "HeunDiscreteScheduler", {}, {"timesteps": [999, 700, 400, 100]}, {}, None),
    ("ddpm_custom_timesteps", "DDPMScheduler", {}, {"timesteps": [900, 700, 500, 250, 50]}, {}, None),
    ("ddpm_learned_range", "DDPMScheduler", {"variance_type": "learned_range"}, {"num_inference_steps": 5}, {},
     "double"),
    ("ddpm_learned", "DDPMScheduler", {"variance_type": "learned"}, {"num_inference_steps": 5}, {}, "double"),
    ("lcm_custom_timesteps", "LCMScheduler", {}, {"timesteps": [999, 759, 499, 259]}, {}, None),
    ("tcd_custom_timesteps", "TCDScheduler", {}, {"timesteps": [999, 759, 499, 259]}, {"eta": 0.0}, None),
    ("tcd_eta", "TCDScheduler", {}, {"num_inference_steps": 4}, {"eta": 0.3}, None),
    ("dpmpp_2m_custom_timesteps", "DPMSolverMultistepScheduler", {}, {"timesteps": [999, 800, 500, 200, 20]}, {},
     None),
    ("dpmpp_2s_custom_timesteps", "DPMSolverSinglestepScheduler", {}, {"timesteps": [999, 800, 500, 200]}, {},
     None),
    ("dpmpp_2m_learned_range", "DPMSolverMultistepScheduler", {"variance_type": "learned_range"},
     {"num_inference_steps": 5}, {}, "six"),
    ("dpmsolver_thresholding", "DPMSolverMultistepScheduler",
     {"algorithm_type": "dpmsolver", "final_sigmas_type": "sigma_min", "thresholding": True,
      "sample_max_value": 1.5, "solver_order": 3}, {"num_inference_steps": 6}, {}, None),
    ("deis_thresholding", "DEISMultistepScheduler", {"thresholding": True, "sample_max_value": 1.5},
     {"num_inference_steps": 5}, {}, None),
    ("edm_dpmpp_sde", "EDMDPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"},
     {"num_inference_steps": 5}, {}, None),
    ("edm_dpmpp_exponential", "EDMDPMSolverMultistepScheduler", {"sigma_schedule": "exponential"},
     {"num_inference_steps": 5}, {}, None),
    ("edm_euler_exponential", "EDMEulerScheduler", {"sigma_schedule": "exponential",
                                                   "final_sigmas_type": "sigma_min"},
     {"num_inference_steps": 5}, {}, None),
]
# Stable Diffusion's training schedule, the base every traced config starts from
TRACE_BASE = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                  steps_offset=1)
TRACE_MODEL = ("model_output = x_in * (0.9 - 0.0002 * t) + pattern, x_in = scale_model_input(x, t), t the "
               "timestep as a float; with variance: cat([that, variance], dim=1)")


def record_scheduler_traces(out):
    """Runs every SCHEDULER_TRACES entry with diffusers and a synthetic model, every Gaussian draw recorded, into
    out/<name>/: trace.json (config, call, timesteps, sigmas, init_noise_sigma, draws), sample_000.npy (the start),
    pattern.npy (+ variance.npy), noise_NNN.npy, samples.npy (the sample after each step)."""
    import inspect

    import diffusers
    import numpy as np
    import torch

    out = Path(out)
    for name, cls_name, over, call, step_kw, layout in SCHEDULER_TRACES:
        cls = getattr(diffusers, cls_name)
        sched = cls.from_config({**TRACE_BASE, "_class_name": cls_name}, **over)
        sched.set_timesteps(**call)
        torch.manual_seed(0)
        channels = 3 if layout == "six" else 4
        shape = (1, channels, 8, 8)
        pattern = 0.5 * torch.randn(shape)
        variance = None
        if layout == "double":
            variance = torch.tanh(torch.randn(shape))
            if over.get("variance_type") == "learned":
                variance = 0.05 + 0.1 * variance.abs()  # the variance itself, positive
        elif layout == "six":
            variance = torch.tanh(torch.randn(shape))
        x = torch.randn(shape) * sched.init_noise_sigma
        start = x.clone()
        rec = Recorder()
        samples = []
        params = inspect.signature(sched.step).parameters
        kw = dict(step_kw)
        if "generator" in params:
            kw["generator"] = torch.Generator().manual_seed(1)
        with rec:
            rec.patch()
            for t in sched.timesteps:
                x_in = sched.scale_model_input(x, t)
                model_out = x_in * (0.9 - 0.0002 * float(t)) + pattern
                if variance is not None:
                    model_out = torch.cat([model_out, variance], dim=1)
                x = sched.step(model_out, t, x, **kw).prev_sample
                samples.append(x.detach().clone())
        d = out / name
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        np.save(str(d / "sample_000.npy"), start.numpy().astype(np.float32))
        np.save(str(d / "pattern.npy"), pattern.numpy().astype(np.float32))
        if variance is not None:
            np.save(str(d / "variance.npy"), variance.numpy().astype(np.float32))
        for i, n in enumerate(rec.draws):
            np.save(str(d / f"noise_{i:03d}.npy"), n)
        np.save(str(d / "samples.npy"), torch.stack(samples).numpy().astype(np.float32))
        meta = {"scheduler": scheduler_config(sched), "set_timesteps": call, "step": step_kw, "model": TRACE_MODEL,
                "shape": list(shape), "timesteps": [float(t) for t in sched.timesteps],
                "sigmas": [float(v) for v in sched.sigmas] if hasattr(sched, "sigmas") else None,
                "init_noise_sigma": float(sched.init_noise_sigma), "noise_draws": [list(n.shape) for n in rec.draws],
                "recorded_by": "tools/export/export_onnx.py --scheduler-traces"}
        (d / "trace.json").write_text(json.dumps(meta, indent=1, default=str))
        log(f"  trace {name}: {len(samples)} steps, {len(rec.draws)} noise draws")
    return 0


# ---------------------------------------------------------------------------------------------- dry run

def tiny_pipelines(family):
    """Tiny random-weight pipelines (diffusers' test configurations, the real CLIP vocabulary), as the fixtures."""
    import torch
    from torch import nn
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    tok_dir = REPO / "testdata" / "assets" / "clip-tokenizer"
    tok2_dir = REPO / "testdata" / "assets" / "clip-tokenizer-2"
    if not (tok_dir / "vocab.json").exists():
        raise UsageError(f"--dry-run needs the CLIP tokenizer in {tok_dir}")

    def tokenizer(second=False):
        return CLIPTokenizer.from_pretrained(str(tok2_dir if second else tok_dir))

    def eager(cls, cfg):
        try:
            return cls._from_config(cfg, attn_implementation="eager").eval()
        except Exception:  # noqa: BLE001
            return cls(cfg).eval()

    def clip_text(seed, hidden, layers=2, with_proj=False):
        cfg = CLIPTextConfig(vocab_size=49408, hidden_size=hidden, intermediate_size=2 * hidden,
                             num_hidden_layers=layers, num_attention_heads=2, max_position_embeddings=77,
                             bos_token_id=49406, eos_token_id=49407, pad_token_id=1, hidden_act="quick_gelu",
                             projection_dim=hidden, layer_norm_eps=1e-5)
        torch.manual_seed(seed)
        return eager(CLIPTextModelWithProjection if with_proj else CLIPTextModel, cfg)

    def vae_kl(scaling=0.18215):
        from diffusers import AutoencoderKL

        torch.manual_seed(0)
        return AutoencoderKL(block_out_channels=[8, 16], in_channels=3, out_channels=3,
                             down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                             latent_channels=4, norm_num_groups=4, sample_size=32, scaling_factor=scaling).eval()

    def sd_unet(in_channels=4, **extra):
        """diffusers' tiny SD test UNet; in_channels 9 for inpainting, time_cond_proj_dim for LCM distillation."""
        from diffusers import UNet2DConditionModel

        torch.manual_seed(0)
        return UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=16,
                                    in_channels=in_channels, out_channels=4,
                                    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=16,
                                    attention_head_dim=4, norm_num_groups=4, **extra).eval()

    if family == "sd":
        from diffusers import PNDMScheduler, StableDiffusionPipeline

        unet = sd_unet()
        sched = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              num_train_timesteps=1000, set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1)
        return {"main": StableDiffusionPipeline(unet=unet, vae=vae_kl(), text_encoder=clip_text(0, 16),
                                                tokenizer=tokenizer(), scheduler=sched, safety_checker=None,
                                                feature_extractor=None, requires_safety_checker=False)}
    if family == "sd-inpaint":
        # a 9-channel inpainting UNet (latents + mask + masked-image latents), as runwayml's inpainting models
        from diffusers import StableDiffusionInpaintPipeline

        sd = tiny_pipelines("sd")["main"]
        unet = sd_unet(in_channels=9)
        return {"main": StableDiffusionInpaintPipeline(unet=unet, vae=sd.vae, text_encoder=sd.text_encoder,
                                                       tokenizer=sd.tokenizer, scheduler=sd.scheduler,
                                                       safety_checker=None, feature_extractor=None,
                                                       requires_safety_checker=False)}
    if family == "sd-lcm":
        # an LCM-distilled UNet (time_cond_proj_dim, as SimianLuo/LCM_Dreamshaper_v7) with its LCMScheduler config
        from diffusers import LatentConsistencyModelPipeline, LCMScheduler

        sd = tiny_pipelines("sd")["main"]
        unet = sd_unet(time_cond_proj_dim=32)
        sched = LCMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                             num_train_timesteps=1000, original_inference_steps=50, set_alpha_to_one=True,
                             steps_offset=1, timestep_scaling=10.0, timestep_spacing="leading", clip_sample=False)
        return {"main": LatentConsistencyModelPipeline(vae=sd.vae, text_encoder=sd.text_encoder, tokenizer=sd.tokenizer,
                                                       unet=unet, scheduler=sched, safety_checker=None,
                                                       feature_extractor=None, requires_safety_checker=False)}
    if family == "sdxl":
        from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel

        torch.manual_seed(0)
        unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=4,
                                    out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(2, 4),
                                    use_linear_projection=True, addition_embed_type="text_time",
                                    addition_time_embed_dim=8, transformer_layers_per_block=(1, 2),
                                    projection_class_embeddings_input_dim=6 * 8 + 16, cross_attention_dim=32,
                                    norm_num_groups=4).eval()
        sched = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       num_train_timesteps=1000, steps_offset=1, timestep_spacing="leading")
        return {"main": StableDiffusionXLPipeline(unet=unet, vae=vae_kl(0.13025), text_encoder=clip_text(0, 16, 3),
                                                  text_encoder_2=clip_text(1, 16, 3, with_proj=True),
                                                  tokenizer=tokenizer(), tokenizer_2=tokenizer(True), scheduler=sched)}
    if family == "ddpm":
        from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

        torch.manual_seed(0)
        unet = UNet2DModel(block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4, sample_size=16,
                           in_channels=3, out_channels=3, down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                           up_block_types=("AttnUpBlock2D", "UpBlock2D")).eval()
        return {"main": DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=1000))}
    if family == "t2v":
        import diffusers
        from diffusers import DDIMScheduler, UNet3DConditionModel

        cls = getattr(diffusers, "TextToVideoSDPipeline", None)
        if cls is None:
            from diffusers.pipelines.deprecated.text_to_video_synthesis.pipeline_text_to_video_synth import (
                TextToVideoSDPipeline as cls)
        torch.manual_seed(0)
        unet = UNet3DConditionModel(block_out_channels=(8, 16), norm_num_groups=4,
                                    down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
                                    up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"), cross_attention_dim=16,
                                    attention_head_dim=4, out_channels=4, in_channels=4, layers_per_block=1,
                                    sample_size=16).eval()
        sched = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False)
        return {"main": cls(vae=vae_kl(), text_encoder=clip_text(0, 16), tokenizer=tokenizer(), unet=unet,
                            scheduler=sched)}
    if family == "svd":
        from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                               UNetSpatioTemporalConditionModel)
        from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

        torch.manual_seed(0)
        unet = UNetSpatioTemporalConditionModel(
            block_out_channels=(32, 64), layers_per_block=2, sample_size=16, in_channels=8, out_channels=4,
            down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
            up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"), cross_attention_dim=32,
            num_attention_heads=8, projection_class_embeddings_input_dim=96, addition_time_embed_dim=32,
            num_frames=4).eval()
        sched = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       interpolation_type="linear", num_train_timesteps=1000,
                                       prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002,
                                       steps_offset=1, timestep_spacing="leading", timestep_type="continuous",
                                       use_karras_sigmas=True)
        torch.manual_seed(0)
        vae = AutoencoderKLTemporalDecoder(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                                           down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
                                           latent_channels=4).eval()
        torch.manual_seed(0)
        enc = eager(CLIPVisionModelWithProjection, CLIPVisionConfig(
            hidden_size=32, projection_dim=32, num_hidden_layers=5, num_attention_heads=4, image_size=32,
            intermediate_size=37, patch_size=1))
        fe = CLIPImageProcessor(crop_size=32, size=32)
        return {"main": StableVideoDiffusionPipeline(vae=vae, image_encoder=enc, unet=unet, scheduler=sched,
                                                     feature_extractor=fe)}
    if family == "kandinsky":
        from diffusers import (DDIMScheduler, KandinskyV22Pipeline, KandinskyV22PriorPipeline, PriorTransformer,
                               UnCLIPScheduler, UNet2DConditionModel, VQModel)
        from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

        hid = 16
        torch.manual_seed(0)
        prior = PriorTransformer(num_attention_heads=2, attention_head_dim=8, embedding_dim=hid, num_layers=1).eval()
        # non-trivial statistics, so that the exported clip_mean.npy / clip_std.npy matter
        prior.clip_mean = nn.Parameter(torch.linspace(-0.1, 0.1, hid)[None])
        prior.clip_std = nn.Parameter(torch.linspace(0.9, 1.1, hid)[None])
        torch.manual_seed(0)
        ie = eager(CLIPVisionModelWithProjection, CLIPVisionConfig(
            hidden_size=hid, image_size=32, projection_dim=hid, intermediate_size=32, num_attention_heads=2,
            num_channels=3, num_hidden_layers=2, patch_size=8))
        ip = CLIPImageProcessor(crop_size=32, do_center_crop=True, do_normalize=True, do_resize=True,
                                image_mean=[0.48145466, 0.4578275, 0.40821073],
                                image_std=[0.26862954, 0.26130258, 0.27577711], resample=3, size=32)
        psched = UnCLIPScheduler(variance_type="fixed_small_log", prediction_type="sample", num_train_timesteps=1000,
                                 clip_sample=True, clip_sample_range=10.0)
        ppipe = KandinskyV22PriorPipeline(prior=prior, image_encoder=ie, text_encoder=clip_text(0, hid, with_proj=True),
                                          tokenizer=tokenizer(), scheduler=psched, image_processor=ip)
        torch.manual_seed(0)
        unet = UNet2DConditionModel(in_channels=4, out_channels=8, addition_embed_type="image",
                                    down_block_types=("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"),
                                    up_block_types=("SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
                                    mid_block_type="UNetMidBlock2DSimpleCrossAttn", block_out_channels=(16, 32),
                                    layers_per_block=1, encoder_hid_dim=hid, encoder_hid_dim_type="image_proj",
                                    cross_attention_dim=16, attention_head_dim=4, resnet_time_scale_shift="scale_shift",
                                    class_embed_type=None, norm_num_groups=8, sample_size=16).eval()
        torch.manual_seed(0)
        movq = VQModel(block_out_channels=[32, 64], down_block_types=["DownEncoderBlock2D", "AttnDownEncoderBlock2D"],
                       in_channels=3, latent_channels=4, layers_per_block=1, norm_num_groups=8, norm_type="spatial",
                       num_vq_embeddings=12, out_channels=3,
                       up_block_types=["AttnUpDecoderBlock2D", "UpDecoderBlock2D"], vq_embed_dim=4).eval()
        dsched = DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear", beta_start=0.00085, beta_end=0.012,
                               clip_sample=False, set_alpha_to_one=False, steps_offset=0, prediction_type="epsilon",
                               thresholding=False)
        return {"main": KandinskyV22Pipeline(unet=unet, scheduler=dsched, movq=movq), "prior": ppipe}
    raise ValueError(family)


def random_pipelines(name):
    """Full-size architectures with seeded random weights, for speed and memory measurements without a download:
    sd-turbo (stabilityai/sd-turbo's configuration: the SD 2.1 UNet, OpenCLIP-H text encoder, SD VAE, Euler with
    trailing spacing; 512x512) and sdxl (stabilityai/stable-diffusion-xl-base-1.0's: CLIP-L + OpenCLIP-bigG, the
    SDXL UNet and VAE; 1024x1024). The pictures are noise; the arithmetic, sizes and costs are the real ones."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    if name not in ("sd-turbo", "sdxl"):
        raise UsageError(f"unknown random pipeline '{name}' (sd-turbo, sdxl)")
    tok_dir = REPO / "testdata" / "assets"

    def clip_text(seed, hidden, layers, heads, act, projection, with_proj=False):
        cfg = CLIPTextConfig(vocab_size=49408, hidden_size=hidden, intermediate_size=4 * hidden,
                             num_hidden_layers=layers, num_attention_heads=heads, max_position_embeddings=77,
                             bos_token_id=49406, eos_token_id=49407, pad_token_id=1, hidden_act=act,
                             projection_dim=projection, layer_norm_eps=1e-5)
        torch.manual_seed(seed)
        return (CLIPTextModelWithProjection if with_proj else CLIPTextModel)(cfg).eval()

    def vae(scaling, sample_size):
        torch.manual_seed(2)
        return AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
                             block_out_channels=(128, 256, 512, 512), norm_num_groups=32,
                             down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                             sample_size=sample_size, scaling_factor=scaling).eval()

    if name == "sd-turbo":
        from diffusers import StableDiffusionPipeline

        torch.manual_seed(1)
        unet = UNet2DConditionModel(
            sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, attention_head_dim=(5, 10, 20, 20),
            cross_attention_dim=1024, use_linear_projection=True, norm_num_groups=32).eval()
        sched = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       num_train_timesteps=1000, prediction_type="epsilon", steps_offset=1,
                                       timestep_spacing="trailing", interpolation_type="linear")
        return {"main": StableDiffusionPipeline(
            unet=unet, vae=vae(0.18215, 512), text_encoder=clip_text(0, 1024, 23, 16, "gelu", 512),
            tokenizer=CLIPTokenizer.from_pretrained(str(tok_dir / "clip-tokenizer-2")), scheduler=sched,
            safety_checker=None, feature_extractor=None, requires_safety_checker=False)}
    from diffusers import StableDiffusionXLPipeline

    torch.manual_seed(1)
    unet = UNet2DConditionModel(
        sample_size=128, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(5, 10, 20),
        transformer_layers_per_block=(1, 2, 10), cross_attention_dim=2048, use_linear_projection=True,
        addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816,
        norm_num_groups=32).eval()
    sched = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                   num_train_timesteps=1000, steps_offset=1, timestep_spacing="leading")
    return {"main": StableDiffusionXLPipeline(
        unet=unet, vae=vae(0.13025, 1024), text_encoder=clip_text(0, 768, 12, 12, "quick_gelu", 768),
        text_encoder_2=clip_text(3, 1280, 32, 20, "gelu", 1280, with_proj=True),
        tokenizer=CLIPTokenizer.from_pretrained(str(tok_dir / "clip-tokenizer")),
        tokenizer_2=CLIPTokenizer.from_pretrained(str(tok_dir / "clip-tokenizer-2")), scheduler=sched)}


def dry_run(out, args):
    """Every family (or --family): tiny random pipeline -> saved as a diffusers folder -> loaded back as a user's
    folder is -> exported -> reference cases recorded, into out/<pipeline>-tiny."""
    families = FAMILIES if args.family in (None, "auto", "all") else (args.family,)
    # the 9-channel inpainting UNet and the LCM-distilled UNet (timestep_cond) are sd-family variants
    tiny_names = [n for f in families for n in ((f, "sd-inpaint", "sd-lcm") if f == "sd" else (f,))]
    results = {}
    for name in tiny_names:
        d = Path(out) / f"{name}-tiny"
        if d.exists():
            shutil.rmtree(d)
        log(f"dry run: {name} -> {d}")
        try:
            with tempfile.TemporaryDirectory(prefix=f"dry-{name}-") as src:
                src = Path(src)
                tiny = tiny_pipelines(name)
                tiny["main"].save_pretrained(str(src / "main"), safe_serialization=True)
                if "prior" in tiny:
                    tiny["prior"].save_pretrained(str(src / "prior"), safe_serialization=True)
                load_args = argparse.Namespace(**vars(args))
                load_args.family = "auto"  # read model_index.json, as for a user's folder
                load_args.prior = str(src / "prior") if "prior" in tiny else None
                fam, pipes = load_pipeline(str(src / "main"), load_args)
                expected = "sd" if name.startswith("sd-") else name
                if fam != expected:
                    raise RuntimeError(f"model_index.json read as family {fam}, expected {expected}")
                ex = Exporter(args.opset, "fp32", "cpu", args.external_data, not args.no_check)
                export_family(fam, pipes, d, ex)
                case_args = argparse.Namespace(**vars(args))
                case_args.device = "cpu"
                case_args.height = case_args.width = 32 if fam != "ddpm" else 16
                case_args.steps = 3
                case_args.num_frames = 4
                case_args.prior_steps = 3
                case = args.record_case or "dry_run"
                record_case(fam, pipes, d, case, case_args)
                if name in ("sd", "sdxl"):
                    # the image-conditioned calls too: the VAE encoder's posterior draw and the forward noise
                    for task in ("img2img", "inpaint"):
                        case_args.case_task = task
                        record_case(fam, pipes, d, f"{case}_{task}", case_args)
            results[name] = "ok"
        except UsageError:
            raise
        except Exception as e:  # noqa: BLE001
            import traceback

            traceback.print_exc()
            results[name] = f"FAILED: {type(e).__name__}: {str(e)[:300]}"
    log("dry run results: " + json.dumps(results))
    log(f"check them with: bin/spark-diffusion validate --model {Path(out) / '<pipeline>-tiny'}")
    return 0 if all(v == "ok" for v in results.values()) else 1


# ---------------------------------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="export_onnx.py", formatter_class=argparse.RawDescriptionHelpFormatter, description=__doc__,
        epilog="See docs/models.md for the commands and job settings of each seed model.")
    p.add_argument("model", nargs="?", metavar="MODEL",
                   help="a diffusers pipeline: local folder or hub id (for Kandinsky 2.2: the decoder), or tiny:FAMILY "
                        "for the tool's tiny random pipelines (the fixtures' weights), or random:sd-turbo | random:sdxl")
    p.add_argument("out", nargs="?", metavar="OUT", help="the folder to write (with --dry-run, the only path)")
    p.add_argument("--family", choices=("auto",) + FAMILIES + ("all",), default="auto",
                   help="force the family instead of reading model_index.json (--dry-run: one family, default all)")
    p.add_argument("--prior", metavar="MODEL", help="Kandinsky 2.2: the prior pipeline (folder or hub id)")
    p.add_argument("--revision", help="hub revision (branch, tag or commit)")
    p.add_argument("--variant", help="weights variant to download, e.g. fp16")
    g = p.add_argument_group("export")
    g.add_argument("--dtype", choices=("fp32", "fp16", "fp16-weights"), default="fp32",
                   help="weights of the exported graphs (fp16 needs --device cuda; the engine runs fp16 graphs on "
                        "CUDA, they are slow or fail on CPU). fp16-weights: float32 graphs with the weights stored "
                        "as float16 (half the files; ONNX Runtime casts them to float32 when it opens the session, "
                        "so CPU runs float32 arithmetic); the weights are rounded to float16 before export, so "
                        "reference cases recorded with the export match it")
    g.add_argument("--fp16-vae", action="store_true",
                   help="SDXL family with --dtype fp16: export the VAE in fp16 too (the stock SDXL VAE overflows in "
                        "fp16; use it with an fp16-fixed VAE only). Default: the SDXL VAE stays fp32")
    g.add_argument("--device", default="cpu", help="torch device for tracing and case recording: cpu or cuda[:N]")
    g.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17, as the fixtures)")
    g.add_argument("--external-data", choices=("auto", "always", "never"), default="auto",
                   help="weights in model.onnx_data next to model.onnx: auto = for components over 2 GB")
    g.add_argument("--no-check", action="store_true", help="skip the onnxruntime-vs-torch check of each graph")
    g.add_argument("--case-only", action="store_true",
                   help="do not export: only record --record-case into an existing OUT (same MODEL)")
    g.add_argument("--scheduler-traces", action="store_true",
                   help="record scheduler-only reference runs (custom timesteps and sigmas, TCD's eta, learned "
                        "variances; a synthetic model, every draw recorded) into OUT/<name>/, the one path given; "
                        "the fixtures keep them in testdata/fixtures/schedulers")
    g.add_argument("--dry-run", action="store_true",
                   help="build tiny random pipelines of every family (or --family; sd includes a 9-channel "
                        "inpainting UNet and an LCM-distilled UNet), save each as a diffusers folder, load it "
                        "back, export it to OUT/<pipeline>-tiny and record cases; needs torch, diffusers, "
                        "transformers, onnx; no download")
    c = p.add_argument_group("reference case (--record-case NAME writes OUT/cases/NAME)")
    c.add_argument("--record-case", metavar="NAME")
    c.add_argument("--prompt", default="a photo of a cat")
    c.add_argument("--negative-prompt", default=None,
                   help="default: none (SDXL then zeroes the negative embeddings, as diffusers does)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--steps", type=int, default=4, help="denoising steps (decoder steps for Kandinsky)")
    c.add_argument("--guidance", type=float, default=None,
                   help="guidance scale (default: sd 7.5, sdxl 5, t2v 9, kandinsky 4; 0 for the turbo models)")
    c.add_argument("--height", type=int)
    c.add_argument("--width", type=int)
    c.add_argument("--scheduler", help="diffusers scheduler class or short name (euler_a, dpmpp_2m, ddim, ...) "
                                       "built from the model's scheduler config; default: the model's")
    c.add_argument("--timestep-spacing", choices=("leading", "trailing", "linspace"),
                   help="override timestep_spacing (SDXL-Turbo / SD-Turbo: trailing)")
    c.add_argument("--scheduler-config", action="append", metavar="KEY=VALUE",
                   help="a scheduler config override for the case, VALUE as JSON (repeatable): "
                        "use_karras_sigmas=true, algorithm_type=sde-dpmsolver++, sample_max_value=2.5")
    c.add_argument("--vae-config", action="append", metavar="KEY=VALUE",
                   help="a VAE config override for the case (repeatable), e.g. Playground v2.5's "
                        "latents_mean=[...] latents_std=[...] scaling_factor=0.5; the exported folder's "
                        "vae_decoder/config.json must carry the same values")
    c.add_argument("--case-task", choices=("txt2img", "img2img", "inpaint"), default="txt2img",
                   help="SD / SDXL: which call to record (9-channel inpainting UNets: inpaint)")
    c.add_argument("--image", help="input picture (img2img, inpaint, SVD, Kandinsky); default: a synthetic one")
    c.add_argument("--mask", help="inpainting mask, white = repaint; default: a centred square")
    c.add_argument("--strength", type=float, default=0.6)
    c.add_argument("--num-frames", type=int, help="video frames (t2v default 16; SVD default the UNet's num_frames)")
    c.add_argument("--fps", type=int, default=7)
    c.add_argument("--motion-bucket-id", type=int, default=127)
    c.add_argument("--noise-aug-strength", type=float, default=0.02)
    c.add_argument("--min-guidance", type=float, default=1.0)
    c.add_argument("--max-guidance", type=float, default=3.0)
    c.add_argument("--prior-steps", type=int, default=25)
    c.add_argument("--prior-guidance", type=float, default=4.0)
    args = p.parse_args(argv)
    if args.dry_run or args.scheduler_traces:
        if args.model is None or args.out is not None:
            p.error("--dry-run and --scheduler-traces take one path: OUT")
        args.model, args.out = None, args.model
    else:
        if args.out is None:
            p.error("give MODEL and OUT (or --dry-run OUT)")
        if args.family == "all":
            p.error("--family all is for --dry-run")
    if args.dtype == "fp16" and not args.device.startswith("cuda"):
        p.error("--dtype fp16 needs --device cuda (float16 tracing on CPU fails for many operators)")
    if args.case_only and not args.record_case:
        p.error("--case-only needs --record-case NAME")
    # checked now, not after an export that may take an hour
    for opt in ("image", "mask"):
        path = getattr(args, opt)
        if path and not Path(path).is_file():
            p.error(f"--{opt} {path}: no such file")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        require("torch", "diffusers", "transformers", "onnx", "numpy")
        if args.dry_run:
            return dry_run(args.out, args)
        if args.scheduler_traces:
            return record_scheduler_traces(args.out)
        family, pipes = load_pipeline(args.model, args)
        out = Path(args.out)
        if not args.case_only:
            ex = Exporter(args.opset, args.dtype, args.device, args.external_data, not args.no_check)
            log(f"exporting {family} to {out} ({args.dtype}, opset {args.opset}, {args.device})")
            export_family(family, pipes, out, ex, fp16_vae=args.fp16_vae)
            (out / "export.json").write_text(json.dumps({
                "source": args.model, "prior": args.prior, "family": family, "dtype": args.dtype,
                "opset": args.opset, "tool": "tools/export/export_onnx.py",
                "components": {k: {"external_data": v["external_data"],
                                   "max_abs_diff_vs_torch": v["io"].get("max_abs_diff_vs_torch")}
                               for k, v in ex.summary.items()}}, indent=1))
        elif not out.is_dir():
            raise UsageError(f"--case-only: {out} does not exist")
        if args.record_case:
            if args.dtype == "fp16":
                log("note: the case runs diffusers in float32; an fp16 export is not expected to match it within"
                    " 2e-3 (record cases on an fp32 export)")
            record_case(family, pipes, out, args.record_case, args)
        log(f"done: bin/spark-diffusion validate --model {out}")
        return 0
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

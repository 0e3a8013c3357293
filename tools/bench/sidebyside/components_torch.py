"""Time per call of each component of a diffusers SD folder in PyTorch on CPU (text encoder, UNet, VAE decoder).

Usage: components_torch.py TORCH_DIR THREADS [REPEATS]   (512x512, batch 1, after one warm-up call each)
The ONNX Runtime side of the same comparison is `bin/spark-diffusion bench` (ms per call of each component) or
`ort_ops.py` (per operator type).
"""
import sys
import time

if len(sys.argv) < 3:
    sys.exit(__doc__)
try:
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel
except ImportError as missing:
    sys.exit(f"needs torch, diffusers and transformers: {missing}")

folder, threads = sys.argv[1], int(sys.argv[2])
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
torch.set_num_threads(threads)
start = time.time()
vae = AutoencoderKL.from_pretrained(folder, subfolder="vae").eval()
unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet").eval()
text_encoder = CLIPTextModel.from_pretrained(folder, subfolder="text_encoder").eval()
print(f"load {time.time() - start:.1f} s", flush=True)
generator = torch.Generator().manual_seed(0)
latents = torch.randn(1, 4, 64, 64, generator=generator)
ids = torch.randint(0, 49407, (1, 77), generator=generator)


def timed(name, call):
    call()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.time()
        call()
        times.append(time.time() - t)
    print(f"{name} " + " ".join(f"{x * 1000:.0f}" for x in times) + " ms", flush=True)


with torch.inference_mode():
    states = text_encoder(ids)[0]
    timed("text_encoder", lambda: text_encoder(ids))
    timed("unet", lambda: unet(latents, 999, encoder_hidden_states=states))
    timed("vae_decoder", lambda: vae.decode(latents / vae.config.scaling_factor))

"""Side by side on full-size weights: spark-diffusion (a Java line server, bench.Serve) against diffusers with
PyTorch in this process, the same weights, threads, steps, batch and size, interleaved pairs (Java, torch, ...)."""
import json, os, resource, statistics, subprocess, sys, time

model_onnx, model_torch, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
cells = [tuple(int(x) for x in c.split(":")) for c in sys.argv[4].split(",")]  # steps:batch
pairs = int(sys.argv[5])
size = int(os.environ.get("SIZE", "512"))
guidance = float(os.environ.get("GUIDANCE", "0"))
WARM = os.environ.get("WARMUP", "all")  # all | first | none
# JAVA_OPTS: options of the spark-diffusion JVM, e.g. "-Drows_per_run=2" (the runtime's rows per UNet call)

def loadavg():
    return open("/proc/loadavg").read().split()[0]

import torch
torch.set_num_threads(threads)
torch.set_num_interop_threads(1)
from diffusers import DiffusionPipeline

H = os.path.dirname(os.path.abspath(__file__))
cp = open(f"{H}/parent.cp").read().strip()
java = subprocess.Popen(
    ["java", *os.environ.get("JAVA_OPTS", "").split(), f"-Dbench.home={H}",
     "-cp", f"{H}/serve/out:{H}/api/out:{os.environ.get('SD_CLASSES', H + '/../../../common/target/classes')}:{cp}",
     "bench.Serve", model_onnx, str(threads)],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
jl = java.stdout.readline().split()
print(f"load: spark-diffusion {float(jl[1]):.1f} s (rss {jl[5]} MiB, peak {jl[3]} MiB), load avg {loadavg()}", flush=True)
t = time.time()
pipe = DiffusionPipeline.from_pretrained(model_torch, torch_dtype=torch.float32)
pipe.set_progress_bar_config(disable=True)
print(f"load: diffusers {time.time() - t:.1f} s (peak rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)", flush=True)

def run_java(steps, batch, seed):
    java.stdin.write(f"gen {steps} {batch} {seed} {guidance} {size}\n")
    r = java.stdout.readline().split()
    return float(r[1]), float(r[2]), float(r[4])

def run_torch(steps, batch, seed):
    t = time.time()
    with torch.inference_mode():
        pipe(prompt=["a photo of a cat"] * batch, num_inference_steps=steps, guidance_scale=guidance, height=size,
             width=size, generator=torch.Generator().manual_seed(seed), output_type="np")
    return time.time() - t

results = []
for steps, batch in cells:
    if WARM == "all" or (WARM == "first" and (steps, batch) == cells[0]):
        run_java(steps, batch, 1); run_torch(steps, batch, 1)  # warm-up
    js, ts, ovh, jpeak = [], [], [], 0
    la = loadavg()
    for p in range(pairs):
        s, run, peak = run_java(steps, batch, 100 + p)
        js.append(s); ovh.append(s / run); jpeak = max(jpeak, peak)
        ts.append(run_torch(steps, batch, 100 + p))
    ratios = [t_ / j_ for j_, t_ in zip(js, ts)]
    row = dict(steps=steps, batch=batch, java_s=statistics.median(js), torch_s=statistics.median(ts),
               java_img_s=batch / statistics.median(js), torch_img_s=batch / statistics.median(ts),
               ratio_median=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios),
               overhead=statistics.median(ovh), java_peak_mib=jpeak,
               torch_peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, load=f"{la}->{loadavg()}")
    results.append(row)
    print(json.dumps(row), flush=True)
java.stdin.write("quit\n")
java.wait()

"""Where one ONNX component's time goes, per operator type and per (operator, input shapes), from ONNX Runtime's
own profiler (Python onnxruntime, CPU provider, memory pattern off as spark-diffusion's default for large models).

Usage: ort_ops.py MODEL.onnx THREADS     (3 runs; the table is the last run's. Latent inputs get SD's 512x512 shapes:
sample / latent_sample [1, 4, 64, 64], encoder_hidden_states [1, 77, 1024]; every other dynamic size is 1.)
"""
import collections
import json
import os
import sys
import tempfile
import time

if len(sys.argv) < 3:
    sys.exit(__doc__)
try:
    import numpy as np
    import onnxruntime as ort
except ImportError as missing:
    sys.exit(f"needs numpy and onnxruntime: {missing}")

path, threads = sys.argv[1], int(sys.argv[2])
options = ort.SessionOptions()
options.intra_op_num_threads = threads
options.enable_profiling = True
options.profile_file_prefix = os.path.join(tempfile.gettempdir(), "ort_ops")  # not into the working folder
options.enable_mem_pattern = False
start = time.time()
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
print(f"open {time.time() - start:.1f} s", flush=True)
SHAPES = {"sample": [1, 4, 64, 64], "latent_sample": [1, 4, 64, 64], "encoder_hidden_states": [1, 77, 1024]}
feeds = {}
for i in session.get_inputs():
    shape = SHAPES.get(i.name, [d if isinstance(d, int) else 1 for d in i.shape])
    dtype = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}.get(i.type, np.float32)
    scale = 999 if i.name in ("timestep", "input_ids") else 1  # a timestep, or token ids below CLIP's 49408
    feeds[i.name] = (np.random.default_rng(0).random(shape) * scale).astype(dtype)
for _ in range(3):
    start = time.time()
    session.run(None, feeds)
    print(f"run {time.time() - start:.2f} s", flush=True)
profile = session.end_profiling()
events = json.load(open(profile))
os.remove(profile)
last = [e for e in events if e.get("cat") == "Session" and e["name"] == "model_run"][-1]["ts"]
by_type, by_shape, count = collections.Counter(), collections.Counter(), collections.Counter()
for e in events:
    if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e["ts"] >= last:
        op = e["args"].get("op_name", "?")
        shapes = [list(d.values())[0] for d in e["args"].get("input_type_shape", [])][:2]
        by_type[op] += e["dur"]
        by_shape[f"{op} {shapes}"] += e["dur"]
        count[f"{op} {shapes}"] += 1
total = sum(by_type.values())
print(f"last run: {total / 1e6:.2f} s in kernels")
for op, us in by_type.most_common(12):
    print(f"  {op:26s} {us / 1e6:7.3f} s {100 * us / total:5.1f} %")
print("by operator and input shapes:")
for key, us in by_shape.most_common(12):
    print(f"  {us / 1e6:7.3f} s x{count[key]:3d}  {key}")

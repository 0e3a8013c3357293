"""Saves the export tool's random-weight pipeline (the same seeded weights as its ONNX export) as a diffusers folder."""
import sys, time
import os
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "export"))
import torch
import export_onnx as e

name, out = sys.argv[1], sys.argv[2]
t = time.time()
pipe = e.random_pipelines(name)["main"]
pipe.save_pretrained(out, safe_serialization=True)
print(f"saved {name} to {out} in {time.time() - t:.0f} s")

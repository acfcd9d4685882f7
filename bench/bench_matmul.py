"""Matrix product, forward + backward: 1024 x 1024 float32 (and a batched nn.Linear-like case).

nbtorch against PyTorch (when installed) and, on the CPU, the numpy floor (the three GEMMs by
hand), timed in alternation in one process.

Run: python bench/bench_matmul.py [size] [repeats] [device]    (device: cpu, the default, or cuda)
"""

from __future__ import annotations

import sys

import numpy as np

import nbtorch
from _common import interleaved_medians, report, try_import_torch
from nbtorch import backend


def numpy_floor(a, b, g):
    """What any library must do at least: y = a @ b, then g @ bᵀ and aᵀ @ g (a batch of ``a``
    folded into the rows of one matrix)."""
    a, g = a.reshape(-1, a.shape[-1]), g.reshape(-1, g.shape[-1])
    a @ b
    g @ b.T
    a.T @ g


def step(x, w, g, sync):
    x.grad = None
    w.grad = None
    (x @ w).backward(g)
    sync()


def candidates_for(shape_a, shape_b, torch, device) -> dict:
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape_a, dtype=np.float32)
    b = rng.standard_normal(shape_b, dtype=np.float32)
    g = rng.standard_normal(shape_a[:-1] + shape_b[-1:], dtype=np.float32)
    cuda = device == "cuda"
    syncs = {"nbtorch": backend.synchronize if cuda else (lambda: None)}
    libraries = {"nbtorch": nbtorch}
    if torch is not None:
        libraries["torch"] = torch
        syncs["torch"] = torch.cuda.synchronize if cuda else (lambda: None)
    out = {}
    for name, m in libraries.items():
        x = m.tensor(a, device=device, requires_grad=True)
        w = m.tensor(b, device=device, requires_grad=True)
        gt = m.tensor(g, device=device)
        out[name] = lambda x=x, w=w, gt=gt, sync=syncs[name]: step(x, w, gt, sync)
    if not cuda:
        out["numpy"] = lambda: numpy_floor(a, b, g)
    return out


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    device = sys.argv[3] if len(sys.argv) > 3 else "cpu"
    torch = try_import_torch()
    baseline = "torch" if torch is not None else "nbtorch"
    medians = interleaved_medians(candidates_for((size, size), (size, size), torch, device),
                                  repeats=repeats, warmup=3)
    report(f"matmul {size}x{size} float32 on {device}, forward + backward (median of {repeats})",
           medians, baseline=baseline)
    medians = interleaved_medians(candidates_for((32, 128, 256), (256, 256), torch, device),
                                  repeats=repeats * 3, warmup=3)
    report(f"batched (32, 128, 256) @ (256, 256) float32 on {device}, forward + backward",
           medians, baseline=baseline)


if __name__ == "__main__":
    main()

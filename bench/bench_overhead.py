"""Per-op overhead: a chain of 200 small elementwise ops on 16-element float32 tensors, plus
backward.

Run: python bench/bench_overhead.py [device]   (cpu by default; compares with PyTorch when
installed)
"""

from __future__ import annotations

import numpy as np

import nbtorch
from _common import interleaved_medians, report, try_import_torch

N_OPS = 200
SIZE = 16


def chain(m, x, w):
    """200 elementwise ops that keep values bounded: mul, add, tanh, sub, sigmoid (a cycle of 5)."""
    h = x
    for _ in range(N_OPS // 5):
        h = h * 0.9
        h = h + w
        h = h.tanh()
        h = h - 0.1
        h = h.sigmoid()
    return h


def step(m, x, w, ones):
    x.grad = None
    w.grad = None
    chain(m, x, w).backward(ones)


def main(device: str = "cpu") -> None:
    data = np.random.default_rng(0).standard_normal((2, SIZE)).astype(np.float32)
    libraries = {"nbtorch": nbtorch}
    torch = try_import_torch()
    if torch is not None:
        libraries["torch"] = torch
    candidates = {}
    for name, m in libraries.items():
        x = m.tensor(data[0], requires_grad=True, device=device)
        w = m.tensor(data[1], requires_grad=True, device=device)
        ones = m.ones(SIZE, device=device)
        candidates[name] = lambda m=m, x=x, w=w, ones=ones: step(m, x, w, ones)
        candidates[name + " forward"] = lambda m=m, x=x, w=w: chain(m, x, w)
    medians = interleaved_medians(candidates, repeats=60)
    report(f"{N_OPS} elementwise ops on {SIZE} floats on {device}, forward + backward, per op",
           medians,
           baseline="torch" if torch else None, unit="us", per=N_OPS)


if __name__ == "__main__":
    import sys

    main(*sys.argv[1:2])

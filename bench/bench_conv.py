"""Convolution and max pooling, forward + backward, on the shapes of a LeNet-5 training step
(batch 64, 1x28x28 input), nbtorch against PyTorch CPU, timed in alternation in one process.

- conv1: Conv2d(1, 6, 5, padding=2) on 64x1x28x28 (the input needs no gradient)
- conv2: Conv2d(6, 16, 5) on 64x6x14x14 (the input needs its gradient)
- pool1: max_pool2d(2) on 64x6x28x28 (after a ReLU: many ties)
- pool2: max_pool2d(2) on 64x16x10x10

Run: python bench/bench_conv.py [repeats] [device]    (device: cpu, the default, or cuda)

On a machine with few cores (or one shared with other jobs), the two libraries' thread pools fight
when timed in alternation in one process (PyTorch's OpenMP threads spin after each call while
numpy's OpenBLAS threads wait for a core, and the other way round), and single calls then take
milliseconds longer.  For numbers that compare the libraries rather than that fight, also run with
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 (one thread each) or OMP_WAIT_POLICY=PASSIVE.
"""

from __future__ import annotations

import sys

import numpy as np

import nbtorch
from _common import interleaved_medians, report, try_import_torch
from nbtorch import backend

CASES = {
    "conv1": dict(x=(64, 1, 28, 28), w=(6, 1, 5, 5), padding=2, input_grad=False),
    "conv2": dict(x=(64, 6, 14, 14), w=(16, 6, 5, 5), padding=0, input_grad=True),
    "pool1": dict(x=(64, 6, 28, 28)),
    "pool2": dict(x=(64, 16, 10, 10)),
}


def _conv_step(m, case, device, sync):
    rng = np.random.default_rng(0)
    x = m.tensor(rng.standard_normal(case["x"], dtype=np.float32), device=device,
                 requires_grad=case["input_grad"])
    bound = 1 / np.sqrt(np.prod(case["w"][1:]))
    w = m.tensor(rng.uniform(-bound, bound, case["w"]).astype(np.float32), device=device,
                 requires_grad=True)
    b = m.tensor(rng.uniform(-bound, bound, case["w"][0]).astype(np.float32), device=device,
                 requires_grad=True)
    y = m.nn.functional.conv2d(x, w, b, padding=case["padding"])
    g = m.tensor(rng.standard_normal(tuple(y.shape), dtype=np.float32), device=device)

    def step():
        x.grad = w.grad = b.grad = None
        m.nn.functional.conv2d(x, w, b, padding=case["padding"]).backward(g)
        sync()

    return step


def _pool_step(m, case, device, sync):
    rng = np.random.default_rng(0)
    data = np.maximum(rng.standard_normal(case["x"], dtype=np.float32), 0)  # after a ReLU
    x = m.tensor(data, device=device, requires_grad=True)
    shape = case["x"][:2] + tuple(s // 2 for s in case["x"][2:])
    g = m.tensor(rng.standard_normal(shape, dtype=np.float32), device=device)

    def step():
        x.grad = None
        m.nn.functional.max_pool2d(x, 2).backward(g)
        sync()

    return step


def candidates(name: str, torch, device: str) -> dict:
    case = CASES[name]
    make = _pool_step if name.startswith("pool") else _conv_step
    cuda = device == "cuda"
    out = {"nbtorch": make(nbtorch, case, device,
                           backend.synchronize if cuda else (lambda: None))}
    if torch is not None:
        out["torch"] = make(torch, case, device, torch.cuda.synchronize if cuda else (lambda: None))
    return out


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    device = sys.argv[2] if len(sys.argv) > 2 else "cpu"
    torch = try_import_torch()
    baseline = "torch" if torch is not None else "nbtorch"
    total = {}
    for name, case in CASES.items():
        medians = interleaved_medians(candidates(name, torch, device), repeats=repeats)
        shapes = ", ".join(f"{k}={v}" for k, v in case.items())
        report(f"{name} ({shapes}) on {device}: forward + backward, median of {repeats}",
               medians, baseline=baseline)
        for lib, seconds in medians.items():
            total[lib] = total.get(lib, 0.0) + seconds
    report("all four together", total, baseline=baseline)


if __name__ == "__main__":
    main()

"""Cross-entropy forward + backward: nbtorch's fused log-softmax/NLL node against PyTorch CPU,
timed in alternation, at a small classifier head (128, 10) and a large one (4096, 1000).

PyTorch runs on one thread: numpy's elementwise work is single-threaded too (and switching
PyTorch's thread count between interleaved calls would restart its thread pool each time).

Run: python bench/bench_loss.py [repeats]
"""

from __future__ import annotations

import sys

import numpy as np

import nbtorch
from _common import interleaved_medians, report, try_import_torch

SHAPES = [(128, 10), (4096, 1000)]


def make_step(m, logits_np, target_np):
    """A closure: cross_entropy(logits, target).backward() in library ``m``."""
    logits = m.tensor(logits_np, requires_grad=True)
    target = m.tensor(target_np)
    functional = m.nn.functional

    def step():
        logits.grad = None
        functional.cross_entropy(logits, target).backward()

    return step


def main(repeats: int = 30) -> None:
    torch = try_import_torch()
    if torch is not None:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    for n, c in SHAPES:
        logits = rng.standard_normal((n, c)).astype(np.float32)
        target = rng.integers(0, c, n)
        candidates = {"nbtorch": make_step(nbtorch, logits, target)}
        if torch is not None:
            candidates["torch (1 thread)"] = make_step(torch, logits, target)
        scale = "us" if n * c < 100_000 else "ms"
        report(f"cross_entropy forward+backward ({n}, {c})",
               interleaved_medians(candidates, repeats=repeats),
               baseline="torch (1 thread)" if torch is not None else None, unit=scale)
    if torch is not None:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)

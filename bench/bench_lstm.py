"""LSTM training step: LSTM(32 -> 128, batch_first) over 35 steps, batch 32, then Linear(128, 10)
on the last output, cross entropy and Adam.  nbtorch against PyTorch CPU, timed in alternation.

The issue's target: nbtorch's step <= 1.5x PyTorch's.  The same seed gives both libraries the
same initial weights, and the losses of the first step are printed as a sanity check.

Two timings are printed: interleaved (one step of each library in turn, the shared protocol of
bench/_common.py) and in blocks (all steps of one library, then all of the other).  On a machine
with few cores they differ: interleaved, each library's worker threads (numpy's OpenBLAS,
PyTorch's OpenMP pool) are still spinning when the other library starts, and both slow down.

Run: python bench/bench_lstm.py [repeats]
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import nbtorch
from _common import interleaved_medians, report, try_import_torch

BATCH, STEPS, INPUT, HIDDEN, CLASSES = 32, 35, 32, 128, 10


def _cross_entropy(m, logits, target):
    """F.cross_entropy where the library has it, else log-softmax by hand (until it lands)."""
    functional = m.nn.functional
    if hasattr(functional, "cross_entropy"):
        return functional.cross_entropy(logits, target)
    shifted = logits - logits.max(dim=1, keepdim=True)[0].detach()
    log_p = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    return -log_p.gather(1, target.unsqueeze(1)).mean()


def make_step(m, x_np, y_np):
    """A closure running one training step of library ``m``; returns the loss as a float."""
    m.manual_seed(0)
    lstm = m.nn.LSTM(INPUT, HIDDEN, batch_first=True)
    head = m.nn.Linear(HIDDEN, CLASSES)
    params = list(lstm.parameters()) + list(head.parameters())
    optimizer = m.optim.Adam(params, lr=1e-3)
    x, y = m.tensor(x_np), m.tensor(y_np)

    def step():
        optimizer.zero_grad()
        output, _ = lstm(x)
        loss = _cross_entropy(m, head(output[:, -1]), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def main(repeats: int = 30) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, STEPS, INPUT), dtype=np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    torch = try_import_torch()
    candidates = {"nbtorch": make_step(nbtorch, x, y)}
    if torch is not None:
        candidates["torch"] = make_step(torch, x, y)
        first = {name: fn() for name, fn in candidates.items()}
        print("first-step losses: " + ", ".join(f"{k} {v:.6f}" for k, v in first.items()))
    title = f"LSTM {INPUT}->{HIDDEN}, seq {STEPS}, batch {BATCH} + Linear + CE, Adam: training step"
    baseline = "torch" if torch is not None else None
    medians = interleaved_medians(candidates, repeats=repeats)
    report(title + " (interleaved)", medians, baseline=baseline)
    report(title + " (in blocks)", block_medians(candidates, repeats), baseline=baseline)
    return medians


def block_medians(candidates: dict, repeats: int) -> dict:
    """``{name: median seconds}``, timing all repeats of one candidate before the next."""
    out = {}
    for name, fn in candidates.items():
        for _ in range(3):
            fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        out[name] = statistics.median(times)
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)

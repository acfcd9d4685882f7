"""Shared timing helpers: medians over repeats, side by side with PyTorch in the same process.

The machines are shared and noisy, so competitors are timed in alternation (one run of each per
round) and compared by their medians: a burst of load then hits both alike.
"""

from __future__ import annotations

import statistics
import time


def interleaved_medians(candidates: dict, repeats: int = 30, warmup: int = 3) -> dict:
    """``{name: fn}`` -> ``{name: median seconds of fn()}``, timing the candidates in turn."""
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def try_import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def report(title: str, medians: dict, baseline: str | None = None, unit: str = "ms",
           per: int = 1) -> None:
    """Print medians and their ratio to ``baseline``."""
    scale = {"ms": 1e3, "us": 1e6}[unit]
    base = medians.get(baseline)
    print(f"\n{title}")
    for name, seconds in medians.items():
        ratio = f"  {seconds / base:5.2f}x {baseline}" if base else ""
        suffix = "/op" if per > 1 else ""
        print(f"  {name:<16} {seconds * scale / per:10.2f} {unit}{suffix}{ratio}")

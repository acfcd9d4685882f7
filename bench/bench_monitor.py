"""What a TrainingMonitor logging every step costs a training loop (target: at most 3%).

The loop is bench_training.py's MLP step (784-256-128-10, batch 128, SGD with momentum).  The same
1,000 steps run without and with ``monitor.log(step, loss=loss, acc=...)`` after every step, in
short alternating blocks (10 steps; the order flips every pair, ABBA), and the overhead is the
median over pairs of (with / without - 1): the machines here are shared, and a burst of load then
spoils a pair or two, not the figure.  Three rounds.

A second, noise-free figure: the measured cost of one ``log()`` call and of one push, times the
calls and pushes of the loop, over the loop's time.

Outside a kernel the widget's comm is ipywidgets' dummy: a push builds and serializes the whole
message (traits, binary buffers); only the final socket write is skipped.

Run: python bench/bench_monitor.py [steps]
"""

from __future__ import annotations

import statistics
import sys
import time

import nbtorch
from bench_training import make_step, mlp
from nbtorch.viz import _live
from nbtorch.viz.monitor import TrainingMonitor

BLOCK = 10


def loop_overhead(steps: int) -> tuple[float, float, float, TrainingMonitor]:
    """(median pair overhead, seconds without, seconds with) over ``steps`` steps each."""
    step = make_step(nbtorch, mlp)
    warm = TrainingMonitor()
    for _ in range(5):  # warm up both paths
        warm.log(loss=step())
    mon = TrainingMonitor(total=steps, title="bench")
    i = 0

    def plain_block():
        for _ in range(BLOCK):
            step()

    def logged_block():
        nonlocal i
        for _ in range(BLOCK):
            loss = step()
            mon.log(i, loss=loss, acc=0.5)  # a tensor: no .item(), converted at the push
            i += 1

    ratios, plain, logged = [], 0.0, 0.0
    for k in range(steps // BLOCK):
        order = (plain_block, logged_block) if k % 2 == 0 else (logged_block, plain_block)
        spent = {}
        for block in order:
            t0 = time.perf_counter()
            block()
            spent[block] = time.perf_counter() - t0
        plain += spent[plain_block]
        logged += spent[logged_block]
        ratios.append(spent[logged_block] / spent[plain_block] - 1)
    mon.finish()
    return statistics.median(ratios), plain, logged, mon


def log_call_cost(n: int = 200_000) -> float:
    """Seconds per ``log()`` call in a tight loop (pushes included as they fall due)."""
    mon = TrainingMonitor()
    t0 = time.perf_counter()
    for i in range(n):
        mon.log(i, loss=0.5, acc=0.9)
    return (time.perf_counter() - t0) / n


def push_cost(points: int, pushes: int = 50, full: bool = False) -> float:
    """Seconds per push with ``points`` points per series already logged (two series): an
    ordinary push (the tail), or with ``full`` one that re-sends the whole history too."""
    mon = TrainingMonitor()
    for i in range(points):
        mon._streams.setdefault("loss", mon._add("loss")).pending.append((i, 0.5))
        mon._streams.setdefault("acc", mon._add("acc")).pending.append((i, 0.5))
    mon._push(_live.now(), force_full=True)
    times = []
    for k in range(pushes):
        mon.log(points + k, loss=0.5, acc=0.5)
        t0 = time.perf_counter()
        mon._push(_live.now(), force_full=full)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(steps: int = 1000) -> None:
    print(f"TrainingMonitor logging every step of {steps} MLP training steps")
    overheads = []
    for r in range(3):
        overhead, plain, logged, mon = loop_overhead(steps)
        overheads.append(overhead)
        print(f"  round {r + 1}: without {plain * 1e3 / steps:6.3f} ms/step, with "
              f"{logged * 1e3 / steps:6.3f} ms/step; median pair overhead {overhead * 100:+5.2f}%"
              f"; {mon.pushes} pushes")
    per_call = log_call_cost()
    per_push = push_cost(steps)
    print(f"  log() call: {per_call * 1e6:.2f} us (tight loop, pushes included)")
    for points in (1_000, 100_000):
        print(f"  one push with {points:>7,} points per series: {push_cost(points) * 1e3:.3f} ms"
              f" (re-sending the history, every {_live.FULL_SYNC_S:g} s at most: "
              f"{push_cost(points, 10, full=True) * 1e3:.3f} ms)")
    loop = plain / steps  # seconds per plain step, last round
    pushes = min(steps * loop / _live.PUSH_INTERVAL_S, steps)
    estimate = (per_call * steps + per_push * pushes) / (loop * steps)
    print(f"overhead, measured (median of 3 rounds): {statistics.median(overheads) * 100:+.2f}%")
    print(f"overhead, from the costs above: {estimate * 100:.2f}%  (target: at most 3%)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))

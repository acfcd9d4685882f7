"""Execute notebooks the way a Binder user's kernel runs them, and report time and peak memory.

    python tests/binder/run_notebooks.py notebooks/*.ipynb

Run by ``tests/binder/check.sh`` with the Python of a fresh virtual environment built from
``binder/`` alone: each kernel imports the nbtorch installed there, never this checkout (a last cell
checks that). Prints one line per notebook (wall time, the kernel's peak resident memory) and exits
with 1 when a notebook fails or a kernel's peak exceeds NBT_KERNEL_BUDGET_MIB (default 1024: a
Binder session has 2 GiB for the server and every open kernel together).

Needs nbclient and nbformat only (JupyterLab brings both), not pytest.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys
import tempfile
import time

import nbformat

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from tests.notebooks._nb import run  # noqa: E402  (the same kernel setup as the test suite)

PROBE = "__binder_probe__"
# Appended to each notebook: what the kernel peaked at, and which nbtorch and Python it used.
PROBE_CELL = f"""
import resource, sys, nbtorch
print({PROBE!r}, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, sys.prefix, nbtorch.__file__)
"""


def run_one(path: pathlib.Path) -> tuple[float, float]:
    """(seconds, peak MiB) of one notebook, run in a fresh kernel in a scratch folder."""
    with tempfile.TemporaryDirectory() as scratch:
        cwd = pathlib.Path(scratch)
        shutil.copy(path, cwd / path.name)
        nb = nbformat.read(cwd / path.name, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(PROBE_CELL))
        start = time.monotonic()
        run(nb, cwd, checkout=False)
        seconds = time.monotonic() - start
    (line,) = [o.text for o in nb.cells[-1].outputs if o.output_type == "stream"]
    _, kib, prefix, module = line.split()
    if not pathlib.Path(module).resolve().is_relative_to(pathlib.Path(sys.prefix).resolve()):
        raise RuntimeError(f"the kernel imported nbtorch from {module}, not from {sys.prefix}")
    if pathlib.Path(prefix).resolve() != pathlib.Path(sys.prefix).resolve():
        raise RuntimeError(f"the kernel ran in {prefix}, not in {sys.prefix}")
    return seconds, int(kib) / 1024  # Linux reports ru_maxrss in KiB


def main(paths: list[str]) -> int:
    budget = float(os.environ.get("NBT_KERNEL_BUDGET_MIB", "1024"))
    failed = 0
    print(f"{'notebook':40s} {'seconds':>8s} {'peak MiB':>9s}")
    for path in map(pathlib.Path, paths):
        try:
            seconds, peak = run_one(path)
        except Exception as err:  # CellExecutionError, DeadKernelError, TimeoutError, ...
            failed += 1
            print(f"{path.name:40s} FAILED: {type(err).__name__}: {str(err)[-3000:]}")
            continue
        over = peak > budget
        failed += over
        flag = f"  over the {budget:.0f} MiB budget" if over else ""
        print(f"{path.name:40s} {seconds:8.1f} {peak:9.0f}{flag}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

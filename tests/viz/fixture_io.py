"""Fixtures for the front-end tests of TrainingMonitor, GradFlow and show.

The Python tests write ``extensions/tests/fixtures/{monitor,gradflow,show}_*.json`` from the real
widgets and the Python chart functions; ``extensions/tests/{monitor,gradflow,show}.test.mjs`` check
that the ES modules read the same state and compute the same numbers.  Binary traits are written
as base64 strings (what ``toF32`` in the ES modules also accepts); non-finite numbers as the strings
``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (JSON has no such numbers; the node tests revive them).
"""

from __future__ import annotations

import base64
import json
import math
import pathlib
import shutil
import subprocess

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXTENSIONS = ROOT / "extensions"
FIXTURES = EXTENSIONS / "tests" / "fixtures"
# Traits every DOMWidget has; the fixtures keep only the widget's own.
_BASE_TRAITS = {"layout", "tabbable", "tooltip"}


def jsonable(x):
    if isinstance(x, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(x)).decode("ascii")
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        x = float(x)
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        return x
    if isinstance(x, np.integer):
        return int(x)
    return x


def write(name: str, data: dict) -> dict:
    """Write ``fixtures/<name>`` (only when its content changed: no churn in git)."""
    text = json.dumps(jsonable(data), indent=1, sort_keys=True, ensure_ascii=False,
                      allow_nan=False) + "\n"
    path = FIXTURES / name
    FIXTURES.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return json.loads(text)


def synced_state(widget) -> dict:
    """The widget's own synced traits, as the front end receives them."""
    state = widget.get_state()
    return {k: v for k, v in state.items() if not k.startswith("_") and k not in _BASE_TRAITS}


def own_traits(widget) -> list[str]:
    return sorted(k for k in widget.trait_names(sync=True)
                  if not k.startswith("_") and k not in _BASE_TRAITS)


def run_node(*test_files: str) -> subprocess.CompletedProcess | None:
    """``node --test`` on ``extensions/tests/<file>``; None where node is not installed."""
    node = shutil.which("node")
    if node is None:
        return None
    files = [str(EXTENSIONS / "tests" / f) for f in test_files]
    return subprocess.run([node, "--test", *files], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)

"""Each teaching notebook is executed once per session, in a fresh kernel, and shared by the tests.

Executed copies are written to ``artifacts/executed/`` (gitignored) for a look.
"""

from __future__ import annotations

import os
import pathlib

import pytest

pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from tests.notebooks import _nb  # noqa: E402

ARTIFACTS = pathlib.Path(os.environ.get("NBT_ARTIFACTS", _nb.ROOT / "artifacts"))


@pytest.fixture(scope="session")
def executed(tmp_path_factory):
    """``executed(name)``: ``notebooks/<name>`` run once with nbtorch; fails on any cell error."""
    import nbformat

    cache = {}

    def run(name: str):
        if name not in cache:
            nb = _nb.execute(_nb.ROOT / "notebooks" / name, tmp_path_factory.mktemp("nb"))
            out = ARTIFACTS / "executed" / name
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out)
            cache[name] = nb
        return cache[name]

    return run

"""Running the teaching notebooks in a real kernel, and reading what they printed.

Shared by the notebook tests (``tests/notebooks/``) and by ``binder/check.sh`` (through
``binder/run_notebooks.py``, which needs only nbclient, not pytest).
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import re
import shutil

import nbclient
import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IMPORT_LINE = "import nbtorch as torch"


def execute(path: pathlib.Path, cwd: pathlib.Path, as_pytorch: bool = False, edit=None):
    """Run a copy of the notebook in ``cwd``; nbclient raises CellExecutionError on any error.

    The kernel imports nbtorch from this checkout (PYTHONPATH), whatever else is installed.
    ``as_pytorch`` runs it on PyTorch itself (the oracle): the first code cell's imports of
    nbtorch (``import nbtorch as torch``, ``from nbtorch import nn``, ...) become imports of torch.
    ``edit(nb)``, if given, changes the notebook in place before it runs.
    """
    copy = cwd / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    if as_pytorch:
        setup = next(c for c in nb.cells if c.cell_type == "code")
        assert IMPORT_LINE in setup.source, f"{path.name}: first code cell lacks {IMPORT_LINE!r}"
        assert "viz" not in setup.source, f"{path.name} uses nbtorch.viz: PyTorch has none"
        source = re.sub(r"\bnbtorch\b", "torch", setup.source)
        setup.source = source.replace("import torch as torch", "import torch")
    if edit is not None:
        edit(nb)
    run(nb, cwd)
    return nb


def run(nb, cwd: pathlib.Path, checkout: bool = True) -> None:
    """Execute ``nb`` in place, in a fresh python3 kernel whose working directory is ``cwd``.

    ``checkout``: the kernel imports nbtorch from this checkout (PYTHONPATH), whatever else is
    installed; without it, the kernel uses the nbtorch installed in its environment (the Binder
    check).
    """
    env = {
        **os.environ,
        "IPYTHONDIR": str(cwd / ".ipython"),  # no user profile or startup files
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    if checkout:
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,  # per cell
        startup_timeout=60,
        resources={"metadata": {"path": str(cwd)}},  # the kernel's working directory
    )
    client.execute(env=env)


def text_of(cell) -> str:
    """Everything a code cell printed or displayed as text, in order."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out and "text/plain" in out.data:
            parts.append(out.data["text/plain"] + "\n")
    return "".join(parts)


def mime_types(cell) -> set[str]:
    """The MIME types a code cell displayed (``image/png``, ``image/svg+xml``, ...)."""
    return {kind for out in cell.outputs for kind in out.get("data", {})}


def cell_tagged(nb, tag: str):
    """The one cell carrying ``tag`` in its metadata (fails if there are none or several)."""
    cells = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{len(cells)} cells tagged {tag!r}"
    return cells[0]


def read(name: str):
    """The committed notebook ``notebooks/<name>``, as it is on disk (not executed)."""
    return nbformat.read(ROOT / "notebooks" / name, as_version=4)


def run_tagged(name: str, tags, namespace: dict) -> str:
    """Exec the cells of ``notebooks/<name>`` tagged ``tags`` (in that order) in ``namespace``,
    in this process; returns what they printed. Lets a test call a notebook's exercise checker
    on right and wrong answers without a kernel."""
    nb = read(name)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        for tag in tags:
            source = cell_tagged(nb, tag).source
            exec(compile(source, f"{name}[{tag}]", "exec"), namespace)  # noqa: S102
    return printed.getvalue()

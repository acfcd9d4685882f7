"""The teaching notebooks run top to bottom in a real kernel and show what they teach.

Each notebook is copied to a temporary folder and executed there with nbclient; the kernel imports
nbtorch from this checkout (PYTHONPATH), whatever else is installed. Executed copies are left in
``artifacts/executed/`` (gitignored) for a look. When PyTorch is installed, the first notebook also
runs with ``import torch`` in place of ``import nbtorch as torch`` and must print the same.
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import re
import shutil

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

import nbtorch  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ARTIFACTS = pathlib.Path(os.environ.get("NBT_ARTIFACTS", ROOT / "artifacts"))
INTRO = "00_tensors_and_autograd.ipynb"
IMPORT_LINE = "import nbtorch as torch"


def execute(path: pathlib.Path, cwd: pathlib.Path, replace_import: str | None = None):
    """Run a copy of the notebook in ``cwd``; nbclient raises CellExecutionError on any error."""
    copy = cwd / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    if replace_import is not None:
        setup = next(c for c in nb.cells if c.cell_type == "code")
        assert IMPORT_LINE in setup.source, f"{path.name}: first code cell lacks {IMPORT_LINE!r}"
        setup.source = setup.source.replace(IMPORT_LINE, replace_import)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "IPYTHONDIR": str(cwd / ".ipython"),  # no user profile or startup files
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,  # per cell
        startup_timeout=60,
        resources={"metadata": {"path": str(cwd)}},  # the kernel's working directory
    )
    client.execute(env=env)
    return nb


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """``executed(name)``: the notebook run once with nbtorch, shared by the tests of this file."""
    cache: dict[str, nbformat.NotebookNode] = {}

    def run(name: str):
        if name not in cache:
            cache[name] = execute(ROOT / "notebooks" / name, tmp_path_factory.mktemp("nb"))
        return cache[name]

    return run


def text_of(cell) -> str:
    """Everything a code cell printed or displayed as text, in order."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out and "text/plain" in out.data:
            parts.append(out.data["text/plain"] + "\n")
    return "".join(parts)


def cell_tagged(nb, tag: str):
    (cell,) = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    return cell


def test_there_are_notebooks():
    assert INTRO in [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, executed):
    nb = executed(path.name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    out = ARTIFACTS / "executed" / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)


def test_intro_outputs(executed):
    nb = executed(INTRO)
    assert (
        "RuntimeError: The size of tensor a (3) must match the size of tensor b (4) "
        "at non-singleton dimension 0"
    ) in text_of(cell_tagged(nb, "broadcast-error"))
    # the graph walk shows the tape of y = tanh(w * x + b), leaves as AccumulateGrad
    assert text_of(cell_tagged(nb, "graph")) == (
        "TanhBackward0\n"
        "    AddBackward0\n"
        "        MulBackward0\n"
        "            AccumulateGrad\n"
        "            AccumulateGrad\n"
        "        AccumulateGrad\n"
    )
    net = text_of(cell_tagged(nb, "network"))
    assert "W.grad: torch.Size([3, 2])   bias.grad: torch.Size([2])" in net
    assert net.splitlines()[2] == "MeanBackward0"
    rows = text_of(cell_tagged(nb, "gradcheck")).splitlines()[1:]
    assert len(rows) == 3
    assert any("image/png" in o.get("data", {}) for o in cell_tagged(nb, "plot").outputs)
    # the exercise is committed unsolved: the checker says so, and does not raise
    checker = text_of(cell_tagged(nb, "checker"))
    assert "Not done yet" in checker and checker.rstrip().endswith("False")


def _printed(nb) -> list[tuple[str, str]]:
    """(source, text output) of each code cell whose output nbtorch must reproduce exactly."""
    skip = {"network", "plot", "gradcheck"}  # random numbers, pictures, last-digit rounding
    return [
        (c.source, re.sub(r"0x[0-9a-f]+", "0x...", text_of(c)))
        for c in nb.cells
        if c.cell_type == "code" and not skip & set(c.metadata.get("tags", []))
    ]


def test_intro_is_plain_pytorch(executed, tmp_path):
    """With ``import torch`` the notebook runs unchanged and prints the same (PyTorch oracle)."""
    pytest.importorskip("torch")
    theirs = execute(ROOT / "notebooks" / INTRO, tmp_path, replace_import="import torch")
    for (source, ours), (_, real) in zip(_printed(executed(INTRO)), _printed(theirs), strict=True):
        assert ours == real, f"nbtorch and PyTorch print differently for the cell:\n{source}"


# --- the exercise's checker, run in-process on right and wrong answers ---------------------------
def _checker(module):
    """Load the notebook's exercise and checker cells into a namespace with ``torch = module``."""
    nb = nbformat.read(ROOT / "notebooks" / INTRO, as_version=4)
    ns = {"torch": module}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        for tag in ("exercise", "checker"):
            exec(compile(cell_tagged(nb, tag).source, f"{INTRO}[{tag}]", "exec"), ns)
    assert "Not done yet" in printed.getvalue()
    return ns["check_tanh_grad"]


ANSWERS = [
    # learner's answer, is it right, what the checker must say
    pytest.param(lambda t, x: 1 - t.tanh(x) ** 2, True, "Correct", id="right"),
    pytest.param(lambda t, x: 1 - t.tanh(x.float()) ** 2, True, "Correct", id="right-float32"),
    pytest.param(lambda t, x: 1 - t.tanh(x), False, "square tanh(x) first", id="no-square"),
    pytest.param(lambda t, x: t.tanh(x) ** 2 - 1, False, "sign is flipped", id="sign"),
    pytest.param(lambda t, x: t.tanh(x) ** 2, False, "1 minus that", id="no-one-minus"),
    pytest.param(lambda t, x: 1 - x**2, False, "You squared x", id="squared-x"),
    pytest.param(lambda t, x: t.tanh(x), False, "Not yet: at x = ", id="other"),
    pytest.param(lambda t, x: [1.0] * 13, False, "should return a tensor, not list", id="list"),
    pytest.param(lambda t, x: x[:3], False, "Wrong shape: (3,), expected (13,)", id="shape"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), ANSWERS)
def test_exercise_checker(library, answer, right, message):
    module = nbtorch if library == "nbtorch" else pytest.importorskip("torch")
    check = _checker(module)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        verdict = check(lambda x: answer(module, x))
    assert verdict is right
    assert message in printed.getvalue()

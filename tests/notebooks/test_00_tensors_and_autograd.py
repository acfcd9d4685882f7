"""00 · Tensors and autograd: what it shows, its exercise checker, and that it is plain PyTorch.

When PyTorch is installed, the notebook also runs with ``import torch`` in place of
``import nbtorch as torch`` and must print the same.
"""

from __future__ import annotations

import re

import pytest

from tests.notebooks import _checkers
from tests.notebooks._nb import ROOT, cell_tagged, execute, text_of

INTRO = "00_tensors_and_autograd.ipynb"


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
    theirs = execute(ROOT / "notebooks" / INTRO, tmp_path, as_pytorch=True)
    for (source, ours), (_, real) in zip(_printed(executed(INTRO)), _printed(theirs), strict=True):
        assert ours == real, f"nbtorch and PyTorch print differently for the cell:\n{source}"


# --- the exercise's checker, run in-process on right and wrong answers ---------------------------
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
    module = _checkers.library(library)
    check = _checkers.load(INTRO, ("exercise", "checker"), module)["check_tanh_grad"]
    verdict, printed = _checkers.verdict(check, lambda x: answer(module, x))
    assert verdict is right
    assert message in printed

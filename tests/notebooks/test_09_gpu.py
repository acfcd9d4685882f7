"""09 · Running on a GPU: runs on CPU-only machines with a clear message, trains the same model,
is plain PyTorch, and its exercise checkers tell right from typical wrong answers."""

from __future__ import annotations

import re

import pytest

import nbtorch
from tests.notebooks import _checkers
from tests.notebooks._nb import ROOT, cell_tagged, execute, text_of

NAME = "09_gpu.ipynb"


def test_says_where_it_runs(executed):
    nb = executed(NAME)
    said = text_of(cell_tagged(nb, "device"))
    if nbtorch.cuda.is_available():
        assert said.startswith("GPU found: ") and "device: cuda" in said
    else:
        assert said.startswith("No CUDA GPU here: the cells below run on the CPU")
        assert "pip install nbtorch[cuda]" in said and said.endswith("device: cpu\n")
        assert text_of(cell_tagged(nb, "no-cuda")) == (
            "AssertionError: Torch not compiled with CUDA enabled\n")


def test_trains_and_times(executed):
    nb = executed(NAME)
    trained = text_of(cell_tagged(nb, "train"))
    accuracy = float(re.search(r"on cpu:  loss [0-9.]+, accuracy ([0-9.]+)", trained).group(1))
    assert accuracy >= 0.95
    rows = text_of(cell_tagged(nb, "gflops")).splitlines()[1:]
    assert [int(r.split()[0]) for r in rows] == [16, 64, 256, 1024]
    assert all(float(v) > 0 for r in rows for v in r.split()[1:])


def test_is_plain_pytorch(executed, tmp_path):
    """Under ``import torch`` it runs unchanged and prints the same (timings aside)."""
    pytest.importorskip("torch")
    ours = executed(NAME)
    theirs = execute(ROOT / "notebooks" / NAME, tmp_path, as_pytorch=True)
    for mine, real in zip(ours.cells, theirs.cells, strict=True):
        if mine.cell_type == "code" and "gflops" not in mine.metadata.get("tags", []):
            assert text_of(mine) == text_of(real), mine.source


def _checker(module, exercise: str, name: str):
    """The checker ``name`` of ``exercise-<exercise>``, loaded with ``torch = module`` after the
    "device" cell (check_move moves to its ``device``)."""
    tags = ("device", f"exercise-{exercise}", f"checker-{exercise}")
    return _checkers.load(NAME, tags, module)[name]


def _bytes(m):
    return sum(p.numel() * p.element_size() for p in m.parameters())


BYTES = [
    pytest.param(_bytes, True, "Correct: 1360 bytes", id="right"),
    pytest.param(lambda m: next(m.parameters()).new_tensor(_bytes(m)), True, "Correct",
                 id="right-tensor"),
    pytest.param(lambda m: sum(p.numel() for p in m.parameters()), False, "counted numbers",
                 id="numbers"),
    pytest.param(lambda m: 4 * sum(p.numel() for p in m.parameters()), False, "4 bytes",
                 id="four-bytes"),
    pytest.param(lambda m: sum(p.numel() * p.element_size() for n, p in m.named_parameters()
                               if "weight" in n), False, "A bias is missing", id="no-bias"),
    pytest.param(lambda m: sum(p.shape[0] * p.element_size() for p in m.parameters()), False,
                 "shape[0]", id="rows"),
    pytest.param(lambda m: "1360", False, "not str", id="string"),
    pytest.param(lambda m: 7, False, "Not yet: you return 7, the parameters take 1360", id="other"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), BYTES)
def test_bytes_checker(library, answer, right, message):
    check = _checker(_checkers.library(library), "bytes", "check_parameter_bytes")
    _checkers.expect(check, answer, right, message)


def _move(torch):
    def move(batch, device):
        if isinstance(batch, torch.Tensor):
            return batch.to(device)
        if isinstance(batch, dict):
            return {k: move(v, device) for k, v in batch.items()}
        if isinstance(batch, (list, tuple)):
            return type(batch)(move(x, device) for x in batch)
        return batch

    return move


def _flat(torch):
    """Rebuilds lists and dicts but turns tuples into lists."""
    def move(batch, device):
        if isinstance(batch, torch.Tensor):
            return batch.to(device)
        if isinstance(batch, dict):
            return {k: move(v, device) for k, v in batch.items()}
        if isinstance(batch, (list, tuple)):
            return [move(x, device) for x in batch]
        return batch

    return move


def _tensors_only(torch):
    """Drops what is not a tensor."""
    def move(batch, device):
        if isinstance(batch, dict):
            return {k: move(v, device) for k, v in batch.items()}
        if isinstance(batch, (list, tuple)):
            return type(batch)(move(x, device) for x in batch if not isinstance(x, (str, int)))
        return batch.to(device) if batch is not None else None

    return move


MOVES = [
    pytest.param(_move, True, "Correct: every tensor is on", id="right"),
    pytest.param(_flat, False, "keep tuples tuples", id="tuple-to-list"),
    pytest.param(_tensors_only, False, "list of 3 items", id="drops-items"),
    pytest.param(lambda t: lambda b, d: list(b.values()), False, "dict with the same keys",
                 id="not-a-dict"),
    pytest.param(lambda t: lambda b, d: {"image": b["image"].to(d),
                                         "meta": ["b.png", 7, b["meta"][2]]},
                 False, "must come back unchanged", id="changed-string"),
    pytest.param(lambda t: lambda b, d: {"image": b["image"].to(d) + 1, "meta": b["meta"]},
                 False, "values changed", id="changed-values"),
    pytest.param(lambda t: lambda b, d: {"image": b["image"].tolist(), "meta": b["meta"]},
                 False, "Tensors must stay tensors", id="tolist"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), MOVES)
def test_move_checker(library, answer, right, message):
    module = _checkers.library(library)
    check = _checker(module, "move", "check_move")
    _checkers.expect(check, answer(module), right, message)

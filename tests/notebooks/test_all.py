"""Every notebook of the course: committed clean, built the same way, and runs top to bottom."""

from __future__ import annotations

import re

import pytest

from tests.notebooks._nb import IMPORT_LINE, NOTEBOOKS, read, text_of

COURSE = [
    "00_tensors_and_autograd", "01_autograd_and_the_graph", "02_stepping_through_backprop",
    "03_training_an_mlp", "04_convolutional_networks", "05_optimizers_compared",
    "06_recurrent_networks", "07_attention_and_transformers", "08_debugging_training", "09_gpu",
]
ids = [p.name for p in NOTEBOOKS]


def test_the_course_is_complete_and_in_order():
    assert [p.stem for p in NOTEBOOKS] == COURSE


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_committed_without_outputs(path):
    nb = read(path.name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip the outputs"
    assert "widgets" not in nb.metadata, "saved widget state hides the static pictures"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_layout(path):
    """Title, learning goals first, the import under PyTorch's name, exercises with checkers."""
    nb = read(path.name)
    first = nb.cells[0]
    number = path.name[:2]
    assert first.cell_type == "markdown"
    assert re.match(rf"# {number} · \S", first.source), first.source.splitlines()[0]
    assert "**After this notebook you can**" in first.source
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert IMPORT_LINE in setup.source
    exercises = [c for c in nb.cells if "exercise" in _tags(c)]
    checkers = [c for c in nb.cells if "checker" in _tags(c)]
    assert exercises and len(checkers) == len(exercises)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_runs_top_to_bottom(path, executed):
    nb = executed(path.name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    # exercises are committed unsolved: each checker says so, returns False, and does not raise
    for cell in nb.cells:
        if "checker" in _tags(cell):
            out = text_of(cell)
            assert "Not done yet" in out and out.rstrip().endswith("False"), (_tags(cell), out)

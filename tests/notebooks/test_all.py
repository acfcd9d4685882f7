"""Every notebook of the course: committed clean, built the same way, and runs top to bottom."""

from __future__ import annotations

import re

import pytest

from tests.notebooks._nb import IMPORT_LINE, NOTEBOOKS, execute, read, text_of

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


def _solve(nb) -> list[int]:
    """Put the answer shown under each exercise ("Stuck? One answer") into the exercise cell;
    returns the indices of the checker cells."""
    checkers = []
    for i, cell in enumerate(nb.cells):
        if "exercise" not in _tags(cell):
            continue
        checker, answer = nb.cells[i + 1], nb.cells[i + 2]
        assert "checker" in _tags(checker), "a checker cell follows each exercise"
        assert answer.cell_type == "markdown" and "Stuck? One answer" in answer.source
        code = re.search(r"```python\n(.*?)```", answer.source, re.S).group(1)
        if code[:1].isspace():  # a method of the exercise's class: it replaces the stub's tail
            head = "\n".join(code.splitlines()[:2])
            assert head in cell.source, f"the answer's {head!r} is not in the exercise"
            code = cell.source[:cell.source.index(head)] + code
        cell.source = code
        checkers.append(i + 1)
    return checkers


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_the_answers_shown_pass_their_checkers(path, tmp_path):
    """The course's own answers, run in place of the exercises, satisfy the checkers."""
    checkers = []
    nb = execute(path, tmp_path, edit=lambda nb: checkers.extend(_solve(nb)))
    for i in checkers:
        said = text_of(nb.cells[i])
        assert "Correct" in said and said.rstrip().endswith("True"), said

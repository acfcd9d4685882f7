"""Running a notebook's exercise checkers in this process, on right and wrong answers.

The notebook tests load an exercise's cells (the learner's stub and its checker) with nbtorch or,
where installed, PyTorch as ``torch``, then call the checker on typical answers and read what it
says. Kept apart from ``_nb`` because it imports pytest, which ``binder/run_notebooks.py`` lacks.
"""

from __future__ import annotations

import contextlib
import io
import math

import pytest

import nbtorch
from tests.notebooks import _nb


def library(name: str):
    """``nbtorch`` for "nbtorch"; for "torch", PyTorch (the test is skipped without it)."""
    return nbtorch if name == "nbtorch" else pytest.importorskip("torch")


def namespace(module) -> dict:
    """What a notebook's setup cell gives its exercises, with ``torch = module``.

    ``math`` too: the setup cells of 03, 06 and 07 import it, and 07's attention checker uses it.
    """
    return {"torch": module, "nn": module.nn, "F": module.nn.functional, "math": math}


def load(notebook: str, tags, module, unsolved: int | None = 1) -> dict:
    """Exec the cells of ``notebooks/<notebook>`` tagged ``tags`` (in that order) in
    ``namespace(module)``, and return that namespace.

    The exercises are committed unsolved, so their checkers print "Not done yet": it must appear
    exactly ``unsolved`` times in what the cells printed (``None``: not checked).
    """
    ns = namespace(module)
    printed = _nb.run_tagged(notebook, tags, ns)
    if unsolved is not None:
        assert printed.count("Not done yet") == unsolved, printed
    return ns


def verdict(check, answer) -> tuple[bool, str]:
    """Call ``check(answer)``; returns its verdict and what it printed."""
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        said = check(answer)
    return said, printed.getvalue()


def expect(check, answer, right: bool, message: str) -> None:
    """Assert that ``check(answer)`` returns ``right`` and prints ``message``."""
    said, printed = verdict(check, answer)
    assert said is right, printed
    assert message in printed, printed

"""Fixtures shared by the widget tests."""

from __future__ import annotations

import pytest

from nbtorch.viz import _live


class Clock:
    """A fake ``_live.now``: time moves only when the test says so."""

    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch):
    """Live widgets' throttling reads this clock; a test advances it with ``clock.t += s``."""
    c = Clock()
    monkeypatch.setattr(_live, "now", c)
    return c

"""Shared fixtures: ``device`` runs a test on every device this machine has."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch

DEVICES = ["cpu"] + (["cuda"] if nbtorch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Tests that switch grad mode or anomaly mode off must not leak it to the next test."""
    from nbtorch.autograd.anomaly import ANOMALY
    from nbtorch.autograd.grad_mode import GRAD

    yield
    GRAD.enabled = True
    ANOMALY.enabled = False

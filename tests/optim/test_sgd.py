"""Tests of nbtorch/optim/sgd.py: trajectories against a float64 numpy reference of the documented
rule and against PyTorch (float32 and float64) for a table of options, state dicts, resuming,
repr and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, needs_torch, real_torch
from tests.optim._common import check_against_torch_and_reference, check_resume

CASES = [
    {"lr": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "dampening": 0.5},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.1, "weight_decay": 0.1},
    {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.01, "nesterov": True},
    {"lr": 0.01, "momentum": 0.5, "maximize": True},
    {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.05, "maximize": True},
]


def sgd_reference(lr, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    """The rule in SGD's docstring, in float64 numpy."""

    def update(p, g, state, t):
        g = -g if maximize else g
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            b = g.copy() if t == 1 else momentum * state["b"] + (1 - dampening) * g
            state["b"] = b
            g = g + momentum * b if nesterov else b
        return p - lr * g

    return update


@pytest.mark.parametrize("options", CASES, ids=str)
def test_trajectory(options, device):
    check_against_torch_and_reference("SGD", options, sgd_reference(**options), device)


@pytest.mark.parametrize("options", [CASES[1], CASES[5]], ids=str)
def test_resume_from_state_dict(options, device):
    check_resume("SGD", options, device)


def test_no_momentum_keeps_no_state():
    w = nbtorch.nn.Parameter(nbtorch.ones(2))
    opt = nbtorch.optim.SGD([w], lr=0.1)
    w.sum().backward()
    opt.step()
    assert len(opt.state) == 0 and opt.state_dict()["state"] == {}


def test_float32_stays_float32():
    w = nbtorch.nn.Parameter(nbtorch.ones(3))
    opt = nbtorch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)
    for _ in range(2):
        (w * w).sum().backward()
        opt.step()
    assert w._data.dtype == np.float32
    assert opt.state[w]["momentum_buffer"]._data.dtype == np.float32


def test_updates_in_place_and_bumps_the_version():
    w = nbtorch.nn.Parameter(nbtorch.ones(3))
    data, version = w._data, w._version
    opt = nbtorch.optim.SGD([w], lr=0.1)
    w.sum().backward()
    opt.step()
    assert w._data is data and w._version == version + 1
    np.testing.assert_allclose(data, np.full(3, 0.9, np.float32))


@needs_torch
def test_repr_matches_torch():
    def text(m):
        w, b = m.nn.Parameter(m.ones(2)), m.nn.Parameter(m.ones(2))
        return repr(m.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1,
                                momentum=0.9))

    assert text(nbtorch) == text(real_torch)
    assert text(nbtorch).startswith("SGD (\nParameter Group 0\n    dampening: 0\n")


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": -0.1}, "Invalid learning rate: -0.1"),
    ({"lr": 0.1, "momentum": -1}, "Invalid momentum value: -1"),
    ({"lr": 0.1, "weight_decay": -0.5}, "Invalid weight_decay value: -0.5"),
    ({"lr": 0.1, "nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
    ({"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True},
     "Nesterov momentum requires a momentum and zero dampening"),
])
def test_errors(kwargs, message):
    assert_same_error(lambda m: m.optim.SGD([m.nn.Parameter(m.ones(1))], **kwargs), ValueError,
                      message)

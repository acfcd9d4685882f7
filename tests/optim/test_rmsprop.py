"""Tests of nbtorch/optim/rmsprop.py: trajectories against a float64 numpy reference of the
documented rule and against PyTorch (float32 and float64) for a table of options, state dicts,
resuming, repr and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, needs_torch, real_torch
from tests.optim._common import check_against_torch_and_reference, check_resume

CASES = [
    {"lr": 0.01},
    {"lr": 0.01, "alpha": 0.9},
    {"lr": 0.01, "alpha": 0.3},
    {"lr": 0.01, "momentum": 0.9},
    {"lr": 0.01, "centered": True},
    # 1 - alpha > 0.5: lerp's other form for grad_avg; v - grad_avg² nearly cancels at this alpha,
    # so a larger eps keeps float32 comparable
    {"lr": 0.01, "alpha": 0.3, "centered": True, "momentum": 0.5, "eps": 0.01},
    {"lr": 0.01, "weight_decay": 0.1, "eps": 1e-4},
    {"lr": 0.005, "maximize": True, "momentum": 0.3, "centered": True, "weight_decay": 0.01},
]


def rmsprop_reference(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                      maximize=False):
    """The rule in RMSprop's docstring, in float64 numpy."""

    def update(p, g, state, t):
        g = -g if maximize else g
        if weight_decay:
            g = g + weight_decay * p
        v = state["v"] = alpha * state.get("v", 0) + (1 - alpha) * g * g
        if centered:
            ga = state["ga"] = alpha * state.get("ga", 0) + (1 - alpha) * g
            avg = np.sqrt(v - ga * ga) + eps
        else:
            avg = np.sqrt(v) + eps
        if momentum > 0:
            b = state["b"] = momentum * state.get("b", 0) + g / avg
            return p - lr * b
        return p - lr * g / avg

    return update


@pytest.mark.parametrize("options", CASES, ids=str)
def test_trajectory(options, device):
    check_against_torch_and_reference("RMSprop", options, rmsprop_reference(**options), device)


@pytest.mark.parametrize("options", [CASES[0], CASES[5]], ids=str)
def test_resume_from_state_dict(options, device):
    check_resume("RMSprop", options, device)


def test_state_keys():
    w = nbtorch.nn.Parameter(nbtorch.ones(2))
    opt = nbtorch.optim.RMSprop([w], momentum=0.5, centered=True)
    w.sum().backward()
    opt.step()
    assert list(opt.state[w]) == ["step", "square_avg", "momentum_buffer", "grad_avg"]


@needs_torch
def test_repr_matches_torch():
    def text(m):
        return repr(m.optim.RMSprop([m.nn.Parameter(m.ones(2))], centered=True))

    assert text(nbtorch) == text(real_torch)


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": -0.01}, "Invalid learning rate: -0.01"),
    ({"eps": -1.0}, "Invalid epsilon value: -1.0"),
    ({"momentum": -0.9}, "Invalid momentum value: -0.9"),
    ({"weight_decay": -1e-4}, "Invalid weight_decay value: -0.0001"),
    ({"alpha": -0.5}, "Invalid alpha value: -0.5"),
])
def test_errors(kwargs, message):
    assert_same_error(lambda m: m.optim.RMSprop([m.nn.Parameter(m.ones(1))], **kwargs),
                      ValueError, message)

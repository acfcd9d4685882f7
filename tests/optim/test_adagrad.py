"""Tests of nbtorch/optim/adagrad.py: trajectories against a float64 numpy reference of the
documented rule and against PyTorch (float32 and float64) for a table of options, state dicts,
resuming, repr and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, needs_torch, real_torch
from tests.optim._common import (
    assert_same_state_dict,
    check_against_torch_and_reference,
    check_resume,
)

CASES = [
    {"lr": 0.1},
    {"lr": 0.1, "lr_decay": 0.05},
    {"lr": 0.1, "weight_decay": 0.1},
    {"lr": 0.1, "initial_accumulator_value": 0.5},
    {"lr": 0.1, "eps": 1e-3, "maximize": True},
    {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1},
]


def adagrad_reference(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                      eps=1e-10, maximize=False):
    """The rule in Adagrad's docstring, in float64 numpy."""

    def update(p, g, state, t):
        g = -g if maximize else g
        if weight_decay:
            g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = state["s"] = state.get("s", initial_accumulator_value) + g * g
        return p - clr * g / (np.sqrt(s) + eps)

    return update


@pytest.mark.parametrize("options", CASES, ids=str)
def test_trajectory(options, device):
    check_against_torch_and_reference("Adagrad", options, adagrad_reference(**options), device)


@pytest.mark.parametrize("options", [CASES[1], CASES[5]], ids=str)
def test_resume_from_state_dict(options, device):
    check_resume("Adagrad", options, device)


def test_state_made_at_construction_and_for_later_groups():
    a, b = nbtorch.nn.Parameter(nbtorch.ones(2)), nbtorch.nn.Parameter(nbtorch.ones(2))
    opt = nbtorch.optim.Adagrad([a], initial_accumulator_value=0.5)
    assert repr(opt.state[a]["step"]) == "tensor(0.)"
    np.testing.assert_array_equal(opt.state[a]["sum"]._data, np.full(2, 0.5, np.float32))
    opt.add_param_group({"params": [b]})
    (a + b).sum().backward()
    opt.step()
    assert repr(opt.state[b]["step"]) == "tensor(1.)"
    np.testing.assert_allclose(opt.state[b]["sum"]._data, np.full(2, 1.5, np.float32))


@needs_torch
def test_state_dict_before_any_step_matches_torch():
    def make(m):
        return m.optim.Adagrad([m.nn.Parameter(m.ones(2))], initial_accumulator_value=0.1)

    assert_same_state_dict(make(nbtorch).state_dict(), make(real_torch).state_dict())


@needs_torch
def test_repr_matches_torch():
    def text(m):
        return repr(m.optim.Adagrad([m.nn.Parameter(m.ones(2))], lr_decay=0.1))

    assert text(nbtorch) == text(real_torch)


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": -0.01}, "Invalid learning rate: -0.01"),
    ({"lr_decay": -1}, "Invalid lr_decay value: -1"),
    ({"weight_decay": -1}, "Invalid weight_decay value: -1"),
    ({"initial_accumulator_value": -0.1}, "Invalid initial_accumulator_value value: -0.1"),
    ({"eps": -1e-10}, "Invalid epsilon value: -1e-10"),
])
def test_errors(kwargs, message):
    assert_same_error(lambda m: m.optim.Adagrad([m.nn.Parameter(m.ones(1))], **kwargs),
                      ValueError, message)

"""Tests of nbtorch/optim/adam.py: trajectories against a float64 numpy reference of the
documented rule and against PyTorch (float32 and float64) for a table of options, state dicts,
resuming, repr and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, needs_torch, real_torch
from tests.optim._common import adam_reference, check_against_torch_and_reference, check_resume

CASES = [
    {"lr": 0.05},
    {"lr": 0.05, "betas": (0.8, 0.99)},
    {"lr": 0.05, "betas": (0.3, 0.9)},  # beta1 < 0.5: lerp's other form
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.05, "amsgrad": True},
    {"lr": 0.05, "eps": 1e-3, "maximize": True},
    {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True},
    {"lr": 0.02, "betas": (0.5, 0.9), "weight_decay": 0.05, "amsgrad": True, "maximize": True},
]


@pytest.mark.parametrize("options", CASES, ids=str)
def test_trajectory(options, device):
    check_against_torch_and_reference("Adam", options, adam_reference(**options), device)


@pytest.mark.parametrize("options", [CASES[0], CASES[4]], ids=str)
def test_resume_from_state_dict(options, device):
    check_resume("Adam", options, device)


def test_state_is_lazy_and_step_is_a_float_tensor():
    w = nbtorch.nn.Parameter(nbtorch.ones(3))
    opt = nbtorch.optim.Adam([w], lr=0.1)
    assert len(opt.state) == 0
    (w * w).sum().backward()
    opt.step()
    state = opt.state[w]
    assert list(state) == ["step", "exp_avg", "exp_avg_sq"]
    assert repr(state["step"]) == "tensor(1.)"
    assert state["exp_avg"]._data.dtype == np.float32 and w._data.dtype == np.float32


def test_step_counter_follows_the_default_dtype():
    nbtorch.set_default_dtype(nbtorch.float64)
    try:
        w = nbtorch.nn.Parameter(nbtorch.ones(3))
        opt = nbtorch.optim.Adam([w])
        w.sum().backward()
        opt.step()
        assert opt.state[w]["step"].dtype == nbtorch.float64
    finally:
        nbtorch.set_default_dtype(nbtorch.float32)


@needs_torch
def test_repr_matches_torch():
    def text(m):
        return repr(m.optim.Adam([m.nn.Parameter(m.ones(2))], lr=0.01, amsgrad=True))

    assert text(nbtorch) == text(real_torch)


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": -1.0}, "Invalid learning rate: -1.0"),
    ({"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ({"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
    ({"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    ({"weight_decay": -1}, "Invalid weight_decay value: -1"),
    ({"betas": (0.9, 0)}, "betas must be either both floats or both Tensors"),
])
def test_errors(kwargs, message):
    assert_same_error(lambda m: m.optim.Adam([m.nn.Parameter(m.ones(1))], **kwargs), ValueError,
                      message)

"""Tests of nbtorch/optim/adamw.py: trajectories against a float64 numpy reference of the
documented rule and against PyTorch, state dicts, resuming and repr."""

from __future__ import annotations

import pytest

import nbtorch
from tests.helpers import assert_same_error, needs_torch, real_torch
from tests.optim._common import adam_reference, check_against_torch_and_reference, check_resume

CASES = [
    {"lr": 0.05},  # the default weight_decay is 1e-2
    {"lr": 0.05, "weight_decay": 0.5},
    {"lr": 0.05, "weight_decay": 0.0},
    {"lr": 0.05, "betas": (0.3, 0.9), "amsgrad": True},
    {"lr": 0.02, "weight_decay": 0.1, "maximize": True, "eps": 1e-4},
]


@pytest.mark.parametrize("options", CASES, ids=str)
def test_trajectory(options, device):
    reference = adam_reference(**{"weight_decay": 1e-2, **options}, decoupled_weight_decay=True)
    check_against_torch_and_reference("AdamW", options, reference, device)


@pytest.mark.parametrize("options", [CASES[1], CASES[3]], ids=str)
def test_resume_from_state_dict(options, device):
    check_resume("AdamW", options, device)


def test_is_adam_with_decoupled_weight_decay():
    w = nbtorch.nn.Parameter(nbtorch.ones(1))
    opt = nbtorch.optim.AdamW([w])
    assert isinstance(opt, nbtorch.optim.Adam)
    assert opt.defaults["decoupled_weight_decay"] is True and opt.defaults["weight_decay"] == 0.01
    sd = opt.state_dict()
    sd["param_groups"][0]["decoupled_weight_decay"] = False
    opt.load_state_dict(sd)  # AdamW stays decoupled, as in PyTorch
    assert opt.param_groups[0]["decoupled_weight_decay"] is True


@needs_torch
def test_repr_matches_torch():
    def text(m):
        return repr(m.optim.AdamW([m.nn.Parameter(m.ones(2))], lr=0.01, weight_decay=0.1))

    assert text(nbtorch) == text(real_torch)


def test_errors():
    assert_same_error(lambda m: m.optim.AdamW([m.nn.Parameter(m.ones(1))], lr=-0.5), ValueError,
                      "Invalid learning rate: -0.5")

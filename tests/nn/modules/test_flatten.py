"""Flatten and Unflatten against PyTorch: shapes, values, gradients, errors, reprs."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, both, check_op, needs_torch, real_torch


@pytest.mark.parametrize("start, end, shape, expected", [
    (1, -1, (2, 3, 4, 5), (2, 60)),
    (0, -1, (2, 3, 4), (24,)),
    (0, 1, (2, 3, 4), (6, 4)),
    (-2, -1, (2, 3, 4), (2, 12)),
    (2, 2, (2, 3, 4), (2, 3, 4)),
    (0, -1, (), (1,)),
])
def test_flatten(start, end, shape, expected, device):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    check_op(lambda m, x: m.nn.Flatten(start, end)(x), lambda x: x.reshape(expected), [x],
             device=device)


def test_flatten_default_keeps_the_batch_dim():
    assert nbtorch.nn.Flatten()(nbtorch.zeros(32, 1, 5, 5)).shape == (32, 25)


@pytest.mark.parametrize("dim, sizes, shape, expected", [
    (1, (2, 5), (3, 10), (3, 2, 5)),
    (-1, [2, -1], (3, 10), (3, 2, 5)),
    (0, (1, 3), (3, 4), (1, 3, 4)),
])
def test_unflatten(dim, sizes, shape, expected, device):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    check_op(lambda m, x: m.nn.Unflatten(dim, sizes)(x), lambda x: x.reshape(expected), [x],
             device=device)


@both
def test_round_trip(m):
    x = m.arange(24.0).reshape(2, 3, 4)
    y = m.nn.Unflatten(1, (3, 4))(m.nn.Flatten()(x))
    assert m.equal(x, y)


@pytest.mark.parametrize("make, error, message", [
    (lambda m: m.nn.Unflatten(1, 5), TypeError,
     "unflattened_size must be a tuple of ints, but found type int"),
    (lambda m: m.nn.Unflatten(1, (2, 2.5)), TypeError,
     "unflattened_size must be tuple of ints, but found element of type float at pos 1"),
    (lambda m: m.nn.Flatten(2, 0)(m.zeros(2, 3, 4)), RuntimeError,
     "flatten() has invalid args: start_dim cannot come after end_dim"),
])
def test_errors(make, error, message):
    assert_same_error(make, error, message)


@needs_torch
def test_reprs_match_torch():
    for make in (lambda m: m.nn.Flatten(), lambda m: m.nn.Flatten(0, 2),
                 lambda m: m.nn.Unflatten(1, (2, 5)), lambda m: m.nn.Unflatten(-1, [3, -1])):
        assert repr(make(nbtorch)) == repr(make(real_torch))
    assert repr(nbtorch.nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"

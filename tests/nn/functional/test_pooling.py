"""Tests of nbtorch/nn/functional/_pooling.py: the pooling functions under PyTorch's names,
positional order and keyword arguments (the primitives are tested in tests/ops/test_pooling.py)."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import check_torch, real_torch

RNG = np.random.default_rng(2)
X = RNG.standard_normal((2, 3, 7, 8)).astype(np.float32)
L = RNG.standard_normal((2, 3, 9)).astype(np.float32)

CALLS = [
    ("max_pool2d_keywords", lambda m, x: m.nn.functional.max_pool2d(
        input=x, kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True,
        return_indices=False), X),
    ("max_pool2d_positional", lambda m, x: m.nn.functional.max_pool2d(x, (2, 3), (2, 1), (1, 1),
                                                                     (1, 2), True), X),
    ("avg_pool2d_keywords", lambda m, x: m.nn.functional.avg_pool2d(
        input=x, kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False,
        divisor_override=None), X),
    ("avg_pool2d_positional", lambda m, x: m.nn.functional.avg_pool2d(x, 2, 1, 1, False, True, 3),
     X),
    ("max_pool1d", lambda m, x: m.nn.functional.max_pool1d(x, kernel_size=3, stride=2,
                                                           padding=1, dilation=1), L),
    ("avg_pool1d", lambda m, x: m.nn.functional.avg_pool1d(x, 3, 2, 1, True, False), L),
    ("adaptive_avg_pool2d", lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (3, 5)), X),
    ("adaptive_avg_pool1d", lambda m, x: m.nn.functional.adaptive_avg_pool1d(x, 4), L),
    ("adaptive_max_pool2d", lambda m, x: m.nn.functional.adaptive_max_pool2d(x, (3, 5)), X),
    ("adaptive_max_pool1d", lambda m, x: m.nn.functional.adaptive_max_pool1d(x, 4), L),
    ("torch_max_pool2d", lambda m, x: m.max_pool2d(x, 2), X),
    ("torch_max_pool1d", lambda m, x: m.max_pool1d(x, 2), L),
    ("torch_avg_pool1d", lambda m, x: m.avg_pool1d(x, 2), L),
    ("torch_adaptive_avg_pool1d", lambda m, x: m.adaptive_avg_pool1d(x, 3), L),
]


@pytest.mark.parametrize("name,fn,x", CALLS, ids=[c[0] for c in CALLS])
def test_calls_match_pytorch(name, fn, x):
    if name.startswith("torch_") and not hasattr(nbtorch, name[6:]):
        pytest.skip(f"torch.{name[6:]} is exported once ops/pooling.py is a core family")
    out = fn(nbtorch, nbtorch.tensor(x))
    assert out.dtype == nbtorch.float32
    check_torch(fn, [x])


def test_with_indices_variants():
    F = nbtorch.nn.functional
    y, idx = F.max_pool2d_with_indices(nbtorch.tensor(X), 2)
    y2, idx2 = F.max_pool2d(nbtorch.tensor(X), 2, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    np.testing.assert_array_equal(idx.numpy(), idx2.numpy())
    y1, i1 = F.max_pool1d_with_indices(nbtorch.tensor(L), 2)
    assert i1.shape == y1.shape == (2, 3, 4)
    if real_torch is not None:
        _, ti = real_torch.nn.functional.max_pool1d_with_indices(real_torch.tensor(L), 2)
        np.testing.assert_array_equal(i1.numpy(), ti.numpy())


def test_public_names():
    F = nbtorch.nn.functional
    for name in ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d",
                 "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                 "adaptive_max_pool1d", "adaptive_max_pool2d", "max_pool1d_with_indices",
                 "max_pool2d_with_indices"]:
        assert callable(getattr(F, name)), name

"""Tests of nbtorch/ops/normalization.py, the fused batch/layer/group norm primitive: its
backward against the same math composed of elementary ops, double backward, saved-tensor safety,
and that it never writes into the gradient it receives."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from nbtorch.autograd import gradcheck, gradgradcheck
from nbtorch.ops.normalization import NativeBatchNorm, NativeGroupNorm, NativeLayerNorm

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 5))

# (op, stats_shape, axes, weight shape): statistics per (row of the view) or per channel
VIEWS = [
    (NativeLayerNorm, (1, -1, 5), (2,), (5,)),
    (NativeGroupNorm, (1, 6, -1), (2,), (1, 4, 1)),
    (NativeBatchNorm, (3, 4, -1), (0, 2), (1, 4, 1)),
]


def _composed(x, w, b, stats_shape, axes, eps):
    v = x.reshape(stats_shape)
    mean = v.mean(axes, keepdim=True)
    var = ((v - mean) ** 2).mean(axes, keepdim=True)
    return ((v - mean) / (var + eps).sqrt()).reshape(x.shape) * w + b


@pytest.mark.parametrize("op, stats_shape, axes, wshape", VIEWS, ids=[v[0].__name__ for v in VIEWS])
def test_matches_the_composition(op, stats_shape, axes, wshape, device):
    w_np, b_np = RNG.standard_normal(wshape), RNG.standard_normal(wshape)
    g = nbtorch.tensor(RNG.standard_normal(X.shape), device=device)
    results = []
    for fused in (True, False):
        x, w, b = (nbtorch.tensor(a, requires_grad=True, device=device) for a in (X, w_np, b_np))
        if fused:
            y = op.apply(x, w, b, stats_shape=stats_shape, axes=axes, eps=1e-3)
        else:
            y = _composed(x, w, b, stats_shape, axes, 1e-3)
        y.backward(g)
        results.append([t.detach().cpu().numpy() for t in (y, x.grad, w.grad, b.grad)])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op, stats_shape, axes, wshape", VIEWS, ids=[v[0].__name__ for v in VIEWS])
@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck_and_double_backward(op, stats_shape, axes, wshape, affine):
    x = nbtorch.tensor(X, requires_grad=True)
    w = nbtorch.tensor(RNG.standard_normal(wshape), requires_grad=True)
    b = nbtorch.tensor(RNG.standard_normal(wshape), requires_grad=True)
    inputs = (x, w, b) if affine else (x,)

    def fn(x, w=None, b=None):
        return op.apply(x, w, b, stats_shape=stats_shape, axes=axes, eps=1e-5)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_float32_in_float32_out():
    x = nbtorch.randn(4, 6, requires_grad=True)
    y = NativeLayerNorm.apply(x, None, None, stats_shape=(1, -1, 6), axes=(2,), eps=1e-5)
    y.sum().backward()
    assert y.dtype == nbtorch.float32 and x.grad.dtype == nbtorch.float32


def test_gradient_handed_in_is_left_alone():
    for w in (None, nbtorch.ones(6, requires_grad=True)):
        x = nbtorch.randn(4, 6, requires_grad=True)
        g = nbtorch.randn(4, 6)
        before = g.numpy().copy()
        NativeLayerNorm.apply(x, w, None, stats_shape=(1, -1, 6), axes=(2,)).backward(g)
        np.testing.assert_array_equal(g.numpy(), before)


def test_modified_input_is_detected():
    x = nbtorch.randn(4, 6, requires_grad=True)
    h = x * 1
    y = NativeLayerNorm.apply(h, None, None, stats_shape=(1, -1, 6), axes=(2,))
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_running_statistics_update():
    rm, rv = nbtorch.zeros(4, dtype=nbtorch.float64), nbtorch.ones(4, dtype=nbtorch.float64)
    NativeBatchNorm.apply(nbtorch.tensor(X), None, None, stats_shape=(3, 4, -1), axes=(0, 2),
                          running=(rm, rv), momentum=0.5)
    np.testing.assert_allclose(rm.numpy(), 0.5 * X.mean((0, 2)))
    np.testing.assert_allclose(rv.numpy(), 0.5 + 0.5 * X.var((0, 2), ddof=1))

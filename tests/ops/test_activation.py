"""Tests of nbtorch/ops/activation.py: softmax and log-softmax (values, gradients, double backward,
dtype=, extreme and non-finite logits, errors) and the top-level selu/celu/threshold."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, both, check_op, needs_torch, real_torch, values_of

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((2, 3, 4))
V = RNG.standard_normal(5)


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(a, axis):
    s = a - a.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


CASES = [
    ("softmax_dim1", lambda m, x: m.softmax(x, 1), lambda a: _softmax(a, 1), A),
    ("softmax_dim0", lambda m, x: m.softmax(x, dim=0), lambda a: _softmax(a, 0), A),
    ("softmax_neg", lambda m, x: x.softmax(-1), lambda a: _softmax(a, -1), B),
    ("softmax_mid", lambda m, x: x.softmax(1), lambda a: _softmax(a, 1), B),
    ("softmax_1d", lambda m, x: m.softmax(x, 0), lambda a: _softmax(a, 0), V),
    ("log_softmax_dim1", lambda m, x: m.log_softmax(x, 1), lambda a: _log_softmax(a, 1), A),
    ("log_softmax_dim0", lambda m, x: x.log_softmax(0), lambda a: _log_softmax(a, 0), A),
    ("log_softmax_3d", lambda m, x: x.log_softmax(dim=-2), lambda a: _log_softmax(a, -2), B),
    ("log_softmax_1d", lambda m, x: m.log_softmax(x, -1), lambda a: _log_softmax(a, -1), V),
    ("selu", lambda m, x: m.selu(x),
     lambda a: 1.0507009873554805 * np.where(a > 0, a, 1.6732632423543772 * np.expm1(a)), A),
    ("celu", lambda m, x: m.celu(x, 2.0), lambda a: np.where(a > 0, a, 2 * np.expm1(a / 2)), A),
    ("threshold", lambda m, x: m.threshold(x, 0.1, -2.0), lambda a: np.where(a > 0.1, a, -2.0),
     A),
]


@pytest.mark.parametrize("fn, ref, array", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_values_and_gradients(fn, ref, array, device):
    check_op(fn, ref, [array], device=device)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_gradcheck_and_gradgradcheck_float64(name):
    x = nbtorch.tensor(B, dtype=nbtorch.float64, requires_grad=True)
    fn = getattr(nbtorch, name)
    assert nbtorch.autograd.gradcheck(lambda t: fn(t, 1), (x,))
    assert nbtorch.autograd.gradgradcheck(lambda t: fn(t, 1), (x,))


def _double_backward(m, name, x_np, v_np, dim):
    """d/dx Σ v · (d/dx Σ w · f(x)): the second derivative, contracted with two vectors."""
    x = m.tensor(x_np, requires_grad=True)
    y = getattr(m, name)(x, dim)
    w = m.tensor(np.cos(np.arange(x_np.size)).reshape(x_np.shape))
    (g,) = m.autograd.grad((y * w).sum(), x, create_graph=True)
    (g * m.tensor(v_np)).sum().backward()
    return values_of(g), values_of(x.grad), g.grad_fn.name()


@needs_torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_double_backward_matches_torch(name, dim):
    v = RNG.standard_normal(B.shape)
    ours = _double_backward(nbtorch, name, B, v, dim)
    theirs = _double_backward(real_torch, name, B, v, dim)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-12)


def test_rows_sum_to_one_and_log_matches():
    x = nbtorch.tensor(B)
    np.testing.assert_allclose(nbtorch.softmax(x, 2)._data.sum(2), 1, rtol=1e-12)
    np.testing.assert_allclose(np.exp(nbtorch.log_softmax(x, 0)._data),
                               nbtorch.softmax(x, 0)._data, rtol=1e-12)


@both
def test_extreme_logits_stay_finite(m):
    x = m.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], requires_grad=True)
    y = m.softmax(x, 1)
    np.testing.assert_allclose(values_of(y), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-7)
    lp = m.log_softmax(x, 1)
    np.testing.assert_allclose(values_of(lp), [[0, -2e4, -1e4], [-np.log(3)] * 3], rtol=1e-6)
    (y.sum() + lp.sum()).backward()
    assert np.isfinite(values_of(x.grad)).all()


@needs_torch
@pytest.mark.parametrize("row", [[-np.inf, -np.inf], [np.inf, 1.0], [-np.inf, 1.0],
                                 [np.nan, 1.0], [1e30, -1e30]])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_non_finite_rows_match_torch(row, name):
    data = np.array([row, [0.5, -0.5]], dtype=np.float32)
    ours = values_of(getattr(nbtorch, name)(nbtorch.tensor(data), 1))
    theirs = values_of(getattr(real_torch, name)(real_torch.tensor(data), 1))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@both
def test_dtype_argument_casts_before(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = m.softmax(x, 0, dtype=m.float64)
    assert y.dtype == m.float64
    assert m.log_softmax(m.tensor([1, 2]), 0, dtype=m.float32).dtype == m.float32
    y.sum().backward()
    assert x.grad.dtype == m.float32
    assert y.grad_fn.name() == "SoftmaxBackward0"


@both
def test_scalar_and_empty_inputs(m):
    x = m.tensor(3.0, requires_grad=True)
    assert values_of(m.softmax(x, 0)) == 1.0 and values_of(m.log_softmax(x, -1)) == 0.0
    m.softmax(x, 0).backward()
    assert values_of(x.grad) == 0.0
    assert tuple(m.softmax(m.zeros(3, 0), 1).shape) == (3, 0)
    assert tuple(m.log_softmax(m.zeros(0, 4), 1).shape) == (0, 4)


@both
def test_node_names(m):
    x = m.tensor(A, requires_grad=True)
    assert x.softmax(1).grad_fn.name() == "SoftmaxBackward0"
    assert x.log_softmax(1).grad_fn.name() == "LogSoftmaxBackward0"
    assert m.selu(x).grad_fn.name() == "EluBackward0"
    assert m.celu(x).grad_fn.name() == "CeluBackward0"
    assert m.threshold(x, 0.0, 1.0).grad_fn.name() == "ThresholdBackward0"


@both
def test_threshold_keeps_integers(m):
    out = m.threshold(m.tensor([[1, 2], [3, 4]]), 1, 5)
    assert out.dtype == m.int64
    assert values_of(out).tolist() == [[5, 2], [3, 4]]


def test_errors():
    assert_same_error(lambda m: m.softmax(m.tensor([1, 2]), 0), NotImplementedError,
                      "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'")
    assert_same_error(lambda m: m.softmax(m.tensor([[1, 2]]), 0), NotImplementedError,
                      "\"softmax_kernel_impl\" not implemented for 'Long'")
    assert_same_error(lambda m: m.log_softmax(m.tensor([[1, 2]]), 1), NotImplementedError,
                      "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'")
    assert_same_error(lambda m: m.softmax(m.tensor([1.0, 2.0]), 1), IndexError,
                      "Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    assert_same_error(lambda m: m.selu(m.tensor([1, 2])), NotImplementedError,
                      "\"elu_cpu\" not implemented for 'Long'")


def test_in_place_change_of_output_is_caught():
    x = nbtorch.tensor(A, requires_grad=True)
    y = nbtorch.softmax(x, 1)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_float32_stays_float32():
    x = nbtorch.tensor(A.astype(np.float32), requires_grad=True)
    y = nbtorch.log_softmax(x, 1)
    assert y._data.dtype == np.float32
    y.sum().backward()
    assert x.grad._data.dtype == np.float32

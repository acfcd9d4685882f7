"""Tests of nbtorch/ops/reduce.py: every reduction through ``check_op`` (forward against numpy,
backward against float64 central differences, both against PyTorch when it is installed), ties,
double backward, PyTorch's errors and printed results."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbtorch
from tests.helpers import check_op, check_torch, real_torch

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))  # distinct values: max/min/median are differentiable here
B = RNG.standard_normal((2, 3, 4))
V = RNG.standard_normal(5)
POS = RNG.uniform(0.5, 2.0, (3, 4))
ZEROS = np.array([[0.0, 2.0, 3.0, -1.5], [0.0, 0.0, 3.0, 2.0], [1.0, 2.0, -3.0, 0.5]])
CUM_ZEROS = np.array([[1.0, 0.0, 3.0, 2.0], [0.0, 0.0, 3.0, 4.0], [2.0, -2.0, 0.0, 3.0]])
TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 0.0, 2.0], [-1.0, 5.0, 4.0, 5.0]])
INTS = np.array([[3, -1, 4], [1, 5, -9]], dtype=np.int64)


def _median(a, axis=None):
    """The lower median (numpy's median averages the two middle values)."""
    s = np.sort(a, axis=axis)
    n = s.size if axis is None else s.shape[axis]
    return np.take(s.reshape(-1) if axis is None else s, (n - 1) // 2, axis=axis or 0)


def _lse(a, axis, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _norm(a, p, axis=None, keepdims=False):
    a = np.abs(a)
    if p == math.inf:
        return np.max(a, axis=axis, keepdims=keepdims)
    if p == -math.inf:
        return np.min(a, axis=axis, keepdims=keepdims)
    return np.sum(a ** p, axis=axis, keepdims=keepdims) ** (1 / p)


# (id, fn(m, x), numpy reference, input array)
DIFFERENTIABLE = [
    ("sum", lambda m, x: m.sum(x), np.sum, A),
    ("sum_dim", lambda m, x: x.sum(1), lambda a: a.sum(1), A),
    ("sum_negdim_keepdim", lambda m, x: x.sum(-1, keepdim=True),
     lambda a: a.sum(-1, keepdims=True), B),
    ("sum_tuple", lambda m, x: m.sum(x, (0, 2)), lambda a: a.sum((0, 2)), B),
    ("sum_tuple_neg_keepdim", lambda m, x: x.sum(dim=(-1, 0), keepdim=True),
     lambda a: a.sum((0, 2), keepdims=True), B),
    ("sum_all_keepdim", lambda m, x: m.sum(x, None, True), lambda a: a.sum(keepdims=True), A),
    ("sum_dtype", lambda m, x: x.sum(0, dtype=m.float64), lambda a: a.astype(np.float64).sum(0), A),
    ("mean", lambda m, x: x.mean(), np.mean, A),
    ("mean_dim", lambda m, x: m.mean(x, 0), lambda a: a.mean(0), A),
    ("mean_tuple_keepdim", lambda m, x: x.mean((1, 2), keepdim=True),
     lambda a: a.mean((1, 2), keepdims=True), B),
    ("prod", lambda m, x: x.prod(), np.prod, POS),
    ("prod_dim", lambda m, x: m.prod(x, 1), lambda a: a.prod(1), A),
    ("prod_negdim_keepdim", lambda m, x: x.prod(-2, keepdim=True),
     lambda a: a.prod(-2, keepdims=True), B),
    ("prod_zeros", lambda m, x: x.prod(1), lambda a: a.prod(1), ZEROS),
    ("prod_one_zero_all", lambda m, x: x.prod(), np.prod, ZEROS[0]),
    ("max", lambda m, x: x.max(), np.max, A),
    ("min", lambda m, x: m.min(x), np.min, A),
    ("max_dim", lambda m, x: m.max(x, 1)[0], lambda a: a.max(1), A),
    ("max_dim_keepdim", lambda m, x: x.max(dim=-1, keepdim=True).values,
     lambda a: a.max(-1, keepdims=True), B),
    ("min_dim", lambda m, x: x.min(0).values, lambda a: a.min(0), A),
    ("max_two", lambda m, x: m.max(x, x.flip(0)), lambda a: np.maximum(a, a[::-1]), A),
    ("amax", lambda m, x: m.amax(x), np.max, A),
    ("amax_tuple", lambda m, x: x.amax((0, -1)), lambda a: a.max((0, 2)), B),
    ("amin_keepdim", lambda m, x: x.amin(1, keepdim=True), lambda a: a.min(1, keepdims=True), B),
    ("median", lambda m, x: x.median(), lambda a: _median(a), A),
    ("median_dim", lambda m, x: m.median(x, 1)[0], lambda a: _median(a, 1), A),
    ("median_dim_keepdim", lambda m, x: x.median(0, keepdim=True).values,
     lambda a: np.expand_dims(_median(a, 0), 0), B),
    ("var", lambda m, x: x.var(), lambda a: a.var(ddof=1), A),
    ("var_dim", lambda m, x: m.var(x, 1), lambda a: a.var(1, ddof=1), A),
    ("var_correction0_keepdim", lambda m, x: x.var(-1, correction=0, keepdim=True),
     lambda a: a.var(-1, keepdims=True), B),
    ("var_unbiased_false", lambda m, x: x.var(0, False), lambda a: a.var(0), A),
    ("var_legacy_unbiased", lambda m, x: x.var(False), lambda a: a.var(), A),
    ("var_tuple", lambda m, x: x.var((0, 2)), lambda a: a.var((0, 2), ddof=1), B),
    ("std", lambda m, x: x.std(), lambda a: a.std(ddof=1), A),
    ("std_dim", lambda m, x: m.std(x, 0, correction=0), lambda a: a.std(0), A),
    ("std_keepdim", lambda m, x: x.std(1, keepdim=True), lambda a: a.std(1, ddof=1, keepdims=True),
     B),
    ("var_mean_var", lambda m, x: m.var_mean(x, 1)[0], lambda a: a.var(1, ddof=1), A),
    ("var_mean_mean", lambda m, x: m.var_mean(x, 1)[1], lambda a: a.mean(1), A),
    ("std_mean_std", lambda m, x: m.std_mean(x, (0, 1), correction=0)[0],
     lambda a: a.std((0, 1)), B),
    ("std_mean_mean", lambda m, x: m.std_mean(x, keepdim=True, dim=0)[1],
     lambda a: a.mean(0, keepdims=True), A),
    ("logsumexp", lambda m, x: m.logsumexp(x, 1), lambda a: _lse(a, 1), A),
    ("logsumexp_keepdim_neg", lambda m, x: x.logsumexp(-1, keepdim=True),
     lambda a: _lse(a, -1, True), B),
    ("logsumexp_tuple", lambda m, x: x.logsumexp((0, 2)), lambda a: _lse(a, (0, 2)), B),
    ("norm", lambda m, x: x.norm(), lambda a: np.sqrt((a * a).sum()), A),
    ("norm_dim", lambda m, x: m.norm(x, dim=1), lambda a: np.sqrt((a * a).sum(1)), A),
    ("norm_fro_keepdim", lambda m, x: x.norm("fro", dim=(0, 1), keepdim=True),
     lambda a: np.sqrt((a * a).sum((0, 1), keepdims=True)), B),
    ("norm_p1", lambda m, x: x.norm(1), lambda a: np.abs(a).sum(), A),
    ("norm_p1_dim", lambda m, x: x.norm(p=1, dim=-1), lambda a: np.abs(a).sum(-1), B),
    ("norm_inf", lambda m, x: x.norm(float("inf")), lambda a: np.abs(a).max(), A),
    ("norm_neginf_dim", lambda m, x: x.norm(-math.inf, dim=0), lambda a: np.abs(a).min(0), A),
    ("norm_p3", lambda m, x: x.norm(3), lambda a: _norm(a, 3), A),
    ("norm_p05_dim", lambda m, x: x.norm(0.5, 1), lambda a: _norm(a, 0.5, 1), A),
    ("cumsum", lambda m, x: m.cumsum(x, 0), lambda a: a.cumsum(0), A),
    ("cumsum_neg", lambda m, x: x.cumsum(-1), lambda a: a.cumsum(-1), B),
    ("cumsum_1d", lambda m, x: x.cumsum(dim=0), lambda a: a.cumsum(0), V),
    ("cumprod", lambda m, x: m.cumprod(x, 1), lambda a: a.cumprod(1), A),
    ("cumprod_neg", lambda m, x: x.cumprod(-2), lambda a: a.cumprod(-2), B),
    ("cumprod_zeros", lambda m, x: x.cumprod(1), lambda a: a.cumprod(1), CUM_ZEROS),
    ("cumprod_zeros_dim0", lambda m, x: x.cumprod(0), lambda a: a.cumprod(0), CUM_ZEROS),
    ("nansum", lambda m, x: m.nansum(x, 1),
     lambda a: np.nansum(a, 1), np.where(A > 1, np.nan, A)),
    ("nanmean", lambda m, x: x.nanmean(0), lambda a: np.nanmean(a, 0), np.where(A > 1, np.nan, A)),
]


@pytest.mark.parametrize("fn, ref, array", [row[1:] for row in DIFFERENTIABLE],
                         ids=[row[0] for row in DIFFERENTIABLE])
def test_differentiable(fn, ref, array, device):
    check_op(fn, ref, [array], device=device)


# Ties: central differences are not the subgradient PyTorch picks, so these compare the values
# with numpy and the gradients with PyTorch (and with the expected split, below).
TIED = [
    ("max_ties", lambda m, x: x.max(), np.max),
    ("min_ties", lambda m, x: x.min(), np.min),
    ("max_dim_ties", lambda m, x: x.max(1)[0], lambda a: a.max(1)),
    ("min_dim_ties", lambda m, x: x.min(1)[0], lambda a: a.min(1)),
    ("amax_ties", lambda m, x: x.amax(1), lambda a: a.max(1)),
    ("amax_all_ties", lambda m, x: x.amax((0, 1)), np.max),
    ("amin_ties", lambda m, x: x.amin(0, keepdim=True), lambda a: a.min(0, keepdims=True)),
    ("median_ties", lambda m, x: x.median(), lambda a: _median(a)),
    ("median_dim_ties", lambda m, x: x.median(1)[0], lambda a: _median(a, 1)),
    ("norm_inf_ties", lambda m, x: x.norm(math.inf, dim=1), lambda a: np.abs(a).max(1)),
]


@pytest.mark.parametrize("fn, ref", [row[1:] for row in TIED], ids=[row[0] for row in TIED])
def test_ties_match_torch(fn, ref, device):
    check_op(fn, ref, [TIES], device=device, grad=False)


def test_aminmax_is_amin_and_amax():
    x = nbtorch.tensor(TIES, requires_grad=True)
    low, high = nbtorch.aminmax(x, dim=1, keepdim=True)
    np.testing.assert_array_equal(low.detach().numpy(), TIES.min(1, keepdims=True))
    np.testing.assert_array_equal(high.detach().numpy(), TIES.max(1, keepdims=True))
    (low.sum() + 2 * high.sum()).backward()
    y = nbtorch.tensor(TIES, requires_grad=True)
    (y.amin(1).sum() + 2 * y.amax(1).sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.grad.numpy())
    if real_torch is not None:
        t = real_torch.tensor(TIES, requires_grad=True)
        low, high = real_torch.aminmax(t, dim=1, keepdim=True)
        try:  # older PyTorch releases have no derivative for aminmax
            (low.sum() + 2 * high.sum()).backward()
        except RuntimeError:
            return
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_tie_gradients():
    x = nbtorch.tensor(TIES, requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy()[2], [0, 0.5, 0, 0.5])
    x.grad = None
    x.amax(1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[1], [1 / 3, 1 / 3, 0, 1 / 3])
    x.grad = None
    x.max(1).values.sum().backward()  # max(dim): the first of the ties
    np.testing.assert_allclose(x.grad.numpy(), [[0, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    values, indices = nbtorch.max(nbtorch.tensor(TIES), 1)
    assert indices.tolist() == [1, 0, 1]


# Integer, bool and index results: forward (and dtype, against PyTorch) only.
NOT_DIFFERENTIABLE = [
    ("sum_int", lambda m, x: x.sum(), np.sum, INTS),
    ("sum_int_dim", lambda m, x: m.sum(x, 1), lambda a: a.sum(1), INTS),
    ("sum_int32", lambda m, x: x.int().sum(0), lambda a: a.sum(0), INTS),
    ("sum_uint8", lambda m, x: (x * 50).to(m.uint8).sum(),
     lambda a: (a * 50).astype(np.uint8).sum(dtype=np.int64), np.abs(INTS)),
    ("sum_bool", lambda m, x: (x > 0).sum(1), lambda a: (a > 0).sum(1), INTS),
    ("sum_int_to_float", lambda m, x: x.sum(dtype=m.float32), lambda a: a.sum(), INTS),
    ("mean_int_dtype", lambda m, x: x.mean(dtype=m.float64), lambda a: a.mean(), INTS),
    ("prod_int", lambda m, x: x.prod(1), lambda a: a.prod(1), INTS),
    ("prod_bool", lambda m, x: (x > 0).prod(), lambda a: (a > 0).prod(), INTS),
    ("max_int", lambda m, x: x.max(), np.max, INTS),
    ("max_int_dim_indices", lambda m, x: x.max(1)[1], lambda a: a.argmax(1), INTS),
    ("max_dim_indices", lambda m, x: m.max(x, 0).indices, lambda a: a.argmax(0), A),
    ("min_dim_indices_keepdim", lambda m, x: x.min(-1, True)[1],
     lambda a: a.argmin(-1)[..., None], B),
    ("argmax", lambda m, x: m.argmax(x), np.argmax, A),
    ("argmax_keepdim_all", lambda m, x: x.argmax(keepdim=True),
     lambda a: np.argmax(a).reshape(1, 1), A),
    ("argmax_dim", lambda m, x: x.argmax(-1), lambda a: a.argmax(-1), B),
    ("argmin_dim_keepdim", lambda m, x: m.argmin(x, 1, keepdim=True),
     lambda a: a.argmin(1)[:, None], A),
    ("argmax_int", lambda m, x: x.argmax(1), lambda a: a.argmax(1), INTS),
    ("median_int", lambda m, x: x.median(), lambda a: _median(a), INTS),
    ("median_dim_indices", lambda m, x: x.median(1)[1],
     lambda a: np.argsort(a, 1, kind="stable")[:, (a.shape[1] - 1) // 2], TIES),
    ("amax_int", lambda m, x: x.amax(0), lambda a: a.max(0), INTS),
    ("aminmax_int", lambda m, x: m.aminmax(x).min, np.min, INTS),
    ("cumsum_int", lambda m, x: x.cumsum(1), lambda a: a.cumsum(1), INTS),
    ("cumsum_bool", lambda m, x: (x > 0).cumsum(0), lambda a: (a > 0).cumsum(0), INTS),
    ("cumprod_int32", lambda m, x: x.int().cumprod(1), lambda a: a.cumprod(1), INTS),
    ("all", lambda m, x: m.all(x), np.all, INTS),
    ("all_dim_keepdim", lambda m, x: (x > -5).all(1, keepdim=True),
     lambda a: (a > -5).all(1, keepdims=True), INTS),
    ("any_float", lambda m, x: x.any(), np.any, A),
    ("any_tuple", lambda m, x: m.any(x > 0, (0, 1)), lambda a: (a > 0).any((0, 1)), B),
    ("all_uint8", lambda m, x: (x > 0).to(m.uint8).all(0),
     lambda a: (a > 0).all(0).astype(np.uint8), INTS),
    ("count_nonzero", lambda m, x: m.count_nonzero(x), np.count_nonzero, ZEROS),
    ("count_nonzero_dim", lambda m, x: x.count_nonzero(1),
     lambda a: np.count_nonzero(a, axis=1), ZEROS),
    ("count_nonzero_tuple", lambda m, x: x.count_nonzero((0, 1)), np.count_nonzero, ZEROS),
    ("norm_p0", lambda m, x: x.norm(0, dim=1), lambda a: np.count_nonzero(a, 1).astype(a.dtype),
     ZEROS),
    ("logsumexp_large", lambda m, x: (x * 1000).logsumexp(0), lambda a: _lse(a * 1000, 0), A),
    ("logsumexp_int", lambda m, x: x.logsumexp(1), lambda a: _lse(a.astype(np.float32), 1),
     INTS),
]


@pytest.mark.parametrize("fn, ref, array", [row[1:] for row in NOT_DIFFERENTIABLE],
                         ids=[row[0] for row in NOT_DIFFERENTIABLE])
def test_not_differentiable(fn, ref, array, device):
    check_op(fn, ref, [array], device=device, grad=False, rtol=1e-5, atol=1e-4)


def test_zero_dim_tensors(device):
    x = nbtorch.tensor(3.0, device=device, requires_grad=True)
    for y in (x.sum(0), x.sum(-1), x.mean(0), x.prod(0), x.amax(0), x.max(0)[0], x.cumsum(0),
              x.cumprod(0), x.median(0).values, x.logsumexp(0), x.norm(dim=0)):
        assert y.shape == () and float(y) == 3.0
        (g,) = nbtorch.autograd.grad(y, x)
        assert float(g) == 1.0
    assert int(x.argmax(0)) == 0 and x.max(0, True).indices.shape == ()


def test_empty_tensors():
    e = nbtorch.zeros(0, 3)
    assert float(e.sum()) == 0 and float(e.prod()) == 1 and math.isnan(float(e.mean()))
    assert e.amax(1).shape == (0,) and e.max(1).indices.dtype == nbtorch.int64
    assert float(e.logsumexp((0, 1))) == -math.inf and float(e.norm()) == 0
    assert e.cumsum(0).shape == (0, 3) and bool(e.all()) and not bool(e.any())
    assert math.isnan(float(nbtorch.tensor([]).median()))


def test_nan_propagates():
    x = nbtorch.tensor([1.0, float("nan"), 3.0, float("nan")])
    assert math.isnan(float(x.max())) and math.isnan(float(x.amin()))
    assert int(x.argmax()) == 1 and int(x.max(0).indices) == 1
    assert math.isnan(float(x.median())) and int(x.median(0).indices) == 1


@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3), data=st.data())
@settings(max_examples=40, deadline=None)
def test_sum_mean_amax_any_dims(shape, data):
    """Any subset of dims, negative or not, with or without keepdim, matches numpy; the
    gradients are the broadcast 1, 1/N and the one-hot of the maximum."""
    ndim = len(shape)
    dims = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                              unique_by=lambda d: d % ndim))
    keepdim = data.draw(st.booleans())
    axis = tuple(d % ndim for d in dims)
    a = np.random.default_rng(len(dims)).standard_normal(shape)
    for name, ref in (("sum", np.sum), ("mean", np.mean), ("amax", np.max)):
        x = nbtorch.tensor(a, requires_grad=True)
        y = getattr(x, name)(tuple(dims), keepdim=keepdim)
        np.testing.assert_allclose(y.detach().numpy(), ref(a, axis=axis, keepdims=keepdim))
        y.sum().backward()
        n = math.prod(shape[d] for d in axis)
        expected = {"sum": np.ones(shape), "mean": np.full(shape, 1 / n),
                    "amax": (a == a.max(axis=axis, keepdims=True)).astype(float)}[name]
        np.testing.assert_allclose(x.grad.numpy(), expected)
    np.testing.assert_array_equal(nbtorch.tensor(a > 0).any(tuple(dims), keepdim=keepdim).numpy(),
                                  (a > 0).any(axis=axis, keepdims=keepdim))


# --- double backward --------------------------------------------------------------------------

SECOND_ORDER = [
    ("sum", lambda m, x: x.sum(0)),
    ("sum_all", lambda m, x: x.sum()),
    ("sum_tuple_keepdim", lambda m, x: x.sum((0, 1), keepdim=True)),
    ("mean", lambda m, x: x.mean(1)),
    ("var", lambda m, x: x.var(1)),
    ("var_all", lambda m, x: x.var(correction=0)),
    ("std", lambda m, x: x.std(0)),
    ("logsumexp", lambda m, x: x.logsumexp(1)),
    ("logsumexp_keepdim", lambda m, x: x.logsumexp((0, 1), keepdim=True)),
    ("norm", lambda m, x: x.norm()),
    ("norm_dim", lambda m, x: x.norm(dim=1)),
    ("norm_p1", lambda m, x: x.norm(1, dim=0)),
    ("norm_p3", lambda m, x: x.norm(3)),
    ("prod", lambda m, x: x.prod(1)),
    ("prod_zeros", lambda m, x: (x * _mask(m, ZEROS, x)).prod(1)),
    ("cumsum", lambda m, x: x.cumsum(1)),
    ("cumprod", lambda m, x: x.cumprod(1)),
    ("cumprod_zeros", lambda m, x: (x * _mask(m, CUM_ZEROS, x)).cumprod(1)),
    ("amax", lambda m, x: x.amax(1)),
    ("max_dim", lambda m, x: x.max(0)[0]),
    ("median", lambda m, x: x.median(1)[0]),
]


def _mask(m, array, like):
    """1 where ``array`` is nonzero: multiplying by it puts zeros where ``array`` has them."""
    return m.tensor(array != 0, dtype=like.dtype, device=like.device)


def _second_order(m, fn, array, device="cpu"):
    """x.grad of sum(f(x)²) (kept in the graph) and the gradient of sum(that · w)."""
    x = m.tensor(array, requires_grad=True, device=device)
    w = m.tensor(np.linspace(-1.0, 1.0, array.size).reshape(array.shape), device=device)
    (g,) = m.autograd.grad((fn(m, x) ** 2).sum(), x, create_graph=True)
    (gg,) = m.autograd.grad((g * w).sum(), x)
    return g.detach().cpu().numpy(), gg.cpu().numpy()


@pytest.mark.parametrize("fn", [row[1] for row in SECOND_ORDER],
                         ids=[row[0] for row in SECOND_ORDER])
def test_double_backward_matches_torch(fn, device):
    if real_torch is None:
        pytest.skip("the double-backward oracle is PyTorch, which is not installed")
    array = np.random.default_rng(1).standard_normal((3, 4))
    got = _second_order(nbtorch, fn, array, device)
    expected = _second_order(real_torch, fn, array)
    for a, b, what in zip(got, expected, ("first", "second"), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8, err_msg=f"{what} derivative")


def test_double_backward_of_broadcast_reduction():
    """The engine reduces broadcast gradients with Tensor.sum(dim=tuple, keepdim=True) when it
    records the backward graph."""
    a = nbtorch.tensor(A[:, :1], requires_grad=True)
    b = nbtorch.tensor(A[:1, :], requires_grad=True)
    (ga,) = nbtorch.autograd.grad(((a * b) ** 2).sum(), a, create_graph=True)
    (gb,) = nbtorch.autograd.grad(ga.sum(), b)
    x, y = A[:, :1], A[:1, :]
    np.testing.assert_allclose(ga.detach().numpy(), (2 * x * y * y).sum(1, keepdims=True))
    np.testing.assert_allclose(gb.numpy(), 4 * y * x.sum())


# --- graph names, results, errors -------------------------------------------------------------

NODE_NAMES = [
    (lambda m, x: x.sum(), "SumBackward0"), (lambda m, x: x.sum(0), "SumBackward1"),
    (lambda m, x: x.mean(), "MeanBackward0"), (lambda m, x: x.mean(0), "MeanBackward1"),
    (lambda m, x: x.prod(), "ProdBackward0"), (lambda m, x: x.prod(0), "ProdBackward1"),
    (lambda m, x: x.max(), "MaxBackward1"), (lambda m, x: x.max(0)[0], "MaxBackward0"),
    (lambda m, x: x.min(), "MinBackward1"), (lambda m, x: x.min(0)[0], "MinBackward0"),
    (lambda m, x: x.amax(0), "AmaxBackward0"), (lambda m, x: x.amin(), "AminBackward0"),
    (lambda m, x: x.median(), "MedianBackward0"), (lambda m, x: x.median(0)[0], "MedianBackward1"),
    (lambda m, x: x.var(), "VarBackward0"), (lambda m, x: x.std(0), "StdBackward0"),
    (lambda m, x: x.logsumexp(0), "LogsumexpBackward0"),
    (lambda m, x: x.norm(), "LinalgVectorNormBackward0"),
    (lambda m, x: x.cumsum(0), "CumsumBackward0"), (lambda m, x: x.cumprod(1), "CumprodBackward0"),
]


@pytest.mark.parametrize("fn, name", NODE_NAMES, ids=[n for _, n in NODE_NAMES])
def test_node_names_are_pytorchs(fn, name):
    assert fn(nbtorch, nbtorch.tensor(A, requires_grad=True)).grad_fn.name() == name
    if real_torch is not None:
        assert fn(real_torch, real_torch.tensor(A, requires_grad=True)).grad_fn.name() == name


def test_return_types_unpack_and_print():
    x = nbtorch.tensor([[1.0, 5.0], [4.0, 2.0]])
    result = nbtorch.max(x, 1)
    values, indices = result
    assert values is result.values and indices is result.indices and result[1] is indices
    assert type(result).__name__ == "max"
    assert repr(result) == ("torch.return_types.max(\nvalues=tensor([5., 4.]),\n"
                            "indices=tensor([1, 0]))")
    assert repr(x.aminmax()) == "torch.return_types.aminmax(\nmin=tensor(1.),\nmax=tensor(5.))"
    if real_torch is not None:
        t = real_torch.tensor([[1.0, 5.0], [4.0, 2.0]])
        for name in ("max", "min", "median"):
            ours, theirs = getattr(x, name)(0, keepdim=True), getattr(t, name)(0, keepdim=True)
            assert repr(ours) == repr(theirs)


def test_max_with_a_tensor_is_maximum():
    a, b = nbtorch.tensor([1.0, 5.0]), nbtorch.tensor([3.0, 2.0])
    assert nbtorch.max(a, b).tolist() == [3.0, 5.0] and a.min(b).tolist() == [1.0, 2.0]
    assert nbtorch.max(a, other=b).tolist() == [3.0, 5.0]


def test_indices_modified_in_place_are_caught():
    x = nbtorch.tensor(A, requires_grad=True)
    values, indices = x.max(1)
    indices.add_(0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        values.sum().backward()


def test_cumsum_in_place():
    x = nbtorch.tensor([1.0, 2.0, 3.0])
    assert x.cumsum_(0) is x and x.tolist() == [1.0, 3.0, 6.0]


def test_var_warns_when_degrees_of_freedom_run_out():
    with pytest.warns(UserWarning, match=r"var\(\): degrees of freedom is <= 0"):
        assert math.isnan(float(nbtorch.tensor([1.0]).var()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert float(nbtorch.tensor([1.0, 2.0]).var(correction=2)) == math.inf
        x = nbtorch.ones(3, requires_grad=True)
        x.std().backward()  # a constant slice: gradient 0, not nan
        assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_norm_gradient_is_zero_at_zero():
    for p in (2, 1, 3, math.inf):
        x = nbtorch.zeros(3, requires_grad=True)
        x.norm(p).backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0], p


ERRORS = [
    (lambda m: m.arange(6).mean(), RuntimeError,
     "mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
     "dtype. Got: Long"),
    (lambda m: (m.arange(6) > 2).mean(), RuntimeError, "Got: Bool"),
    (lambda m: m.ones(2, 3).sum(2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda m: m.ones(2, 3).amax(-3), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got -3)"),
    (lambda m: m.ones(2, 3).sum((1, -1)), RuntimeError,
     "dim 1 appears multiple times in the list of dims"),
    (lambda m: m.ones(2, 3).max(2), IndexError, "Dimension out of range"),
    (lambda m: m.ones(2, 3).cumsum(-3), IndexError, "Dimension out of range"),
    (lambda m: m.tensor(1.0).sum(1), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
    (lambda m: m.ones(2, 3).sum(1.0), TypeError, "sum() received an invalid combination"),
    (lambda m: m.ones(2, 3).prod((0, 1)), TypeError, "prod() received an invalid combination"),
    (lambda m: m.tensor([]).max(), RuntimeError,
     "max(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction "
     "dim with the 'dim' argument."),
    (lambda m: m.tensor([]).amin(), RuntimeError, "amin(): Expected reduction dim to be specified"),
    (lambda m: m.zeros(0, 3).max(0), IndexError,
     "max(): Expected reduction dim 0 to have non-zero size."),
    (lambda m: m.tensor([]).argmax(), IndexError,
     "argmax(): Expected reduction dim to be specified for input.numel() == 0."),
    (lambda m: m.zeros(0, 3).argmin(0), IndexError,
     "argmin(): Expected reduction dim 0 to have non-zero size."),
    (lambda m: m.zeros(0, 3).aminmax(), RuntimeError,
     "aminmax(): cannot compute aminmax over an empty dimension as the operation has no identity."),
    (lambda m: m.arange(3).var(), RuntimeError,
     "std and var only support floating point and complex dtypes"),
    (lambda m: m.arange(3).std(0), RuntimeError,
     "std and var only support floating point and complex dtypes"),
    (lambda m: m.std_mean(m.arange(3)), RuntimeError,
     "std_mean only support floating point and complex dtypes"),
    (lambda m: m.ones(3).var(0, True, correction=0), TypeError,
     "var() received an invalid combination of arguments"),
    (lambda m: m.arange(3).norm(), RuntimeError,
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda m: m.ones(2, 2, 2).norm(dim=(0, 1, 2)), RuntimeError,
     "linalg.matrix_norm: dim must be a 2-tuple. Got 0 1 2"),
    (lambda m: m.ones(2, 2).norm("abc"), RuntimeError,
     "linalg.matrix_norm: Order abc not supported."),
    (lambda m: m.zeros(0).norm(math.inf), RuntimeError,
     "linalg.vector_norm cannot compute the inf norm on an empty tensor because the operation does "
     "not have an identity"),
    (lambda m: m.ones(2, 3).median((0,)), TypeError,
     "median(): argument 'dim' (position 1) must be int, not tuple"),
]


@pytest.mark.parametrize("make, error, message", ERRORS)
def test_errors_are_pytorchs(make, error, message):
    with pytest.raises(error) as caught:
        make(nbtorch)
    assert message in str(caught.value)
    if real_torch is not None:
        with pytest.raises(error) as caught_torch:
            make(real_torch)
        # The wording is pinned to the PyTorch this suite is developed with (older ones differ).
        if tuple(int(v) for v in real_torch.__version__.split(".")[:2]) >= (2, 13):
            assert message in str(caught_torch.value)


def test_float32_values_match_torch():
    """float32 accumulation gives PyTorch's numbers (check_op above runs float64 for gradients)."""
    if real_torch is None:
        pytest.skip("PyTorch is the oracle here")
    big = (RNG.standard_normal((64, 33)) * 100).astype(np.float32)
    for fn in (lambda m, x: x.sum(0), lambda m, x: x.mean(), lambda m, x: x.var(1),
               lambda m, x: x.std(), lambda m, x: x.norm(dim=0), lambda m, x: x.logsumexp(1),
               lambda m, x: x.cumsum(0), lambda m, x: x.prod(1) * 0):
        check_torch(fn, [big], rtol=1e-5, atol=1e-3)


def test_float16_sum_and_mean_keep_dtype():
    x = nbtorch.tensor([1.0, 2.0, 3.5], dtype=nbtorch.float16)
    assert x.sum().dtype == nbtorch.float16 and x.mean().dtype == nbtorch.float16
    assert float(x.sum()) == 6.5 and float(x.mean()) == pytest.approx(6.5 / 3, rel=1e-3)


def test_gradients_handed_on_are_writable():
    """A retained gradient of a sum's input can be modified in place, as in PyTorch."""
    x = nbtorch.ones(2, 3, requires_grad=True)
    for reduce in (lambda z: z.sum(), lambda z: z.mean(0)):
        z = x * 2
        z.retain_grad()
        reduce(z).sum().backward()
        z.grad.zero_()
        assert z.grad.tolist() == [[0.0] * 3] * 2


def test_numpy_argument_names():
    """PyTorch accepts numpy's ``axis=`` and ``keepdims=``; code written that way runs unchanged."""
    x = nbtorch.tensor(A)
    assert x.sum(axis=0).shape == (4,) and x.mean(axis=1, keepdims=True).shape == (3, 1)
    assert x.max(axis=0).indices.shape == (4,) and x.argmax(axis=1).tolist() == A.argmax(1).tolist()
    assert x.var(0, keepdims=True).shape == (1, 4) and x.cumsum(axis=1).shape == (3, 4)
    assert nbtorch.any(x > 0, axis=0).shape == (4,) and x.amax(axis=(0, 1)).shape == ()

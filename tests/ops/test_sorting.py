"""Tests of nbtorch/ops/sorting.py: sort, argsort, topk, kthvalue, msort, unique, searchsorted."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nbtorch
from tests.helpers import assert_same_error, check_op, nb_tensors, real_torch


def distinct(*shape, seed=0):
    """Random values without ties (PyTorch's order of ties is unspecified unless stable=True)."""
    n = int(np.prod(shape))
    return np.asarray(np.random.default_rng(seed).permutation(n).reshape(shape) / n + 0.1)


def _desc(x, axis):
    return -np.sort(-x, axis=axis)


# --- values (differentiable) and indices ---------------------------------------------------------

VALUES = [
    ("sort", lambda m, x: m.sort(x).values, lambda x: np.sort(x, -1), (3, 4)),
    ("sort_dim0_desc", lambda m, x: m.sort(x, dim=0, descending=True).values,
     lambda x: _desc(x, 0), (3, 4)),
    ("sort_positional", lambda m, x: m.sort(x, 1, True)[0], lambda x: _desc(x, 1), (2, 5)),
    ("sort_method", lambda m, x: x.sort(dim=-1)[0], lambda x: np.sort(x, -1), (2, 3, 4)),
    ("sort_0d", lambda m, x: m.sort(x).values, lambda x: x, ()),
    ("msort", lambda m, x: m.msort(x), lambda x: np.sort(x, 0), (4, 3)),
    ("topk", lambda m, x: m.topk(x, 2).values, lambda x: _desc(x, -1)[..., :2], (3, 5)),
    ("topk_smallest_dim0", lambda m, x: m.topk(x, 3, dim=0, largest=False).values,
     lambda x: np.sort(x, 0)[:3], (4, 2)),
    ("topk_method", lambda m, x: x.topk(1, 1)[0], lambda x: _desc(x, 1)[:, :1], (3, 4)),
    ("kthvalue", lambda m, x: m.kthvalue(x, 2).values, lambda x: np.sort(x, -1)[..., 1], (3, 4)),
    ("kthvalue_keepdim", lambda m, x: m.kthvalue(x, 3, dim=0, keepdim=True).values,
     lambda x: np.sort(x, 0)[2:3], (4, 3)),
    ("kthvalue_1d", lambda m, x: x.kthvalue(1)[0], lambda x: np.sort(x)[0], (5,)),
]


@pytest.mark.parametrize("fn,ref,shape", [v[1:] for v in VALUES], ids=[v[0] for v in VALUES])
def test_values(fn, ref, shape, device):
    check_op(fn, ref, [distinct(*shape)], device=device)


INDICES = [
    ("sort", lambda m, x: m.sort(x, dim=0).indices, lambda x: np.argsort(x, 0)),
    ("sort_desc", lambda m, x: m.sort(x, descending=True).indices, lambda x: np.argsort(-x, -1)),
    ("argsort", lambda m, x: m.argsort(x, dim=1), lambda x: np.argsort(x, 1)),
    ("argsort_desc", lambda m, x: x.argsort(descending=True), lambda x: np.argsort(-x, -1)),
    ("topk", lambda m, x: m.topk(x, 2).indices, lambda x: np.argsort(-x, -1)[:, :2]),
    ("kthvalue", lambda m, x: m.kthvalue(x, 2, 0).indices, lambda x: np.argsort(x, 0)[1]),
]


@pytest.mark.parametrize("fn,ref", [v[1:] for v in INDICES], ids=[v[0] for v in INDICES])
def test_indices(fn, ref, device):
    x = distinct(3, 4)
    got = fn(nbtorch, nbtorch.tensor(x, device=device))
    assert got.dtype == nbtorch.int64
    np.testing.assert_array_equal(got.cpu()._data, ref(x))
    if real_torch is not None:
        np.testing.assert_array_equal(got.cpu()._data, fn(real_torch, real_torch.tensor(x)).numpy())


def test_stable_ties_match_numpy(device):
    x = np.array([[2, 1, 2, 1, 0, 2], [3, 3, 1, 1, 3, 0]], dtype=np.float32)
    t = nbtorch.tensor(x, device=device)
    np.testing.assert_array_equal(nbtorch.sort(t, stable=True).indices.cpu()._data,
                                  np.argsort(x, kind="stable"))
    # Descending and stable: ties keep their original order too.
    expected = np.argsort(-x, kind="stable")
    np.testing.assert_array_equal(nbtorch.sort(t, descending=True, stable=True).indices.cpu()._data,
                                  expected)
    if real_torch is not None:
        np.testing.assert_array_equal(
            real_torch.sort(real_torch.tensor(x), descending=True, stable=True).indices.numpy(),
            expected)


def test_nan_order_as_pytorch():
    x = nbtorch.tensor([1.0, float("nan"), 0.0])
    np.testing.assert_array_equal(nbtorch.sort(x).indices._data, [2, 0, 1])
    np.testing.assert_array_equal(nbtorch.sort(x, descending=True).indices._data, [1, 0, 2])
    np.testing.assert_array_equal(nbtorch.topk(x, 2).indices._data, [1, 0])
    np.testing.assert_array_equal(nbtorch.topk(x, 2, largest=False).indices._data, [2, 0])


def test_integer_and_bool_sort():
    s = nbtorch.sort(nbtorch.tensor([3, 1, 2]), descending=True)
    assert s.values.dtype == nbtorch.int64 and not s.values.requires_grad
    np.testing.assert_array_equal(s.values._data, [3, 2, 1])
    np.testing.assert_array_equal(s.indices._data, [0, 2, 1])
    b = nbtorch.sort(nbtorch.tensor([True, False]))
    np.testing.assert_array_equal(b.values._data, [False, True])


def test_gradient_flows_only_through_values():
    x = nbtorch.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, indices = nbtorch.sort(x)
    assert values.grad_fn.name() == "SortBackward0"
    assert not indices.requires_grad
    (values * nbtorch.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [100.0, 1.0, 10.0])
    y = nbtorch.tensor([[3.0, 1.0, 2.0]], requires_grad=True)
    assert nbtorch.topk(y, 2).values.grad_fn.name() == "TopkBackward0"
    nbtorch.topk(y, 2).values.sum().backward()
    np.testing.assert_array_equal(y.grad._data, [[1.0, 0.0, 1.0]])


def test_double_backward():
    x_np = distinct(2, 5)

    def second_order(m, x):
        v = m.topk(x, 3).values
        s = m.sort(x * x, dim=0, descending=True).values
        k = m.kthvalue(x, 2).values
        total = (v ** 3).sum() + (s * s).sum() + (k ** 2).sum()
        g, = m.autograd.grad(total, x, create_graph=True)
        (g * g).sum().backward()
        return g, x.grad

    got = second_order(nbtorch, *nb_tensors([x_np], dtype=np.float64))
    assert got[1].shape == x_np.shape
    if real_torch is None:
        return
    expected = second_order(real_torch, real_torch.tensor(x_np, requires_grad=True))
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a.detach()._data, b.detach().numpy(), rtol=1e-12)


# --- the named results ---------------------------------------------------------------------------


def test_return_types():
    r = nbtorch.sort(nbtorch.tensor([3, 1, 2]))
    assert isinstance(r, tuple) and len(r) == 2
    values, indices = r
    assert values is r.values and indices is r.indices and r[0] is r.values
    assert type(r).__name__ == "sort" and r._fields == ("values", "indices")
    assert repr(r).startswith("torch.return_types.sort(\nvalues=")
    assert repr(r).endswith("indices=" + repr(r.indices) + ")")
    assert type(nbtorch.topk(nbtorch.ones(3), 1)).__name__ == "topk"
    assert type(nbtorch.kthvalue(nbtorch.ones(3), 1)).__name__ == "kthvalue"
    again = pickle.loads(pickle.dumps(nbtorch.return_types.sort((1, 2))))
    assert again.indices == 2
    if real_torch is not None:
        x = [3.0, 1.0, 2.0]
        assert repr(nbtorch.sort(nbtorch.tensor(x))) == repr(real_torch.sort(real_torch.tensor(x)))


def test_zero_dim_inputs():
    x = nbtorch.tensor(3.0)
    for r in (nbtorch.sort(x), nbtorch.topk(x, 1), nbtorch.kthvalue(x, 1)):
        assert r.values.shape == () and r.indices.shape == () and r.indices.item() == 0
    assert nbtorch.argsort(x).shape == ()


# --- unique, searchsorted, bucketize -------------------------------------------------------------


def test_unique(device):
    x = nbtorch.tensor([[3, 1], [2, 1]], device=device)
    values, inverse, counts = nbtorch.unique(x, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.cpu()._data, [1, 2, 3])
    np.testing.assert_array_equal(inverse.cpu()._data, [[2, 0], [1, 0]])
    np.testing.assert_array_equal(counts.cpu()._data, [2, 1, 1])
    assert inverse.dtype == counts.dtype == nbtorch.int64
    np.testing.assert_array_equal(x.unique()._data if device == "cpu" else [1, 2, 3], [1, 2, 3])
    rows, inv = nbtorch.unique(nbtorch.tensor([[1, 2], [1, 2], [0, 1]]), dim=0,
                               return_inverse=True)
    np.testing.assert_array_equal(rows._data, [[0, 1], [1, 2]])
    np.testing.assert_array_equal(inv._data, [1, 1, 0])
    assert nbtorch.unique(nbtorch.tensor(2)).shape == (1,)
    assert not nbtorch.unique(nbtorch.tensor([1.0, 1.0], requires_grad=True)).requires_grad


def test_unique_consecutive():
    values, inverse, counts = nbtorch.unique_consecutive(
        nbtorch.tensor([1, 1, 2, 2, 1]), return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values._data, [1, 2, 1])
    np.testing.assert_array_equal(inverse._data, [0, 0, 1, 1, 2])
    np.testing.assert_array_equal(counts._data, [2, 2, 1])
    rows = nbtorch.tensor([[1, 1], [1, 1], [0, 2]]).unique_consecutive(dim=0)
    np.testing.assert_array_equal(rows._data, [[1, 1], [0, 2]])


SEARCHES = [
    lambda m: m.searchsorted(m.tensor([1, 3, 5]), m.tensor([2, 6, 3])),
    lambda m: m.searchsorted(m.tensor([1, 3, 5]), m.tensor([2, 6, 3]), right=True),
    lambda m: m.searchsorted(m.tensor([1, 3, 5]), m.tensor([2, 6, 3]), side="right"),
    lambda m: m.searchsorted(m.tensor([1, 3, 5]), 3),
    lambda m: m.searchsorted(m.tensor([1.0, 3, 5]), m.tensor([[2.0, 6], [0, 3]])),
    lambda m: m.searchsorted(m.tensor([[1, 3, 5], [0, 2, 4]]), m.tensor([[2], [3]])),
    lambda m: m.searchsorted(m.tensor([5, 1, 3]), m.tensor([2, 4]), sorter=m.tensor([1, 2, 0])),
    lambda m: m.searchsorted(m.tensor([1, 3, 5]), m.tensor([2, 6]), out_int32=True),
    lambda m: m.bucketize(m.tensor([2, 6, 3]), m.tensor([1, 3, 5])),
    lambda m: m.bucketize(m.tensor([2, 6, 3]), m.tensor([1, 3, 5]), right=True),
]
EXPECTED = [[1, 3, 1], [1, 3, 2], [1, 3, 2], 1, [[1, 3], [0, 1]], [[1], [2]], [1, 2], [1, 3],
            [1, 3, 1], [1, 3, 2]]


@pytest.mark.parametrize("fn,expected", list(zip(SEARCHES, EXPECTED)))
def test_searchsorted(fn, expected):
    got = fn(nbtorch)
    np.testing.assert_array_equal(got._data, expected)
    if real_torch is not None:
        want = fn(real_torch)
        assert str(got.dtype) == str(want.dtype) and tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(got._data, want.numpy())


# --- errors --------------------------------------------------------------------------------------

ERRORS = [
    (lambda m: m.sort(m.ones(3), dim=1), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
    (lambda m: m.topk(m.ones(3), 4), RuntimeError, "selected index k out of range"),
    (lambda m: m.topk(m.ones(3), -1), RuntimeError, "selected index k out of range"),
    (lambda m: m.topk(m.ones(3, dtype=m.bool), 1), RuntimeError,
     "topk does not support bool dtypes on CPU"),
    (lambda m: m.kthvalue(m.ones(3), 4), RuntimeError,
     "kthvalue(): selected number k out of range for dimension 0"),
    (lambda m: m.kthvalue(m.ones(3), 0), RuntimeError,
     "kthvalue(): selected number k out of range for dimension 0"),
    (lambda m: m.searchsorted(m.tensor([[1, 3, 5], [0, 2, 4]]), m.tensor([2, 3])), RuntimeError,
     "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions "
     "of boundaries tensor and input value tensor must match, but we got boundaries tensor "
     "[2, 3] and input value tensor [2]"),
    (lambda m: m.bucketize(m.tensor([1]), m.tensor([[1, 2]])), RuntimeError,
     "boundaries tensor must be 1 dimension, but got dim(2)"),
]


@pytest.mark.parametrize("fn,kind,message", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors(fn, kind, message):
    assert_same_error(fn, kind, message)


# --- property: sort is a permutation that orders the values --------------------------------------


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                  elements=st.integers(-3, 3).map(float)),
       st.booleans(), st.data())
def test_sort_property(x, descending, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    values, indices = nbtorch.sort(nbtorch.tensor(x), dim=dim, descending=descending, stable=True)
    expected = np.argsort(-x if descending else x, axis=dim, kind="stable")
    np.testing.assert_array_equal(indices._data, expected)
    np.testing.assert_array_equal(values._data, np.take_along_axis(x, expected, axis=dim))

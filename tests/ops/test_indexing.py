"""Indexing ops: x[key], x[key] = value, gather/scatter, index_*, take, masked_*, nonzero,
tril/triu.

Values against numpy, gradients against float64 central differences and, where PyTorch is installed,
values, dtypes and gradients against PyTorch; PyTorch's error messages; views; setitem's autograd
(the RNN-from-scratch pattern); double backward."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbtorch
from tests.helpers import assert_same_error, check_backward, check_forward, check_op, real_torch

R = np.random.default_rng(0)


def arr(*shape):
    return R.standard_normal(shape)


def ints(*values):
    return np.array(values, dtype=np.int64)


X = arr(2, 3, 4)  # shared input of the getitem cases
MASK = X[:, :, 0] > 0

# --- getitem: (id, key(m, T) where T makes an index tensor, numpy reference on the array) ---------
GETITEM = [
    ("int", lambda m, T: 1, lambda a: a[1]),
    ("neg_int", lambda m, T: -1, lambda a: a[-1]),
    ("ints", lambda m, T: (0, 2, -1), lambda a: a[0, 2, -1]),
    ("slice", lambda m, T: slice(1, None), lambda a: a[1:]),
    ("slice_step", lambda m, T: (slice(None), slice(0, 3, 2)), lambda a: a[:, 0:3:2]),
    ("slice_neg", lambda m, T: (Ellipsis, slice(-3, -1)), lambda a: a[..., -3:-1]),
    ("slice_empty", lambda m, T: slice(5, 9), lambda a: a[5:9]),
    ("none", lambda m, T: None, lambda a: a[None]),
    ("none_mid", lambda m, T: (slice(None), None, 1), lambda a: a[:, None, 1]),
    ("ellipsis", lambda m, T: (Ellipsis, 2), lambda a: a[..., 2]),
    ("mixed_basic", lambda m, T: (1, Ellipsis, slice(None, None, 2)), lambda a: a[1, ..., ::2]),
    ("tensor_0d", lambda m, T: T(1), lambda a: a[1]),
    ("list", lambda m, T: [0, 1, 0], lambda a: a[[0, 1, 0]]),
    ("tensor_dup", lambda m, T: T([1, 1, 0, 1]), lambda a: a[[1, 1, 0, 1]]),
    ("tensor_neg", lambda m, T: (slice(None), T([-1, 0, -3])), lambda a: a[:, [-1, 0, -3]]),
    ("tensor_2d", lambda m, T: (slice(None), T([[0, 2], [2, 2]])),
     lambda a: a[:, [[0, 2], [2, 2]]]),
    ("two_tensors", lambda m, T: (T([0, 1, 1]), T([2, 2, 0])), lambda a: a[[0, 1, 1], [2, 2, 0]]),
    ("broadcast", lambda m, T: (T([[0], [1]]), slice(None), T([3, 0, 3])),
     lambda a: a[[[0], [1]], :, [3, 0, 3]]),
    ("numpy_index", lambda m, T: np.array([1, 0]), lambda a: a[[1, 0]]),
    ("range", lambda m, T: range(2), lambda a: a[[0, 1]]),  # p[range(n), labels]: a common idiom
    ("range_and_tensor", lambda m, T: (range(2), T([2, 0])), lambda a: a[[0, 1], [2, 0]]),
    # PyTorch applies integers first (as select), so [1, :, idx] keeps idx's dim in place, where
    # numpy would move it to the front.
    ("int_then_tensor", lambda m, T: (1, slice(None), T([0, 3])),
     lambda a: a[1][:, [0, 3]]),
    ("tensor_int_apart", lambda m, T: (T([0, 1]), slice(None), 2), lambda a: a[[0, 1], :, 2]),
    ("mask", lambda m, T: T(MASK), lambda a: a[MASK]),
    ("mask_full", lambda m, T: T(X > 0), lambda a: a[X > 0]),
    ("mask_after_int", lambda m, T: (1, T(X[1, :, 0] > 0)), lambda a: a[1][X[1, :, 0] > 0]),
    ("bool_list", lambda m, T: [True, False], lambda a: a[[True, False]]),
    ("bool_0d_true", lambda m, T: T(True), lambda a: a[None]),
    ("bool_0d_false", lambda m, T: T(False), lambda a: a[None][[]]),
    ("python_true", lambda m, T: True, lambda a: a[None]),
    ("empty_list", lambda m, T: [], lambda a: a[[]]),
]


def _make_T(m):
    def T(value):
        return m.tensor(value)

    return T


@pytest.mark.parametrize("name,key,ref", GETITEM, ids=[c[0] for c in GETITEM])
def test_getitem(name, key, ref, device):
    check_op(lambda m, x: x[key(m, _make_T(m))], ref, [X], device=device)


def test_getitem_grad_fn_names():
    x = nbtorch.tensor(X, requires_grad=True)
    T = _make_T(nbtorch)
    expected = [(1, "SelectBackward0"), ((0, slice(1, None)), "SliceBackward0"),
                (None, "UnsqueezeBackward0"), ((slice(None), None), "UnsqueezeBackward0"),
                (Ellipsis, "AliasBackward0"), ((), "AliasBackward0"),
                (slice(None), "SliceBackward0"),
                (T([0]), "IndexBackward0"), ((1, T([0])), "IndexBackward0"),
                (T(MASK), "IndexBackward0")]
    for key, name in expected:
        assert x[key].grad_fn.name() == name, key
    assert real_torch is None or type(real_torch.ones(2, requires_grad=True)[...].grad_fn
                                      ).__name__ == "AliasBackward0"


def test_basic_getitem_is_a_view():
    x = nbtorch.tensor(np.arange(12.0).reshape(3, 4))
    v = x[1:, ::2]
    assert v._base is x and v._vbox is x._vbox
    v.mul_(10)  # in place on the view: seen by the base
    assert x.tolist()[1] == [40.0, 5.0, 60.0, 7.0]
    w = x[1, 2]  # 0-d: still a view
    w.fill_(-1)
    assert x[1, 2].item() == -1.0
    a = x[nbtorch.tensor([0])]  # advanced: a copy
    a.fill_(99)
    assert x[0, 0].item() == 0.0


def test_inplace_through_a_basic_view_routes_gradients(device):
    def fn(m, x, v):
        y = x * 1
        y[1:][0, ::2].mul_(v)  # a view of a view of a non-leaf, modified in place
        return y * 2

    check_op(fn, lambda x, v: _mul_region(x, v) * 2, [arr(3, 4), arr(2)], device=device)


def _mul_region(x, v):
    y = x.copy()
    y[1, ::2] *= v
    return y


# --- errors: (id, fn(m), exception, PyTorch's message) --------------------------------------------
def _getitem(key_fn, shape=(3, 4)):
    return lambda m: m.zeros(*shape)[key_fn(m)]


INDEX_ERRORS = [
    ("int_oob", _getitem(lambda m: 5), IndexError,
     "index 5 is out of bounds for dimension 0 with size 3"),
    ("int_oob_neg", _getitem(lambda m: -4), IndexError,
     "index -4 is out of bounds for dimension 0 with size 3"),
    ("int_oob_dim1", _getitem(lambda m: (0, 7)), IndexError,
     "index 7 is out of bounds for dimension 1 with size 4"),
    ("int_oob_after_none", _getitem(lambda m: (None, 0, 7)), IndexError,
     "index 7 is out of bounds for dimension 2 with size 4"),
    ("tensor_oob", _getitem(lambda m: m.tensor([0, 5])), IndexError,
     "index 5 is out of bounds for dimension 0 with size 3"),
    ("tensor_oob_neg", _getitem(lambda m: m.tensor([0, -5])), IndexError,
     "index -5 is out of bounds for dimension 0 with size 3"),
    ("tensor_oob_second", _getitem(lambda m: (m.tensor([0]), m.tensor([9]))), IndexError,
     "index 9 is out of bounds for dimension 1 with size 4"),
    ("too_many", _getitem(lambda m: (0, 0, 0)), IndexError,
     "too many indices for tensor of dimension 2"),
    ("zero_dim", lambda m: m.tensor(3.0)[0], IndexError,
     "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in "
     "C++ to convert a 0-dim tensor to a number"),
    ("mask_shape", _getitem(lambda m: m.tensor([True, False])), IndexError,
     "The shape of the mask [2] at index 0 does not match the shape of the indexed tensor "
     "[3, 4] at index 0"),
    ("mask_shape_dim1", _getitem(lambda m: (slice(None), m.tensor([True, False]))), IndexError,
     "The shape of the mask [2] at index 0 does not match the shape of the indexed tensor "
     "[3, 4] at index 1"),
    ("float_tensor", _getitem(lambda m: m.tensor([1.0])), IndexError,
     "tensors used as indices must be long, int, byte or bool tensors"),
    ("float_key", _getitem(lambda m: 1.0), IndexError,
     "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
     "indices (got float)"),
    ("no_broadcast", _getitem(lambda m: (m.tensor([0, 1, 0]), m.tensor([0, 1]))), IndexError,
     "shape mismatch: indexing tensors could not be broadcast together with shapes [3], [2]"),
    ("neg_step", _getitem(lambda m: slice(None, None, -1)), ValueError,
     "step must be greater than zero"),
    ("zero_step", _getitem(lambda m: slice(None, None, 0)), ValueError,
     "slice step cannot be zero"),
]


assert_error = assert_same_error


@pytest.mark.parametrize("name,fn,exc,message", INDEX_ERRORS, ids=[c[0] for c in INDEX_ERRORS])
def test_getitem_errors(name, fn, exc, message):
    assert_error(fn, exc, message)


# --- setitem --------------------------------------------------------------------------------------
def _setitem(key_fn, value_fn=None, value=None):
    """fn(m, x, [v]): y = x * 1; y[key] = value (or v); y * 2 (so that y is a non-leaf)."""

    def fn(m, x, *v):
        y = x * 1
        y[key_fn(m)] = v[0] if v else value
        return y * 2

    return fn


def _np_setitem(key, value=None):
    def ref(x, *v):
        y = x.copy()
        y[key] = v[0] if v else value
        return y * 2

    return ref


SETITEM = [
    ("int_tensor", _setitem(lambda m: 1), _np_setitem(1), [arr(3, 4), arr(4)]),
    ("int_broadcast", _setitem(lambda m: (0, slice(1, 3))), _np_setitem((0, slice(1, 3))),
     [arr(3, 4), arr(1)]),
    ("slice_number", _setitem(lambda m: slice(0, 2), value=7.0),
     _np_setitem(slice(0, 2), 7.0), [arr(3, 4)]),
    ("step_tensor", _setitem(lambda m: (slice(None), slice(0, 4, 2))),
     _np_setitem((slice(None), slice(0, 4, 2))), [arr(3, 4), arr(3, 1)]),
    ("value_0d", _setitem(lambda m: (Ellipsis, 1)), _np_setitem((Ellipsis, 1)),
     [arr(3, 4), arr()]),
    ("leading_ones", _setitem(lambda m: 2), lambda x, v: _np_setitem(2)(x, v[0]),
     [arr(3, 4), arr(1, 4)]),
    ("tensor_index", _setitem(lambda m: m.tensor([2, 0])), _np_setitem([2, 0]),
     [arr(3, 4), arr(2, 4)]),
    ("neg_index", _setitem(lambda m: (slice(None), m.tensor([-1, 1]))),
     _np_setitem((slice(None), [-1, 1])), [arr(3, 4), arr(3, 2)]),
    ("mask_number", _setitem(lambda m: m.tensor(MASK[0]), value=0.0),
     _np_setitem(MASK[0], 0.0), [arr(3, 4)]),
    ("mask_tensor", _setitem(lambda m: m.tensor(X[0] > 0)), _np_setitem(X[0] > 0),
     [arr(3, 4), arr()]),
    ("int_and_index", _setitem(lambda m: (1, m.tensor([0, 3]))), _np_setitem((1, [0, 3])),
     [arr(3, 4), arr(2)]),
]


@pytest.mark.parametrize("name,fn,ref,inputs", SETITEM, ids=[c[0] for c in SETITEM])
def test_setitem(name, fn, ref, inputs, device):
    check_op(fn, ref, inputs, device=device)


def test_setitem_grad_fn_names():
    x = nbtorch.ones(3, 4, requires_grad=True)
    y = x * 1
    y[0] = 2.0
    assert y.grad_fn.name() == "CopySlices"
    y[nbtorch.tensor([1])] = 3.0
    assert y.grad_fn.name() == "IndexPutBackward0"
    h = nbtorch.ones(4, requires_grad=True)
    out = nbtorch.zeros(3, 4)
    out[0] = h
    assert out.requires_grad and out.grad_fn.name() == "CopySlices"
    assert out.grad_fn.next_functions[0] == (None, 0)  # the zeros needed no gradient
    assert out.grad_fn.next_functions[1][0].name() == "AccumulateGrad"


def test_rnn_from_scratch_pattern(device):
    """out = zeros(T, H); for t: out[t] = h_t (h_t requires grad): PyTorch's gradients."""

    def rnn(m, h0, w, xs):
        steps, hidden = xs.shape
        out = m.zeros(steps, hidden, dtype=h0.dtype, device=h0.device)
        h = h0
        for t in range(steps):
            h = m.tanh(h * w + xs[t])
            out[t] = h
        return out * out[-1]  # later steps read earlier writes: the history must chain

    def ref(h0, w, xs):
        out, h = np.zeros_like(xs), h0
        for t in range(len(xs)):
            h = np.tanh(h * w + xs[t])
            out[t] = h
        return out * out[-1]

    check_op(rnn, ref, [arr(3), arr(3), arr(4, 3)], device=device)


def test_setitem_mask_on_non_leaf(device):
    def fn(m, x):
        y = x * 2
        y[y < 0] = 0
        return y

    check_op(fn, lambda x: np.where(x < 0, 0, x * 2), [arr(3, 4) + 0.05], device=device)


def test_setitem_value_gradient_through_view_of_non_leaf(device):
    def fn(m, x, v):
        y = x * 1
        row = y[1]  # a view of a non-leaf
        row[1:3] = v
        return y * y

    def ref(x, v):
        y = x.copy()
        y[1, 1:3] = v
        return y * y

    check_op(fn, ref, [arr(3, 4), arr(2)], device=device)


def test_setitem_augmented(device):
    def fn(m, x, v):
        y = x * 1
        y[m.tensor([0, 2])] += v
        y[1] *= v[0]
        return y

    def ref(x, v):
        y = x.copy()
        y[[0, 2]] += v
        y[1] *= v[0]
        return y

    check_op(fn, ref, [arr(3, 4), arr(2, 4)], device=device)


def test_setitem_without_grad_writes_and_bumps_version():
    x = nbtorch.zeros(3, 4)
    v = x[1]
    before = x._version
    x[1, 2] = 5
    x[nbtorch.tensor([0, 0])] = nbtorch.tensor([1.0, 2.0, 3.0, 4.0], dtype=nbtorch.float64)
    x[x > 4] = -1
    assert x._version == before + 3 and v._vbox is x._vbox
    assert x.tolist() == [[1, 2, 3, 4], [0, 0, -1, 0], [0, 0, 0, 0]]
    assert v.tolist() == [0, 0, -1, 0]
    w = nbtorch.ones(2, requires_grad=True)
    with nbtorch.no_grad():
        w[0] = 3.0  # allowed: nothing is recorded
    assert w.tolist() == [3.0, 1.0] and w.grad_fn is None
    i = nbtorch.zeros(3, dtype=nbtorch.int64)
    i[0] = w[1] * 2.5  # an int tensor takes no history
    assert i.tolist() == [2, 0, 0] and not i.requires_grad


def _assign(key_fn, value_fn, shape=(3,)):
    def fn(m):
        x = m.zeros(*shape)
        x[key_fn(m)] = value_fn(m)

    return fn


SETITEM_ERRORS = [
    ("leaf_basic", lambda m: m.ones(3, requires_grad=True).__setitem__(0, 1.0), RuntimeError,
     "a view of a leaf Variable that requires grad is being used in an in-place operation."),
    ("leaf_index", lambda m: m.ones(3, requires_grad=True).__setitem__(m.tensor([0]), 1.0),
     RuntimeError, "a leaf Variable that requires grad is being used in an in-place operation."),
    ("leaf_mask", lambda m: m.ones(3, requires_grad=True).__setitem__(
        m.tensor([True, False, True]), 0.0), RuntimeError,
     "a leaf Variable that requires grad is being used in an in-place operation."),
    ("oob", _assign(lambda m: 5, lambda m: 1.0), IndexError,
     "index 5 is out of bounds for dimension 0 with size 3"),
    ("basic_shape", _assign(lambda m: slice(None), lambda m: m.ones(2)), RuntimeError,
     "The expanded size of the tensor (3) must match the existing size (2) at non-singleton "
     "dimension 0.  Target sizes: [3].  Tensor sizes: [2]"),
    ("basic_ndim", _assign(lambda m: slice(0, 2), lambda m: m.ones(2, 1, 2)), RuntimeError,
     "expand(torch.FloatTensor{[2, 1, 2]}, size=[2]): the number of sizes provided (1) must be "
     "greater or equal to the number of dimensions in the tensor (3)"),
    ("index_shape", _assign(lambda m: m.tensor([0, 1]), lambda m: m.ones(3)), RuntimeError,
     "shape mismatch: value tensor of shape [3] cannot be broadcast to indexing result of "
     "shape [2]"),
    ("list_value", _assign(lambda m: 0, lambda m: [1.0]), TypeError,
     "can't assign a list to a torch.FloatTensor"),
    ("numpy_value", _assign(lambda m: 0, lambda m: np.array(1.0)), TypeError,
     "can't assign a numpy.ndarray to a torch.FloatTensor"),
]


@pytest.mark.parametrize("name,fn,exc,message", SETITEM_ERRORS,
                         ids=[c[0] for c in SETITEM_ERRORS])
def test_setitem_errors(name, fn, exc, message):
    assert_error(fn, exc, message)


# --- functional ops: (id, fn(m, *tensors), numpy reference, inputs) -------------------------------
def _scatter_ref(x, dim, index, src, add=False):
    out = x.copy()
    for pos in np.ndindex(*index.shape):
        target = list(pos)
        target[dim] = index[pos]
        value = src[pos] if isinstance(src, np.ndarray) else src
        if add:
            out[tuple(target)] += value
        else:
            out[tuple(target)] = value
    return out


def _index_add_ref(x, dim, index, src, alpha=1):
    out = x.copy()
    for k, i in enumerate(index):
        sel = [slice(None)] * x.ndim
        sel[dim] = i
        src_sel = [slice(None)] * x.ndim
        src_sel[dim] = k
        out[tuple(sel)] += alpha * src[tuple(src_sel)]
    return out


def _index_fill_ref(x, dim, index, value):
    out = x.copy()
    sel = [slice(None)] * x.ndim
    sel[dim] = index
    out[tuple(sel)] = value
    return out


def _put_ref(x, key, values, accumulate):
    out = x.copy()
    if accumulate:
        np.add.at(out, key, values)
    else:
        out[key] = values
    return out


GI = ints(0, 3, 3, 1, 2, 0).reshape(3, 2)  # gather index: repeats, dim 1 of a (3, 4) input
SI = ints(2, 0, 1, 3, 0, 2).reshape(2, 3)  # scatter index without repeats along dim 1 per row
AI = ints(0, 2, 2, 0, 0, 0).reshape(3, 2)  # scatter_add index along dim 0 of a (3, 2): repeats
TRI = arr(2, 3, 4)

FUNCTIONAL = [
    ("gather", lambda m, x, i: m.gather(x, 1, i),
     lambda x, i: np.take_along_axis(x, i, 1), [arr(3, 4), GI]),
    ("gather_dim0_small", lambda m, x, i: x.gather(0, i),
     lambda x, i: np.take_along_axis(x[:, :2], i, 0), [arr(3, 4), ints(2, 2, 0, 1).reshape(2, 2)]),
    ("gather_neg_dim", lambda m, x, i: x.gather(-1, i),
     lambda x, i: np.take_along_axis(x, i, -1), [arr(2, 3), ints(2, 2, 0, 1).reshape(2, 2)]),
    ("scatter_src", lambda m, x, i, s: m.scatter(x, 1, i, s),
     lambda x, i, s: _scatter_ref(x, 1, i, s), [arr(2, 4), SI, arr(2, 3)]),
    ("scatter_value", lambda m, x, i: x.scatter(1, i, -2.5),
     lambda x, i: _scatter_ref(x, 1, i, -2.5), [arr(2, 4), SI]),
    ("scatter_add_dups", lambda m, x, i, s: m.scatter_add(x, 0, i, s),
     lambda x, i, s: _scatter_ref(x, 0, i, s, add=True), [arr(3, 2), AI, arr(3, 2)]),
    ("index_select", lambda m, x, i: m.index_select(x, 1, i),
     lambda x, i: x[:, i], [arr(2, 4), ints(3, 0, 3)]),
    ("index_select_0d", lambda m, x, i: x.index_select(0, i),
     lambda x, i: x[[1]], [arr(3, 2), np.array(1)]),
    ("index_add_dups", lambda m, x, i, s: m.index_add(x, 0, i, s),
     lambda x, i, s: _index_add_ref(x, 0, i, s), [arr(3, 2), ints(0, 2, 0, 0), arr(4, 2)]),
    ("index_add_alpha", lambda m, x, i, s: x.index_add(1, i, s, alpha=-2),
     lambda x, i, s: _index_add_ref(x, 1, i, s, -2), [arr(2, 3), ints(2, 0), arr(2, 2)]),
    ("index_fill", lambda m, x, i: x.index_fill(1, i, 4.0),
     lambda x, i: _index_fill_ref(x, 1, i, 4.0), [arr(2, 4), ints(3, -4)]),
    ("index_fill_tensor", lambda m, x, i, v: m.index_fill(x, 0, i, v),
     lambda x, i, v: _index_fill_ref(x, 0, i, v), [arr(3, 2), ints(0, 0, 2), arr()]),
    ("index_put", lambda m, x, i, v: m.index_put(x, (i,), v),
     lambda x, i, v: _put_ref(x, (i,), v, False), [arr(3, 2), ints(2, -3), arr(2, 2)]),
    ("index_put_acc", lambda m, x, i, j, v: x.index_put((i, j), v, accumulate=True),
     lambda x, i, j, v: _put_ref(x, (i, j), v, True),
     [arr(3, 2), ints(0, 0, 2, 0), ints(1, 1, 0, -1), arr(4)]),
    ("index_put_mask", lambda m, x, k, v: m.index_put(x, (k,), v),
     lambda x, k, v: _put_ref(x, (k,), v, False),
     [arr(3, 2), np.array([True, False, True]), arr()]),
    ("take", lambda m, x, i: m.take(x, i),
     lambda x, i: x.reshape(-1)[i], [arr(2, 3), ints(0, 5, -1, 5, 2).reshape(5)]),
    ("take_2d_index", lambda m, x, i: x.take(i),
     lambda x, i: x.reshape(-1)[i], [arr(3, 2), ints(1, 1, 4, 0).reshape(2, 2)]),
    ("take_along_dim", lambda m, x, i: m.take_along_dim(x, i, dim=1),
     lambda x, i: np.take_along_axis(x, i, 1), [arr(3, 4), ints(1, 3, -1).reshape(3, 1)]),
    ("take_along_dim_bcast", lambda m, x, i: x.take_along_dim(i, 0),
     lambda x, i: np.take_along_axis(x, i, 0), [arr(3, 1), ints(0, 2, 2, 1).reshape(1, 4)]),
    ("take_along_dim_flat", lambda m, x, i: m.take_along_dim(x, i),
     lambda x, i: x.reshape(-1)[i.reshape(-1)], [arr(2, 3), ints(5, 0, 5).reshape(1, 3)]),
    ("masked_fill", lambda m, x, k: m.masked_fill(x, k, -1.5),
     lambda x, k: np.where(k, -1.5, x), [arr(3, 4), X[0] > 0]),
    ("masked_fill_bcast", lambda m, x, k: x.masked_fill(k, 0.0),
     lambda x, k: np.where(k, 0.0, x), [arr(3, 4), np.array([True, False, False, True])]),
    ("masked_fill_tensor", lambda m, x, k, v: x.masked_fill(k, v),
     lambda x, k, v: np.where(k, v, x), [arr(3, 4), X[1] > 0, arr()]),
    ("masked_fill_bigger_mask", lambda m, x, k: m.masked_fill(x, k, 2.0),
     lambda x, k: np.where(k, 2.0, x), [arr(4), X[0] > 0]),
    ("masked_select", lambda m, x, k: m.masked_select(x, k),
     lambda x, k: x[k], [arr(3, 4), X[0] > 0]),
    ("masked_select_bcast", lambda m, x, k: x.masked_select(k),
     lambda x, k: np.broadcast_to(x, k.shape)[k], [arr(4), X[1] < 0]),
    ("masked_scatter", lambda m, x, k, s: m.masked_scatter(x, k, s),
     lambda x, k, s: _masked_scatter_ref(x, k, s), [arr(3, 4), X[0] > 0, arr(4, 4)]),
    ("tril", lambda m, x: m.tril(x), lambda x: np.tril(x), [TRI]),
    ("tril_diag", lambda m, x: x.tril(-1), lambda x: np.tril(x, -1), [TRI]),
    ("triu", lambda m, x: m.triu(x, diagonal=1), lambda x: np.triu(x, 1), [TRI]),
    ("triu_neg", lambda m, x: x.triu(-1), lambda x: np.triu(x, -1), [arr(4, 3)]),
]


def _masked_scatter_ref(x, k, s):
    out = x.copy()
    out[k] = s.reshape(-1)[: int(k.sum())]
    return out


@pytest.mark.parametrize("name,fn,ref,inputs", FUNCTIONAL, ids=[c[0] for c in FUNCTIONAL])
def test_functional(name, fn, ref, inputs, device):
    check_op(fn, ref, inputs, device=device)


GRAD_FN_NAMES = [
    (lambda m, x: m.gather(x, 1, m.tensor([[0], [1]])), "GatherBackward0"),
    (lambda m, x: x.take_along_dim(m.tensor([[0], [1]]), 1), "GatherBackward0"),
    (lambda m, x: m.scatter(x, 1, m.tensor([[0], [1]]), x[:, :1] * 1), "ScatterBackward0"),
    (lambda m, x: m.scatter(x, 1, m.tensor([[0], [1]]), 2.0), "ScatterBackward1"),
    (lambda m, x: m.scatter_add(x, 1, m.tensor([[0], [1]]), x * 1), "ScatterAddBackward0"),
    (lambda m, x: m.index_select(x, 0, m.tensor([1])), "IndexSelectBackward0"),
    (lambda m, x: x.index_add(0, m.tensor([1]), x[:1] * 1), "IndexAddBackward0"),
    (lambda m, x: x.index_fill(0, m.tensor([1]), 1.0), "IndexFillBackward0"),
    (lambda m, x: x.index_fill(0, m.tensor([1]), m.tensor(1.0)), "IndexFillBackward1"),
    (lambda m, x: x.index_put((m.tensor([1]),), x[0, 0] * 1), "IndexPutBackward0"),
    (lambda m, x: m.take(x, m.tensor([1])), "TakeBackward0"),
    (lambda m, x: x.masked_fill(x > 0, 1.0), "MaskedFillBackward0"),
    (lambda m, x: x.masked_fill(x > 0, m.tensor(1.0)), "MaskedFillBackward1"),
    (lambda m, x: x.masked_select(x > 0), "MaskedSelectBackward0"),
    (lambda m, x: x.masked_scatter(x > 0, x * 1), "MaskedScatterBackward0"),
    (lambda m, x: m.tril(x), "TrilBackward0"),
    (lambda m, x: m.triu(x), "TriuBackward0"),
]


@pytest.mark.parametrize("fn,name", GRAD_FN_NAMES, ids=[c[1] for c in GRAD_FN_NAMES])
def test_functional_grad_fn_names(fn, name):
    x = nbtorch.tensor(arr(2, 2), requires_grad=True)
    assert fn(nbtorch, x).grad_fn.name() == name
    if real_torch is not None:
        t = real_torch.tensor(arr(2, 2), requires_grad=True)
        assert type(fn(real_torch, t).grad_fn).__name__ == name


def test_scatter_src_larger_than_index(device):
    """Only src's region that index covers is read; its gradient is zero elsewhere.  (PyTorch's
    backward fails here: ScatterBackward0 returns a gradient of index's shape.)"""
    fn = lambda m, x, i, s: x.scatter(1, i, s)  # noqa: E731
    ref = lambda x, i, s: _scatter_ref(x, 1, i, s[:2, :3])  # noqa: E731
    inputs = [arr(2, 4), SI, arr(3, 4)]
    check_forward(fn, ref, inputs, device=device)
    check_backward(fn, inputs, device=device)


def test_scatter_reduce_forward_and_no_derivative():
    x = nbtorch.ones(2, 3, requires_grad=True)
    i = nbtorch.tensor([[0, 0], [2, 1]])
    src = nbtorch.tensor([[2.0, 3.0], [4.0, 5.0]])
    assert x.scatter(1, i, src, reduce="add").tolist() == [[6, 1, 1], [1, 6, 5]]
    assert x.scatter(1, i, 2.0, reduce="multiply").tolist() == [[4, 1, 1], [1, 2, 2]]
    y = x.scatter(1, i, src, reduce="multiply")  # repeated positions multiply in turn
    assert y.tolist() == [[6, 1, 1], [1, 5, 4]]
    assert y.grad_fn.name() == "NotImplemented"
    with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
        y.backward(nbtorch.ones(2, 3))


def _inplace(name, *args, **kwargs):
    """fn(m, x, *tensors): y = x * 1; y.name_(*args); y * 2.  In args, arrays and lists become
    tensors on y's device, a tuple of lists a tuple of such tensors, and SRC the first tensor."""

    def fn(m, x, *tensors):
        y = x * 1

        def real(a):
            if a is SRC:
                return tensors[0]
            if isinstance(a, tuple):
                return tuple(real(b) for b in a)
            return m.tensor(a, device=y.device) if isinstance(a, (list, np.ndarray)) else a

        getattr(y, name + "_")(*[real(a) for a in args], **kwargs)
        return y * 2

    return fn


SRC = object()

INPLACE = [
    ("masked_fill_", _inplace("masked_fill", X[0] > 0, 3.0),
     lambda x: np.where(X[0] > 0, 3.0, x) * 2, [arr(3, 4)]),
    ("scatter_", _inplace("scatter", 1, SI, SRC),
     lambda x, s: _scatter_ref(x, 1, SI, s) * 2, [arr(2, 4), arr(2, 3)]),
    ("scatter_add_", _inplace("scatter_add", 0, AI, SRC),
     lambda x, s: _scatter_ref(x, 0, AI, s, add=True) * 2, [arr(3, 2), arr(3, 2)]),
    ("index_add_", _inplace("index_add", 0, [1, 1], SRC, alpha=3),
     lambda x, s: _index_add_ref(x, 0, [1, 1], s, 3) * 2, [arr(3, 2), arr(2, 2)]),
    ("index_fill_", _inplace("index_fill", 1, [0], -1.0),
     lambda x: _index_fill_ref(x, 1, [0], -1.0) * 2, [arr(2, 3)]),
    ("index_put_", _inplace("index_put", ([0, 0],), SRC, accumulate=True),
     lambda x, v: _put_ref(x, ([0, 0],), v, True) * 2, [arr(3, 2), arr(2, 2)]),
    ("tril_", _inplace("tril", 1), lambda x: np.tril(x, 1) * 2, [arr(3, 4)]),
]


@pytest.mark.parametrize("name,fn,ref,inputs", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace(name, fn, ref, inputs, device):
    check_op(fn, ref, inputs, device=device)


def test_inplace_on_leaf_is_refused():
    assert_error(lambda m: m.ones(3, requires_grad=True).masked_fill_(m.tensor([True] * 3), 0),
                 RuntimeError,
                 "a leaf Variable that requires grad is being used in an in-place operation.")


FUNCTIONAL_ERRORS = [
    ("gather_oob", lambda m: m.gather(m.zeros(3, 4), 1, m.tensor([[5]])), RuntimeError,
     "index 5 is out of bounds for dimension 1 with size 4"),
    ("gather_neg", lambda m: m.gather(m.zeros(3, 4), 1, m.tensor([[-1]])), RuntimeError,
     "index -1 is out of bounds for dimension 1 with size 4"),
    ("gather_ndim", lambda m: m.gather(m.zeros(3, 4), 1, m.tensor([0, 1])), RuntimeError,
     "Index tensor must have the same number of dimensions as input tensor"),
    ("gather_size", lambda m: m.gather(m.zeros(3, 4), 0, m.tensor([[0, 1, 2, 0, 1]])),
     RuntimeError, "Size does not match at dimension 1 expected index [1, 5] to be no larger "
                   "than self [3, 4] apart from dimension 0"),
    ("gather_dtype", lambda m: m.gather(m.zeros(3, 4), 1, m.tensor([[1.0]])), RuntimeError,
     "gather(): Expected dtype int32/int64 for index"),
    ("gather_dim", lambda m: m.gather(m.zeros(3, 4), 2, m.tensor([[0]])), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    ("scatter_size", lambda m: m.scatter(m.zeros(3, 4), 1, m.tensor([[0, 1], [2, 0]]),
                                         m.ones(1, 1)), RuntimeError,
     "Expected index [2, 2] to be no larger than self [3, 4] apart from dimension 1 and to be no "
     "larger size than src [1, 1]"),
    ("scatter_dtype", lambda m: m.scatter(m.zeros(2), 0, m.tensor([0]),
                                          m.ones(1, dtype=m.float64)), RuntimeError,
     "scatter(): Expected self.dtype to be equal to src.dtype"),
    ("scatter_oob", lambda m: m.scatter(m.zeros(3, 4), 1, m.tensor([[5]]), 1.0), RuntimeError,
     "index 5 is out of bounds for dimension 1 with size 4"),
    ("scatter_reduce", lambda m: m.scatter(m.zeros(2), 0, m.tensor([0]), 1.0, reduce="mean"),
     RuntimeError,
     "reduce argument must be either add or multiply."),
    ("scatter_add_number", lambda m: m.scatter_add(m.zeros(2), 0, m.tensor([0]), 1.0), TypeError,
     "scatter_add(): argument 'src' (position 4) must be Tensor, not float"),
    ("index_select_2d", lambda m: m.index_select(m.zeros(3), 0, m.tensor([[0]])), IndexError,
     "index_select(): Index is supposed to be a vector"),
    ("index_select_oob", lambda m: m.index_select(m.zeros(3, 4), 1, m.tensor([5])), RuntimeError,
     "INDICES element is out of DATA bounds, id=5 axis_dim=4"),
    ("index_select_dtype", lambda m: m.index_select(m.zeros(3), 0, m.tensor([0.0])), RuntimeError,
     "index_select(): Expected dtype int32 or int64 for index"),
    ("index_add_count", lambda m: m.index_add(m.zeros(3, 4), 1, m.tensor([0, 0]), m.ones(3, 3)),
     RuntimeError, "index_add_(): Number of indices (2) should be equal to source.size(dim): "
                   "(3), for dim: 1"),
    ("index_add_shape", lambda m: m.index_add(m.zeros(3, 4), 1, m.tensor([0, 0]), m.ones(2, 2)),
     RuntimeError, "source tensor shape must match self tensor shape, excluding the specified "
                   "dimension. Got self.shape = [3, 4] source.shape = [2, 2]"),
    ("index_add_dtype", lambda m: m.index_add(m.zeros(2), 0, m.tensor([0]),
                                              m.ones(1, dtype=m.float64)), RuntimeError,
     "index_add_(): self (Float) and source (Double) must have the same scalar type"),
    ("index_fill_value", lambda m: m.index_fill(m.zeros(2), 0, m.tensor([0]), m.ones(1)),
     RuntimeError, "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                   "1 dimension(s)."),
    ("index_fill_oob", lambda m: m.index_fill(m.zeros(3, 4), 1, m.tensor([9]), 1.0), IndexError,
     "index 9 is out of bounds for dimension 1 with size 4"),
    ("index_put_number", lambda m: m.index_put(m.zeros(2), (m.tensor([0]),), 1.0), TypeError,
     "index_put(): argument 'values' (position 3) must be Tensor, not float"),
    ("index_put_dtype", lambda m: m.index_put(m.zeros(2, dtype=m.float64), (m.tensor([0]),),
                                              m.ones(1)), RuntimeError,
     "Index put requires the source and destination dtypes match, got Double for the destination "
     "and Float for the source."),
    ("index_put_none", lambda m: m.index_put(m.zeros(2, 3), (None, m.tensor([0])), m.ones(1)),
     TypeError, "expected Tensor as element 0 in argument 1, but got NoneType"),
    ("index_put_shape", lambda m: m.index_put(m.zeros(3, 4), (m.tensor([0, 1]),), m.ones(3)),
     RuntimeError, "shape mismatch: value tensor of shape [3] cannot be broadcast to indexing "
                   "result of shape [2, 4]"),
    ("take_oob", lambda m: m.take(m.zeros(3, 4), m.tensor([12])), IndexError,
     "out of range: tried to access index 12 on a tensor of 12 elements."),
    ("take_along_dim_ndim", lambda m: m.take_along_dim(m.zeros(3, 4), m.tensor([0]), dim=1),
     RuntimeError, "torch.take_along_dim(): input and indices should have the same number of "
                   "dimensions, but got 2 dimensions for input, and 1 dimensions for indices"),
    ("masked_fill_float_mask", lambda m: m.masked_fill(m.zeros(3), m.ones(3), 0.0), RuntimeError,
     "masked_fill_ only supports boolean masks, but got mask with dtype float"),
    ("masked_fill_long_mask", lambda m: m.zeros(3).masked_fill(m.tensor([1, 0, 1]), 0.0),
     RuntimeError, "masked_fill_ only supports boolean masks, but got mask with dtype long int"),
    ("masked_fill_value", lambda m: m.zeros(3).masked_fill(m.tensor([True] * 3), m.ones(1)),
     RuntimeError, "masked_fill_ only supports a 0-dimensional value tensor, but got tensor "
                   "with 1 dimension(s)."),
    ("masked_fill_shape", lambda m: m.zeros(3, 4).masked_fill(m.tensor([True, False]), 0.0),
     RuntimeError, "The size of tensor a (2) must match the size of tensor b (4) at "
                   "non-singleton dimension 1"),
    ("masked_select_mask", lambda m: m.masked_select(m.zeros(3), m.ones(3)), RuntimeError,
     "masked_select: expected BoolTensor for mask"),
    ("masked_scatter_few", lambda m: m.zeros(3).masked_scatter(m.tensor([True] * 3), m.ones(2)),
     RuntimeError, "Number of elements of source < number of ones in mask"),
    ("masked_scatter_mask", lambda m: m.zeros(3).masked_scatter(m.ones(3), m.ones(3)),
     RuntimeError, "masked_scatter_ only supports boolean masks, but got mask with dtype Float"),
    ("tril_1d", lambda m: m.tril(m.ones(3)), RuntimeError,
     "tril: input tensor must have at least 2 dimensions"),
    ("triu_1d", lambda m: m.triu(m.ones(3)), RuntimeError,
     "triu: input tensor must have at least 2 dimensions"),
    ("tril_indices_float", lambda m: m.tril_indices(3, 3, dtype=m.float32), NotImplementedError,
     "\"tril_indices\" not implemented for 'Float'"),
]


@pytest.mark.parametrize("name,fn,exc,message", FUNCTIONAL_ERRORS,
                         ids=[c[0] for c in FUNCTIONAL_ERRORS])
def test_functional_errors(name, fn, exc, message):
    assert_error(fn, exc, message)


ZERO_DIM = [
    lambda m, x: m.index_fill(x, 0, m.tensor([0]), 3.0),
    lambda m, x: m.index_select(x, 0, m.tensor([0])),
    lambda m, x: m.take(x, m.tensor([0, -1])),
    lambda m, x: m.gather(x, 0, m.tensor(0)),
    lambda m, x: m.masked_select(x, m.tensor(True)),
    lambda m, x: m.masked_fill(x, m.tensor(False), 1.0),
    lambda m, x: m.scatter(x, 0, m.tensor(0), 5.0),
    lambda m, x: m.index_add(x, 0, m.tensor([0]), x * 2),
    lambda m, x: m.take_along_dim(x, m.tensor([0, 0])),
    lambda m, x: x.masked_scatter(m.tensor(True), x.reshape(1) * 3),
    lambda m, x: x[m.tensor(True)],
    lambda m, x: x[m.tensor(False)],
    lambda m, x: x[None],
    lambda m, x: x[...],
]


@pytest.mark.parametrize("fn", ZERO_DIM, ids=[str(i) for i in range(len(ZERO_DIM))])
def test_zero_dim_inputs(fn, device):
    check_op(fn, lambda x: np.asarray(fn(nbtorch, nbtorch.tensor(x)).detach().cpu().numpy()),
             [arr()], device=device)


def test_setitem_into_expanded_tensor_is_refused():
    assert_error(lambda m: m.zeros(1, 3).expand(2, 3).__setitem__((slice(None), 0), 1.0),
                 RuntimeError, "unsupported operation: more than one element of the written-to "
                 "tensor refers to a single memory location. Please clone() the tensor before "
                 "performing the operation.")


# --- results without gradients --------------------------------------------------------------------
def test_nonzero_argwhere_and_where(device):
    a = np.array([[0.0, 1.5, 0.0], [np.nan, 0.0, -2.0]])
    x = nbtorch.tensor(a, device=device)
    nz = nbtorch.nonzero(x)
    assert nz.dtype == nbtorch.int64 and nz.tolist() == np.argwhere(a).tolist()
    assert x.argwhere().tolist() == nz.tolist()
    rows, cols = x.nonzero(as_tuple=True)
    assert rows.tolist() == [0, 1, 1] and cols.tolist() == [1, 0, 2]
    assert x[x.nonzero(as_tuple=True)].shape == (3,)
    assert [t.tolist() for t in nbtorch.where(x != 0)] == [[0, 1, 1], [1, 0, 2]]
    assert tuple(nbtorch.nonzero(nbtorch.tensor(3)).shape) == (1, 0)
    assert [t.tolist() for t in nbtorch.nonzero(nbtorch.tensor(3), as_tuple=True)] == [[0]]
    assert [t.tolist() for t in nbtorch.nonzero(nbtorch.tensor(0), as_tuple=True)] == [[]]
    assert nbtorch.nonzero(nbtorch.zeros(2, 3)).shape == (0, 2)


def test_integer_and_bool_results_have_no_graph():
    x = nbtorch.tensor(arr(3, 4), requires_grad=True)
    assert not x.nonzero().requires_grad
    i = nbtorch.arange(12).reshape(3, 4)
    y = i[nbtorch.tensor([0, 0])]
    assert y.dtype == nbtorch.int64 and y.grad_fn is None


def test_tril_triu_indices():
    for row, col, offset in [(3, 3, 0), (3, 4, 1), (4, 3, -1), (1, 5, 2), (0, 3, 0)]:
        lo = nbtorch.tril_indices(row, col, offset)
        hi = nbtorch.triu_indices(row, col, offset)
        assert lo.tolist() == [list(v) for v in np.tril_indices(row, offset, col)]
        assert hi.tolist() == [list(v) for v in np.triu_indices(row, offset, col)]
        if real_torch is not None:
            assert lo.tolist() == real_torch.tril_indices(row, col, offset).tolist()
            assert hi.tolist() == real_torch.triu_indices(row, col, offset).tolist()
    assert nbtorch.tril_indices(3, 3, dtype=nbtorch.int32).dtype == nbtorch.int32


# --- double backward (create_graph) ---------------------------------------------------------------
DOUBLE = [
    ("advanced_dups", lambda m, x: x[m.tensor([0, 2, 0])] ** 3),
    ("basic", lambda m, x: x[1:, None, ::2] ** 3),
    ("gather", lambda m, x: m.gather(x, 1, m.tensor([[0, 0], [2, 1], [1, 1]])) ** 3),
    ("setitem", lambda m, x: _double_setitem(m, x)),
    ("index_put_acc", lambda m, x: (x ** 2).index_put((m.tensor([0, 0]),), x[1] ** 2,
                                                      accumulate=True) ** 2),
    ("masked_fill", lambda m, x: x.masked_fill(m.tensor([[True, False, True]], device=x.device),
                                               0.5) ** 3),
    ("take_along_dim", lambda m, x: m.take_along_dim(x, m.tensor([[2], [0], [0]]), 1) ** 3),
    ("scatter_add", lambda m, x: m.scatter_add(x ** 2, 0, m.tensor([[0, 0, 2]]), x[:1] ** 2) ** 2),
]


def _double_setitem(m, x):
    y = x ** 2
    y[m.tensor([0, 2])] = x[1] ** 3
    y[1, 1:] = 0.0
    return y * x


@pytest.mark.parametrize("name,fn", DOUBLE, ids=[c[0] for c in DOUBLE])
def test_double_backward(name, fn, device):
    a = arr(3, 3)
    up = arr(*fn(nbtorch, nbtorch.tensor(a)).shape)
    up2 = arr(3, 3)

    def second(m, dev=None):
        kwargs = {"device": dev} if dev else {}
        x = m.tensor(a, requires_grad=True, **kwargs)
        y = fn(m, x)
        (g,) = m.autograd.grad(y, x, m.tensor(up, **kwargs), create_graph=True)
        g.backward(m.tensor(up2, **kwargs))
        return g.detach(), x.grad

    g, gg = second(nbtorch, device)
    # The second derivative against central differences of the first (float64).
    eps = 1e-6
    numeric = np.zeros_like(a)
    for k in range(a.size):
        values = []
        for delta in (eps, -eps):
            shifted = a.copy()
            shifted.reshape(-1)[k] += delta
            x = nbtorch.tensor(shifted, requires_grad=True)
            (g1,) = nbtorch.autograd.grad(fn(nbtorch, x), x, nbtorch.tensor(up))
            values.append(float((g1.detach().cpu().numpy() * up2).sum()))
        numeric.reshape(-1)[k] = (values[0] - values[1]) / (2 * eps)
    np.testing.assert_allclose(gg.cpu().numpy(), numeric, rtol=1e-5, atol=1e-6)
    if real_torch is not None:
        tg, tgg = second(real_torch)
        np.testing.assert_allclose(g.cpu().numpy(), tg.numpy(), rtol=1e-10)
        np.testing.assert_allclose(gg.cpu().numpy(), tgg.numpy(), rtol=1e-10)


# --- properties -----------------------------------------------------------------------------------
@st.composite
def basic_keys(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    key = []
    for n in shape[: draw(st.integers(0, len(shape)))]:
        if draw(st.booleans()):
            key.append(draw(st.integers(-n, n - 1)))
        else:
            start = draw(st.none() | st.integers(-n - 1, n + 1))
            stop = draw(st.none() | st.integers(-n - 1, n + 1))
            key.append(slice(start, stop, draw(st.none() | st.integers(1, 3))))
        if draw(st.integers(0, 4)) == 0:
            key.append(None)
    return shape, tuple(key)


@settings(max_examples=60, deadline=None)
@given(basic_keys())
def test_basic_keys_match_numpy_and_are_views(case):
    shape, key = case
    a = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    x = nbtorch.tensor(a, requires_grad=True)
    y = x[key]
    np.testing.assert_array_equal(y.detach().numpy(), a[key])
    assert y._base is x or y.numel() == 0  # (an empty view shares no memory to detect)
    y.backward(nbtorch.ones(*y.shape, dtype=nbtorch.float64))
    expected = np.zeros_like(a)
    expected[key] += 1  # a basic key names each element at most once
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3).flatmap(
    lambda shape: st.tuples(st.just(tuple(shape)), st.lists(
        st.integers(-shape[0], shape[0] - 1), min_size=0, max_size=6))))
def test_index_gradient_counts_repeats(case):
    shape, index = case
    a = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    x = nbtorch.tensor(a, requires_grad=True)
    y = x[nbtorch.tensor(index, dtype=nbtorch.int64)]
    np.testing.assert_array_equal(y.detach().numpy(), a[np.array(index, dtype=np.int64)])
    y.backward(nbtorch.ones(*y.shape, dtype=nbtorch.float64))
    counts = np.bincount(np.array(index, dtype=np.int64) % shape[0], minlength=shape[0])
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(
        counts.reshape((-1,) + (1,) * (len(shape) - 1)), shape))

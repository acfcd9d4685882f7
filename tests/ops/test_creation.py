"""Tests of nbtorch/ops/creation.py: dtype inference of ``tensor``, memory sharing of ``as_tensor``
and ``from_numpy``, the filled factories and their ``*_like`` forms, ``arange``'s length rule,
``linspace``, ``eye``, and PyTorch's errors, against real PyTorch where it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, real_torch

needs_torch = pytest.mark.skipif(real_torch is None, reason="PyTorch is not installed")


def _same(got, want):
    """Same dtype name, shape and values (``want`` is a torch tensor or a numpy array)."""
    want_array = want
    if real_torch is not None and isinstance(want, real_torch.Tensor):
        assert str(got.dtype) == str(want.dtype)
        want_array = want.numpy()
    assert tuple(got.shape) == tuple(want_array.shape)
    np.testing.assert_array_equal(got.cpu()._data, want_array)


# --- tensor(): dtype inference -------------------------------------------------------------------

INFERENCE = [
    ("floats", lambda m: m.tensor([5.5, 3]), "float32"),
    ("ints", lambda m: m.tensor([[1, 2], [3, 4]]), "int64"),
    ("bools", lambda m: m.tensor([True, False]), "bool"),
    ("bool_and_int", lambda m: m.tensor([True, 1]), "int64"),
    ("bool_and_float", lambda m: m.tensor([True, 1.5]), "float32"),
    ("complex", lambda m: m.tensor([1 + 2j, 3]), "complex64"),
    ("scalar_float", lambda m: m.tensor(3.5), "float32"),
    ("scalar_int", lambda m: m.tensor(3), "int64"),
    ("scalar_bool", lambda m: m.tensor(True), "bool"),
    ("tuple", lambda m: m.tensor((1, 2.5)), "float32"),
    ("list_of_tuples", lambda m: m.tensor([(1, 2), (3, 4)]), "int64"),
    ("range", lambda m: m.tensor(range(4)), "int64"),
    ("empty", lambda m: m.tensor([]), "float32"),
    ("empty_nested", lambda m: m.tensor([[], []]), "float32"),
    ("numpy_float64", lambda m: m.tensor(np.array([1.0, 2.0])), "float64"),
    ("numpy_float32", lambda m: m.tensor(np.zeros((2, 3), dtype=np.float32)), "float32"),
    ("numpy_int32", lambda m: m.tensor(np.array([1, 2], dtype=np.int32)), "int32"),
    ("numpy_uint8", lambda m: m.tensor(np.array([1, 255], dtype=np.uint8)), "uint8"),
    ("numpy_bool", lambda m: m.tensor(np.array([True])), "bool"),
    ("numpy_0d", lambda m: m.tensor(np.array(3.5)), "float64"),
    ("numpy_scalar_float64", lambda m: m.tensor(np.float64(1.5)), "float64"),
    ("numpy_scalar_int32", lambda m: m.tensor(np.int32(1)), "int32"),
    ("list_of_numpy_scalars", lambda m: m.tensor([np.float64(1.5), 2.5]), "float64"),
    ("numpy_float32_and_int", lambda m: m.tensor([np.float32(1.5), 2]), "float32"),
    ("list_of_numpy_arrays", lambda m: m.tensor(
        [np.array([1, 2], dtype=np.int32), np.array([3, 4], dtype=np.int32)]), "int32"),
    ("list_of_float64_arrays", lambda m: m.tensor([np.array([1.0, 2]), np.array([3, 4])]),
     "float64"),
    ("list_of_0d_tensors", lambda m: m.tensor([m.tensor(1.5), m.tensor(2.5)]), "float32"),
    ("list_of_int32_0d", lambda m: m.tensor(
        [m.tensor(1, dtype=m.int32), m.tensor(2, dtype=m.int32)]), "int32"),
    ("float64_0d_and_int", lambda m: m.tensor([m.tensor(1.5, dtype=m.float64), 2]), "float64"),
    ("nested_0d_tensor", lambda m: m.tensor([[m.tensor(1), 2], [3, 4]]), "int64"),
    ("tensor_copy", lambda m: m.tensor(m.tensor([1, 2], dtype=m.int16)), "int16"),
    ("dtype_float64", lambda m: m.tensor([1, 2], dtype=m.float64), "float64"),
    ("dtype_truncates", lambda m: m.tensor([-1.7, 2.7], dtype=m.int64), "int64"),
    ("dtype_bool", lambda m: m.tensor([0.0, 2.5], dtype=m.bool), "bool"),
    ("numpy_with_dtype", lambda m: m.tensor(np.array([1, 2], dtype=np.int16), dtype=m.float64),
     "float64"),
    ("complex128_dtype", lambda m: m.tensor([1, 2.5j], dtype=m.complex128), "complex128"),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch warns about lists of ndarrays/tensors
@pytest.mark.parametrize("make, dtype", [pytest.param(f, d, id=n) for n, f, d in INFERENCE])
def test_tensor_dtype_inference(make, dtype):
    t = make(nbtorch)
    assert str(t.dtype) == "torch." + dtype
    assert not t.requires_grad and t.is_leaf
    if real_torch is not None:
        _same(t, make(real_torch))


def test_tensor_values_and_shapes():
    t = nbtorch.tensor([[1.5, 2], [3, 4]])
    assert t.shape == (2, 2) and t.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert nbtorch.tensor(3).shape == () and nbtorch.tensor([]).shape == (0,)
    assert nbtorch.tensor([[]]).shape == (1, 0)


def test_tensor_copies_its_source():
    a = np.array([1.0, 2.0])
    t = nbtorch.tensor(a)
    a[0] = 9
    assert t.tolist() == [1.0, 2.0]
    s = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    c = nbtorch.tensor(s)
    assert not c.requires_grad and c.is_leaf
    c.add_(1)
    assert s.tolist() == [1.0, 2.0]


def test_tensor_of_non_contiguous_numpy_array():
    a = np.arange(12.0).reshape(3, 4)[:, ::2]
    t = nbtorch.tensor(a)
    np.testing.assert_array_equal(t._data, a)
    assert t.dtype is nbtorch.float64


def test_tensor_with_requires_grad():
    t = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None


@pytest.mark.parametrize("make, error, message", [
    (lambda m: m.tensor([[1, 2], [3, 4, 5]]), ValueError,
     "expected sequence of length 2 at dim 1 (got 3)"),
    (lambda m: m.tensor([[[1, 2]], [[3]]]), ValueError,
     "expected sequence of length 2 at dim 2 (got 1)"),
    (lambda m: m.tensor([[1], [2, 3]]), ValueError,
     "expected sequence of length 1 at dim 1 (got 2)"),
    (lambda m: m.tensor([np.array([1, 2]), np.array([1])]), ValueError,
     "expected sequence of length 2 at dim 1 (got 1)"),
    (lambda m: m.tensor([1, None]), RuntimeError, "Could not infer dtype of NoneType"),
    (lambda m: m.tensor(object()), RuntimeError, "Could not infer dtype of object"),
    (lambda m: m.tensor([1, "a"]), TypeError, "new(): invalid data type 'str'"),
    (lambda m: m.tensor(2**63), ValueError, "Overflow when unpacking long long"),
    (lambda m: m.tensor([1, -(2**63) - 1]), ValueError, "Overflow when unpacking long long"),
    (lambda m: m.tensor([1, 2], requires_grad=True), RuntimeError,
     "Only Tensors of floating point and complex dtype can require gradients"),
])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_tensor_errors_match_torch(make, error, message):
    assert_same_error(make, error, message)


def test_tensor_on_device(device):
    t = nbtorch.tensor([1.0, 2.0], device=device)
    assert t.device == nbtorch.device(device) or str(t.device).startswith(device)
    assert t.cpu().tolist() == [1.0, 2.0]
    c = nbtorch.tensor(t)  # copy stays on the device
    assert c.device == t.device


# --- as_tensor / from_numpy / asarray: memory sharing --------------------------------------------


def test_from_numpy_shares_memory_both_ways():
    a = np.zeros(3, dtype=np.float32)
    t = nbtorch.from_numpy(a)
    a[0] = 1
    assert t.tolist() == [1.0, 0.0, 0.0]
    t.add_(2)
    np.testing.assert_array_equal(a, [3.0, 2.0, 2.0])
    assert t.dtype is nbtorch.float32 and t.numpy() is a


def test_from_numpy_keeps_strides():
    a = np.arange(6.0).reshape(2, 3).T
    t = nbtorch.from_numpy(a)
    assert t.stride() == (1, 3) and not t.is_contiguous()
    if real_torch is not None:
        assert real_torch.from_numpy(a).stride() == t.stride()


@pytest.mark.parametrize("bad, message", [
    ([1], "expected np.ndarray (got list)"),
    (np.array(["a"]), "can't convert np.ndarray of type numpy.str_."),
])
def test_from_numpy_errors(bad, message):
    with pytest.raises(TypeError) as got:
        nbtorch.from_numpy(bad)
    assert str(got.value).startswith(message)
    if real_torch is not None:
        with pytest.raises(TypeError) as want:
            real_torch.from_numpy(bad)
        assert str(want.value).startswith(message)


def test_as_tensor_shares_memory_when_it_can():
    a = np.array([1.0, 2.0])
    t = nbtorch.as_tensor(a)
    a[0] = 9
    assert t.tolist() == [9.0, 2.0] and t.dtype is nbtorch.float64
    same = nbtorch.as_tensor(a, dtype=nbtorch.float64, device="cpu")
    a[1] = 7
    assert same.tolist() == [9.0, 7.0]
    other = nbtorch.as_tensor(a, dtype=nbtorch.float32)  # a cast copies
    a[0] = 0
    assert other.tolist() == [9.0, 7.0] and other.dtype is nbtorch.float32


def test_as_tensor_of_a_tensor():
    t = nbtorch.tensor([1, 2])
    assert nbtorch.as_tensor(t) is t
    f = nbtorch.as_tensor(t, dtype=nbtorch.float32)
    assert f.dtype is nbtorch.float32 and t.dtype is nbtorch.int64
    assert nbtorch.as_tensor([1, 2]).dtype is nbtorch.int64
    assert nbtorch.as_tensor([1, 2], dtype=nbtorch.float64).dtype is nbtorch.float64


def test_asarray():
    a = np.array([1.0, 2.0])
    shared = nbtorch.asarray(a)
    copied = nbtorch.asarray(a, copy=True)
    a[0] = 5
    assert shared.tolist() == [5.0, 2.0] and copied.tolist() == [1.0, 2.0]
    g = nbtorch.asarray([1.0, 2.5], requires_grad=True)
    assert g.requires_grad and g.dtype is nbtorch.float32


# --- filled factories ----------------------------------------------------------------------------

FACTORIES = [
    ("zeros_varargs", lambda m: m.zeros(2, 3)),
    ("zeros_tuple", lambda m: m.zeros((2, 3))),
    ("zeros_list", lambda m: m.zeros([2, 3])),
    ("zeros_size", lambda m: m.zeros(m.Size([2, 3]))),
    ("zeros_shape_of", lambda m: m.zeros(m.ones(4, 1).shape)),
    ("zeros_0d", lambda m: m.zeros(())),
    ("zeros_empty", lambda m: m.zeros(0, 3)),
    ("zeros_int32", lambda m: m.zeros(2, dtype=m.int32)),
    ("zeros_float16", lambda m: m.zeros(2, dtype=m.float16)),
    ("ones", lambda m: m.ones(2, 3)),
    ("ones_bool", lambda m: m.ones(2, dtype=m.bool)),
    ("ones_float64", lambda m: m.ones(3, dtype=m.float64)),
    ("full_int", lambda m: m.full((2,), 7)),
    ("full_float", lambda m: m.full((2, 2), 1.5)),
    ("full_bool", lambda m: m.full((2,), True)),
    ("full_list_size", lambda m: m.full([2, 2], 3)),
    ("full_0d", lambda m: m.full((), 3.5)),
    ("full_dtype", lambda m: m.full((2,), -1, dtype=m.float64)),
    ("full_truncates", lambda m: m.full((2,), 2.5, dtype=m.int64)),
    ("full_tensor_value", lambda m: m.full((2,), m.tensor(3.5))),
    ("zeros_like", lambda m: m.zeros_like(m.ones(2, dtype=m.int64))),
    ("ones_like_dtype", lambda m: m.ones_like(m.ones(2, 3), dtype=m.float64)),
    ("full_like_int", lambda m: m.full_like(m.ones(2, dtype=m.int64), 2.7)),
    ("full_like_float", lambda m: m.full_like(m.ones(2), 7)),
    ("eye", lambda m: m.eye(3)),
    ("eye_rect", lambda m: m.eye(2, 3)),
    ("eye_tall", lambda m: m.eye(3, 2)),
    ("eye_int", lambda m: m.eye(2, dtype=m.int64)),
    ("eye_bool", lambda m: m.eye(3, dtype=m.bool)),
    ("eye_0", lambda m: m.eye(0)),
    ("scalar_tensor", lambda m: m.scalar_tensor(3)),
    ("scalar_tensor_bool", lambda m: m.scalar_tensor(True)),
    ("linspace", lambda m: m.linspace(0, 1, 5)),
    ("linspace_one", lambda m: m.linspace(0, 1, 1)),
    ("linspace_none", lambda m: m.linspace(0, 1, 0)),
    ("linspace_descending", lambda m: m.linspace(1, 0, 3)),
    ("linspace_float64", lambda m: m.linspace(-2, 2, 5, dtype=m.float64)),
    ("linspace_int", lambda m: m.linspace(0, 10, 7, dtype=m.int64)),
    ("linspace_tensors", lambda m: m.linspace(m.tensor(0.0), m.tensor(1.0), 3)),
    ("logspace", lambda m: m.logspace(0, 2, 3)),
    ("logspace_base2", lambda m: m.logspace(0, 2, 3, base=2)),
    ("legacy_Tensor_data", lambda m: m.Tensor([1, 2])),
    ("legacy_Tensor_empty", lambda m: m.Tensor()),
]


@pytest.mark.parametrize("make", [pytest.param(f, id=n) for n, f in FACTORIES])
def test_factory_matches_torch(make):
    t = make(nbtorch)
    assert t.is_leaf and not t.requires_grad
    if real_torch is not None:
        want = make(real_torch)
        assert str(t.dtype) == str(want.dtype)
        assert tuple(t.shape) == tuple(want.shape)
        np.testing.assert_allclose(t._data, want.numpy(), rtol=1e-6)


def test_factory_values_without_torch():
    assert nbtorch.zeros(2, 3).dtype is nbtorch.float32
    np.testing.assert_array_equal(nbtorch.zeros(2, 3)._data, np.zeros((2, 3)))
    np.testing.assert_array_equal(nbtorch.ones(2)._data, [1.0, 1.0])
    assert nbtorch.full((2,), 7).dtype is nbtorch.int64
    assert nbtorch.full((2,), 7.0).dtype is nbtorch.float32
    assert nbtorch.full((2,), False).dtype is nbtorch.bool
    np.testing.assert_array_equal(nbtorch.eye(2, 3)._data, np.eye(2, 3))
    np.testing.assert_allclose(nbtorch.linspace(0, 1, 5)._data, np.linspace(0, 1, 5))
    assert nbtorch.empty(2, 3).shape == (2, 3)
    assert nbtorch.empty_like(nbtorch.ones(2, 3, dtype=nbtorch.int32)).dtype is nbtorch.int32


def test_like_factories_copy_shape_dtype_and_device(device):
    base = nbtorch.ones(2, 3, dtype=nbtorch.float64, device=device)
    for make in (nbtorch.zeros_like, nbtorch.ones_like, nbtorch.empty_like):
        t = make(base)
        assert t.shape == (2, 3) and t.dtype is nbtorch.float64 and t.device == base.device
    full = nbtorch.full_like(base, 4)
    assert full.dtype is nbtorch.float64 and full.cpu().tolist() == [[4.0] * 3] * 2
    g = nbtorch.zeros_like(base, requires_grad=True)
    assert g.requires_grad and g.is_leaf


def test_factories_on_device(device):
    for t in (nbtorch.zeros(2, device=device), nbtorch.ones(2, device=device),
              nbtorch.full((2,), 3.0, device=device), nbtorch.eye(2, device=device),
              nbtorch.arange(3, device=device), nbtorch.linspace(0, 1, 3, device=device),
              nbtorch.empty(2, device=device)):
        assert t.device.type == device


@pytest.mark.parametrize("make", [
    lambda m: m.zeros(2, 3, requires_grad=True),
    lambda m: m.ones(2, dtype=m.float64, requires_grad=True),
    lambda m: m.full((2,), 1.5, requires_grad=True),
    lambda m: m.arange(3.0, requires_grad=True),
    lambda m: m.linspace(0, 1, 3, requires_grad=True),
    lambda m: m.eye(2, requires_grad=True),
])
def test_factory_requires_grad(make):
    t = make(nbtorch)
    assert t.requires_grad and t.is_leaf and t.grad_fn is None


@pytest.mark.parametrize("make", [
    lambda m: m.tensor([1, 2], requires_grad=True),
    lambda m: m.zeros(2, dtype=m.int32, requires_grad=True),
    lambda m: m.ones(2, dtype=m.bool, requires_grad=True),
    lambda m: m.full((2,), 3, requires_grad=True),
    lambda m: m.arange(3, requires_grad=True),
    lambda m: m.zeros_like(m.ones(2, dtype=m.int64), requires_grad=True),
])
def test_integer_factory_cannot_require_grad(make):
    message = "Only Tensors of floating point and complex dtype can require gradients"
    with pytest.raises(RuntimeError) as got:
        make(nbtorch)
    assert str(got.value) == message
    if real_torch is not None:
        with pytest.raises(RuntimeError) as want:
            make(real_torch)
        assert str(want.value) == message


@pytest.mark.parametrize("make, error, message", [
    (lambda m: m.zeros(2.5), TypeError, "zeros(): argument 'size' (position 1) must be tuple of "
                                        "ints, "),
    (lambda m: m.eye(-1), RuntimeError, "n must be greater or equal to 0, got -1"),
    (lambda m: m.eye(2, -1), RuntimeError, "m must be greater or equal to 0, got -1"),
    (lambda m: m.linspace(0, 1, -1), RuntimeError, "number of steps must be non-negative"),
    (lambda m: m.arange(0, 1, 0), RuntimeError, "step must be nonzero"),
    (lambda m: m.arange(1, 0, 1), RuntimeError,
     "upper bound and lower bound inconsistent with step sign"),
    (lambda m: m.arange(0, 5, -1), RuntimeError,
     "upper bound and lower bound inconsistent with step sign"),
    (lambda m: m.arange(0, float("inf")), RuntimeError, "unsupported range: 0 -> inf"),
])
def test_factory_errors_match_torch(make, error, message):
    assert_same_error(make, error, message, compare="prefix")


def test_negative_dimension_is_an_error():
    with pytest.raises(RuntimeError, match="negative dimension -1"):
        nbtorch.zeros(2, -1)


# --- arange --------------------------------------------------------------------------------------

ARANGE = [
    (5,), (2.5,), (10.0,), (0, 5), (0, 10, 3), (10, 0, -3), (0, -7, -2), (0, 0), (3, 3, -1),
    (0, 1, 0.1), (0, 1, 0.3), (1, 2.5, 0.5), (0.1, 0.4, 0.1), (-1, 1, 0.2), (0, 0.9, 0.3),
    (1.0, 1.3, 0.1), (0, 1, 1 / 3), (0, 3, 0.1), (-5, 5, 0.7), (0, 1e-7, 1e-8), (1, 2, 0.1),
    (0, 2.2, 0.2), (0, 7, 2.0),
]
ARANGE_DTYPES = [None, "int64", "int32", "uint8", "float32", "float64"]


@needs_torch
@pytest.mark.parametrize("dtype", ARANGE_DTYPES)
@pytest.mark.parametrize("args", ARANGE, ids=str)
def test_arange_length_dtype_and_values_match_torch(args, dtype):
    if dtype == "uint8" and min(args) < 0:
        pytest.skip("negative values do not fit uint8")
    kw_nb = {} if dtype is None else {"dtype": getattr(nbtorch, dtype)}
    kw_th = {} if dtype is None else {"dtype": getattr(real_torch, dtype)}
    step = args[2] if len(args) == 3 else 1
    if dtype in ("int64", "int32", "uint8") and int(step) == 0:
        # The step truncates to 0 (older PyTorch builds crash here): int64 refuses it, the other
        # integer dtypes repeat start, as PyTorch 2.13 does.
        if dtype == "int64":
            with pytest.raises(ValueError, match="step must be nonzero"):
                nbtorch.arange(*args, **kw_nb)
        else:
            got = nbtorch.arange(*args, **kw_nb)
            assert len(got) == int(np.ceil((args[1] - args[0]) / step))
            assert (got._data == int(args[0])).all()
        return
    want = real_torch.arange(*args, **kw_th)
    got = nbtorch.arange(*args, **kw_nb)
    assert str(got.dtype) == str(want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    # PyTorch fills float32 in float32 arithmetic (in SIMD chunks); nbtorch in float64: 1 ulp.
    np.testing.assert_allclose(got._data, want.numpy(), rtol=2e-7, atol=1e-7)


@pytest.mark.parametrize("args, expected", [
    ((0, 1, 0.1), 10), ((0, 3, 0.1), 30), ((1, 2, 0.1), 10), ((0, 0.9, 0.3), 3),
    ((0, 2.2, 0.2), 11), ((5,), 5), ((10, 0, -3), 4), ((0, 5.5, 1), 6),
])
def test_arange_length_rule(args, expected):
    # ceil((end - start) / step) in double precision, as PyTorch computes it.
    assert len(nbtorch.arange(*args)) == expected


def test_arange_int64_dtype_truncates_the_bounds_first():
    got = nbtorch.arange(0, 5.5, 1, dtype=nbtorch.int64)
    assert got.tolist() == [0, 1, 2, 3, 4]
    assert nbtorch.arange(0.5, 5.5, 1.5, dtype=nbtorch.int32).tolist() == [0, 1, 2, 3]


def test_arange_dtypes():
    assert nbtorch.arange(5).dtype is nbtorch.int64
    assert nbtorch.arange(5.0).dtype is nbtorch.float32
    assert nbtorch.arange(0, 5, 0.5).dtype is nbtorch.float32
    assert nbtorch.arange(5, dtype=nbtorch.float64).dtype is nbtorch.float64
    assert nbtorch.arange(nbtorch.tensor(3)).tolist() == [0, 1, 2]
    np.testing.assert_allclose(nbtorch.arange(0, 1, 0.25)._data, [0, 0.25, 0.5, 0.75])


# --- misc ----------------------------------------------------------------------------------------


def test_is_tensor_and_numel():
    assert nbtorch.is_tensor(nbtorch.ones(1)) and not nbtorch.is_tensor([1])
    assert nbtorch.numel(nbtorch.ones(2, 3)) == 6


def test_legacy_tensor_constructor():
    t = nbtorch.Tensor([1, 2])
    assert t.dtype is nbtorch.float32 and t.tolist() == [1.0, 2.0]
    e = nbtorch.Tensor(2, 3)
    assert e.shape == (2, 3) and e.dtype is nbtorch.float32
    assert nbtorch.Tensor().shape == (0,)

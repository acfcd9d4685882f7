"""Tests of nbtorch/_tensor.py (Python's protocols, metadata, autograd state) and the conversion and
copy methods of nbtorch/_tensor_methods.py (``to`` and its shortcuts, ``clone``, ``new_*``,
``zero_``/``fill_``/``copy_``), with PyTorch's error messages."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, real_torch

needs_torch = pytest.mark.skipif(real_torch is None, reason="PyTorch is not installed")
CUDA = nbtorch.cuda.is_available()


def _raises_like_torch(make, error, message):
    """``make(m)`` raises ``error`` with exactly ``message`` for nbtorch (and for torch)."""
    assert_same_error(make, error, message, torch_compare="first_line")


# --- Python protocols ----------------------------------------------------------------------------


def test_len():
    assert len(nbtorch.zeros(4, 3)) == 4
    assert len(nbtorch.tensor([])) == 0
    _raises_like_torch(lambda m: len(m.tensor(1.0)), TypeError, "len() of a 0-d tensor")


@pytest.mark.skipif(not hasattr(nbtorch.Tensor, "unbind"), reason="unbind (shape ops) not written")
def test_iter():
    rows = list(nbtorch.tensor([[1, 2], [3, 4], [5, 6]]))
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4], [5, 6]]
    assert [x.item() for x in nbtorch.tensor([1.5, 2.5])] == [1.5, 2.5]
    a, b = nbtorch.tensor([7, 8])  # unpacking
    assert (a.item(), b.item()) == (7, 8)
    _raises_like_torch(lambda m: iter(m.tensor(1.0)), TypeError, "iteration over a 0-d tensor")


@pytest.mark.skipif(not hasattr(nbtorch.Tensor, "unbind"), reason="unbind (shape ops) not written")
def test_iteration_keeps_the_graph():
    x = nbtorch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    first, second = x
    (first * 2 + second * 3).backward(nbtorch.ones(2))
    np.testing.assert_array_equal(x.grad._data, [[2, 2], [3, 3]])


@pytest.mark.parametrize("value, expected", [([1.0], True), ([0], False), (2.5, True),
                                             ([[False]], False)])
def test_bool_of_one_element(value, expected):
    assert bool(nbtorch.tensor(value)) is expected
    assert ("yes" if nbtorch.tensor(value) else "no") == ("yes" if expected else "no")


def test_bool_is_ambiguous():
    _raises_like_torch(lambda m: bool(m.tensor([1, 2])), RuntimeError,
                       "Boolean value of Tensor with more than one value is ambiguous")
    _raises_like_torch(lambda m: bool(m.tensor([])), RuntimeError,
                       "Boolean value of Tensor with no values is ambiguous")
    with pytest.raises(RuntimeError, match="ambiguous"):
        if nbtorch.tensor([1, 2]) > 0:
            pass


def test_index():
    assert list(range(nbtorch.tensor(3))) == [0, 1, 2]
    assert [10, 20, 30][nbtorch.tensor(1)] == 20
    assert [10, 20, 30][nbtorch.tensor([2])] == 30
    assert [10, 20, 30][nbtorch.tensor(True)] == 20
    assert "abcd"[nbtorch.tensor(1):nbtorch.tensor(3)] == "bc"
    message = "only integer tensors of a single element can be converted to an index"
    _raises_like_torch(lambda m: [1, 2][m.tensor(1.0)], TypeError, message)
    _raises_like_torch(lambda m: [1, 2][m.tensor([1, 1])], TypeError, message)


def test_float_int_complex():
    assert float(nbtorch.tensor([3])) == 3.0 and isinstance(float(nbtorch.tensor(3)), float)
    assert int(nbtorch.tensor([3.7])) == 3 and int(nbtorch.tensor(-3.7)) == -3
    assert complex(nbtorch.tensor(3.5)) == 3.5 + 0j
    assert float(nbtorch.tensor([[2.5]], requires_grad=True)) == 2.5
    message = "only one element tensors can be converted to Python scalars"
    _raises_like_torch(lambda m: float(m.tensor([1.0, 2.0])), ValueError, message)
    _raises_like_torch(lambda m: int(m.tensor([1, 2])), ValueError, message)
    _raises_like_torch(lambda m: float(m.tensor([])), ValueError, message)


def test_item():
    assert nbtorch.tensor(3).item() == 3 and type(nbtorch.tensor(3).item()) is int
    assert type(nbtorch.tensor(1.5).item()) is float
    assert nbtorch.tensor(True).item() is True
    assert nbtorch.tensor([[1.5]]).item() == 1.5
    assert nbtorch.tensor(2.0, requires_grad=True).item() == 2.0
    assert nbtorch.tensor(0.1).item() == float(np.float32(0.1))  # the float32 value, as torch
    _raises_like_torch(lambda m: m.tensor([1.0, 2.0]).item(), RuntimeError,
                       "a Tensor with 2 elements cannot be converted to Scalar")
    _raises_like_torch(lambda m: m.tensor([]).item(), RuntimeError,
                       "a Tensor with 0 elements cannot be converted to Scalar")


def test_tolist():
    assert nbtorch.tensor([[1, 2]]).tolist() == [[1, 2]]
    assert nbtorch.tensor(1.5).tolist() == 1.5
    assert nbtorch.tensor([True]).tolist() == [True]
    assert nbtorch.tensor([1.0], requires_grad=True).tolist() == [1.0]
    assert type(nbtorch.tensor([1.0]).tolist()[0]) is float


def test_format():
    assert f"{nbtorch.tensor(3.14159):.2f}" == "3.14"
    assert f"{nbtorch.tensor(7):>3}" == "  7"
    assert f"{nbtorch.tensor([1.0, 2.0])}" == repr(nbtorch.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="unsupported format string passed to Tensor.__format__"):
        f"{nbtorch.tensor([3.14159]):.2f}"


# --- numpy interop -------------------------------------------------------------------------------


def test_numpy_shares_memory():
    t = nbtorch.tensor([1.0, 2.0])
    a = t.numpy()
    a[0] = 9
    assert t.tolist() == [9.0, 2.0]
    t.add_(1)
    np.testing.assert_array_equal(a, [10.0, 3.0])


def test_numpy_of_tensor_requiring_grad():
    message = ("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
               "instead.")
    _raises_like_torch(lambda m: m.tensor([1.0], requires_grad=True).numpy(), RuntimeError, message)
    _raises_like_torch(lambda m: np.asarray(m.tensor([1.0], requires_grad=True)), RuntimeError,
                       message)
    x = nbtorch.tensor([1.0], requires_grad=True)
    np.testing.assert_array_equal(x.detach().numpy(), [1.0])
    np.testing.assert_array_equal(x.numpy(force=True), [1.0])


def test_array_protocol():
    t = nbtorch.tensor([1.0, 2.0])
    shared = np.asarray(t)
    copied = np.array(t)
    cast = np.asarray(t, dtype=np.float64)
    t.mul_(10)
    np.testing.assert_array_equal(shared, [10.0, 20.0])
    np.testing.assert_array_equal(copied, [1.0, 2.0])
    np.testing.assert_array_equal(cast, [1.0, 2.0])
    assert copied.dtype == np.float32 and cast.dtype == np.float64
    assert np.sum(nbtorch.tensor([1, 2, 3])) == 6
    np.testing.assert_array_equal(np.stack([nbtorch.tensor([1]), nbtorch.tensor([2])]), [[1], [2]])


def test_numpy_scalar_on_the_left_gives_a_tensor():
    for out in (np.float64(2.0) * nbtorch.tensor([1.0, 2.0]),
                np.float32(2.0) + nbtorch.tensor([1.0, 2.0]),
                np.int64(3) - nbtorch.tensor([1.0, 2.0])):
        assert isinstance(out, nbtorch.Tensor) and out.dtype is nbtorch.float32


# --- metadata ------------------------------------------------------------------------------------


def test_shape_size_dim_numel():
    t = nbtorch.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4)
    assert isinstance(t.shape, nbtorch.Size) and repr(t.shape) == "torch.Size([2, 3, 4])"
    assert t.size(1) == 3 and t.size(-1) == 4
    assert t.dim() == t.ndim == t.ndimension() == 3
    assert t.numel() == t.nelement() == 24
    assert t.element_size() == t.itemsize == 4 and t.nbytes == 96
    assert t.shape[1:] == (3, 4) and isinstance(t.shape[1:], nbtorch.Size)
    assert t.shape + (5,) == (2, 3, 4, 5) and isinstance(t.shape + (5,), nbtorch.Size)
    assert t.shape.numel() == 24
    assert nbtorch.zeros(()).shape == () and nbtorch.zeros(()).dim() == 0
    assert list(t.shape) == [2, 3, 4]


@pytest.mark.parametrize("make, message", [
    (lambda m: m.zeros(2, 3).size(2),
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda m: m.zeros(2, 3).size(-3),
     "Dimension out of range (expected to be in range of [-2, 1], but got -3)"),
    (lambda m: m.zeros(2, 3).stride(5),
     "Dimension out of range (expected to be in range of [-2, 1], but got 5)"),
    (lambda m: m.zeros(()).size(0), "Dimension specified as 0 but tensor has no dimensions"),
    (lambda m: m.zeros(()).size(-1), "Dimension specified as -1 but tensor has no dimensions"),
])
def test_dimension_errors(make, message):
    _raises_like_torch(make, IndexError, message)


def test_stride_and_contiguity():
    t = nbtorch.zeros(2, 3)
    assert t.stride() == (3, 1) and t.stride(0) == 3 and t.stride(-1) == 1
    assert t.is_contiguous()
    assert nbtorch.zeros(()).stride() == ()
    f = nbtorch.from_numpy(np.zeros((2, 3), dtype=np.float32).T)
    assert f.stride() == (1, 3) and not f.is_contiguous()


@pytest.mark.skipif(not hasattr(nbtorch.Tensor, "T"), reason=".T (shape ops) not written yet")
def test_T():
    t = nbtorch.tensor([[1, 2, 3], [4, 5, 6]])
    assert t.T.shape == (3, 2) and t.T.tolist() == [[1, 4], [2, 5], [3, 6]]
    assert not t.T.is_contiguous()
    x = nbtorch.tensor([[1.0, 2.0]], requires_grad=True)
    x.T.backward(nbtorch.tensor([[3.0], [4.0]]))
    assert x.grad.tolist() == [[3.0, 4.0]]


def test_dtype_predicates_and_device():
    assert nbtorch.zeros(1).is_floating_point() and not nbtorch.zeros(1).is_complex()
    assert not nbtorch.zeros(1, dtype=nbtorch.int64).is_floating_point()
    assert nbtorch.tensor([1j]).is_complex() and nbtorch.is_complex(nbtorch.tensor([1j]))
    assert nbtorch.is_floating_point(nbtorch.zeros(1))
    t = nbtorch.zeros(1)
    assert t.device == nbtorch.device("cpu") and t.device.type == "cpu" and t.device.index is None
    assert not t.is_cuda


# --- identity, hashing, copying ------------------------------------------------------------------


def test_hash_is_identity():
    a, b = nbtorch.tensor([1.0]), nbtorch.tensor([1.0])
    assert hash(a) == hash(a) and hash(a) != hash(b)
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"
    assert a in {a} and b not in {a}
    assert a in [a]  # identity first, so no ambiguous bool


def test_deepcopy_of_a_leaf():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(nbtorch.ones(2))
    c = copy.deepcopy(x)
    assert c is not x and c.requires_grad and c.is_leaf
    np.testing.assert_array_equal(c._data, x._data)
    c.detach().add_(1)
    assert x.tolist() == [1.0, 2.0]  # memory not shared
    assert c.grad is not None and c.grad is not x.grad
    c.grad.zero_()
    assert x.grad.tolist() == [2.0, 4.0]


def test_deepcopy_keeps_shared_references():
    t = nbtorch.tensor([1.0])
    a, b = copy.deepcopy([t, t])
    assert a is b and a is not t


def test_deepcopy_of_a_non_leaf():
    message = ("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
               "protocol at the moment.  If you were attempting to deepcopy a module, this may be "
               "because of a torch.nn.utils.weight_norm usage, see "
               "https://github.com/pytorch/pytorch/pull/103001")
    _raises_like_torch(lambda m: copy.deepcopy(m.tensor([1.0], requires_grad=True) * 2),
                       RuntimeError, message)


def test_pickling_is_refused():
    with pytest.raises(TypeError, match="nbtorch.save"):
        pickle.dumps(nbtorch.tensor([1.0]))


# --- autograd state ------------------------------------------------------------------------------


def test_leaf_and_requires_grad_flags():
    x = nbtorch.tensor([1.0], requires_grad=True)
    y = x * 2
    z = nbtorch.tensor([1.0]) * 2
    assert x.is_leaf and x.requires_grad and x.grad_fn is None and x.grad is None
    assert not y.is_leaf and y.requires_grad and y.grad_fn is not None
    assert z.is_leaf and not z.requires_grad
    x.requires_grad = False
    assert not x.requires_grad
    x.requires_grad_()
    assert x.requires_grad
    assert x.requires_grad_(False) is x and not x.requires_grad
    assert y.requires_grad_() is y  # allowed on a non-leaf that already requires grad


def test_requires_grad_errors():
    def set_flag(t, value):
        t.requires_grad = value

    hint = (" If you want to use a computed variable in a subgraph that doesn't require "
            "differentiation use var_no_grad = var.detach().")
    leaf_only = "you can only change requires_grad flags of leaf variables."
    _raises_like_torch(lambda m: set_flag(m.tensor([1.0], requires_grad=True) * 2, False),
                       RuntimeError, leaf_only + hint)
    _raises_like_torch(lambda m: set_flag(m.tensor([1.0], requires_grad=True) * 2, True),
                       RuntimeError, leaf_only)
    _raises_like_torch(lambda m: (m.tensor([1.0], requires_grad=True) * 2).requires_grad_(False),
                       RuntimeError, leaf_only + hint)
    _raises_like_torch(lambda m: set_flag(m.tensor([1]), True), RuntimeError,
                       "only Tensors of floating point and complex dtype can require gradients")
    _raises_like_torch(lambda m: m.tensor([1]).requires_grad_(), RuntimeError,
                       "only Tensors of floating point dtype can require gradients")
    assert not nbtorch.tensor([1]).requires_grad_(False).requires_grad


def test_data_is_an_untracked_alias():
    p = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    d = p.data
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d.fill_(5.0)  # allowed: d is not tracked
    assert p.tolist() == [5.0, 5.0]  # same memory
    assert p.is_leaf and p.grad_fn is None
    y = (p * 2).data
    assert y.grad_fn is None and not y.requires_grad


def test_sgd_step_through_data():
    p = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    (p * p).backward(nbtorch.ones(2))
    p.data -= 0.1 * p.grad
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    np.testing.assert_allclose(p.detach()._data, [0.8, 1.6], rtol=1e-6)
    with nbtorch.no_grad():
        p -= 0.1 * p.grad
    np.testing.assert_allclose(p.detach()._data, [0.6, 1.2], rtol=1e-6)
    assert p.is_leaf


def test_data_setter_replaces_the_values():
    p = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    p.data = nbtorch.tensor([5.0, 6.0, 7.0])
    assert p.requires_grad and p.shape == (3,) and p.tolist() == [5.0, 6.0, 7.0]


def test_detach_shares_memory_and_version():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    before = x._version
    d.add_(1)
    assert x.tolist() == [2.0, 3.0]
    assert x._version == d._version == before + 1  # one version counter
    assert d.data_ptr() == x.data_ptr()
    assert d.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()


@pytest.mark.parametrize("lib", ["nbtorch", pytest.param("torch", marks=needs_torch)])
def test_version_reads_as_an_int(lib):
    """``t._version`` is PyTorch's int (notebook 08 teaches with it); views share the counter."""
    m = nbtorch if lib == "nbtorch" else real_torch
    a = m.tensor([1.0, -2.0, 3.0], requires_grad=True)
    s = (a * 2).sigmoid()
    seen = [f"{s._version}"]
    s += 1
    seen.append(str(s._version))
    s[:2].mul_(2)  # through a view: one counter
    seen.append(repr(s._version))
    assert seen == ["0", "1", "2"]
    assert s._version == 2 and s._version != 3 and int(s._version) == 2


def test_detach_in_place():
    x = nbtorch.tensor([1.0], requires_grad=True)
    y = (x * 2).detach_()
    assert y.is_leaf and not y.requires_grad


# --- to() and the conversion shortcuts -----------------------------------------------------------

TO_FORMS = [
    ("dtype", lambda m, t: t.to(m.float64)),
    ("dtype_kw", lambda m, t: t.to(dtype=m.int32)),
    ("device_str", lambda m, t: t.to("cpu")),
    ("device_obj", lambda m, t: t.to(m.device("cpu"))),
    ("device_and_dtype", lambda m, t: t.to("cpu", m.float64)),
    ("device_obj_and_dtype_kw", lambda m, t: t.to(m.device("cpu"), dtype=m.float16)),
    ("both_kw", lambda m, t: t.to(device="cpu", dtype=m.float64)),
    ("like_tensor", lambda m, t: t.to(m.tensor([1], dtype=m.int16))),
    ("python_float", lambda m, t: t.to(float)),
    ("python_int", lambda m, t: t.to(int)),
    ("python_bool", lambda m, t: t.to(bool)),
    ("non_blocking", lambda m, t: t.to(m.float64, non_blocking=True)),
    ("positional_flags", lambda m, t: t.to(m.float64, False, True)),
    ("device_none", lambda m, t: t.to(device=None)),
    ("float", lambda m, t: t.float()),
    ("double", lambda m, t: t.double()),
    ("half", lambda m, t: t.half()),
    ("long", lambda m, t: t.long()),
    ("int", lambda m, t: t.int()),
    ("short", lambda m, t: t.short()),
    ("char", lambda m, t: t.char()),
    ("byte", lambda m, t: t.byte()),
    ("bool", lambda m, t: t.bool()),
    ("type_dtype", lambda m, t: t.type(m.int32)),
    ("type_string", lambda m, t: t.type("torch.DoubleTensor")),
    ("type_as", lambda m, t: t.type_as(m.tensor([1]))),
    ("cpu", lambda m, t: t.cpu()),
]
TO_VALUES = [-1.5, 0.0, 2.7, 300.25]


@pytest.mark.parametrize("convert", [pytest.param(f, id=n) for n, f in TO_FORMS])
def test_to_forms(convert):
    got = convert(nbtorch, nbtorch.tensor(TO_VALUES))
    assert got.device.type == "cpu"
    if real_torch is not None:
        want = convert(real_torch, real_torch.tensor(TO_VALUES))
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_array_equal(got._data, want.numpy())


def test_to_returns_self_when_nothing_changes():
    t = nbtorch.tensor([1.5, 2.5])
    assert t.to(nbtorch.float32) is t and t.to("cpu") is t and t.cpu() is t and t.float() is t
    copied = t.to(nbtorch.float32, copy=True)
    assert copied is not t and copied.data_ptr() != t.data_ptr()
    assert t.type() == "torch.FloatTensor" and t.long().type() == "torch.LongTensor"


def test_to_is_differentiable():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(nbtorch.float64)
    assert y.grad_fn.name() == "ToCopyBackward0" and not y.is_leaf
    (y * y).backward(nbtorch.ones(2, dtype=nbtorch.float64))
    assert x.grad.dtype is nbtorch.float32 and x.grad.tolist() == [2.0, 4.0]
    i = x.long()
    assert not i.requires_grad and i.grad_fn is None


def test_to_errors():
    t = nbtorch.tensor([1.0])
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda.* device type at start of "
                                           "device string: tpu"):
        t.to("tpu")
    with pytest.raises(TypeError, match="to\\(\\) received an invalid combination of arguments"):
        t.to(foo=1)


@pytest.mark.skipif(CUDA, reason="this machine has CUDA")
@pytest.mark.parametrize("move", [
    lambda m: m.tensor([1.0]).to("cuda"),
    lambda m: m.tensor([1.0]).to("cuda:0"),
    lambda m: m.tensor([1.0]).cuda(),
    lambda m: m.tensor([1.0]).to(m.device("cuda"), m.float64),
])
def test_to_cuda_without_cuda(move):
    _raises_like_torch(move, AssertionError, "Torch not compiled with CUDA enabled")


@pytest.mark.skipif(not CUDA, reason="needs a GPU")
def test_to_cuda_and_back():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    g = x.cuda()
    assert g.is_cuda and g.device == nbtorch.device("cuda:0") and str(g.device) == "cuda:0"
    assert g.to("cuda") is g and g.cuda() is g
    back = (g * g).cpu()
    assert not back.is_cuda
    back.backward(nbtorch.ones(2))
    assert x.grad.tolist() == [2.0, 4.0] and not x.grad.is_cuda
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        g.detach().numpy()


# --- clone, new_*, zero_/fill_/copy_ -------------------------------------------------------------


def test_clone_copies_and_stays_in_the_graph(device):
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True, device=device)
    c = x.clone()
    assert c.data_ptr() != x.data_ptr() and c.grad_fn.name() == "CloneBackward0"
    c.detach().fill_(7)
    assert x.cpu().tolist() == [1.0, 2.0]
    (x.clone() * 3).backward(nbtorch.ones(2, device=device))
    assert x.grad.cpu().tolist() == [3.0, 3.0]
    plain = nbtorch.tensor([1, 2]).clone()
    assert plain.dtype is nbtorch.int64 and plain.is_leaf and not plain.requires_grad


NEW_METHODS = [
    ("new_zeros", lambda m, t: t.new_zeros(2, 3)),
    ("new_zeros_tuple", lambda m, t: t.new_zeros((2, 3))),
    ("new_ones_dtype", lambda m, t: t.new_ones(2, dtype=m.int64)),
    ("new_empty", lambda m, t: t.new_empty((2, 3)).zero_()),
    ("new_full", lambda m, t: t.new_full((2,), 7)),
    ("new_tensor", lambda m, t: t.new_tensor([1, 2])),
    ("new_tensor_numpy", lambda m, t: t.new_tensor(np.array([1, 2]))),
]


@pytest.mark.parametrize("make", [pytest.param(f, id=n) for n, f in NEW_METHODS])
@pytest.mark.parametrize("dtype", ["float64", "int32"])
def test_new_methods_take_dtype_and_device_from_self(make, dtype):
    got = make(nbtorch, nbtorch.ones(1, dtype=getattr(nbtorch, dtype)))
    assert got.is_leaf and not got.requires_grad
    if real_torch is not None:
        want = make(real_torch, real_torch.ones(1, dtype=getattr(real_torch, dtype)))
        assert str(got.dtype) == str(want.dtype) and tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(got._data, want.numpy())


def test_new_methods_requires_grad():
    t = nbtorch.ones(1, requires_grad=True)
    assert not t.new_zeros(2).requires_grad
    assert t.new_tensor([1.0], requires_grad=True).requires_grad


def test_zero_fill_copy(device):
    t = nbtorch.tensor([1.0, 2.0], device=device)
    v = t._version
    assert t.zero_() is t and t.cpu().tolist() == [0.0, 0.0]
    assert t.fill_(2.5) is t and t.cpu().tolist() == [2.5, 2.5]
    assert t.fill_(nbtorch.tensor(-1.0)) is t and t.cpu().tolist() == [-1.0, -1.0]
    assert t.copy_(nbtorch.tensor([3.0, 4.0], device=device)) is t
    assert t.cpu().tolist() == [3.0, 4.0] and t._version == v + 4
    t.copy_(nbtorch.tensor([5.0, 6.0]))  # from the CPU, whatever t's device
    assert t.cpu().tolist() == [5.0, 6.0]
    i = nbtorch.tensor([1, 2], device=device)
    i.fill_(2.7)
    assert i.cpu().tolist() == [2, 2]

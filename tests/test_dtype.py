"""dtypes: PyTorch's names, aliases and reprs, and PyTorch's type promotion.

The promotion tables are checked against real PyTorch (``torch.promote_types``,
``torch.result_type`` and the dtype of actual op results) over every pair of dtypes, each as a
dimensioned tensor, a 0-d tensor or a Python bool/int/float.  A few hand-written cases keep the
rules tested without torch.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import nbtorch
from nbtorch import _dtype

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
         "complex64", "complex128"]
KINDS = ("dim", "zero")  # a 1-d tensor or a 0-d tensor
SCALARS = {"py_bool": True, "py_int": 2, "py_float": 2.5}


def make(m, name, kind):
    d = getattr(m, name)
    return m.tensor([1, 2], dtype=d) if kind == "dim" else m.tensor(3, dtype=d)


# --- names, aliases, reprs ---------------------------------------------------------------------


@pytest.mark.parametrize("alias, name", [
    ("float", "float32"), ("double", "float64"), ("half", "float16"), ("long", "int64"),
    ("int", "int32"), ("short", "int16"), ("cfloat", "complex64"), ("cdouble", "complex128"),
])
def test_aliases_are_the_same_object(alias, name):
    assert getattr(nbtorch, alias) is getattr(nbtorch, name)
    if torch is not None:
        assert getattr(torch, alias) is getattr(torch, name)


def test_bool_dtype_is_exported_under_pythons_name():
    assert nbtorch.bool is _dtype.bool_
    assert repr(nbtorch.bool) == "torch.bool"


@pytest.mark.parametrize("name", NAMES)
def test_repr_str_and_attributes(name):
    d = getattr(nbtorch, name)
    assert repr(d) == str(d) == f"torch.{name}"
    assert d.itemsize == np.dtype(d.np).itemsize
    if torch is not None:
        t = getattr(torch, name)
        assert repr(d) == repr(t)
        assert (d.is_floating_point, d.is_complex, d.is_signed, d.itemsize) == (
            t.is_floating_point, t.is_complex, t.is_signed, t.itemsize)


@pytest.mark.parametrize("name", NAMES)
def test_dtype_pickles_to_the_same_object(name):
    d = getattr(nbtorch, name)
    assert pickle.loads(pickle.dumps(d)) is d


@pytest.mark.parametrize("name", NAMES)
def test_tensor_dtype_round_trips(name):
    d = getattr(nbtorch, name)
    t = nbtorch.zeros(2, dtype=d)
    assert t.dtype is d
    assert t._data.dtype == d.np


def test_python_types_as_dtypes_follow_pytorch():
    x = nbtorch.tensor([1.5, 2.5])
    assert x.to(float).dtype is nbtorch.float64
    assert x.to(int).dtype is nbtorch.int64
    assert x.to(bool).dtype is nbtorch.bool
    assert nbtorch.zeros(2, dtype=np.float64).dtype is nbtorch.float64


def test_unsupported_numpy_dtype_error():
    with pytest.raises(TypeError, match=r"can't convert np.ndarray of type numpy.str_"):
        nbtorch.from_numpy(np.array(["a"]))


# --- promotion without torch: the rules every beginner meets -------------------------------------


@pytest.mark.parametrize("make_result, expected", [
    (lambda m: m.tensor([5.5, 3]), "float32"),
    (lambda m: m.tensor([1, 2]), "int64"),
    (lambda m: m.tensor([True, False]), "bool"),
    (lambda m: m.tensor([1, 2]) * 2.5, "float32"),
    (lambda m: m.tensor([1, 2]) / m.tensor([2, 2]), "float32"),
    (lambda m: m.tensor([1, 2]) / 2, "float32"),
    (lambda m: m.tensor([1, 2], dtype=m.int32) // 2, "int32"),
    (lambda m: m.ones(2, dtype=m.float16) + m.ones(2, dtype=m.int64), "float16"),
    (lambda m: m.ones(2, dtype=m.float32) + m.ones(2, dtype=m.float64), "float64"),
    (lambda m: m.ones(2, dtype=m.float32) + m.tensor(1.0, dtype=m.float64), "float32"),
    (lambda m: m.ones(2, dtype=m.int32) + m.tensor(1.0, dtype=m.float64), "float64"),
    (lambda m: m.ones(2, dtype=m.int32) + m.tensor(1, dtype=m.int64), "int32"),
    (lambda m: m.ones(2, dtype=m.uint8) + m.ones(2, dtype=m.int8), "int16"),
    (lambda m: m.ones(2, dtype=m.uint8) + 1000, "uint8"),
    (lambda m: m.ones(2, dtype=m.float32) * 1e300, "float32"),
    (lambda m: m.ones(2, dtype=m.bool) + 1, "int64"),
    (lambda m: m.ones(2, dtype=m.bool) + True, "bool"),
    (lambda m: m.ones(2, dtype=m.bool) * 1.5, "float32"),
    (lambda m: m.tensor(1) + m.tensor(1.5), "float32"),
    (lambda m: m.ones(2, dtype=m.float32) + m.tensor(1j, dtype=m.complex128), "complex64"),
    (lambda m: m.ones(2, dtype=m.float64) + m.tensor(1j, dtype=m.complex64), "complex128"),
    (lambda m: m.ones(2, dtype=m.int64) + m.tensor(1j, dtype=m.complex128), "complex128"),
    (lambda m: m.ones(2) < 1, "bool"),
    (lambda m: m.ones(2, dtype=m.int64) == m.ones(2, dtype=m.float64), "bool"),
])
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # float32 * 1e300 is inf
def test_promotion_rules(make_result, expected):
    assert str(make_result(nbtorch).dtype) == "torch." + expected
    if torch is not None:
        assert str(make_result(torch).dtype) == "torch." + expected


def test_promote_types_examples():
    p = nbtorch.promote_types
    assert p(nbtorch.uint8, nbtorch.int8) is nbtorch.int16
    assert p(nbtorch.int64, nbtorch.float16) is nbtorch.float16
    assert p(nbtorch.bool, nbtorch.int8) is nbtorch.int8
    assert p(nbtorch.float64, nbtorch.complex64) is nbtorch.complex128
    assert p(nbtorch.float32, nbtorch.float32) is nbtorch.float32


def test_result_type_examples():
    rt = nbtorch.result_type
    assert rt(nbtorch.tensor([1, 2]), 1.0) is nbtorch.float32
    assert rt(nbtorch.tensor([1, 2], dtype=nbtorch.int8), 1000) is nbtorch.int8
    assert rt(nbtorch.tensor([1.0], dtype=nbtorch.float16), nbtorch.tensor(1.0)) is nbtorch.float16
    assert rt(nbtorch.tensor(1, dtype=nbtorch.int8), nbtorch.tensor(1, dtype=nbtorch.int16)) is (
        nbtorch.int16)


# --- promotion against torch, all pairs -----------------------------------------------------------


@needs_torch
def test_promote_types_all_pairs_match_torch():
    wrong = []
    for a in NAMES:
        for b in NAMES:
            got = nbtorch.promote_types(getattr(nbtorch, a), getattr(nbtorch, b))
            want = torch.promote_types(getattr(torch, a), getattr(torch, b))
            if str(got) != str(want):
                wrong.append((a, b, got, want))
    assert not wrong


def _operand_sets():
    """(description, builder) of every second operand: each dtype as dim/0-d tensor, a scalar."""
    out = [(f"{n}/{k}", (lambda m, n=n, k=k: make(m, n, k))) for n in NAMES for k in KINDS]
    out += [(s, (lambda m, v=v: v)) for s, v in SCALARS.items()]
    return out


def _no_complex32(first, second_name) -> bool:
    """PyTorch gives complex32 for float16 with a complex 0-d tensor/scalar; nbtorch has no
    complex32 (it gives complex64), so those pairs are left out of the all-pairs tables."""
    names = (first, second_name.split("/")[0])
    return "float16" in names and any(n.startswith("complex") for n in names)


@needs_torch
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", NAMES)
def test_result_type_all_pairs_match_torch(name, kind):
    wrong = []
    for desc, other in _operand_sets():
        if _no_complex32(name, desc):
            continue
        for order in (0, 1):
            def operands(m, other=other, order=order):
                a, b = make(m, name, kind), other(m)
                return (a, b) if order == 0 else (b, a)

            got = nbtorch.result_type(*operands(nbtorch))
            want = torch.result_type(*operands(torch))
            if str(got) != str(want):
                wrong.append((desc, order, got, want))
    assert not wrong


OPS = {
    "add": lambda m, a, b: a + b,
    "mul": lambda m, a, b: m.mul(a, b),
    "div": lambda m, a, b: a / b,
    "sub": lambda m, a, b: a - b,
    "eq": lambda m, a, b: a == b,
    "lt": lambda m, a, b: a < b,
}


@needs_torch
@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", NAMES)
def test_op_result_dtypes_and_values_match_torch(op, name, kind):
    """The dtype (and value) of real op results, or the same error, for every operand pairing."""
    fn = OPS[op]
    wrong = []
    for desc, other in _operand_sets():
        if _no_complex32(name, desc):
            continue
        if op == "lt" and ("complex" in name or "complex" in desc):
            continue  # ordering of complex numbers: PyTorch raises, nbtorch compares numpy-style
        for order in (0, 1):
            def operands(m, other=other, order=order):
                a, b = make(m, name, kind), other(m)
                return (a, b) if order == 0 else (b, a)

            try:
                want = fn(torch, *operands(torch))
            except Exception as e:  # noqa: BLE001 - the error itself is what is compared
                with pytest.raises(type(e)) as got:
                    fn(nbtorch, *operands(nbtorch))
                if str(got.value) != str(e):
                    wrong.append((desc, order, str(got.value), str(e)))
                continue
            got = fn(nbtorch, *operands(nbtorch))
            if str(got.dtype) != str(want.dtype) or tuple(got.shape) != tuple(want.shape):
                wrong.append((desc, order, got.dtype, want.dtype))
            elif not np.allclose(got._data.astype(np.complex128),
                                 want.numpy().astype(np.complex128), rtol=1e-3):
                wrong.append((desc, order, got._data, want.numpy()))
    assert not wrong


# --- default dtype -------------------------------------------------------------------------------


@pytest.fixture
def float64_default():
    nbtorch.set_default_dtype(nbtorch.float64)
    try:
        yield
    finally:
        nbtorch.set_default_dtype(nbtorch.float32)


def test_default_dtype_is_float32():
    assert nbtorch.get_default_dtype() is nbtorch.float32


def test_set_default_dtype_float64(float64_default):
    assert nbtorch.get_default_dtype() is nbtorch.float64
    assert nbtorch.tensor([1.5]).dtype is nbtorch.float64
    assert nbtorch.tensor([1, 2]).dtype is nbtorch.int64
    assert nbtorch.zeros(2).dtype is nbtorch.float64
    assert nbtorch.arange(0, 1, 0.5).dtype is nbtorch.float64
    assert nbtorch.linspace(0, 1, 3).dtype is nbtorch.float64
    assert (nbtorch.tensor([1, 2]) * 2.5).dtype is nbtorch.float64
    assert (nbtorch.tensor([1, 2]) / 2).dtype is nbtorch.float64
    assert nbtorch.tensor([1, 2]).exp().dtype is nbtorch.float64
    assert (nbtorch.ones(2, dtype=nbtorch.float32) * 2.5).dtype is nbtorch.float32
    assert nbtorch.tensor([1j]).dtype is nbtorch.complex128


def test_set_default_dtype_float16_and_back():
    nbtorch.set_default_dtype(nbtorch.float16)
    try:
        assert nbtorch.tensor([1.5]).dtype is nbtorch.float16
    finally:
        nbtorch.set_default_dtype(nbtorch.float32)
    assert nbtorch.tensor([1.5]).dtype is nbtorch.float32


@pytest.mark.parametrize("bad", ["int64", "bool", "complex64"])
def test_set_default_dtype_rejects_non_float(bad):
    with pytest.raises(TypeError, match="only floating-point types are supported as the default"):
        nbtorch.set_default_dtype(getattr(nbtorch, bad))
    if torch is not None:
        with pytest.raises(TypeError, match="only floating-point types are supported"):
            torch.set_default_dtype(getattr(torch, bad))
    assert nbtorch.get_default_dtype() is nbtorch.float32

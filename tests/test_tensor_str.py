"""Printed tensors: every case is built the same way with nbtorch and with PyTorch, and the two
reprs must be identical, character for character.  A few literal expectations run without torch."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from nbtorch import _tensor
from nbtorch.backend import device as Device

try:
    import torch as real_torch
except ImportError:  # pragma: no cover - depends on the machine
    real_torch = None

_rng = np.random.default_rng(0)
F32 = np.float32
NAN, INF = float("nan"), float("inf")


def _normal(*shape, scale=1.0, dtype=F32):
    return (_rng.standard_normal(shape) * scale).astype(dtype)


def _t(array):
    """A builder: ``m.tensor(array)`` for either module."""
    return lambda m: m.tensor(array)


def _grad(array, then):
    def build(m):
        x = m.tensor(array, requires_grad=True)
        return then(x)

    return build


# (id, builder(m) -> tensor, print options)
CASES = [
    # integers and bools
    ("int", _t(np.array([1, 2, 3])), {}),
    ("int-negative", _t(np.array([-1, 100, 5, -20000])), {}),
    ("int-big", _t(np.array([2**62, -(2**62), 0])), {}),
    ("int32", _t(np.array([1, -2, 3], dtype=np.int32)), {}),
    ("int16", _t(np.array([7, 8], dtype=np.int16)), {}),
    ("int8", _t(np.array([-7, 8], dtype=np.int8)), {}),
    ("uint8", _t(np.array([0, 255], dtype=np.uint8)), {}),
    ("int-2d", _t(np.arange(12).reshape(3, 4) - 5), {}),
    ("int-wrap", _t(np.arange(40) * 1000), {}),
    ("bool", _t(np.array([True, False, True])), {}),
    ("bool-true", _t(np.array([True, True])), {}),
    ("bool-2d", _t(np.array([[True, False], [False, False]])), {}),
    # floats: integer, fixed and scientific modes
    ("float-int", _t(np.array([1.0, 2.0], F32)), {}),
    ("float-int-neg", _t(np.array([-1.0, 20.0, 300.0], F32)), {}),
    ("float-zeros", _t(np.zeros(3, F32)), {}),
    ("float-neg-zero", _t(np.array([-0.0, 1.0], F32)), {}),
    ("float-fixed", _t(np.array([1.5, 3.0], F32)), {}),
    ("float-align", _t(np.array([-1.5, 10.25, 100.125], F32)), {}),
    ("float-round-up", _t(np.array([9.99999, 1.5], F32)), {}),
    ("float-sci", _t(np.array([1e-5, 1e5], F32)), {}),
    ("float-sci-big", _t(np.array([1e9, 1.0], F32)), {}),
    ("float-sci-big-int", _t(np.array([1e10, 3.0], F32)), {}),
    ("float-sci-small", _t(np.array([1e-5, 2e-5], F32)), {}),
    ("float-sci-neg", _t(np.array([-1e-7, 5.0, 123456.0], F32)), {}),
    ("float-sci-3digit-exp", _t(np.array([1e-300, 1e300])), {}),
    ("float-ratio-1000", _t(np.array([1.0, 1000.0], F32)), {}),
    ("float-ratio-1001", _t(np.array([1.0, 1001.0], F32)), {}),
    ("float-1e-4", _t(np.array([1e-4, 0.5], F32)), {}),
    ("float-nan-inf", _t(np.array([NAN, INF, -INF], F32)), {}),
    ("float-nan-first", _t(np.array([NAN, 1.0], F32)), {}),
    ("float-fixed-nan", _t(np.array([1.5, NAN], F32)), {}),
    ("float-int-inf", _t(np.array([-INF, 2.0, 30.0], F32)), {}),
    ("float-sci-inf", _t(np.array([INF, 1e-6, 1.0], F32)), {}),
    ("float-random-2d", _t(_normal(3, 4)), {}),
    ("float-random-3d", _t(_normal(2, 3, 4)), {}),
    ("float-random-4d", _t(_normal(2, 2, 2, 2)), {}),
    ("float-wrap-1d", _t(_normal(50)), {}),
    ("float-wrap-2d", _t(_normal(3, 20, scale=100)), {}),
    ("float-wrap-3d", _t(_normal(2, 2, 15)), {}),
    ("float-one-column", _t(_normal(4, 1)), {}),
    ("float-row", _t(_normal(1, 5)), {}),
    # 0-d
    ("0d-float", _t(np.array(3.0, F32)), {}),
    ("0d-fixed", _t(np.array(-2.25, F32)), {}),
    ("0d-sci", _t(np.array(1e-10, F32)), {}),
    ("0d-nan", _t(np.array(NAN, F32)), {}),
    ("0d-int", _t(np.array(3)), {}),
    ("0d-bool", _t(np.array(True)), {}),
    ("0d-float64", _t(np.array(0.1)), {}),
    ("0d-zero", _t(np.array(0.0, F32)), {}),
    # empty
    ("empty", _t(np.zeros(0, F32)), {}),
    ("empty-2d", _t(np.zeros((0, 3), F32)), {}),
    ("empty-3d", _t(np.zeros((2, 0, 3), F32)), {}),
    ("empty-int", _t(np.zeros(0, np.int64)), {}),
    ("empty-int32-2d", _t(np.zeros((3, 0), np.int32)), {}),
    ("empty-bool", _t(np.zeros(0, bool)), {}),
    ("empty-float64", _t(np.zeros(0)), {}),
    # summarization
    ("summary-1d", _t(np.arange(2000, dtype=F32)), {}),
    ("summary-1d-int", _t(np.arange(1001)), {}),
    ("summary-2d", _t(_normal(40, 50)), {}),
    ("summary-wide", _t(_normal(3, 500)), {}),
    ("summary-tall", _t(_normal(500, 3)), {}),
    ("summary-3d", _t(_normal(10, 10, 20)), {}),
    ("summary-bool", _t(np.arange(1200) % 3 == 0), {}),
    ("summary-outlier-hidden", _t(np.concatenate([np.ones(3), np.full(1000, 1e-9),
                                                  np.ones(3)]).astype(F32)), {}),
    # dtypes
    ("float64", _t(np.array([1.0, 2.5])), {}),
    ("float64-int", _t(np.array([1.0, 2.0])), {}),
    ("float16", _t(np.array([1.0, 2.0], np.float16)), {}),
    ("float16-fixed", _t(np.array([0.1, 65504.0], np.float16)), {}),
    ("float16-small", _t(np.array([0.1, 0.3333], np.float16)), {}),
    ("complex64", _t(np.array([1 + 2j, 3 - 1j], np.complex64)), {}),
    ("complex64-fixed", _t(np.array([1.5 + 2j, -3 - 0.25j], np.complex64)), {}),
    ("complex128", _t(np.array([1 + 2j, 3 - 1j])), {}),
    ("complex-0d", _t(np.array(2 + 0j, np.complex64)), {}),
    ("complex-2d", _t((_normal(2, 3) + 1j * _normal(2, 3)).astype(np.complex64)), {}),
    # autograd suffixes
    ("requires-grad", _grad(np.array([1.0, 2.0], F32), lambda x: x), {}),
    ("grad-fn-add", _grad(np.array([1.0, 2.0], F32), lambda x: x + 1), {}),
    ("grad-fn-mul-0d", _grad(np.array(2.0, F32), lambda x: x * x), {}),
    ("grad-float64", _grad(np.array([1.5, 2.0]), lambda x: x), {}),
    ("grad-2d", _grad(_normal(3, 3), lambda x: x * 2), {}),
    ("suffix-wraps", _grad(np.linspace(-1, 1, 9), lambda x: x), {}),
    ("suffix-wraps-int32", _t(np.arange(20, dtype=np.int32) * 1000), {}),
    ("suffix-wraps-empty", _grad(np.zeros((0, 3)), lambda x: x), {}),
    # print options
    ("precision-2", _t(np.array([1.12345, 2.5], F32)), {"precision": 2}),
    ("precision-0", _t(np.array([1.6, 2.4], F32)), {"precision": 0}),
    ("precision-8", _t(np.array([1 / 3], np.float64)), {"precision": 8}),
    ("threshold-5", _t(np.arange(10)), {"threshold": 5}),
    ("threshold-5-2d", _t(np.arange(30.0, dtype=F32).reshape(5, 6)), {"threshold": 5}),
    ("edgeitems-1", _t(_normal(10, 10, 20)), {"edgeitems": 1}),
    ("edgeitems-0", _t(np.arange(2000.0, dtype=F32)), {"edgeitems": 0}),
    ("edgeitems-0-2d", _t(_normal(40, 50)), {"edgeitems": 0}),
    ("edgeitems-0-small", _t(np.arange(4.0, dtype=F32)), {"edgeitems": 0}),
    ("linewidth-30", _t(_normal(3, 8)), {"linewidth": 30}),
    ("linewidth-5", _t(np.arange(6)), {"linewidth": 5}),
    ("sci-on", _t(np.array([1.5, 3.0], F32)), {"sci_mode": True}),
    ("sci-on-int", _t(np.array([1.0, 20.0], F32)), {"sci_mode": True}),
    ("sci-on-zeros", _t(np.zeros(2, F32)), {"sci_mode": True}),
    ("sci-off", _t(np.array([1e-5, 1e5], F32)), {"sci_mode": False}),
    ("profile-short", _t(_normal(10, 10, 20)), {"profile": "short"}),
    ("profile-full", _t(np.arange(1500)), {"profile": "full"}),
]


@pytest.fixture(autouse=True)
def _default_print_options():
    yield
    nbtorch.set_printoptions(profile="default")
    if real_torch is not None:
        real_torch.set_printoptions(profile="default")


@pytest.mark.skipif(real_torch is None, reason="needs PyTorch as the oracle")
@pytest.mark.parametrize("build, options", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_repr_matches_torch(build, options):
    nbtorch.set_printoptions(**options)
    real_torch.set_printoptions(**options)
    got, expected = build(nbtorch), build(real_torch)
    assert repr(got) == repr(expected)
    assert str(got) == str(expected)


@pytest.mark.skipif(real_torch is None, reason="needs PyTorch as the oracle")
@pytest.mark.parametrize("array", [np.array([1.0, 2.5]), np.array([1.0, 2.5], F32),
                                   np.array([1 + 1j], np.complex64), np.array([1 + 1j])])
def test_default_dtype_float64(array):
    for m in (nbtorch, real_torch):
        m.set_default_dtype(m.float64)
    try:
        assert repr(nbtorch.tensor(array)) == repr(real_torch.tensor(array))
    finally:
        for m in (nbtorch, real_torch):
            m.set_default_dtype(m.float32)


@pytest.mark.parametrize("build, expected", [
    (lambda: nbtorch.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (lambda: nbtorch.tensor([1.5, 3.0]), "tensor([1.5000, 3.0000])"),
    (lambda: nbtorch.tensor([1e-5, 1e5]), "tensor([1.0000e-05, 1.0000e+05])"),
    (lambda: nbtorch.tensor(3.0), "tensor(3.)"),
    (lambda: nbtorch.tensor([]), "tensor([])"),
    (lambda: nbtorch.zeros(0, 3), "tensor([], size=(0, 3))"),
    (lambda: nbtorch.tensor([True, False]), "tensor([ True, False])"),
    (lambda: nbtorch.tensor([1, 2], dtype=nbtorch.int32), "tensor([1, 2], dtype=torch.int32)"),
    (lambda: nbtorch.tensor([1.0, 2.0], requires_grad=True) + 1,
     "tensor([2., 3.], grad_fn=<AddBackward0>)"),
    (lambda: nbtorch.tensor([[1.0, -2.0], [3.0, 4.5]]),
     "tensor([[ 1.0000, -2.0000],\n        [ 3.0000,  4.5000]])"),
    (lambda: nbtorch.arange(10), "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"),
])
def test_literal_reprs(build, expected):
    assert repr(build()) == expected


def test_print_options_roundtrip():
    nbtorch.set_printoptions(precision=2, linewidth=40)
    assert nbtorch.get_printoptions() == {"precision": 2, "threshold": 1000, "edgeitems": 3,
                                          "linewidth": 40, "sci_mode": None}
    with nbtorch.printoptions(precision=6):
        assert repr(nbtorch.tensor([0.5])) == "tensor([0.500000])"
    assert repr(nbtorch.tensor([0.5])) == "tensor([0.50])"
    nbtorch.set_printoptions(profile="default")
    assert nbtorch.get_printoptions()["precision"] == 4


def test_device_suffix_mocked(monkeypatch):
    """Without a GPU, pretend the tensor lives on cuda:0 to check the suffix and its place."""
    monkeypatch.setattr(_tensor.Tensor, "device", property(lambda self: Device("cuda", 0)))
    assert repr(nbtorch.tensor([1.0, 2.0])) == "tensor([1., 2.], device='cuda:0')"
    t = nbtorch.tensor([1.0, 2.0], dtype=nbtorch.float64, requires_grad=True)
    assert repr(t) == "tensor([1., 2.], device='cuda:0', dtype=torch.float64, requires_grad=True)"
    assert repr(nbtorch.zeros(0)) == "tensor([], device='cuda:0')"


def test_device_suffix(device):
    t = nbtorch.tensor([1.0, 2.0], device=device)
    suffix = "" if device == "cpu" else ", device='cuda:0'"
    assert repr(t) == f"tensor([1., 2.]{suffix})"
    big = nbtorch.tensor(np.arange(2000, dtype=F32), device=device)
    assert repr(big).startswith("tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03")


def test_subclass_prefix():
    class Buffer(nbtorch.Tensor):
        pass

    t = nbtorch.tensor([1.0])
    sub = Buffer.__new__(Buffer)
    sub._data, sub._requires_grad, sub.grad, sub.grad_fn = t._data, False, None, None
    assert repr(sub) == "Buffer([1.])"


_hypothesis = pytest.importorskip("hypothesis", reason="property test needs hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_DTYPES = st.sampled_from([np.float32, np.float64, np.float16, np.int64, np.int32, np.bool_])


@st.composite
def _arrays(draw):
    dtype = np.dtype(draw(_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=7))
    if dtype.kind == "f":
        exponent = draw(st.integers(-12, 12))
        elements = st.one_of(
            st.floats(-1.0, 1.0).map(lambda v: v * 10.0 ** exponent),
            st.integers(-1000, 1000).map(float),
            st.sampled_from([0.0, -0.0, NAN, INF, -INF]),
        )
        with np.errstate(over="ignore"):  # float16 overflows to inf: a fine case too
            return draw(hnp.arrays(np.float64, shape, elements=elements)).astype(dtype)
    elif dtype.kind == "b":
        elements = st.booleans()
    else:
        elements = st.integers(-(2**31), 2**31 - 1)
    return draw(hnp.arrays(dtype, shape, elements=elements))


@pytest.mark.skipif(real_torch is None, reason="needs PyTorch as the oracle")
@settings(max_examples=150, deadline=None)
@given(array=_arrays(), linewidth=st.sampled_from([80, 40]),
       precision=st.sampled_from([4, 2]))
def test_repr_matches_torch_property(array, linewidth, precision):
    for m in (nbtorch, real_torch):
        m.set_printoptions(linewidth=linewidth, precision=precision, threshold=40, edgeitems=2)
    try:
        assert repr(nbtorch.tensor(array)) == repr(real_torch.tensor(array))
    finally:
        for m in (nbtorch, real_torch):
            m.set_printoptions(profile="default")

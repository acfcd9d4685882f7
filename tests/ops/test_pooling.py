"""Tests of nbtorch/ops/pooling.py: max, average and adaptive pooling through ``check_op``
(forward against direct numpy loops, backward against float64 central differences, both against
PyTorch when installed), ties and NaN routed as PyTorch routes them, ``return_indices``,
``ceil_mode``, integer inputs, double backward, and PyTorch's errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import nbtorch
from nbtorch.autograd import gradcheck, gradgradcheck
from nbtorch.ops import pooling as P
from tests.helpers import assert_same_error, check_op, needs_torch, real_torch

RNG = np.random.default_rng(0)


def _out(size, k, p, s, d, ceil):
    top = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)
    out = top // s + 1
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out


def _windows(size, k, p, s, d, ceil):
    """Per output index: the input indices of its window (may fall in the padding)."""
    return [[o * s - p + t * d for t in range(k)] for o in range(_out(size, k, p, s, d, ceil))]


def pool_ref(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, kind="max",
             count_include_pad=True, divisor_override=None):
    """Pooling by its definition, one output cell at a time, over the last two dims."""
    k = np.broadcast_to(kernel, 2)
    s = k if stride is None else np.broadcast_to(stride, 2)
    p, d = np.broadcast_to(padding, 2), np.broadcast_to(dilation, 2)
    rows = _windows(x.shape[-2], k[0], p[0], s[0], d[0], ceil_mode)
    cols = _windows(x.shape[-1], k[1], p[1], s[1], d[1], ceil_mode)
    y = np.zeros(x.shape[:-2] + (len(rows), len(cols)), dtype=x.dtype)
    for i, j in itertools.product(range(len(rows)), range(len(cols))):
        inside = [(a, b) for a in rows[i] for b in cols[j]
                  if 0 <= a < x.shape[-2] and 0 <= b < x.shape[-1]]
        values = np.stack([x[..., a, b] for a, b in inside], -1)
        if kind == "max":
            y[..., i, j] = values.max(-1)
            continue
        if divisor_override:
            div = divisor_override
        elif count_include_pad:  # the window cut at the end of the padding
            h = min(rows[i][0] + k[0], x.shape[-2] + p[0]) - rows[i][0]
            w = min(cols[j][0] + k[1], x.shape[-1] + p[1]) - cols[j][0]
            div = h * w
        else:
            div = len(inside)
        y[..., i, j] = values.sum(-1) / div
    return y


def adaptive_ref(x, out, kind="avg"):
    oh, ow = out
    h, w = x.shape[-2:]
    y = np.zeros(x.shape[:-2] + (oh, ow), dtype=x.dtype)
    for i, j in itertools.product(range(oh), range(ow)):
        block = x[..., i * h // oh:-(-(i + 1) * h // oh), j * w // ow:-(-(j + 1) * w // ow)]
        y[..., i, j] = block.mean((-2, -1)) if kind == "avg" else block.max((-2, -1))
    return y


X = RNG.standard_normal((2, 2, 6, 7))   # distinct values: max pooling is differentiable
X3 = RNG.standard_normal((2, 5, 6))     # unbatched (C, H, W)
L = RNG.standard_normal((2, 3, 9))      # 1-D (N, C, L)

# (id, fn(m, x), numpy reference, input)
CASES = [
    ("max2", lambda m, x: m.nn.functional.max_pool2d(x, 2), lambda a: pool_ref(a, 2), X),
    ("max3_s2_p1", lambda m, x: m.nn.functional.max_pool2d(x, 3, 2, 1),
     lambda a: pool_ref(a, 3, 2, 1), X),
    ("max_rect_stride1", lambda m, x: m.nn.functional.max_pool2d(x, (2, 3), 1),
     lambda a: pool_ref(a, (2, 3), 1), X),
    ("max_dilation", lambda m, x: m.nn.functional.max_pool2d(x, 2, 1, 1, dilation=2),
     lambda a: pool_ref(a, 2, 1, 1, 2), X),
    ("max_ceil", lambda m, x: m.nn.functional.max_pool2d(x, 2, ceil_mode=True),
     lambda a: pool_ref(a, 2, ceil_mode=True), X),
    ("max_ceil_pad", lambda m, x: m.nn.functional.max_pool2d(x, 3, 2, 1, ceil_mode=True),
     lambda a: pool_ref(a, 3, 2, 1, ceil_mode=True), X),
    ("max_unbatched", lambda m, x: m.nn.functional.max_pool2d(x, 2, (1, 2)),
     lambda a: pool_ref(a, 2, (1, 2)), X3),
    ("max1d", lambda m, x: m.nn.functional.max_pool1d(x, 3, 2, 1),
     lambda a: pool_ref(a[:, :, None], (1, 3), (1, 2), (0, 1))[:, :, 0], L),
    ("max1d_ceil_dil", lambda m, x: m.nn.functional.max_pool1d(x, 2, 2, 1, 2, ceil_mode=True),
     lambda a: pool_ref(a[:, :, None], (1, 2), (1, 2), (0, 1), (1, 2), True)[:, :, 0], L),
    ("avg2", lambda m, x: m.nn.functional.avg_pool2d(x, 2), lambda a: pool_ref(a, 2, kind="avg"),
     X),
    ("avg3_s2_p1", lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 1),
     lambda a: pool_ref(a, 3, 2, 1, kind="avg"), X),
    ("avg_exclude_pad", lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 1,
                                                                 count_include_pad=False),
     lambda a: pool_ref(a, 3, 2, 1, kind="avg", count_include_pad=False), X),
    ("avg_ceil", lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
     lambda a: pool_ref(a, 3, 2, 1, ceil_mode=True, kind="avg"), X),
    ("avg_ceil_exclude", lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 1, True, False),
     lambda a: pool_ref(a, 3, 2, 1, ceil_mode=True, kind="avg", count_include_pad=False), X),
    ("avg_stride1", lambda m, x: m.nn.functional.avg_pool2d(x, (3, 2), 1, (1, 0)),
     lambda a: pool_ref(a, (3, 2), 1, (1, 0), kind="avg"), X),
    ("avg_divisor", lambda m, x: m.nn.functional.avg_pool2d(x, 2, 1, divisor_override=3),
     lambda a: pool_ref(a, 2, 1, kind="avg", divisor_override=3), X),
    ("avg_unbatched", lambda m, x: m.nn.functional.avg_pool2d(x, 2),
     lambda a: pool_ref(a, 2, kind="avg"), X3),
    ("avg1d", lambda m, x: m.nn.functional.avg_pool1d(x, 3, 2, 1, count_include_pad=False),
     lambda a: pool_ref(a[:, :, None], (1, 3), (1, 2), (0, 1), kind="avg",
                        count_include_pad=False)[:, :, 0], L),
    ("adaptive_avg", lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (4, 3)),
     lambda a: adaptive_ref(a, (4, 3)), X),
    ("adaptive_avg_upsample", lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (8, 9)),
     lambda a: adaptive_ref(a, (8, 9)), X),
    ("adaptive_avg_global", lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 1),
     lambda a: adaptive_ref(a, (1, 1)), X),
    ("adaptive_avg_none", lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (None, 2)),
     lambda a: adaptive_ref(a, (5, 2)), X3),
    ("adaptive_avg1d", lambda m, x: m.nn.functional.adaptive_avg_pool1d(x, 4),
     lambda a: adaptive_ref(a[:, :, None], (1, 4))[:, :, 0], L),
    ("adaptive_max", lambda m, x: m.nn.functional.adaptive_max_pool2d(x, (4, 3)),
     lambda a: adaptive_ref(a, (4, 3), "max"), X),
    ("adaptive_max1d", lambda m, x: m.nn.functional.adaptive_max_pool1d(x, 4),
     lambda a: adaptive_ref(a[:, :, None], (1, 4), "max")[:, :, 0], L),
]


@pytest.mark.parametrize("name,fn,ref,x", CASES, ids=[c[0] for c in CASES])
def test_pooling(name, fn, ref, x, device):
    check_op(fn, ref, [x], device=device)


def test_3d_pooling():
    x = RNG.standard_normal((1, 2, 4, 4, 5))
    check_op(lambda m, x: m.nn.functional.max_pool3d(x, 2, (2, 1, 2), 1),
             _ref3d(2, (2, 1, 2), 1, "max"), [x])
    check_op(lambda m, x: m.nn.functional.avg_pool3d(x, 2, (2, 1, 2), 1),
             _ref3d(2, (2, 1, 2), 1, "avg"), [x])
    y = P.max_pool3d(nbtorch.tensor(x, requires_grad=True), 2)
    assert y.grad_fn.name() == "MaxPool3DWithIndicesBackward0"


def _ref3d(k, s, p, kind):
    """3-D pooling as 2-D pooling of 2-D pooling: windows are separable boxes."""
    def ref(a):
        ss = np.broadcast_to(s, 3)
        d_out = _out(a.shape[2], k, p, ss[0], 1, False)
        pad = np.pad(a, [(0, 0)] * 2 + [(p, p)] + [(0, 0)] * 2,
                     constant_values=-np.inf if kind == "max" else 0)
        rows = []
        for o in range(d_out):
            block = pad[:, :, o * ss[0]:o * ss[0] + k]
            plane = block.max(2) if kind == "max" else block.sum(2)
            pooled = pool_ref(plane, k, ss[1:], p, kind=kind)
            rows.append(pooled if kind == "max" else pooled / k)  # pool_ref divides by kh·kw
        return np.stack(rows, 2)
    return ref


def _pair_tensors(x):
    nb = nbtorch.tensor(x, requires_grad=True)
    th = real_torch.tensor(x, requires_grad=True) if real_torch is not None else None
    return nb, th


TIES = np.maximum(np.round(RNG.standard_normal((2, 3, 6, 6))), 0)  # many equal values (ReLU)


@pytest.mark.parametrize("args", [(2,), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 1), 2, True)])
def test_max_ties_go_to_the_first_maximum(args):
    x, th = _pair_tensors(TIES)
    y, idx = P.max_pool2d(x, *args, return_indices=True)
    g = RNG.standard_normal(tuple(y.shape))
    y.backward(nbtorch.tensor(g))
    expected = pool_ref(TIES, *args)
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    flat = TIES.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.numpy().reshape(2, 3, -1), -1),
                                  expected.reshape(2, 3, -1))
    if th is not None:
        ty, ti = real_torch.nn.functional.max_pool2d(th, *args, return_indices=True)
        ty.backward(real_torch.tensor(g))
        np.testing.assert_array_equal(idx.numpy(), ti.numpy())
        # overlapping windows add gradients in another order: equal up to rounding
        np.testing.assert_allclose(x.grad.numpy(), th.grad.numpy(), rtol=1e-14, atol=1e-15)


def test_max_nan_wins_and_the_last_nan_gets_the_gradient():
    x = np.array([[[[1.0, np.nan, 3.0], [4.0, np.nan, -7.0], [0.0, 0.0, -1.0]]]])
    t = nbtorch.tensor(x, requires_grad=True)
    y, idx = P.max_pool2d(t, 2, 1, return_indices=True)
    assert np.isnan(y.detach().numpy()).all()
    np.testing.assert_array_equal(idx.numpy().ravel(), [4, 4, 4, 4])
    y.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy()[0, 0], [[0, 0, 0], [0, 4, 0], [0, 0, 0]])


@pytest.mark.parametrize("args,kw", [((2,), {}), ((3, 2, 1), dict(ceil_mode=True)),
                                     ((2, 1), dict(dilation=2)), ((3,), dict(padding=1))])
def test_return_indices(args, kw):
    x = RNG.standard_normal((2, 2, 7, 6))
    y, idx = P.max_pool2d(nbtorch.tensor(x), *args, return_indices=True, **kw)
    assert idx.dtype == nbtorch.int64
    gathered = np.take_along_axis(x.reshape(2, 2, -1), idx.numpy().reshape(2, 2, -1), -1)
    np.testing.assert_array_equal(gathered.reshape(y.shape), y.numpy())
    if real_torch is not None:
        _, ti = real_torch.nn.functional.max_pool2d(real_torch.tensor(x), *args,
                                                     return_indices=True, **kw)
        np.testing.assert_array_equal(idx.numpy(), ti.numpy())


def test_max_pool1d_and_adaptive_indices():
    x = RNG.standard_normal((2, 3, 9))
    y, idx = P.max_pool1d_with_indices(nbtorch.tensor(x), 3, 2, 1)
    np.testing.assert_array_equal(np.take_along_axis(x, idx.numpy(), -1), y.numpy())
    y2, idx2 = nbtorch.nn.functional.adaptive_max_pool2d(nbtorch.tensor(X), (4, 3), True)
    np.testing.assert_array_equal(
        np.take_along_axis(X.reshape(2, 2, -1), idx2.numpy().reshape(2, 2, -1), -1),
        y2.numpy().reshape(2, 2, -1))
    if real_torch is not None:
        _, ti = real_torch.nn.functional.adaptive_max_pool2d(real_torch.tensor(X), (4, 3), True)
        np.testing.assert_array_equal(idx2.numpy(), ti.numpy())
        _, t1 = real_torch.max_pool1d_with_indices(real_torch.tensor(x), 3, 2, 1)
        np.testing.assert_array_equal(idx.numpy(), t1.numpy())


def test_adaptive_max_ties_and_overlapping_windows():
    x, th = _pair_tensors(TIES[:, :, :5, :5])
    y = nbtorch.nn.functional.adaptive_max_pool2d(x, 3)  # 5 -> 3: windows overlap
    g = RNG.standard_normal(tuple(y.shape))
    y.backward(nbtorch.tensor(g))
    if th is not None:
        ty = real_torch.nn.functional.adaptive_max_pool2d(th, 3)
        ty.backward(real_torch.tensor(g))
        np.testing.assert_array_equal(x.grad.numpy(), th.grad.numpy())
    assert y.grad_fn.name() == "AdaptiveMaxPool2DBackward0"


def test_integer_inputs():
    x = np.array([[[[1, 2, 3], [4, 5, -7], [0, 0, -1]]]])
    t = nbtorch.tensor(x)
    np.testing.assert_array_equal(P.max_pool2d(t, 2, 1, padding=1).numpy(),
                                  [[[[1, 2, 3, 3], [4, 5, 5, 3], [4, 5, 5, -1], [0, 0, 0, -1]]]])
    avg = nbtorch.nn.functional.avg_pool2d(t, 2, 1)  # C's truncating division, as PyTorch
    assert avg.dtype == nbtorch.int64
    np.testing.assert_array_equal(avg.numpy(), [[[[3, 0], [2, 0]]]])
    np.testing.assert_array_equal(nbtorch.nn.functional.avg_pool2d(t, 2, 1, 1).numpy(),
                                  [[[[0, 0, 1, 0], [1, 3, 0, -1], [1, 2, 0, -2], [0, 0, 0, 0]]]])


def test_float32_stays_float32_and_node_names():
    x = nbtorch.randn(2, 3, 8, 8, requires_grad=True)
    F = nbtorch.nn.functional
    for y, name in [(F.max_pool2d(x, 2), "MaxPool2DWithIndicesBackward0"),
                    (F.avg_pool2d(x, 2), "AvgPool2DBackward0"),
                    (F.adaptive_avg_pool2d(x, 3), "AdaptiveAvgPool2DBackward0"),
                    (F.adaptive_avg_pool2d(x, 1), "MeanBackward1"),
                    (F.max_pool1d(x[0], 2), "SqueezeBackward1")]:
        assert y.dtype == nbtorch.float32
        assert y.grad_fn.name() == name


@pytest.mark.parametrize("fn", [
    lambda x: P.max_pool2d(x, 3, 2, 1), lambda x: P.max_pool2d(x, 2),
    lambda x: nbtorch.nn.functional.avg_pool2d(x, 3, 2, 1, True, False),
    lambda x: nbtorch.nn.functional.avg_pool2d(x, 2),
    lambda x: nbtorch.nn.functional.adaptive_avg_pool2d(x, (4, 3)),
    lambda x: nbtorch.nn.functional.adaptive_max_pool2d(x, (4, 3)),
], ids=["max_pad", "max_tiles", "avg_pad", "avg_tiles", "adaptive_avg", "adaptive_max"])
def test_gradgradcheck(fn):
    x = nbtorch.tensor(RNG.standard_normal((1, 2, 6, 7)), requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@needs_torch
def test_lenet_shapes_against_torch():
    x = np.maximum(RNG.standard_normal((8, 6, 28, 28)), 0).astype(np.float32)  # after a ReLU
    nb, th = nbtorch.tensor(x, requires_grad=True), real_torch.tensor(x, requires_grad=True)
    g = RNG.standard_normal((8, 6, 14, 14)).astype(np.float32)
    P.max_pool2d(nb, 2).backward(nbtorch.tensor(g))
    real_torch.nn.functional.max_pool2d(th, 2).backward(real_torch.tensor(g))
    np.testing.assert_array_equal(nb.grad.numpy(), th.grad.numpy())


# --- errors, in PyTorch's words ---------------------------------------------------------------

def _x(m, *shape):
    return m.zeros(*shape)


ERRORS = [
    ("kernel_zero", lambda m: m.nn.functional.max_pool2d(_x(m, 1, 2, 6, 6), 0),
     "stride should not be zero"),
    ("stride_zero", lambda m: m.nn.functional.max_pool2d(_x(m, 1, 2, 6, 6), 2, stride=0),
     "stride should not be zero"),
    ("pad_too_big", lambda m: m.nn.functional.max_pool2d(_x(m, 1, 2, 6, 6), 2, padding=2),
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 and "
     "dilation=1"),
    ("pad_negative", lambda m: m.nn.functional.max_pool2d(_x(m, 1, 2, 6, 6), 2, padding=-1),
     "pad must be non-negative, but got pad: -1"),
    ("dilation_zero", lambda m: m.nn.functional.max_pool2d(_x(m, 1, 2, 6, 6), 2, dilation=0),
     "dilation should be greater than zero, but got dilationH: 0 dilationW: 0"),
    ("output_too_small", lambda m: m.nn.functional.max_pool2d(_x(m, 1, 2, 6, 6), 7),
     "Given input size: (2x6x6). Calculated output size: (2x0x0). Output size is too small"),
    ("kernel_tuple", lambda m: m.nn.functional.max_pool2d(_x(m, 1, 2, 6, 6), (2, 2, 2)),
     "max_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    ("dims", lambda m: m.nn.functional.max_pool2d(_x(m, 6, 6), 2),
     "non-empty 3D or 4D (batch mode) tensor expected for input"),
    ("empty_channels", lambda m: m.nn.functional.max_pool2d(_x(m, 1, 0, 6, 6), 2),
     "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
     "got:[1, 0, 6, 6]"),
    ("max1d_dims", lambda m: m.nn.functional.max_pool1d(_x(m, 6), 2),
     "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
     "input, but got:[6]"),
    ("max1d_output", lambda m: m.nn.functional.max_pool1d(_x(m, 1, 2, 6), 7),
     "max_pool1d() Invalid computed output size: 0"),
    ("max1d_padding", lambda m: m.nn.functional.max_pool1d(_x(m, 1, 2, 6), 2, padding=2),
     "max_pool1d() padding should be at most half of kernel size, but got padding=2 and "
     "kernel_size=2"),
    ("max1d_kernel", lambda m: m.nn.functional.max_pool1d(_x(m, 1, 2, 6), 0),
     "max_pool1d() kernel_size must be greater than zero, but got 0"),
    ("avg_pad_too_big", lambda m: m.nn.functional.avg_pool2d(_x(m, 1, 2, 6, 6), 2, padding=2),
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 and "
     "dilation=1"),
    ("avg_output_too_small", lambda m: m.nn.functional.avg_pool2d(_x(m, 1, 2, 6, 6), 7),
     "Given input size: (2x6x6). Calculated output size: (2x0x0). Output size is too small"),
    ("avg_divisor_zero",
     lambda m: m.nn.functional.avg_pool2d(_x(m, 1, 2, 6, 6), 2, divisor_override=0),
     "divisor must be not zero"),
    ("avg1d_output", lambda m: m.nn.functional.avg_pool1d(_x(m, 1, 2, 6), 7),
     "Given input size: (2x1x6). Calculated output size: (2x1x0). Output size is too small"),
    ("avg1d_dims", lambda m: m.nn.functional.avg_pool1d(_x(m, 6), 2),
     "Expected 2 to 3 dimensions, but got 1-dimensional tensor for argument #1 'self' (while "
     "checking arguments for avg_pool1d)"),
    ("adaptive_dims", lambda m: m.nn.functional.adaptive_avg_pool2d(_x(m, 6, 6), 2),
     "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [6, 6]"),
    ("adaptive_size", lambda m: m.nn.functional.adaptive_avg_pool2d(_x(m, 1, 2, 6, 6),
                                                                     (2, 2, 2)),
     "adaptive_avg_pool2d: output_size must be 2"),
    ("adaptive1d_dims", lambda m: m.nn.functional.adaptive_avg_pool1d(_x(m, 6), 2),
     "Expected 2 to 3 dimensions, but got 1-dimensional tensor for argument #1 'self' (while "
     "checking arguments for adaptive_avg_pool1d)"),
    ("adaptive_max_dims", lambda m: m.nn.functional.adaptive_max_pool2d(_x(m, 6, 6), 2),
     "adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: [6, 6]"),
]


@pytest.mark.parametrize("name,make,message", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, make, message):
    assert_same_error(make, RuntimeError, message)


def test_dtype_errors():
    assert_same_error(lambda m: m.nn.functional.max_pool2d(m.zeros(1, 1, 2, 2, dtype=m.bool), 1),
                      NotImplementedError, "\"max_pool2d\" not implemented for 'Bool'")
    assert_same_error(lambda m: m.nn.functional.adaptive_avg_pool2d(
        m.zeros(1, 1, 4, 4, dtype=m.int64), 2), NotImplementedError,
        "\"adaptive_avg_pool2d\" not implemented for 'Long'")
    assert_same_error(lambda m: m.nn.functional.adaptive_max_pool2d(
        m.zeros(1, 1, 4, 4, dtype=m.int64), 2), NotImplementedError,
        "\"adaptive_max_pool2d\" not implemented for 'Long'")
    assert_same_error(lambda m: m.nn.functional.avg_pool2d(m.zeros(1, 1, 2, 2, dtype=m.bool), 1),
                      NotImplementedError, "\"avg_pool2d\" not implemented for 'Bool'")


def test_avg_pool2d_dims_error():
    assert_same_error(lambda m: m.nn.functional.avg_pool2d(m.zeros(6, 6), 2), IndexError,
                      "Dimension out of range (expected to be in range of [-2, 1], but got -3)")


def test_empty_batch():
    y = P.max_pool2d(nbtorch.zeros(0, 2, 6, 6), 2)
    assert y.shape == (0, 2, 3, 3)
    assert nbtorch.nn.functional.adaptive_avg_pool2d(nbtorch.zeros(1, 2, 6, 6), (0, 3)).shape \
        == (1, 2, 0, 3)
    assert math.prod(y.shape) == 0

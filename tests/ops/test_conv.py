"""Tests of nbtorch/ops/conv.py: a table of (transposed) convolutions across stride, padding,
dilation and groups through ``check_op`` (forward against a direct numpy loop, backward against
float64 central differences, both against PyTorch when installed), double backward, the batch
chunking, random configurations (hypothesis), and PyTorch's errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbtorch
from nbtorch.autograd import gradcheck, gradgradcheck
from nbtorch.ops import conv as C
from tests.helpers import assert_same_error, check_op, check_torch, needs_torch, real_torch

RNG = np.random.default_rng(0)


def conv_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """The definition, one kernel tap at a time: y[n,o,p] = Σ_{c,k} x[n,c,p·s+k·d] w[o,c,k] + b."""
    nd = w.ndim - 2
    s, d = np.broadcast_to(stride, nd), np.broadcast_to(dilation, nd)
    if isinstance(padding, str):
        total = [dd * (k - 1) for dd, k in zip(d, w.shape[2:])] if padding == "same" else [0] * nd
        pads = [(t // 2, t - t // 2) for t in total]
    else:
        pads = [(p, p) for p in np.broadcast_to(padding, nd)]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    out = [(xp.shape[2 + i] - d[i] * (w.shape[2 + i] - 1) - 1) // s[i] + 1 for i in range(nd)]
    cg, og = x.shape[1] // groups, w.shape[0] // groups
    y = np.zeros((x.shape[0], w.shape[0], *out), dtype=x.dtype)
    for g in range(groups):
        xs, ws = xp[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og]
        for tap in itertools.product(*[range(k) for k in w.shape[2:]]):
            window = xs[(slice(None), slice(None)) + tuple(
                slice(t * d[i], t * d[i] + (out[i] - 1) * s[i] + 1, s[i])
                for i, t in enumerate(tap))]
            y[:, g * og:(g + 1) * og] += np.einsum("nc...,oc->no...", window,
                                                   ws[(slice(None), slice(None)) + tap])
    if b is not None:
        y += b.reshape((-1,) + (1,) * nd)
    return y


def conv_transpose_ref(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                       dilation=1):
    """Each input value stamps its kernel (scaled) into the output, then the padding is cut."""
    nd = w.ndim - 2
    s, p = np.broadcast_to(stride, nd), np.broadcast_to(padding, nd)
    d, op = np.broadcast_to(dilation, nd), np.broadcast_to(output_padding, nd)
    cg, og = x.shape[1] // groups, w.shape[1]
    full = [(x.shape[2 + i] - 1) * s[i] + d[i] * (w.shape[2 + i] - 1) + 1 + op[i]
            for i in range(nd)]
    y = np.zeros((x.shape[0], og * groups, *full), dtype=x.dtype)
    for g in range(groups):
        xs, ws = x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg]
        for tap in itertools.product(*[range(k) for k in w.shape[2:]]):
            target = (slice(None), slice(g * og, (g + 1) * og)) + tuple(
                slice(t * d[i], t * d[i] + (x.shape[2 + i] - 1) * s[i] + 1, s[i])
                for i, t in enumerate(tap))
            y[target] += np.einsum("nc...,co->no...", xs, ws[(slice(None), slice(None)) + tap])
    y = y[(slice(None), slice(None)) + tuple(slice(p[i], full[i] - p[i]) for i in range(nd))]
    if b is not None:
        y = y + b.reshape((-1,) + (1,) * nd)
    return y


# (id, input shape, weight shape, has bias, keyword arguments)
CONV = [
    ("1d", (2, 2, 7), (3, 2, 3), True, {}),
    ("1d_stride_pad_dil", (2, 2, 9), (3, 2, 3), True, dict(stride=2, padding=2, dilation=2)),
    ("1d_groups_same", (1, 4, 6), (4, 2, 2), False, dict(padding="same", groups=2)),
    ("2d", (2, 2, 5, 5), (3, 2, 3, 3), True, {}),
    ("2d_pad", (2, 2, 5, 4), (3, 2, 3, 3), True, dict(padding=1)),
    ("2d_stride", (2, 2, 6, 5), (3, 2, 2, 3), True, dict(stride=2)),
    ("2d_stride_tuple_pad_tuple", (1, 2, 6, 7), (2, 2, 3, 2), True,
     dict(stride=(2, 1), padding=(1, 2))),
    ("2d_dilation", (1, 2, 7, 6), (2, 2, 3, 2), True, dict(dilation=(2, 1), padding=1)),
    ("2d_groups", (2, 4, 5, 5), (6, 2, 3, 3), True, dict(groups=2)),
    ("2d_depthwise", (1, 3, 5, 5), (3, 1, 3, 3), False, dict(groups=3, padding=1, stride=2)),
    ("2d_same_even_kernel", (1, 2, 5, 6), (2, 2, 2, 4), True, dict(padding="same")),
    ("2d_same_dilated", (1, 2, 6, 5), (2, 2, 3, 2), True, dict(padding="same", dilation=2)),
    ("2d_valid", (1, 2, 5, 5), (2, 2, 3, 3), True, dict(padding="valid")),
    ("2d_1x1", (2, 3, 4, 4), (2, 3, 1, 1), True, {}),
    ("2d_kernel_is_input", (2, 2, 3, 3), (2, 2, 3, 3), True, {}),
    ("2d_all", (1, 4, 7, 8), (4, 2, 3, 2), True,
     dict(stride=(2, 3), padding=(2, 1), dilation=(1, 2), groups=2)),
    ("3d", (1, 2, 4, 4, 3), (2, 2, 2, 3, 2), True, dict(padding=(1, 0, 1))),
]

CONV_T = [
    ("1d", (2, 2, 4), (2, 3, 3), True, {}),
    ("1d_stride_outpad", (1, 2, 4), (2, 2, 3), True, dict(stride=3, padding=1, output_padding=2)),
    ("2d", (2, 2, 3, 3), (2, 3, 2, 2), True, {}),
    ("2d_stride_pad", (1, 2, 3, 4), (2, 2, 3, 3), True, dict(stride=2, padding=1)),
    ("2d_output_padding", (1, 2, 3, 3), (2, 2, 3, 3), True,
     dict(stride=2, padding=1, output_padding=1)),
    ("2d_groups_dilation", (1, 4, 3, 3), (4, 1, 2, 3), True,
     dict(groups=2, dilation=(2, 1), stride=(1, 2))),
    ("2d_outpad_by_dilation", (1, 2, 3, 3), (2, 2, 2, 2), False,
     dict(dilation=2, output_padding=1)),
    ("2d_all", (1, 4, 3, 2), (4, 2, 3, 2), True,
     dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2))),
]


def _arrays(x_shape, w_shape, bias, out_channels):
    x = RNG.standard_normal(x_shape)
    w = RNG.standard_normal(w_shape)
    return [x, w] + ([RNG.standard_normal(out_channels)] if bias else [])


# PyTorch warns that it copies the input for an even kernel with padding='same'
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("name,x_shape,w_shape,bias,kw", CONV, ids=[c[0] for c in CONV])
def test_conv(name, x_shape, w_shape, bias, kw, device):
    fn_name = f"conv{len(w_shape) - 2}d"
    arrays = _arrays(x_shape, w_shape, bias, w_shape[0])
    check_op(lambda m, *t: getattr(m.nn.functional, fn_name)(*t, **kw),
             lambda *a: conv_ref(*a, **kw), arrays, device=device, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,x_shape,w_shape,bias,kw", CONV_T, ids=[c[0] for c in CONV_T])
def test_conv_transpose(name, x_shape, w_shape, bias, kw, device):
    fn_name = f"conv_transpose{len(w_shape) - 2}d"
    groups = kw.get("groups", 1)
    arrays = _arrays(x_shape, w_shape, bias, w_shape[1] * groups)
    check_op(lambda m, *t: getattr(m.nn.functional, fn_name)(*t, **kw),
             lambda *a: conv_transpose_ref(*a, **kw), arrays, device=device, rtol=1e-4,
             atol=1e-5)


def test_unbatched_input_and_top_level_names():
    x, w = RNG.standard_normal((2, 5, 5)), RNG.standard_normal((3, 2, 3, 3))
    y = C.conv2d(nbtorch.tensor(x), nbtorch.tensor(w))
    np.testing.assert_allclose(y.numpy(), conv_ref(x[None], w)[0], rtol=1e-6)
    assert y.shape == (3, 3, 3)
    out = C.convolution(nbtorch.tensor(x[None]), nbtorch.tensor(w), None, 1, 1, 1, False, 0, 1)
    np.testing.assert_allclose(out.numpy(), conv_ref(x[None], w, padding=1), rtol=1e-6)


def test_float32_stays_float32_and_node_name():
    x = nbtorch.randn(2, 3, 6, 6, requires_grad=True)
    conv = C.conv2d(x, nbtorch.randn(4, 3, 3, 3), nbtorch.randn(4))
    assert conv.dtype == nbtorch.float32
    assert conv.grad_fn.name() == "ConvolutionBackward0"
    t = C.conv_transpose2d(x, nbtorch.randn(3, 2, 3, 3))
    assert t.dtype == nbtorch.float32 and t.grad_fn.name() == "ConvolutionBackward0"


def test_integer_convolution():
    x = np.arange(2 * 2 * 4 * 4).reshape(2, 2, 4, 4)
    w = np.array([1, -1, 2, 0, 1, 1, -2, 3]).reshape(1, 2, 2, 2)
    y = C.conv2d(nbtorch.tensor(x), nbtorch.tensor(w), stride=2)
    assert y.dtype == nbtorch.int64
    np.testing.assert_array_equal(y.numpy(), conv_ref(x, w, stride=2))


@pytest.mark.parametrize("chunk", [1, 200, 2000])
def test_batch_chunks_cover_every_sample(chunk, monkeypatch):
    """A tiny chunk budget splits the batch into one-sample (and uneven) chunks."""
    monkeypatch.setattr(C, "_CHUNK_ELEMENTS", chunk)
    monkeypatch.setattr(C, "_SCATTER_CHUNK_ELEMENTS", chunk)
    x = RNG.standard_normal((7, 2, 6, 5))
    w = RNG.standard_normal((3, 2, 3, 2))
    g = RNG.standard_normal((7, 3, 6, 6))
    cases = [(dict(padding=1), (7, 3, 6, 6)), (dict(stride=2), (7, 3, 2, 2)), ({}, (7, 3, 4, 4))]
    for kw, gshape in cases:
        xt = nbtorch.tensor(x, requires_grad=True)
        wt = nbtorch.tensor(w, requires_grad=True)
        y = C.conv2d(xt, wt, **kw)
        np.testing.assert_allclose(y.detach().numpy(), conv_ref(x, w, **kw), rtol=1e-10,
                                   atol=1e-12)
        gg = g[:, :, :gshape[2], :gshape[3]]
        y.backward(nbtorch.tensor(np.ascontiguousarray(gg)))
        if real_torch is not None:
            tx = real_torch.tensor(x, requires_grad=True)
            tw = real_torch.tensor(w, requires_grad=True)
            real_torch.nn.functional.conv2d(tx, tw, **kw).backward(real_torch.tensor(gg))
            np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(wt.grad.numpy(), tw.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("transposed", [False, True])
def test_gradgradcheck(transposed):
    x = nbtorch.tensor(RNG.standard_normal((2, 4, 4, 5)), requires_grad=True)
    if transposed:
        w = nbtorch.tensor(RNG.standard_normal((4, 1, 3, 2)), requires_grad=True)
        b = nbtorch.tensor(RNG.standard_normal(2), requires_grad=True)

        def fn(x, w, b):
            return C.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2)
    else:
        w = nbtorch.tensor(RNG.standard_normal((6, 2, 3, 2)), requires_grad=True)
        b = nbtorch.tensor(RNG.standard_normal(6), requires_grad=True)

        def fn(x, w, b):
            return C.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


def test_weight_gradient_op_double_backward():
    """The third bilinear map (the weight gradient) has a gradient too: triple backward."""
    x = nbtorch.tensor(RNG.standard_normal((1, 2, 4, 4)), requires_grad=True)
    w = nbtorch.tensor(RNG.standard_normal((2, 2, 2, 2)), requires_grad=True)

    def fn(x, w):
        y = C.conv2d(x, w, padding=1)
        (gw,) = nbtorch.autograd.grad((y * y).sum(), w, create_graph=True)
        return gw

    assert gradcheck(fn, (x, w))
    assert gradgradcheck(fn, (x, w))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 2), st.integers(1, 2), st.integers(1, 3), st.integers(1, 2),
       st.integers(0, 2), st.integers(1, 2), st.sampled_from([1, 2]), st.integers(4, 7),
       st.integers(4, 7), st.booleans())
def test_random_configurations(n, cg, og, stride, pad, dil, groups, h, w, transposed):
    k = 3
    if transposed:
        x = RNG.standard_normal((n, cg * groups, h - 2, w - 2))
        wt = RNG.standard_normal((cg * groups, og, k, 2))
        out_pad = min(stride, dil) - 1
        kw = dict(stride=stride, padding=min(pad, 1), output_padding=out_pad, groups=groups,
                  dilation=dil)
        got = C.conv_transpose2d(nbtorch.tensor(x), nbtorch.tensor(wt), **kw)
        np.testing.assert_allclose(got.numpy(), conv_transpose_ref(x, wt, **kw), rtol=1e-9,
                                   atol=1e-10)
        return
    if h + 2 * pad < dil * (k - 1) + 1:
        return
    x = RNG.standard_normal((n, cg * groups, h, w))
    wt = RNG.standard_normal((og * groups, cg, k, 2))
    kw = dict(stride=stride, padding=pad, dilation=dil, groups=groups)
    got = C.conv2d(nbtorch.tensor(x), nbtorch.tensor(wt), **kw)
    np.testing.assert_allclose(got.numpy(), conv_ref(x, wt, **kw), rtol=1e-9, atol=1e-10)


@needs_torch
def test_lenet_shapes_against_torch():
    x = RNG.standard_normal((4, 1, 28, 28)).astype(np.float32)
    w1 = RNG.standard_normal((6, 1, 5, 5)).astype(np.float32)
    b1 = RNG.standard_normal(6).astype(np.float32)
    check_torch(lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, padding=2), [x, w1, b1],
                rtol=1e-4, atol=1e-4)
    x2 = RNG.standard_normal((4, 6, 14, 14)).astype(np.float32)
    w2 = RNG.standard_normal((16, 6, 5, 5)).astype(np.float32)
    b2 = RNG.standard_normal(16).astype(np.float32)
    check_torch(lambda m, x, w, b: m.nn.functional.conv2d(x, w, b), [x2, w2, b2], rtol=1e-4,
                atol=1e-4)


# --- errors, in PyTorch's words ---------------------------------------------------------------

def _t(m, *shape, dtype=None):
    return m.zeros(*shape) if dtype is None else m.zeros(*shape, dtype=getattr(m, dtype))


ERRORS = [
    ("channels", lambda m: m.nn.functional.conv2d(_t(m, 1, 4, 8, 8), _t(m, 8, 3, 3, 3)),
     "Given groups=1, weight of size [8, 3, 3, 3], expected input[1, 4, 8, 8] to have 3 "
     "channels, but got 4 channels instead"),
    ("kernel_too_big", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 2, 2), _t(m, 8, 3, 3, 3)),
     "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size "
     "can't be greater than actual input size"),
    ("kernel_too_big_dilated",
     lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 4, 4), _t(m, 8, 3, 3, 3), dilation=2),
     "Calculated padded input size per channel: (4 x 4). Kernel size: (5 x 5). Kernel size "
     "can't be greater than actual input size"),
    ("kernel_too_big_1d", lambda m: m.nn.functional.conv1d(_t(m, 1, 3, 8), _t(m, 4, 3, 9)),
     "Calculated padded input size per channel: (8). Kernel size: (9). Kernel size can't be "
     "greater than actual input size"),
    ("input_dims", lambda m: m.nn.functional.conv2d(_t(m, 3, 8), _t(m, 8, 3, 3, 3)),
     "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [3, 8]"),
    ("weight_dims", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8), _t(m, 8, 3, 3)),
     "expected stride to be a single integer value or a list of 1 values to match the "
     "convolution dimensions, but got stride=[1, 1]"),
    ("stride_len", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8), _t(m, 8, 3, 3, 3),
                                                    stride=(1, 1, 1)),
     "expected stride to be a single integer value or a list of 2 values to match the "
     "convolution dimensions, but got stride=[1, 1, 1]"),
    ("padding_len", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8), _t(m, 8, 3, 3, 3),
                                                     padding=(1, 1, 1)),
     "expected padding to be a single integer value or a list of 2 values to match the "
     "convolution dimensions, but got padding=[1, 1, 1]"),
    ("dtype", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8, dtype="float64"),
                                               _t(m, 8, 3, 3, 3)),
     "expected scalar type Double but found Float"),
    ("bias_dtype", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8), _t(m, 8, 3, 3, 3),
                                                    _t(m, 8, dtype="float64")),
     "Input type (float) and bias type (double) should be the same"),
    ("bias_size", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8), _t(m, 8, 3, 3, 3),
                                                   _t(m, 7)),
     "Given weight of size [8, 3, 3, 3], expected bias to be 1-dimensional with 8 elements, "
     "but got bias of size [7] instead"),
    ("stride_zero", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8), _t(m, 8, 3, 3, 3),
                                                     stride=0),
     "non-positive stride is not supported"),
    ("negative_padding", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8), _t(m, 8, 3, 3, 3),
                                                          padding=-1),
     "negative padding is not supported"),
    ("dilation_zero", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8), _t(m, 8, 3, 3, 3),
                                                       dilation=0),
     "dilation should be greater than zero, but got [0, 0]"),
    ("groups_zero", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8), _t(m, 8, 3, 3, 3),
                                                     groups=0),
     "non-positive groups is not supported"),
    ("groups_channels", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8), _t(m, 8, 3, 3, 3),
                                                         groups=2),
     "Given groups=2, weight of size [8, 3, 3, 3], expected input[1, 3, 8, 8] to have 6 "
     "channels, but got 3 channels instead"),
    ("groups_weight", lambda m: m.nn.functional.conv2d(_t(m, 1, 6, 8, 8), _t(m, 9, 3, 3, 3),
                                                       groups=2),
     "Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of "
     "size [[9, 3, 3, 3]] instead"),
    ("groups_weight_too_small",
     lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 4, 4), _t(m, 2, 3, 3, 3), groups=3),
     "Given groups=3, expected weight to be at least 3 at dimension 0, but got weight of size "
     "[2, 3, 3, 3] instead"),
    ("empty_weight", lambda m: m.nn.functional.conv_transpose2d(_t(m, 1, 3, 4, 4),
                                                                _t(m, 0, 3, 3, 3)),
     "Given groups=1, expected weight to be at least 1 at dimension 0, but got weight of size "
     "[0, 3, 3, 3] instead"),
    ("transposed_groups_weight", lambda m: m.nn.functional.conv_transpose2d(
        _t(m, 1, 3, 4, 4), _t(m, 3, 2, 3, 3), groups=2),
     "Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of "
     "size [[3, 2, 3, 3]] instead"),
    ("same_strided", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8), _t(m, 8, 3, 3, 3),
                                                      padding="same", stride=2),
     "padding='same' is not supported for strided convolutions"),
    ("bad_padding_string", lambda m: m.nn.functional.conv2d(_t(m, 1, 3, 8, 8),
                                                            _t(m, 8, 3, 3, 3), padding="foo"),
     "Invalid padding string: 'foo'"),
    ("transposed_channels", lambda m: m.nn.functional.conv_transpose2d(_t(m, 1, 4, 8, 8),
                                                                       _t(m, 3, 2, 3, 3)),
     "Given transposed=1, weight of size [3, 2, 3, 3], expected input[1, 4, 8, 8] to have 3 "
     "channels, but got 4 channels instead"),
    ("output_padding", lambda m: m.nn.functional.conv_transpose2d(
        _t(m, 1, 3, 8, 8), _t(m, 3, 2, 3, 3), stride=2, output_padding=2),
     "output padding must be smaller than either stride or dilation, but got "
     "output_padding_height: 2 output_padding_width: 2 stride_height: 2 stride_width: 2 "
     "dilation_height: 1 dilation_width: 1"),
    ("output_too_small", lambda m: m.nn.functional.conv_transpose2d(
        _t(m, 1, 3, 8, 8), _t(m, 3, 2, 3, 3), padding=5),
     "Given input size per channel: (8 x 8). Calculated output size per channel: (0 x 0). "
     "Output size is too small"),
]


@pytest.mark.parametrize("name,make,message", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, make, message):
    assert_same_error(make, RuntimeError, message)


def test_bool_input_is_not_implemented():
    assert_same_error(lambda m: m.nn.functional.conv2d(m.zeros(1, 3, 4, 4, dtype=m.bool),
                                                       m.zeros(2, 3, 3, 3, dtype=m.bool)),
                      NotImplementedError, "\"slow_conv2d_cpu\" not implemented for 'Bool'")


def test_empty_batch_and_channels():
    assert C.conv2d(nbtorch.zeros(0, 3, 4, 4), nbtorch.zeros(2, 3, 3, 3)).shape == (0, 2, 2, 2)
    assert C.conv2d(nbtorch.zeros(1, 0, 4, 4), nbtorch.zeros(2, 0, 3, 3)).shape == (1, 2, 2, 2)


def test_transposed_padding_string_is_a_type_error():
    assert_same_error(lambda m: m.nn.functional.conv_transpose2d(
        _t(m, 1, 3, 8, 8), _t(m, 3, 2, 3, 3), padding="same"), TypeError,
        "conv_transpose2d(): argument 'padding' must be tuple of ints, not str")


def test_devices_must_match():
    if not nbtorch.cuda.is_available():
        pytest.skip("needs a GPU")
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        C.conv2d(nbtorch.zeros(1, 1, 4, 4, device="cuda"), nbtorch.zeros(1, 1, 2, 2))


def test_geometry_positions():
    """Stride 1 walks one contiguous run per sample (wrap-around); other strides the exact
    grid."""
    geo = C.Geometry((5, 6), (3, 2), (1, 1), (1, 0), (1, 0), (1, 1))
    assert geo.padded == (7, 6) and geo.out == (5, 5)
    assert geo.positions == ((5 - 1) * 6 + 5,) and geo.out_strides == (6, 1)
    strided = C.Geometry((5, 6), (3, 2), (2, 2), (0, 0), (0, 0), (1, 1))
    assert strided.positions == strided.out == (2, 3)
    assert strided.position_strides == (12, 2)
    assert C.Geometry((5, 6), (3, 2), (1, 1), (0, 0), (0, 0), (1, 1), exact=True).positions == \
        (3, 5)
    assert geo == C.Geometry((5, 6), (3, 2), (1, 1), (1, 0), (1, 0), (1, 1))
    assert hash(geo) == hash(C.Geometry((5, 6), (3, 2), (1, 1), (1, 0), (1, 0), (1, 1)))

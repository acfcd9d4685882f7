"""Tests of nbtorch/nn/functional/_conv.py: the conv functions under PyTorch's names and keyword
arguments, and unfold/fold (values, gradients, double backward, errors).  The convolution
primitives themselves are tested in tests/ops/test_conv.py."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from nbtorch.autograd import gradcheck, gradgradcheck
from tests.helpers import assert_same_error, check_op, check_torch

RNG = np.random.default_rng(1)
F = nbtorch.nn.functional


def unfold_ref(x, kernel_size, dilation=1, padding=0, stride=1):
    """Column l holds window l, channel-major then kernel row-major, as PyTorch lays it out."""
    k, d, p, s = (np.broadcast_to(v, 2) for v in (kernel_size, dilation, padding, stride))
    xp = np.pad(x, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])])
    oh = (xp.shape[2] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (xp.shape[3] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    cols = []
    for c in range(x.shape[1]):
        for i in range(k[0]):
            for j in range(k[1]):
                patch = xp[:, c, i * d[0]:i * d[0] + (oh - 1) * s[0] + 1:s[0],
                           j * d[1]:j * d[1] + (ow - 1) * s[1] + 1:s[1]]
                cols.append(patch.reshape(x.shape[0], -1))
    return np.stack(cols, 1)


def fold_ref(cols, size, kernel_size, dilation=1, padding=0, stride=1):
    k, d, p, s = (np.broadcast_to(v, 2) for v in (kernel_size, dilation, padding, stride))
    n, rows, _ = cols.shape
    c = rows // (k[0] * k[1])
    out = np.zeros((n, c, size[0] + 2 * p[0], size[1] + 2 * p[1]))
    oh = (out.shape[2] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (out.shape[3] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    per = cols.reshape(n, c, k[0], k[1], oh, ow)
    for i in range(k[0]):
        for j in range(k[1]):
            out[:, :, i * d[0]:i * d[0] + (oh - 1) * s[0] + 1:s[0],
                j * d[1]:j * d[1] + (ow - 1) * s[1] + 1:s[1]] += per[:, :, i, j]
    return out[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]


WINDOWS = [
    ("k2", dict(kernel_size=2)),
    ("rect_stride", dict(kernel_size=(2, 3), stride=(1, 2))),
    ("all", dict(kernel_size=(2, 2), dilation=(1, 2), padding=1, stride=2)),
    ("k3_pad", dict(kernel_size=3, padding=1)),
]


@pytest.mark.parametrize("name,kw", WINDOWS, ids=[w[0] for w in WINDOWS])
def test_unfold(name, kw, device):
    x = RNG.standard_normal((2, 2, 5, 6))
    check_op(lambda m, x: m.nn.functional.unfold(x, **kw), lambda a: unfold_ref(a, **kw), [x],
             device=device)


@pytest.mark.parametrize("name,kw", WINDOWS, ids=[w[0] for w in WINDOWS])
def test_fold(name, kw, device):
    shape = unfold_ref(np.zeros((2, 2, 5, 6)), **kw).shape
    cols = RNG.standard_normal(shape)
    check_op(lambda m, c: m.nn.functional.fold(c, (5, 6), **kw),
             lambda a: fold_ref(a, (5, 6), **kw), [cols], device=device)


def test_unfold_fold_unbatched_names_and_double_backward():
    x = nbtorch.tensor(RNG.standard_normal((2, 4, 5)), requires_grad=True)
    cols = F.unfold(x, 2, padding=1)
    assert cols.shape == (8, 30)
    assert cols.grad_fn.name() == "Im2ColBackward0"
    back = F.fold(cols, (4, 5), 2, padding=1)
    assert back.shape == (2, 4, 5) and back.grad_fn.name() == "Col2ImBackward0"
    xb = nbtorch.tensor(RNG.standard_normal((1, 2, 4, 5)), requires_grad=True)
    assert gradgradcheck(lambda t: F.unfold(t, (2, 3), stride=(1, 2)), (xb,))
    cb = nbtorch.tensor(RNG.standard_normal((1, 8, 12)), requires_grad=True)
    assert gradcheck(lambda c: F.fold(c, (4, 5), 2), (cb,))
    assert gradgradcheck(lambda c: F.fold(c, (4, 5), 2), (cb,))


def test_fold_of_unfold_counts_window_overlaps():
    ones = nbtorch.ones(1, 1, 3, 3)
    counts = F.fold(F.unfold(ones, 2), (3, 3), 2)
    np.testing.assert_array_equal(counts.numpy()[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_keyword_arguments_as_pytorch_names_them():
    x = RNG.standard_normal((1, 2, 6, 6)).astype(np.float32)
    w = RNG.standard_normal((4, 1, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(4).astype(np.float32)
    check_torch(lambda m, x, w, b: m.nn.functional.conv2d(
        input=x, weight=w, bias=b, stride=1, padding="same", dilation=1, groups=2), [x, w, b])
    wt = RNG.standard_normal((2, 3, 3, 3)).astype(np.float32)
    check_torch(lambda m, x, w: m.nn.functional.conv_transpose2d(
        input=x, weight=w, bias=None, stride=2, padding=1, output_padding=1, groups=1,
        dilation=1), [x, wt])
    x1 = RNG.standard_normal((1, 2, 8)).astype(np.float32)
    w1 = RNG.standard_normal((3, 2, 3)).astype(np.float32)
    check_torch(lambda m, x, w: m.nn.functional.conv1d(x, w, stride=2, padding="valid"), [x1, w1])
    if hasattr(nbtorch, "conv1d"):  # torch.conv1d, once ops/conv.py is a core family
        check_torch(lambda m, x, w: m.conv1d(x, w, None, 1, 1), [x1, w1])
    check_torch(lambda m, x, w: m.nn.functional.conv_transpose1d(x, w.transpose(0, 1)),
                [x1, w1.copy()])


ERRORS = [
    ("unfold_dims", lambda m: m.nn.functional.unfold(m.zeros(1, 2, 3, 4, 5), 2), RuntimeError,
     "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
     "dimensions for input, but got: [1, 2, 3, 4, 5]"),
    ("unfold_small", lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), 7), RuntimeError,
     "Given input with spatial size (5, 6), kernel_size=(7, 7), dilation=(1, 1), "
     "padding=(0, 0), calculated shape of the array of sliding blocks as (-1, 0), but its "
     "components must be at least one."),
    ("unfold_kernel", lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), 0), RuntimeError,
     "kernel size should be greater than zero, but got kernel_height: 0 kernel_width: 0"),
    ("unfold_kernel_len", lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), (2, 2, 2)),
     RuntimeError, "It is expected kernel_size equals to 2, but got size 3"),
    ("unfold_stride", lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), 2, stride=0),
     RuntimeError, "stride should be greater than zero, but got stride_height: 0 "
     "stride_width: 0"),
    ("unfold_padding", lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), 2, padding=-1),
     RuntimeError, "padding should be non-negative, but got pad_height: -1 pad_width: -1"),
    ("unfold_dilation", lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), 2, dilation=0),
     RuntimeError, "dilation should be greater than zero, but got dilation_height: 0 "
     "dilation_width: 0"),
    ("fold_rows", lambda m: m.nn.functional.fold(m.zeros(2, 13, 20), (5, 6), 2), RuntimeError,
     "Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
     "got input.size(1)=13 and kernel_size=(2, 2)."),
    ("fold_blocks", lambda m: m.nn.functional.fold(m.zeros(2, 12, 20), 5, 2), RuntimeError,
     "Given output_size=(5, 5), kernel_size=(2, 2), dilation=(1, 1), padding=(0, 0), "
     "stride=(1, 1), expected size of input's dimension 2 to match the calculated number of "
     "sliding blocks 4 * 4 = 16, but got input.size(2)=20."),
    ("fold_dims", lambda m: m.nn.functional.fold(m.zeros(2, 12, 20, 1), (5, 6), 2), RuntimeError,
     "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
     "dimensions for input, but got: [2, 12, 20, 1]"),
]


@pytest.mark.parametrize("name,make,error,message", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, make, error, message):
    assert_same_error(make, error, message)

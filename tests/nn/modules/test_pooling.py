"""Tests of nbtorch/nn/modules/pooling.py: the pooling layers print as PyTorch's do and compute
what PyTorch computes (values, indices, gradients)."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import needs_torch, real_torch

RNG = np.random.default_rng(4)

LAYERS = [
    ("MaxPool2d(2)", "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"),
    ("MaxPool2d((2, 3), stride=1, padding=1, dilation=2, return_indices=True, ceil_mode=True)",
     "MaxPool2d(kernel_size=(2, 3), stride=1, padding=1, dilation=2, ceil_mode=True)"),
    ("MaxPool2d(3, stride=(1, 2))",
     "MaxPool2d(kernel_size=3, stride=(1, 2), padding=0, dilation=1, ceil_mode=False)"),
    ("MaxPool1d(3)", "MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)"),
    ("MaxPool1d(3, 2, 1, return_indices=True)",
     "MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)"),
    ("MaxPool3d(2)", "MaxPool3d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"),
    ("AvgPool2d(2)", "AvgPool2d(kernel_size=2, stride=2, padding=0)"),
    ("AvgPool2d(3, 1, 1, True, False, 3)", "AvgPool2d(kernel_size=3, stride=1, padding=1)"),
    ("AvgPool2d((2, 3), (1, 2), (1, 0), ceil_mode=True)",
     "AvgPool2d(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0))"),
    ("AvgPool1d(3)", "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"),
    ("AvgPool1d(3, 2, 1, True, False)", "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))"),
    ("AvgPool3d(2)", "AvgPool3d(kernel_size=2, stride=2, padding=0)"),
    ("AdaptiveAvgPool2d((5, 7))", "AdaptiveAvgPool2d(output_size=(5, 7))"),
    ("AdaptiveAvgPool2d(1)", "AdaptiveAvgPool2d(output_size=1)"),
    ("AdaptiveAvgPool2d((None, 3))", "AdaptiveAvgPool2d(output_size=(None, 3))"),
    ("AdaptiveAvgPool1d(4)", "AdaptiveAvgPool1d(output_size=4)"),
    ("AdaptiveMaxPool2d(3)", "AdaptiveMaxPool2d(output_size=3)"),
    ("AdaptiveMaxPool2d((2, 3), return_indices=True)", "AdaptiveMaxPool2d(output_size=(2, 3))"),
    ("AdaptiveMaxPool1d(2)", "AdaptiveMaxPool1d(output_size=2)"),
]


@pytest.mark.parametrize("text,expected", LAYERS, ids=[t for t, _ in LAYERS])
def test_repr(text, expected):
    assert repr(eval("nbtorch.nn." + text)) == expected
    if real_torch is not None:
        assert repr(eval("real_torch.nn." + text)) == expected


def _input(text: str):
    dims = {"1d": 1, "2d": 2, "3d": 3}[text.split("(")[0][-2:]]
    return RNG.standard_normal((2, 3) + (9, 8, 7)[:dims]).astype(np.float32)


@needs_torch
@pytest.mark.parametrize("text", [t for t, _ in LAYERS])
def test_matches_pytorch(text):
    ours, theirs = eval("nbtorch.nn." + text), eval("real_torch.nn." + text)
    x = _input(text)
    xo, xt = nbtorch.tensor(x, requires_grad=True), real_torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    if isinstance(yt, tuple):
        np.testing.assert_array_equal(yo[1].numpy(), yt[1].numpy())
        yo, yt = yo[0], yt[0]
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-6, atol=1e-6)
    g = RNG.standard_normal(tuple(yt.shape)).astype(np.float32)
    yo.backward(nbtorch.tensor(g))
    yt.backward(real_torch.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_pool_layers_have_no_parameters_and_keep_their_arguments():
    pool = nbtorch.nn.MaxPool2d(3, padding=1)
    assert list(pool.parameters()) == [] and pool.stride == 3
    assert nbtorch.nn.AvgPool1d(4).kernel_size == (4,)
    assert nbtorch.nn.AdaptiveAvgPool2d((None, 3)).output_size == (None, 3)
    out, idx = nbtorch.nn.MaxPool2d(2, return_indices=True)(nbtorch.zeros(1, 1, 4, 4))
    assert out.shape == idx.shape == (1, 1, 2, 2)


def test_global_average_pooling_head():
    head = nbtorch.nn.Sequential(nbtorch.nn.AdaptiveAvgPool2d(1), nbtorch.nn.Flatten())
    x = RNG.standard_normal((2, 5, 4, 3))
    np.testing.assert_allclose(head(nbtorch.tensor(x)).numpy(), x.mean((2, 3)))

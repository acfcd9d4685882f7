"""Tests of nbtorch/nn/modules/conv.py: Conv1d/2d/3d, ConvTranspose1d/2d/3d, Unfold and Fold —
printed reprs equal PyTorch's, PyTorch's initial weights from the same seed, outputs and
gradients equal PyTorch's with the same weights, padding modes, ``output_size``, errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from nbtorch.autograd import gradcheck
from tests.helpers import assert_same_error, needs_torch, real_torch

RNG = np.random.default_rng(3)

LAYERS = [
    "Conv2d(1, 6, 5)",
    "Conv2d(1, 6, 5, padding=2, bias=False)",
    "Conv2d(4, 6, (3, 5), stride=2, padding=1, dilation=2, groups=2)",
    "Conv2d(4, 6, 3, padding='same')",
    "Conv2d(4, 6, 3, padding='valid')",
    "Conv2d(4, 6, 3, padding='same', padding_mode='reflect')",
    "Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), padding_mode='replicate')",
    "Conv2d(4, 6, 3, padding=1, padding_mode='circular', groups=2)",
    "Conv1d(4, 6, 3)",
    "Conv1d(4, 6, 3, stride=2, padding=1, padding_mode='circular')",
    "Conv1d(4, 4, 2, padding='same', dilation=3, groups=4)",
    "Conv3d(2, 4, 3, padding=(1, 0, 1))",
    "ConvTranspose2d(4, 6, 3, stride=2, output_padding=1)",
    "ConvTranspose2d(4, 6, 3, dilation=2, groups=2, bias=False)",
    "ConvTranspose2d(4, 2, (2, 3), stride=(2, 1), padding=(0, 1))",
    "ConvTranspose1d(4, 6, 3, stride=3, output_padding=2)",
    "ConvTranspose3d(2, 2, 2, stride=2)",
]


def _input(layer_text: str, batch: int = 2):
    dims = {"1d": 1, "2d": 2, "3d": 3}[layer_text.split("(")[0][-2:]]
    channels = int(layer_text.split("(")[1].split(",")[0])
    return RNG.standard_normal((batch, channels) + (7, 8, 6)[:dims]).astype(np.float32)


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note about a copy
@pytest.mark.parametrize("text", LAYERS)
def test_repr_init_forward_backward_match_pytorch(text):
    real_torch.manual_seed(0)
    theirs = eval("real_torch.nn." + text)
    nbtorch.manual_seed(0)
    ours = eval("nbtorch.nn." + text)
    assert repr(ours) == repr(theirs)
    # the same initial weights from the same seed (kaiming_uniform_(a=√5), bias U(±1/√fan_in))
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy())
    x = _input(text)
    xo, xt = nbtorch.tensor(x, requires_grad=True), real_torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert tuple(yo.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = RNG.standard_normal(tuple(yt.shape)).astype(np.float32)
    yo.backward(nbtorch.tensor(g))
    yt.backward(real_torch.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-3)


REPRS = [
    ("Conv2d(1, 6, 5)", "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))"),
    ("Conv2d(1, 6, 5, padding=2, bias=False)",
     "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2), bias=False)"),
    ("Conv2d(4, 6, (3, 5), stride=2, padding=1, dilation=2, groups=2, padding_mode='reflect')",
     "Conv2d(4, 6, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1), dilation=(2, 2), "
     "groups=2, padding_mode=reflect)"),
    ("Conv2d(4, 6, 3, padding='same')",
     "Conv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), padding=same)"),
    ("Conv1d(4, 6, 3)", "Conv1d(4, 6, kernel_size=(3,), stride=(1,))"),
    ("ConvTranspose2d(4, 6, 3, stride=2, output_padding=1)",
     "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1))"),
    ("ConvTranspose2d(4, 6, 3, dilation=2, groups=2, bias=False)",
     "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(1, 1), dilation=(2, 2), groups=2, "
     "bias=False)"),
    ("Unfold(2)", "Unfold(kernel_size=2, dilation=1, padding=0, stride=1)"),
    ("Fold((4, 5), 2, stride=2)",
     "Fold(output_size=(4, 5), kernel_size=2, dilation=1, padding=0, stride=2)"),
]


@pytest.mark.parametrize("text,expected", REPRS)
def test_repr(text, expected):
    assert repr(eval("nbtorch.nn." + text)) == expected


def test_lenet_features_print_like_pytorch():
    nn = nbtorch.nn
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))\n"
        "  (1): ReLU()\n"
        "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  (3): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))\n"
        "  (4): ReLU()\n"
        "  (5): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        ")"
    )
    assert model(nbtorch.zeros(3, 1, 28, 28)).shape == (3, 16, 5, 5)


def test_parameters_shapes_and_state_dict():
    conv = nbtorch.nn.Conv2d(4, 6, (3, 2), groups=2)
    assert conv.weight.shape == (6, 2, 3, 2) and conv.bias.shape == (6,)
    assert list(conv.state_dict()) == ["weight", "bias"]
    t = nbtorch.nn.ConvTranspose2d(4, 6, 3, groups=2, bias=False)
    assert t.weight.shape == (4, 3, 3, 3) and t.bias is None
    assert [n for n, _ in t.named_parameters()] == ["weight"]
    assert conv.weight.dtype == nbtorch.float32
    double = nbtorch.nn.Conv1d(2, 3, 2, dtype=nbtorch.float64)
    assert double.weight.dtype == double.bias.dtype == nbtorch.float64


@needs_torch
def test_load_pytorch_state_dict():
    theirs = real_torch.nn.Conv2d(3, 5, 3, padding=1)
    ours = nbtorch.nn.Conv2d(3, 5, 3, padding=1)
    ours.load_state_dict({k: nbtorch.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal((2, 3, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(ours(nbtorch.tensor(x)).detach().numpy(),
                               theirs(real_torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-5)


def test_conv_gradcheck_float64():
    conv = nbtorch.nn.Conv2d(2, 3, 3, stride=2, padding=1, dtype=nbtorch.float64)
    x = nbtorch.tensor(RNG.standard_normal((1, 2, 5, 5)), requires_grad=True)
    assert gradcheck(lambda x, w, b: nbtorch.nn.functional.conv2d(x, w, b, 2, 1),
                     (x, conv.weight, conv.bias))


def test_conv_transpose_output_size():
    up = nbtorch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = nbtorch.zeros(1, 2, 4, 4)
    assert up(x).shape == (1, 3, 7, 7)
    assert up(x, output_size=(8, 8)).shape == (1, 3, 8, 8)
    assert up(x, output_size=[1, 3, 8, 7]).shape == (1, 3, 8, 7)
    assert up(nbtorch.zeros(2, 4, 4), output_size=(8, 8)).shape == (3, 8, 8)
    if real_torch is not None:
        theirs = real_torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
        assert theirs(real_torch.zeros(1, 2, 4, 4), output_size=(8, 8)).shape == (1, 3, 8, 8)


def test_conv_transpose_output_size_errors():
    assert_same_error(
        lambda m: m.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)(m.zeros(1, 2, 4, 4),
                                                                    output_size=(9, 8)),
        ValueError, "requested an output size of (9, 8), but valid sizes range from [7, 7] to "
        "[8, 8] (for an input of torch.Size([4, 4]))")
    assert_same_error(
        lambda m: m.nn.ConvTranspose2d(2, 3, 3)(m.zeros(1, 2, 4, 4), output_size=(1, 2, 3)),
        ValueError, "ConvTranspose2D: for 4D input, output_size must have 2 or 4 elements (got 3)")


CONSTRUCTOR_ERRORS = [
    (lambda m: m.nn.Conv2d(3, 4, 3, groups=2), "in_channels must be divisible by groups"),
    (lambda m: m.nn.Conv2d(4, 3, 3, groups=2), "out_channels must be divisible by groups"),
    (lambda m: m.nn.Conv2d(4, 4, 3, groups=0), "groups must be a positive integer"),
    (lambda m: m.nn.Conv2d(4, 4, 3, padding="same", stride=2),
     "padding='same' is not supported for strided convolutions"),
    (lambda m: m.nn.Conv2d(4, 4, 3, padding="bad"),
     "Invalid padding string 'bad', should be one of {'valid', 'same'}"),
    (lambda m: m.nn.Conv2d(4, 4, 3, padding_mode="bad"),
     "padding_mode must be one of {'reflect', 'replicate', 'circular', 'zeros'}, but got "
     "padding_mode='bad'"),
    (lambda m: m.nn.ConvTranspose2d(4, 4, 3, padding_mode="reflect"),
     'Only "zeros" padding mode is supported for ConvTranspose2d'),
]


def _words(message: str) -> set:
    """PyTorch prints Python sets here, whose order varies from run to run: compare words."""
    return set(message.replace("{", " ").replace("}", " ").replace(",", " ").split())


@pytest.mark.parametrize("make,message", CONSTRUCTOR_ERRORS)
def test_constructor_errors(make, message):
    with pytest.raises(ValueError) as ours:
        make(nbtorch)
    assert _words(str(ours.value)) == _words(message)
    if real_torch is not None:
        with pytest.raises(ValueError) as theirs:
            make(real_torch)
        assert _words(str(theirs.value)) == _words(message)


def test_forward_error_names_the_channels():
    assert_same_error(lambda m: m.nn.Conv2d(3, 8, 3)(m.zeros(1, 4, 8, 8)), RuntimeError,
                      "Given groups=1, weight of size [8, 3, 3, 3], expected input[1, 4, 8, 8] "
                      "to have 3 channels, but got 4 channels instead")


def test_unfold_fold_modules():
    x = nbtorch.tensor(RNG.standard_normal((2, 3, 4, 5)))
    cols = nbtorch.nn.Unfold(kernel_size=(2, 3), padding=1)(x)
    back = nbtorch.nn.Fold((4, 5), (2, 3), padding=1)(cols)
    counts = nbtorch.nn.Fold((4, 5), (2, 3), padding=1)(nbtorch.nn.Unfold((2, 3), padding=1)(
        nbtorch.ones(2, 3, 4, 5)))
    np.testing.assert_allclose(back.numpy(), x.numpy() * counts.numpy())

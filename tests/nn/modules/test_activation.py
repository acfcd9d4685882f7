"""Tests of nbtorch/nn/modules/activation.py: each layer prints as PyTorch's, computes what its
functional computes (against PyTorch when installed), and keeps PyTorch's attributes."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import both, needs_torch, real_torch, values_of

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 4, 3, 2)) * 3

# (constructor called with the module ``nn`` of either library, repr PyTorch prints)
LAYERS = [
    (lambda nn: nn.ReLU(), "ReLU()"),
    (lambda nn: nn.ReLU(inplace=True), "ReLU(inplace=True)"),
    (lambda nn: nn.ReLU6(), "ReLU6()"),
    (lambda nn: nn.ReLU6(True), "ReLU6(inplace=True)"),
    (lambda nn: nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"),
    (lambda nn: nn.LeakyReLU(0.2, True), "LeakyReLU(negative_slope=0.2, inplace=True)"),
    (lambda nn: nn.ELU(), "ELU(alpha=1.0)"),
    (lambda nn: nn.ELU(0.5, inplace=True), "ELU(alpha=0.5, inplace=True)"),
    (lambda nn: nn.SELU(), "SELU()"),
    (lambda nn: nn.CELU(2.0), "CELU(alpha=2.0)"),
    (lambda nn: nn.GELU(), "GELU(approximate='none')"),
    (lambda nn: nn.GELU("tanh"), "GELU(approximate='tanh')"),
    (lambda nn: nn.SiLU(), "SiLU()"),
    (lambda nn: nn.Mish(), "Mish()"),
    (lambda nn: nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)"),
    (lambda nn: nn.Softplus(2, 10), "Softplus(beta=2, threshold=10)"),
    (lambda nn: nn.Softsign(), "Softsign()"),
    (lambda nn: nn.Tanh(), "Tanh()"),
    (lambda nn: nn.Sigmoid(), "Sigmoid()"),
    (lambda nn: nn.Hardtanh(), "Hardtanh(min_val=-1.0, max_val=1.0)"),
    (lambda nn: nn.Hardtanh(-2.0, 2.0), "Hardtanh(min_val=-2.0, max_val=2.0)"),
    (lambda nn: nn.Hardsigmoid(), "Hardsigmoid()"),
    (lambda nn: nn.Hardswish(), "Hardswish()"),
    (lambda nn: nn.LogSigmoid(), "LogSigmoid()"),
    (lambda nn: nn.Softmax(dim=1), "Softmax(dim=1)"),
    (lambda nn: nn.Softmax(-1), "Softmax(dim=-1)"),
    (lambda nn: nn.LogSoftmax(dim=1), "LogSoftmax(dim=1)"),
    (lambda nn: nn.Softmin(dim=2), "Softmin(dim=2)"),
    (lambda nn: nn.Softmax2d(), "Softmax2d()"),
    (lambda nn: nn.Threshold(0.1, 20), "Threshold(threshold=0.1, value=20)"),
    (lambda nn: nn.Threshold(0.1, 20, True), "Threshold(threshold=0.1, value=20, inplace=True)"),
    (lambda nn: nn.GLU(), "GLU(dim=-1)"),
    (lambda nn: nn.GLU(1), "GLU(dim=1)"),
    (lambda nn: nn.Tanhshrink(), "Tanhshrink()"),
    (lambda nn: nn.PReLU(), "PReLU(num_parameters=1)"),
    (lambda nn: nn.PReLU(4, init=0.1), "PReLU(num_parameters=4)"),
]


@pytest.mark.parametrize("make, text", LAYERS, ids=[t for _, t in LAYERS])
def test_repr(make, text):
    assert repr(make(nbtorch.nn)) == text
    if real_torch is not None:
        assert repr(make(real_torch.nn)) == text


@needs_torch
@pytest.mark.parametrize("make, text", LAYERS, ids=[t for _, t in LAYERS])
def test_forward_and_backward_match_torch(make, text):
    results = []
    for m in (nbtorch, real_torch):
        layer = make(m.nn).double()
        leaf = m.tensor(X, requires_grad=True)
        x = leaf * 1.0  # in-place layers need a non-leaf input
        y = layer(x)
        if "inplace=True" in text:
            assert y is x
        y.backward(m.tensor(np.cos(np.arange(y.numel())).reshape(y.shape)))
        params = [values_of(p.grad) for p in layer.parameters()]
        results.append((values_of(y), values_of(leaf.grad), params))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-7, atol=1e-12)
    for a, b in zip(results[0][2], results[1][2]):
        np.testing.assert_allclose(a, b, rtol=1e-7)


@both
def test_attributes_as_in_pytorch(m):
    nn = m.nn
    assert nn.LeakyReLU(0.3).negative_slope == 0.3 and not nn.LeakyReLU().inplace
    relu6 = nn.ReLU6()
    assert isinstance(relu6, nn.Hardtanh) and (relu6.min_val, relu6.max_val) == (0.0, 6.0)
    assert nn.Softmax().dim is None and nn.GELU().approximate == "none"
    assert (nn.Softplus().beta, nn.Softplus().threshold) == (1.0, 20.0)
    prelu = nn.PReLU(3)
    assert [n for n, _ in prelu.named_parameters()] == ["weight"]
    assert values_of(prelu.weight).tolist() == pytest.approx([0.25] * 3)


@both
def test_softmax_without_dim_warns(m):
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = m.nn.Softmax()(m.tensor(X[0, 0]))
    np.testing.assert_allclose(values_of(y).sum(1), 1)
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        m.nn.LogSoftmax()(m.tensor(X[0, 0]))


def test_softmax2d_needs_3d_or_4d_input():
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D"):
        nbtorch.nn.Softmax2d()(nbtorch.ones(2, 3))


def test_in_a_sequential_model():
    model = nbtorch.nn.Sequential(nbtorch.nn.Linear(3, 4), nbtorch.nn.ReLU(),
                                  nbtorch.nn.Linear(4, 2), nbtorch.nn.LogSoftmax(dim=1))
    assert repr(model) == ("Sequential(\n  (0): Linear(in_features=3, out_features=4, bias=True)\n"
                           "  (1): ReLU()\n  (2): Linear(in_features=4, out_features=2, bias=True)"
                           "\n  (3): LogSoftmax(dim=1)\n)")
    out = model(nbtorch.randn(5, 3))
    np.testing.assert_allclose(np.exp(out._data).sum(1), 1, rtol=1e-6)

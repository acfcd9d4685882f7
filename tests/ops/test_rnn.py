"""Tests of nbtorch/ops/rnn.py: each fused recurrent layer against its step-by-step reference
(forward and every gradient, both directions, with and without biases), float64 finite
differences (gradcheck), double backward (gradgradcheck through create_graph), and PyTorch's
per-step cell functions."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from nbtorch.ops import rnn
from tests.helpers import needs_torch, real_torch

STEPS, BATCH, INPUT, HIDDEN = 4, 3, 5, 6

# name: (fused function, reference, gates, has a cell state, extra keywords)
LAYERS = {
    "lstm": (rnn.lstm_layer, rnn.lstm_reference, 4, True, {}),
    "gru": (rnn.gru_layer, rnn.gru_reference, 3, False, {}),
    "rnn_tanh": (rnn.rnn_layer, rnn.rnn_reference, 1, False, {"nonlinearity": "tanh"}),
    "rnn_relu": (rnn.rnn_layer, rnn.rnn_reference, 1, False, {"nonlinearity": "relu"}),
}


def _arrays(name, bias=True, steps=STEPS, sizes=(BATCH, INPUT, HIDDEN), seed=0):
    _, _, gates, cell, _ = LAYERS[name]
    batch, inputs, hidden = sizes
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((steps, batch, inputs)), rng.standard_normal((batch, hidden))]
    if cell:
        arrays.append(rng.standard_normal((batch, hidden)))
    arrays += [rng.standard_normal((gates * hidden, inputs)) * 0.4,
               rng.standard_normal((gates * hidden, hidden)) * 0.4]
    if bias:
        arrays += [rng.standard_normal(gates * hidden), rng.standard_normal(gates * hidden)]
    return arrays


def _run(fn, arrays, device, dtype, reverse, extra):
    tensors = [nbtorch.tensor(a.astype(dtype), device=device, requires_grad=True)
               for a in arrays]
    outputs = fn(*tensors, reverse=reverse, **extra)
    rng = np.random.default_rng(1)
    loss = sum((o * nbtorch.tensor(rng.standard_normal(tuple(o.shape)).astype(dtype),
                                   device=device)).sum() for o in outputs)
    loss.backward()
    return [o.detach().cpu().numpy() for o in outputs], [t.grad.cpu().numpy() for t in tensors]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("name", LAYERS)
def test_fused_layer_matches_reference(name, reverse, bias, device):
    fused, reference, _, _, extra = LAYERS[name]
    arrays = _arrays(name, bias)
    out_f, grads_f = _run(fused, arrays, device, np.float32, reverse, extra)
    out_r, grads_r = _run(reference, arrays, device, np.float32, reverse, extra)
    for a, b in zip(out_f, out_r):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    for i, (a, b) in enumerate(zip(grads_f, grads_r)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=f"gradient {i}")
    assert out_f[0].dtype == np.float32


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("name", LAYERS)
def test_gradcheck_and_gradgradcheck(name, reverse):
    """Float64 finite differences; double backward goes through the composed reference."""
    fused, _, _, _, extra = LAYERS[name]

    def fn(*tensors):
        return fused(*tensors, reverse=reverse, **extra)

    arrays = _arrays(name, steps=3, sizes=(2, 3, 3))
    assert nbtorch.autograd.gradcheck(fn, [nbtorch.tensor(a, requires_grad=True) for a in arrays])
    arrays = _arrays(name, steps=2, sizes=(1, 2, 2))
    assert nbtorch.autograd.gradgradcheck(fn,
                                          [nbtorch.tensor(a, requires_grad=True) for a in arrays])


def test_outputs_and_states():
    fused, _, _, _, _ = LAYERS["lstm"]
    tensors = [nbtorch.tensor(a.astype(np.float32)) for a in _arrays("lstm")]
    out, h, c = fused(*tensors)
    assert tuple(out.shape) == (STEPS, BATCH, HIDDEN)
    np.testing.assert_array_equal(out[-1].numpy(), h.numpy())
    out_r, h_r, _ = fused(*tensors, reverse=True)
    np.testing.assert_array_equal(out_r[0].numpy(), h_r.numpy())
    assert h.grad_fn is None  # nothing required grad: nothing recorded
    # h_n is its own memory: changing it leaves the output alone
    h.add_(1.0)
    np.testing.assert_allclose(out[-1].numpy(), h.numpy() - 1.0, atol=1e-6)


def test_one_node_per_layer_and_inplace_detection():
    tensors = [nbtorch.tensor(a.astype(np.float32), requires_grad=True)
               for a in _arrays("gru")]
    out, h = rnn.gru_layer(*tensors)
    assert out.grad_fn is h.grad_fn
    assert out.grad_fn.name() == "GRULayerBackward0"
    with nbtorch.no_grad():
        tensors[2].mul_(2.0)  # weight_ih, saved for backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


@needs_torch
@pytest.mark.parametrize("name", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_one_step_matches_torch_cell(name):
    """A single step equals PyTorch's cell function (gate order and GRU's n gate)."""
    fused, _, _, cell, extra = LAYERS[name]
    arrays = [a.astype(np.float32) for a in _arrays(name, steps=1)]
    ours = fused(*[nbtorch.tensor(a) for a in arrays], **extra)
    t = [real_torch.tensor(a) for a in arrays]
    x, rest = t[0][0], t[1:]
    if name == "lstm":
        h, c = real_torch.lstm_cell(x, (rest[0], rest[1]), *rest[2:])
        expected = [h, c]
    else:
        step = {"gru": real_torch.gru_cell, "rnn_tanh": real_torch.rnn_tanh_cell,
                "rnn_relu": real_torch.rnn_relu_cell}[name]
        expected = [step(x, *rest)]
    for got, want in zip(ours[1:], expected):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)

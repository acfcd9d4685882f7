"""Tests of nbtorch/nn/modules/rnn.py: RNN, LSTM, GRU and the cells against PyTorch with the same
weights (outputs, final states and every gradient) for layers, directions, batch_first, initial
states and unbatched input; PyTorch's initial weights from the same seed; parameter names and
order; reprs; dropout between layers; float64 finite differences; PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, needs_torch, real_torch

SEQ, BATCH, INPUT, HIDDEN = 5, 3, 4, 6


def _to_nbtorch(state: dict, device="cpu") -> dict:
    return {k: nbtorch.tensor(v.detach().numpy(), device=device) for k, v in state.items()}


def _pair(name: str, *args, device="cpu", **kwargs):
    """The same layer in torch and nbtorch, nbtorch's loaded from torch's state dict."""
    theirs = getattr(real_torch.nn, name)(*args, **kwargs)
    ours = getattr(nbtorch.nn, name)(*args, **kwargs).to(device)
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    ours.load_state_dict(_to_nbtorch(theirs.state_dict(), device))
    return theirs, ours


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    return [out]


def _check_same(theirs, ours, arrays, device="cpu", atol=1e-5):
    """Run both on the same inputs, backward a weighted sum of all outputs, compare all."""
    rng = np.random.default_rng(7)
    results = []
    for m, layer in ((real_torch, theirs), (nbtorch, ours)):
        tensors = [None if a is None else
                   m.tensor(a, requires_grad=True, **({"device": device} if m is nbtorch else {}))
                   for a in arrays]
        x, rest = tensors[0], tensors[1:]
        if len(rest) == 2 and rest[0] is not None:
            out = layer(x, (rest[0], rest[1]))
        elif rest and rest[0] is not None:
            out = layer(x, rest[0])
        else:
            out = layer(x)
        flat = _flatten(out)
        weights = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in flat]
        rng = np.random.default_rng(7)
        loss = sum((o * m.tensor(w, **({"device": device} if m is nbtorch else {}))).sum()
                   for o, w in zip(flat, weights))
        loss.backward()
        grads = [t.grad for t in tensors if t is not None] + [p.grad for p in layer.parameters()]
        results.append(([o.detach().cpu().numpy() for o in flat],
                        [g.cpu().numpy() for g in grads]))
    (out_t, grads_t), (out_n, grads_n) = results
    assert [o.shape for o in out_t] == [o.shape for o in out_n]
    for a, b in zip(out_n, out_t):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=atol)
    for i, (a, b) in enumerate(zip(grads_n, grads_t)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=atol * 10, err_msg=f"gradient {i}")


CONFIGS = [
    {},
    {"num_layers": 2},
    {"bidirectional": True},
    {"num_layers": 2, "bidirectional": True},
    {"batch_first": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"bias": False},
]
KINDS = [("LSTM", {}), ("GRU", {}), ("RNN", {}), ("RNN", {"nonlinearity": "relu"})]


@needs_torch
@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k[0] + "".join(k[1].values()))
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
def test_matches_torch(kind, config, with_state, device):
    name, extra = kind
    theirs, ours = _pair(name, INPUT, HIDDEN, device=device, **config, **extra)
    rng = np.random.default_rng(0)
    shape = (BATCH, SEQ, INPUT) if config.get("batch_first") else (SEQ, BATCH, INPUT)
    arrays = [rng.standard_normal(shape).astype(np.float32)]
    if with_state:
        layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
        for _ in range(2 if name == "LSTM" else 1):
            arrays.append(rng.standard_normal((layers, BATCH, HIDDEN)).astype(np.float32))
    _check_same(theirs, ours, arrays, device)


@needs_torch
@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
def test_unbatched_input(name, batch_first, with_state):
    theirs, ours = _pair(name, INPUT, HIDDEN, num_layers=2, bidirectional=True,
                         batch_first=batch_first)
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((SEQ, INPUT)).astype(np.float32)]
    if with_state:
        arrays += [rng.standard_normal((4, HIDDEN)).astype(np.float32)
                   for _ in range(2 if name == "LSTM" else 1)]
    _check_same(theirs, ours, arrays)


CELLS = [("LSTMCell", {}), ("GRUCell", {}), ("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
         ("LSTMCell", {"bias": False}), ("GRUCell", {"bias": False})]


@needs_torch
@pytest.mark.parametrize("cell", CELLS, ids=lambda c: c[0] + "".join(map(str, c[1].values())))
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "given_state"])
def test_cells_match_torch(cell, batched, with_state, device):
    name, extra = cell
    theirs, ours = _pair(name, INPUT, HIDDEN, device=device, **extra)
    rng = np.random.default_rng(2)
    lead = (BATCH,) if batched else ()
    arrays = [rng.standard_normal(lead + (INPUT,)).astype(np.float32)]
    if with_state:
        arrays += [rng.standard_normal(lead + (HIDDEN,)).astype(np.float32)
                   for _ in range(2 if name == "LSTMCell" else 1)]
    _check_same(theirs, ours, arrays, device)


@needs_torch
@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell"])
def test_same_seed_same_weights_as_torch(name):
    kwargs = {"num_layers": 2, "bidirectional": True} if "Cell" not in name else {}
    real_torch.manual_seed(5)
    theirs = getattr(real_torch.nn, name)(32, 128, **kwargs)
    nbtorch.manual_seed(5)
    ours = getattr(nbtorch.nn, name)(32, 128, **kwargs)
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key].numpy(), err_msg=key)


def test_parameters_named_and_shaped_like_torch():
    lstm = nbtorch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    shapes = {k: tuple(v.shape) for k, v in lstm.named_parameters()}
    assert list(shapes) == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
        "bias_hh_l0_reverse",
        "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
        "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse",
        "bias_hh_l1_reverse"]
    assert shapes["weight_ih_l0"] == (16, 3)
    assert shapes["weight_ih_l1"] == (16, 8)
    assert shapes["weight_hh_l1_reverse"] == (16, 4)
    assert shapes["bias_hh_l0"] == (16,)
    gru = nbtorch.nn.GRU(3, 4, bias=False)
    assert [k for k, _ in gru.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert len(lstm.all_weights) == 4 and lstm.all_weights[1][0] is lstm.weight_ih_l0_reverse
    bound = 1 / np.sqrt(4)
    assert all(float(p.abs().max()) <= bound for p in lstm.parameters())


REPRS = [
    ("LSTM", (32, 128), {"batch_first": True}, "LSTM(32, 128, batch_first=True)"),
    ("LSTM", (3, 4), {"num_layers": 2, "bias": False, "batch_first": True, "dropout": 0.5,
                      "bidirectional": True},
     "LSTM(3, 4, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)"),
    ("GRU", (3, 4), {}, "GRU(3, 4)"),
    ("RNN", (3, 4), {"nonlinearity": "relu"}, "RNN(3, 4)"),
    ("RNNCell", (3, 4), {"nonlinearity": "relu"}, "RNNCell(3, 4, nonlinearity=relu)"),
    ("RNNCell", (3, 4), {"bias": False}, "RNNCell(3, 4, bias=False)"),
    ("LSTMCell", (3, 4), {}, "LSTMCell(3, 4)"),
    ("GRUCell", (3, 4), {"bias": False}, "GRUCell(3, 4, bias=False)"),
]


@pytest.mark.parametrize("name, args, kwargs, text", REPRS)
def test_repr(name, args, kwargs, text):
    assert repr(getattr(nbtorch.nn, name)(*args, **kwargs)) == text
    if real_torch is not None:
        assert repr(getattr(real_torch.nn, name)(*args, **kwargs)) == text


def test_shapes_of_outputs():
    lstm = nbtorch.nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, batch_first=True)
    out, (h, c) = lstm(nbtorch.randn(BATCH, SEQ, INPUT))
    assert tuple(out.shape) == (BATCH, SEQ, 2 * HIDDEN)
    assert tuple(h.shape) == tuple(c.shape) == (4, BATCH, HIDDEN)
    out, h = nbtorch.nn.GRU(INPUT, HIDDEN)(nbtorch.randn(SEQ, INPUT))
    assert tuple(out.shape) == (SEQ, HIDDEN) and tuple(h.shape) == (1, HIDDEN)
    # the last output of the forward direction is its final state
    out, (h, _) = nbtorch.nn.LSTM(INPUT, HIDDEN, bidirectional=True)(nbtorch.randn(SEQ, 2, INPUT))
    np.testing.assert_array_equal(out[-1, :, :HIDDEN].detach().numpy(), h[0].detach().numpy())
    np.testing.assert_array_equal(out[0, :, HIDDEN:].detach().numpy(), h[1].detach().numpy())


def test_dropout_between_layers_only_in_training():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nbtorch.nn.LSTM(3, 4, dropout=0.5)
    nbtorch.manual_seed(0)
    lstm = nbtorch.nn.LSTM(INPUT, HIDDEN, num_layers=2, dropout=0.5)
    plain = nbtorch.nn.LSTM(INPUT, HIDDEN, num_layers=2)
    plain.load_state_dict(lstm.state_dict())
    x = nbtorch.randn(SEQ, BATCH, INPUT)
    train_a, train_b = lstm(x)[0], lstm(x)[0]
    assert not np.allclose(train_a.detach().numpy(), train_b.detach().numpy())
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].detach().numpy(), plain(x)[0].detach().numpy())


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_gradcheck_float64(name):
    layer = getattr(nbtorch.nn, name)(2, 3, num_layers=2, bidirectional=True,
                                      batch_first=True).double()
    x = nbtorch.randn(2, 3, 2, dtype=nbtorch.float64, requires_grad=True)
    h = nbtorch.randn(4, 2, 3, dtype=nbtorch.float64, requires_grad=True)
    state = (h, nbtorch.randn(4, 2, 3, dtype=nbtorch.float64, requires_grad=True)) \
        if name == "LSTM" else h

    def fn(x, *state):
        out, final = layer(x, state if name == "LSTM" else state[0])
        return (out, *final) if name == "LSTM" else (out, final)

    inputs = (x, *state) if name == "LSTM" else (x, h)
    assert nbtorch.autograd.gradcheck(fn, inputs)
    assert nbtorch.autograd.gradcheck(lambda w: layer(x)[0].sum() * w, [
        nbtorch.tensor(1.0, dtype=nbtorch.float64, requires_grad=True)])


def test_weight_gradients_float64_finite_differences():
    """The weights' gradients, by central differences on a small float64 LSTM."""
    lstm = nbtorch.nn.LSTM(2, 2, bidirectional=True).double()
    x = nbtorch.randn(3, 1, 2, dtype=nbtorch.float64)
    weight = lstm.weight_hh_l0_reverse

    def loss():
        out, (h, c) = lstm(x)
        return float((out ** 2).sum() + (c * 3).sum())

    value = (lstm(x)[0] ** 2).sum() + (lstm(x)[1][1] * 3).sum()
    value.backward()
    numeric = np.zeros(tuple(weight.shape))
    for idx in np.ndindex(*numeric.shape):
        saved = weight.data[idx].item()
        weight.data[idx] = saved + 1e-6
        up = loss()
        weight.data[idx] = saved - 1e-6
        numeric[idx] = (up - loss()) / 2e-6
        weight.data[idx] = saved
    np.testing.assert_allclose(weight.grad.numpy(), numeric, rtol=1e-5, atol=1e-7)


ERRORS = [
    (lambda m: m.nn.LSTM(3, 4, num_layers=2)(m.randn(2, 5, 4)), RuntimeError,
     "input.size(-1) must be equal to input_size. Expected 3, got 4"),
    (lambda m: m.nn.LSTM(3, 4)(m.randn(2, 5, 3, dtype=m.float64)), ValueError,
     "RNN input dtype (torch.float64) does not match weight dtype (torch.float32). Convert input: "
     "input.to(torch.float32), or convert model: model.to(torch.float64)"),
    (lambda m: m.nn.LSTM(3, 4, num_layers=2)(m.randn(5, 2, 3), (m.randn(2, 3, 4),
                                                                 m.randn(2, 2, 4))),
     RuntimeError, "Expected hidden[0] size (2, 2, 4), got [2, 3, 4]"),
    (lambda m: m.nn.LSTM(3, 4)(m.randn(5, 2, 3), (m.randn(1, 2, 4), m.randn(1, 3, 4))),
     RuntimeError, "Expected hidden[1] size (1, 2, 4), got [1, 3, 4]"),
    (lambda m: m.nn.LSTM(3, 4)(m.randn(5, 2, 3), (m.randn(2, 4), m.randn(1, 2, 4))),
     RuntimeError,
     "For batched 3-D input, hx and cx should also be 3-D but got (2-D, 3-D) tensors"),
    (lambda m: m.nn.LSTM(3, 4)(m.randn(5, 3), (m.randn(1, 2, 4), m.randn(1, 2, 4))),
     RuntimeError,
     "For unbatched 2-D input, hx and cx should also be 2-D but got (3-D, 3-D) tensors"),
    (lambda m: m.nn.LSTM(3, 4)(m.randn(1, 2, 5, 3)), ValueError,
     "LSTM: Expected input to be 2D or 3D, got 4D instead"),
    (lambda m: m.nn.RNN(3, 4)(m.randn(1, 2, 5, 3)), ValueError,
     "RNN: Expected input to be 2D or 3D, got 4D tensor instead"),
    (lambda m: m.nn.GRU(3, 4)(m.randn(5, 2, 3), m.randn(2, 4)), RuntimeError,
     "For batched 3-D input, hx should also be 3-D but got 2-D tensor"),
    (lambda m: m.nn.GRU(3, 4)(m.randn(5, 3), m.randn(1, 2, 4)), RuntimeError,
     "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"),
    (lambda m: m.nn.GRU(3, 4)(m.randn(5, 2, 3), m.randn(2, 2, 4)), RuntimeError,
     "Expected hidden size (1, 2, 4), got [2, 2, 4]"),
    (lambda m: m.nn.GRU(3, 4)(m.randn(0, 2, 3)), RuntimeError,
     "Expected sequence length to be larger than 0 in RNN"),
    (lambda m: m.nn.RNN(3, 4, nonlinearity="x"), ValueError,
     "Unknown nonlinearity 'x'. Select from 'tanh' or 'relu'."),
    (lambda m: m.nn.GRU(3, 4, proj_size=2), ValueError,
     "proj_size argument is only supported for LSTM, not RNN or GRU"),
    (lambda m: m.nn.LSTM(3, 4, dropout=1.5), ValueError,
     "dropout should be a number in range [0, 1] representing the probability of an element "
     "being zeroed"),
    (lambda m: m.nn.LSTM(3, 4, num_layers=0), ValueError, "num_layers must be greater than zero"),
    (lambda m: m.nn.LSTM(3, 0), ValueError, "hidden_size must be greater than zero"),
    (lambda m: m.nn.LSTM(3, 4, bias=1), TypeError, "bias should be of type bool, got: int"),
    (lambda m: m.nn.LSTMCell(3, 4)(m.randn(2, 5)), RuntimeError,
     "input has inconsistent input_size: got 5 expected 3"),
    (lambda m: m.nn.LSTMCell(3, 4)(m.randn(2, 3), (m.randn(3, 4), m.randn(2, 4))), RuntimeError,
     "Input batch size 2 doesn't match hidden0 batch size 3"),
    (lambda m: m.nn.LSTMCell(3, 4)(m.randn(2, 3), (m.randn(2, 4), m.randn(2, 5))), RuntimeError,
     "hidden1 has inconsistent hidden_size: got 5, expected 4"),
    (lambda m: m.nn.GRUCell(3, 4)(m.randn(2, 3), m.randn(2, 5)), RuntimeError,
     "hidden0 has inconsistent hidden_size: got 5, expected 4"),
    (lambda m: m.nn.RNNCell(3, 4)(m.randn(2, 2, 3)), ValueError,
     "RNNCell: Expected input to be 1D or 2D, got 3D instead"),
    (lambda m: m.nn.GRUCell(3, 4)(m.randn(2, 3), m.randn(1, 2, 4)), ValueError,
     "GRUCell: Expected hidden to be 1D or 2D, got 3D instead"),
    (lambda m: m.nn.LSTMCell(3, 4)(m.randn(2, 3), (m.randn(2, 4), m.randn(1, 2, 4))), ValueError,
     "LSTMCell: Expected hx[1] to be 1D or 2D, got 3D instead"),
    (lambda m: m.nn.RNNCell(3, 4, nonlinearity="foo")(m.randn(2, 3)), RuntimeError,
     "Unknown nonlinearity: foo"),
]


@pytest.mark.parametrize("make, error, message", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors_in_pytorch_words(make, error, message):
    assert_same_error(make, error, message)

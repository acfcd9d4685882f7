"""06 · Recurrent networks: what it shows, and its LSTM-step checker on right and wrong answers
(with nbtorch, and with PyTorch when it is installed)."""

from __future__ import annotations

import contextlib
import re

import pytest

from tests.notebooks import _checkers
from tests.notebooks._nb import cell_tagged, mime_types, text_of

RNN = "06_recurrent_networks.ipynb"


def test_rnn_unrolled(executed):
    nb = executed(RNN)
    steps = text_of(cell_tagged(nb, "rnn-cell")).splitlines()
    assert steps[0] == "weight_ih: (4, 3)   weight_hh: (4, 4)" and len(steps) == 6
    assert "matches nn.RNNCell: True" in text_of(cell_tagged(nb, "rnn-by-hand"))
    layer = text_of(cell_tagged(nb, "rnn-layer"))
    assert "outputs: (5, 2, 4)" in layer and "h_n:     (1, 2, 4)" in layer
    assert "the loop's last h == outputs[-1]: True" in layer
    assert "h_n[0] == outputs[-1]: True" in layer
    graph = cell_tagged(nb, "unrolled-graph")
    assert "image/svg+xml" in mime_types(graph)
    svg = next(o.data["image/svg+xml"] for o in graph.outputs
               if "image/svg+xml" in o.get("data", {}))
    assert svg.count(">RNNLayer<") == 5 and "weight_hh" in svg  # five steps, shared weights


def test_lstm_shapes(executed):
    shapes = text_of(cell_tagged(executed(RNN), "lstm-shapes"))
    assert "weight_ih: (16, 3)" in shapes and "weight_hh: (16, 4)" in shapes
    assert "h: (2, 4)   c: (2, 4)" in shapes


def test_training(executed):
    nb = executed(RNN)
    assert "image/png" in mime_types(cell_tagged(nb, "data"))
    assert "lstm: 4,513 parameters" in text_of(cell_tagged(nb, "models"))
    train = cell_tagged(nb, "train")
    assert "image/svg+xml" in mime_types(train)
    # the saved picture is the final one (refreshed by monitor.finish())
    assert ("TrainingMonitor: lstm_loss, rnn_loss, val_lstm_loss, val_rnn_loss; step 399"
            in text_of(train))
    assert len(re.findall(r"test MSE: LSTM \d\.\d+   RNN \d\.\d+", text_of(train))) == 4
    mse = {}
    for line in text_of(cell_tagged(nb, "final-mse")).splitlines()[1:]:
        label, total, late = re.fullmatch(r"\s*(.+?)\s+(\d\.\d+)\s+(\d\.\d+)", line).groups()
        mse[label] = (float(total), float(late))
    assert set(mse) == {"repeat the last input", "RNN", "LSTM"}
    baseline, rnn, lstm = mse["repeat the last input"], mse["RNN"], mse["LSTM"]
    # when written: baseline 0.042, RNN 0.015, LSTM 0.0085 (after step 10: RNN 0.010, LSTM 0.005)
    assert lstm[0] < 0.012 and lstm[1] < 0.008  # below the input's noise (0.01) late in the wave
    assert lstm[0] < 0.4 * baseline[0] and rnn[0] < 0.6 * baseline[0]
    assert lstm[0] < rnn[0] and lstm[1] < rnn[1]  # the LSTM visibly ahead
    assert "image/png" in mime_types(cell_tagged(nb, "predictions"))


def test_gradients_through_time(executed):
    cell = cell_tagged(executed(RNN), "grad-through-time")
    assert "image/png" in mime_types(cell)
    ratios = dict(re.findall(r"^\s*(.+?)\s+(\d\.\de[-+]\d+)$", text_of(cell), re.M))
    assert set(ratios) == {"RNN", "LSTM", "LSTM, forget bias 3"}
    assert float(ratios["RNN"]) < 1e-5  # vanished (5.6e-09 when written)
    assert float(ratios["LSTM"]) < 1e-5  # forget gate ~0.5: vanished too (3.4e-09)
    assert float(ratios["LSTM, forget bias 3"]) > 0.05  # the cell state carries it (0.36)


# --- the exercise's checker, run in-process on right and wrong answers ---------------------------
def _step(t, x, h, c, cell, order="ifgo", g_act="tanh", gate_act="sigmoid", forget=True,
          write=True, h_rule="right", biases=2, dtype=None):
    """A learner's lstm_step, right or with one typical mistake."""
    pre = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T
    if biases == 2:
        pre = pre + cell.bias_hh
    if dtype is not None:
        pre, c = pre.to(dtype), c.to(dtype)
    a = dict(zip(order, pre.chunk(4, dim=1)))
    gate, cand = getattr(t, gate_act), getattr(t, g_act)
    i, f, g, o = gate(a["i"]), gate(a["f"]), cand(a["g"]), gate(a["o"])
    c_new = (f * c if forget else c) + (i * g if write else 0)
    h_new = {"right": o * t.tanh(c_new), "no-tanh": o * c_new, "no-o": t.tanh(c_new),
             "old-c": o * t.tanh(c)}[h_rule]
    return h_new, c_new


ANSWERS = [
    # options of the learner's step (or another answer), is it right, what the checker must say
    pytest.param({}, True, "Correct", id="right"),
    pytest.param({"dtype": "float32"}, True, "Correct", id="right-float32"),
    pytest.param({"order": "ifog"}, False, "you read the four chunks as i, f, o, g",
                 id="order-ifog"),
    pytest.param({"order": "figo"}, False, "PyTorch stacks them as i, f, g, o", id="order-figo"),
    pytest.param({"order": "iofg"}, False, "Gate order", id="order-iofg"),
    pytest.param({"g_act": "sigmoid"}, False, "g, the candidate values, uses tanh",
                 id="g-sigmoid"),
    pytest.param({"gate_act": "tanh"}, False, "use the sigmoid", id="gates-tanh"),
    pytest.param({"g_act": "sigmoid", "gate_act": "tanh"}, False, "swapped", id="acts-swapped"),
    pytest.param({"forget": False}, False, "You forgot the forget gate", id="no-forget"),
    pytest.param({"write": False}, False, "the i * g term is missing", id="no-write"),
    pytest.param({"h_rule": "no-tanh"}, False, "without the tanh", id="h-no-tanh"),
    pytest.param({"h_rule": "no-o"}, False, "You forgot the output gate", id="h-no-o"),
    pytest.param({"h_rule": "old-c"}, False, "not the old c", id="h-old-c"),
    pytest.param({"biases": 1}, False, "both bias_ih and bias_hh", id="one-bias"),
    pytest.param("swapped", False, "You return (c_new, h_new)", id="c-h-swapped"),
    pytest.param("h-only", False, "Return a pair", id="h-only"),
    pytest.param("wrong-shape", False, "Wrong shapes", id="shape"),
    pytest.param("h-off", False, "c' is right, h' is not", id="h-off"),
    pytest.param("c-off", False, "Not yet: c' differs", id="c-off"),
    pytest.param("lists", False, "should be tensors", id="lists"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), ANSWERS)
def test_lstm_checker(library, answer, right, message):
    t = _checkers.library(library)
    check = _checkers.load(RNN, ("exercise-lstm", "checker-lstm"), t)["check_lstm_step"]

    def learner(x, h, c, cell):
        if isinstance(answer, dict):
            options = dict(answer)
            if options.get("dtype") == "float32":
                options["dtype"] = t.float32
            return _step(t, x, h, c, cell, **options)
        h_new, c_new = _step(t, x, h, c, cell)
        return {"swapped": (c_new, h_new), "h-only": h_new,
                "wrong-shape": (h_new[:, :4], c_new[:, :4]),
                "h-off": (h_new * 1.1, c_new), "c-off": (h_new, c_new + 0.5),
                "lists": (h_new.tolist(), c_new.tolist())}[answer]

    _checkers.expect(check, learner, right, message)


# --- the forget-bias exercise --------------------------------------------------------------------
def _set(t, lstm, value, rows=(1, 2), hh=0.0, layers=None, no_grad=True, what="bias"):
    """A learner's set_forget_bias, right or with one typical mistake: ``rows`` in units of H,
    ``hh`` what bias_hh's rows get (None: untouched), ``layers`` how many layers it visits."""
    H = lstm.hidden_size
    start, stop = rows[0] * H, rows[1] * H
    context = t.no_grad() if no_grad else contextlib.nullcontext()
    with context:
        for k in range(lstm.num_layers if layers is None else layers):
            getattr(lstm, f"{what}_ih_l{k}")[start:stop] = value
            if hh is not None:
                getattr(lstm, f"{what}_hh_l{k}")[start:stop] = hh


def _by_names(t, lstm, value):
    H = lstm.hidden_size
    with t.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_"):
                p[H:2 * H] = value if name.startswith("bias_ih") else 0.0


FORGET = [
    pytest.param(lambda t, m, v: _set(t, m, v), True, "Correct", id="right"),
    pytest.param(lambda t, m, v: _by_names(t, m, v), True, "Correct", id="right-by-names"),
    pytest.param(lambda t, m, v: None, False, "Not done yet", id="stub"),
    pytest.param(lambda t, m, v: _set(t, m, v, no_grad=False), False, "torch.no_grad()",
                 id="no-no-grad"),
    pytest.param(lambda t, m, v: _set(t, m, v, layers=1), False, "Layer 1 is unchanged",
                 id="layer-0-only"),
    pytest.param(lambda t, m, v: _set(t, m, v, hh=v), False, "You set both biases to 2.0",
                 id="both-biases"),
    pytest.param(lambda t, m, v: _set(t, m, v, hh=None), False,
                 "forget entries of bias_hh_l0 should be 0", id="hh-untouched"),
    pytest.param(lambda t, m, v: _set(t, m, v / 2), False, "should all be 2.0", id="value"),
    pytest.param(lambda t, m, v: _set(t, m, v, rows=(0, 1)), False, "the input gate i",
                 id="input-gate"),
    pytest.param(lambda t, m, v: _set(t, m, v, rows=(2, 3)), False, "the candidate g",
                 id="candidate"),
    pytest.param(lambda t, m, v: _set(t, m, v, rows=(0, 4)), False, "rows 0..3 of bias_ih_l0",
                 id="whole-bias"),
    pytest.param(lambda t, m, v: _set(t, m, v, what="weight"), False,
                 "You changed weight_ih_l0", id="weight"),
    pytest.param(lambda t, m, v: m.bias_l0, False, "raised AttributeError", id="raises"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), FORGET)
def test_forget_bias_checker(library, answer, right, message):
    torch = _checkers.library(library)
    ns = _checkers.load(RNN, ("exercise-forget-bias", "checker-forget-bias"), torch)
    _checkers.expect(ns["check_forget_bias"], lambda m, v: answer(torch, m, v), right, message)

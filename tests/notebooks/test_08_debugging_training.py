"""08 · Debugging training: the bugs it shows (in PyTorch's words), and its two exercise checkers.

The NaN exercise's answer is also checked against what anomaly mode and the graph report.
"""

from __future__ import annotations

import re

import pytest

import nbtorch
from tests.notebooks import _checkers
from tests.notebooks._nb import cell_tagged, mime_types, text_of

NB = "08_debugging_training.ipynb"
INPLACE = ("one of the variables needed for gradient computation has been modified by an inplace "
           "operation: [torch.FloatTensor [{shape}]], which is output 0 of {op}, is at version 1; "
           "expected version 0 instead. Hint: enable anomaly detection to find the operation that "
           "failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, "
           "check_nan=False).")


def _svg(cell) -> str:
    return next(o.data["image/svg+xml"] for o in cell.outputs
                if "image/svg+xml" in o.get("data", {}))


def _numbers(pattern: str, text: str) -> list[float]:
    found = re.findall(pattern, text)
    assert found, f"{pattern!r} not in:\n{text}"
    return [float(v) for v in found]


def test_nan_found_and_fixed(executed):
    nb = executed(NB)
    assert text_of(cell_tagged(nb, "nan-training")).splitlines() == [
        "step 0: loss 9.4246   NaN in the gradient: False",
        "step 1: loss 1.4614   NaN in the gradient: True",
        "step 2: loss nan   NaN in the gradient: True",
        "step 3: loss nan   NaN in the gradient: True",
    ]
    anomaly = text_of(cell_tagged(nb, "anomaly"))
    assert anomaly.startswith(
        "step 1: RuntimeError: Function 'LogBackward0' returned nan values in its 0th output.")
    assert "log_probs = torch.log(torch.softmax(logits, dim=1))" in anomaly  # the source line
    graph = cell_tagged(nb, "nan-graph")
    text = text_of(graph)
    assert re.search(r"log_probs .* NaN in its gradient: 0\n", text)
    assert re.search(r"probs .* NaN in its gradient: 1\n", text)
    assert "('Log', ['nonfinite']), ('Softmax', ['nonfinite_grad'])" in text
    svg = _svg(graph)  # the GraphView's static picture draws those nodes flagged
    assert "nbt-flagged nbt-nonfinite_grad" in svg and "nbt-nonfinite\"" in svg
    fixed = text_of(cell_tagged(nb, "nan-fixed"))
    assert "log(softmax(z)): tensor([[-99.9831,   0.0000,     -inf]])" in fixed
    assert "log_softmax(z):  tensor([[-100.,    0., -200.]])" in fixed
    assert "nan" not in fixed and "accuracy 1.000" in fixed


def test_sqrt_at_zero(executed):
    nb = executed(NB)
    text = text_of(cell_tagged(nb, "sqrt-nan"))
    assert "nan" in text.split("gradient:")[1]
    assert "RuntimeError: Function 'PowBackward0' returned nan values in its 0th output." in text
    assert "nan" not in text_of(cell_tagged(nb, "sqrt-fixed"))


def test_inplace_errors_in_pytorch_words(executed):
    nb = executed(NB)
    text = text_of(cell_tagged(nb, "inplace-error"))
    assert "version after sigmoid: 0\nversion after s += 1:  1\n" in text
    assert "RuntimeError: " + INPLACE.format(shape="3", op="Sigmoid") in text
    graph = cell_tagged(nb, "inplace-graph")
    assert "flagged nodes: [('Sigmoid', 's', ['inplace_modified'])]" in text_of(graph)
    assert "nbt-inplace_modified" in _svg(graph)
    residual = text_of(cell_tagged(nb, "inplace-residual"))
    assert "RuntimeError: " + INPLACE.format(shape="4, 8", op="Relu") in residual
    assert "out of place: backward works" in residual


def test_vanishing_gradients(executed):
    nb = executed(NB)
    rows = text_of(cell_tagged(nb, "grad-norms")).splitlines()[2:]
    table = {row.split()[0]: [float(v) for v in row.split()[1:]] for row in rows}
    assert list(table) == [f"{2 * i}.weight" for i in range(10)]
    sigmoid = [v[0] for v in table.values()]
    relu = [v[1] for v in table.values()]
    assert sigmoid[0] < 1e-6 * sigmoid[-1]  # ~1e-8: vanished
    assert all(a < b for a, b in zip(sigmoid, sigmoid[1:]))  # shrinking at every layer
    assert min(relu) > 0.01 * max(relu)
    sig = cell_tagged(nb, "vanishing-sigmoid")
    text = text_of(sig)
    assert "vanishing: 0.weight" in text
    assert _numbers(r"accuracy (\S+)\n", text)[0] < 0.7
    assert "image/svg+xml" in mime_types(sig) and 'data-flag="vanishing"' in _svg(sig)
    relu_cell = cell_tagged(nb, "vanishing-relu")
    text = text_of(relu_cell)
    assert _numbers(r"accuracy (\S+)\n", text)[0] > 0.95
    assert "vanishing:" not in text and "image/svg+xml" in mime_types(relu_cell)


def test_exploding_eval_and_zero_grad(executed):
    nb = executed(NB)
    off, on = text_of(cell_tagged(nb, "exploding")).splitlines()
    assert off.startswith("clipping off") and off.endswith("step 29: nan")
    assert on.startswith("clipping on")
    assert _numbers(r"step 29: (\S+)$", on)[0] < 10
    assert text_of(cell_tagged(nb, "eval-mode")) == (
        "training mode, two calls give the same output: False\n"
        "eval mode, two calls give the same output:     True\n")
    buggy = text_of(cell_tagged(nb, "buggy-loop"))
    losses = _numbers(r"(\d+\.\d+)", buggy.splitlines()[0])
    assert losses[-1] > 5 * losses[0]  # accumulated gradients: the loss climbs
    assert "grad_fn=<NllLossBackward0>" in buggy
    assert text_of(cell_tagged(nb, "nan-model")) == "loss: nan\n"


# --- exercise 5.1: which layer makes the NaN --------------------------------------------------
def test_nan_origin_agrees_with_anomaly_mode():
    """The answer the checker accepts is the module anomaly mode flags as the NaN origin."""
    from nbtorch import viz

    ns = _checkers.load(NB, ("nan-model",), nbtorch, unsolved=0)
    net, F = ns["net"], ns["F"]
    with nbtorch.autograd.detect_anomaly(), viz.record():
        loss = F.cross_entropy(net(ns["X_nan"]), ns["y_nan"])
    g = viz.graph(loss, params=net)
    origins = [(n["label"], n["module"]) for n in g.nodes if "nan_origin" in n["flags"]]
    assert origins == [("Div", "norm")]
    verdict, printed = _checkers.verdict(_nan_checker(nbtorch), origins[0][1])
    assert verdict is True, printed


def _nan_checker(module):
    """The NaN exercise's checker: it reads the model the "nan-model" cell builds."""
    tags = ("nan-model", "exercise-nan", "checker-nan")
    return _checkers.load(NB, tags, module)["check_nan_layer"]


NAN_ANSWERS = [
    pytest.param("norm", True, "Correct: norm (RMSNorm) gets a finite input", id="right"),
    pytest.param("fc2", False, "fc2 already receives NaN", id="downstream"),
    pytest.param("out", False, "out already receives NaN", id="last"),
    pytest.param("fc1", False, "The output of fc1 has no NaN", id="upstream"),
    pytest.param("act", False, "The output of act has no NaN", id="just-before"),
    pytest.param("tanh", False, "net has no module named 'tanh'", id="not-a-module"),
    pytest.param(2, False, "as a string", id="not-a-string"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), NAN_ANSWERS)
def test_nan_layer_checker(library, answer, right, message):
    check = _nan_checker(_checkers.library(library))
    _checkers.expect(check, answer, right, message)


# --- exercise 5.2: the training loop ------------------------------------------------------------
def _loop(F, order, model, optimizer, X, y, steps, keep=lambda loss: loss.item()):
    """A training loop doing, each step, the actions of ``order`` (see the checker)."""
    losses = []
    for _ in range(steps):
        for action in order:
            if action == "z":
                optimizer.zero_grad()
            elif action == "f":
                loss = F.cross_entropy(model(X), y)
            elif action == "b":
                loss.backward()
            elif action == "s":
                optimizer.step()
        losses.append(keep(loss))
    return losses


def _extra_step(F, model, optimizer, X, y, steps):
    losses = _loop(F, "zfbs", model, optimizer, X, y, steps)
    optimizer.step()  # one update too many
    return losses


def _after_update(F, model, optimizer, X, y, steps):
    """Records the loss after the update instead of before it."""
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(X), y).backward()
        optimizer.step()
        losses.append(F.cross_entropy(model(X), y).item())
    return losses


LOOPS = [
    pytest.param(lambda F, *a: _loop(F, "zfbs", *a), True, "Correct: the same 20 losses",
                 id="right"),
    pytest.param(lambda F, *a: _loop(F, "fbsz", *a), True, "Correct", id="zero-grad-last"),
    pytest.param(lambda F, *a: tuple(_loop(F, "zfbs", *a)), True, "Correct", id="tuple"),
    pytest.param(lambda F, *a: _loop(F, "fbs", *a, keep=lambda loss: loss), False,
                 "You store loss tensors", id="buggy-train"),
    pytest.param(lambda F, *a: _loop(F, "zfbs", *a, keep=lambda loss: loss.detach()), False,
                 "Return Python numbers", id="detached-tensors"),
    pytest.param(lambda F, *a: _loop(F, "fbs", *a), False,
                 "call optimizer.zero_grad() before loss.backward()", id="no-zero-grad"),
    pytest.param(lambda F, *a: _loop(F, "fbzs", *a), False,
                 "optimizer.step() finds no gradients", id="zero-grad-between"),
    pytest.param(lambda F, *a: _loop(F, "zfb", *a), False, "the weights are never updated",
                 id="no-step"),
    pytest.param(lambda F, *a: _loop(F, "zfsb", *a), False,
                 "optimizer.step() finds no gradients", id="step-first"),
    pytest.param(lambda F, *a: _loop(F, "fsb", *a), False,
                 "optimizer.step() changed the weights in place", id="step-first-no-zero-grad"),
    pytest.param(lambda F, *a: _loop(F, "zbfs", *a), False, "train raised UnboundLocalError",
                 id="backward-before-forward"),
    pytest.param(_extra_step, False, "the final weights are not", id="extra-step"),
    pytest.param(_after_update, False, "Not yet: at step 0", id="loss-after-update"),
    pytest.param(lambda F, model, optimizer, X, y, steps: _loop(F, "zfbs", model, optimizer, X,
                                                                y, steps - 1),
                 False, "Expected one loss per step (20), got 19", id="length"),
    pytest.param(lambda F, *a: sum(_loop(F, "zfbs", *a)), False,
                 "Return a list of losses, not float", id="not-a-list"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), LOOPS)
def test_training_loop_checker(library, answer, right, message):
    module = _checkers.library(library)
    check = _checkers.load(NB, ("exercise-loop", "checker-loop"), module)["check_train"]
    F = module.nn.functional
    _checkers.expect(check, lambda *args: answer(F, *args), right, message)


def test_training_loop_checker_on_the_notebooks_buggy_loop():
    """The notebook invites ``check_train(buggy_train)``: it names the first bug it meets."""
    ns = _checkers.load(NB, ("buggy-loop", "exercise-loop", "checker-loop"), nbtorch)
    verdict, printed = _checkers.verdict(ns["check_train"], ns["buggy_train"])
    assert verdict is False
    assert "You store loss tensors" in printed

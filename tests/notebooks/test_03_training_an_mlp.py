"""03 · Training an MLP: what it shows (accuracy, live curves, gradient flow, the decision
boundary) and its two exercise checkers, on right and typical wrong answers, under nbtorch and
(when installed) PyTorch."""

from __future__ import annotations

import math
import re

import pytest

import nbtorch
from tests.notebooks import _checkers
from tests.notebooks._nb import cell_tagged, mime_types, text_of

NB = "03_training_an_mlp.ipynb"


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return float(match.group(1))


def test_data_and_model(executed):
    nb = executed(NB)
    data = text_of(cell_tagged(nb, "data"))
    assert "X: torch.Size([1000, 2]) torch.float32   y: torch.Size([1000]) torch.int64" in data
    assert "points per class: 500 500" in data
    assert "800 training points, 200 validation points" in text_of(cell_tagged(nb, "split"))
    assert "batches per pass: 25" in text_of(cell_tagged(nb, "loaders"))
    assert "parameters: 1218" in text_of(cell_tagged(nb, "model"))
    for tag in ("data-plot", "decision-boundary"):
        assert "image/png" in mime_types(cell_tagged(nb, tag)), tag


def test_untrained_loss_is_about_ln2_and_one_step_lowers_it(executed):
    nb = executed(NB)
    initial = _number(r"untrained model: (\d\.\d+)", text_of(cell_tagged(nb, "initial-loss")))
    assert abs(initial - math.log(2)) < 0.1
    step = text_of(cell_tagged(nb, "one-step"))
    assert "w.grad is None" in step
    moved = re.search(r"w moved by (\d\.\d+) = lr \* gradient norm \((\d\.\d+)\)", step)
    assert moved and moved.group(1) == moved.group(2)
    after = _number(r"after one step: (\d\.\d+)", step)
    assert after < _number(r"loss (\d\.\d+), w.grad", step)


def test_training_reaches_high_accuracy(executed):
    nb = executed(NB)
    final = text_of(cell_tagged(nb, "final-accuracy"))
    train_acc = _number(r"training:\s+loss \d\.\d+\s+accuracy (\d\.\d+)", final)
    val_acc = _number(r"validation: loss \d\.\d+\s+accuracy (\d\.\d+)", final)
    val_loss = _number(r"validation: loss (\d\.\d+)", final)
    assert train_acc >= 0.95 and val_acc >= 0.95  # the run gives about 0.99
    assert val_loss < 0.2
    epochs = text_of(cell_tagged(nb, "training"))
    assert _number(r"epoch 30: validation loss \d\.\d+, accuracy (\d\.\d+)", epochs) == val_acc


def test_widgets_leave_their_final_pictures(executed):
    cell = cell_tagged(executed(NB), "training")
    assert {"image/svg+xml", "text/html", "application/vnd.jupyter.widget-view+json"} <= (
        mime_types(cell))
    svgs = [o.data["image/svg+xml"] for o in cell.outputs if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 2  # the monitor and the gradient flow, refreshed after the loop
    monitor, flow = svgs
    assert "train_loss" in monitor and "val_loss" in monitor and "val_acc" in monitor
    assert "750 / 750 steps (100%)" in monitor  # finish() replaced the picture of display time
    assert "no layer flagged" in flow and "0.weight" in flow and "4.bias" in flow
    text = text_of(cell)
    assert "TrainingMonitor: train_loss, val_loss, val_acc; step 750" in text
    assert "GradFlow: 6 layers, 750 updates; no layer flagged" in text
    assert "30 epochs = 750 steps" in text
    rows = text_of(cell_tagged(executed(NB), "gradient-norms")).splitlines()[1:]
    assert [r.split()[0] for r in rows] == ["0.weight", "0.bias", "2.weight", "2.bias",
                                            "4.weight", "4.bias"]
    assert all(0 < float(v) < 10 for r in rows for v in r.split()[1:])


# --- the checkers, run in-process on right and wrong answers ------------------------------------
def _checker(module, exercise: str, name: str):
    """The checker ``name`` of ``exercise-<exercise>``, loaded with ``torch = module``."""
    return _checkers.load(NB, (f"exercise-{exercise}", f"checker-{exercise}"), module)[name]


ACCURACY = [
    # the learner's accuracy(logits, y) given the library t, is it right, what the checker says
    pytest.param(lambda t, z, y: (z.argmax(dim=1) == y).float().mean().item(), True, "Correct",
                 id="right"),
    pytest.param(lambda t, z, y: (z.argmax(1) == y).float().mean(), True, "Correct",
                 id="right-tensor"),
    pytest.param(lambda t, z, y: (t.softmax(z, 1).argmax(1) == y).sum().item() / len(y), True,
                 "Correct", id="right-softmax-count"),
    pytest.param(lambda t, z, y: (z.argmax(1) == y).sum().item(), False, "number of right rows",
                 id="count"),
    pytest.param(lambda t, z, y: 100 * (z.argmax(1) == y).float().mean().item(), False,
                 "percentage", id="percent"),
    pytest.param(lambda t, z, y: (z.argmax(1) != y).float().mean().item(), False, "error rate",
                 id="error-rate"),
    pytest.param(lambda t, z, y: (z.argmax() == y).float().mean().item(), False,
                 "argmax() without dim", id="no-dim"),
    pytest.param(lambda t, z, y: ((z[:, 1] > z[:, 0]).long() == y).float().mean().item(), False,
                 "two classes only", id="binary"),
    pytest.param(lambda t, z, y: (z.argmax(1) == y).mean(), False, ".float() before .mean()",
                 id="bool-mean"),
    pytest.param(lambda t, z, y: (z.argmax(0) == y).float().mean().item(), False,
                 "argmax(dim=1)", id="dim0"),
    pytest.param(lambda t, z, y: (z.argmax(1) == y).float(), False, "not a tensor of shape (50,)",
                 id="per-row"),
    pytest.param(lambda t, z, y: "0.5", False, "not str", id="string"),
    pytest.param(lambda t, z, y: 0.5, False, "Not yet: on 50 rows of 3 classes", id="other"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), ACCURACY)
def test_accuracy_checker(library, answer, right, message):
    module = _checkers.library(library)
    check = _checker(module, "accuracy", "check_accuracy")
    _checkers.expect(check, lambda z, y: answer(module, z, y), right, message)


def _right(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def _zero_grad_last(model, optimizer, loss_fn, xb, yb):
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    model.zero_grad()
    return loss.item()


def _returns_tensor(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss


def _no_zero_grad(model, optimizer, loss_fn, xb, yb):
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def _no_step(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    return loss.item()


def _step_before_backward(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    optimizer.step()
    loss.backward()
    return loss.item()


def _zero_grad_between(model, optimizer, loss_fn, xb, yb):
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def _backward_twice(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    loss.backward()
    optimizer.step()
    return loss.item()


def _backward_twice_retained(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward(retain_graph=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def _no_return(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()


def _loss_after_step(model, optimizer, loss_fn, xb, yb):
    _right(model, optimizer, loss_fn, xb, yb)
    return loss_fn(model(xb), yb).item()


def _returns_string(model, optimizer, loss_fn, xb, yb):
    return f"{_right(model, optimizer, loss_fn, xb, yb):.4f}"


def _forward_under_no_grad(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    with _torch_of(xb).no_grad():
        loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def _swapped_arguments(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss = loss_fn(yb, model(xb))
    loss.backward()
    optimizer.step()
    return loss.item()


def _other(model, optimizer, loss_fn, xb, yb):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    (2 * loss).backward()
    optimizer.step()
    optimizer.step()
    return loss.item()


def _torch_of(t):
    return nbtorch if isinstance(t, nbtorch.Tensor) else pytest.importorskip("torch")


TRAIN_STEP = [
    pytest.param(_right, True, "Correct: three steps", id="right"),
    pytest.param(_zero_grad_last, True, "Correct", id="right-zero-grad-last"),
    pytest.param(_returns_tensor, True, "Correct", id="right-returns-tensor"),
    pytest.param(_no_zero_grad, False, "without optimizer.zero_grad()", id="no-zero-grad"),
    pytest.param(_no_step, False, "call optimizer.step() after loss.backward()", id="no-step"),
    pytest.param(_step_before_backward, False, "weights never moved: call optimizer.step()",
                 id="step-before-backward"),
    pytest.param(_zero_grad_between, False, "not between backward() and step()",
                 id="zero-grad-between"),
    pytest.param(_backward_twice, False, "called loss.backward() twice", id="backward-twice"),
    pytest.param(_backward_twice_retained, False, "twice too big", id="backward-retained"),
    pytest.param(_no_return, False, "returns None: end with `return loss.item()`",
                 id="no-return"),
    pytest.param(_loss_after_step, False, "not the loss of the batch before the step",
                 id="loss-after-step"),
    pytest.param(_returns_string, False, "returns str", id="string"),
    pytest.param(_forward_under_no_grad, False, "not compute it under torch.no_grad()",
                 id="no-grad"),
    pytest.param(_swapped_arguments, False, "loss_fn(logits, yb), logits first", id="swapped"),
    pytest.param(_other, False, "Not yet: after step 1", id="other"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), TRAIN_STEP)
def test_train_step_checker(library, answer, right, message):
    check = _checker(_checkers.library(library), "train-step", "check_train_step")
    _checkers.expect(check, answer, right, message)

"""05 · Optimizers compared: the printed step sizes follow the update rules, the trajectories end
where they should, the losses come out in the expected order, the scheduler helps, and the two
exercise checkers judge right and typical wrong answers, under nbtorch and (when installed)
PyTorch."""

from __future__ import annotations

import contextlib
import math
import re

import pytest

import nbtorch
from tests.notebooks import _checkers
from tests.notebooks._nb import cell_tagged, mime_types, text_of

NB = "05_optimizers_compared.ipynb"


def _rows(text: str, first_word: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.split()[:1] == [first_word]]


def test_first_moves_follow_the_update_rules(executed):
    text = text_of(cell_tagged(executed(NB), "first-moves"))
    moves = {}
    for line in text.splitlines()[1:]:
        name, _, _, g, *steps = line.split()
        moves[name, float(g)] = [float(s) for s in steps]
    lr = 0.1
    for g in (100.0, 0.01):
        assert moves["SGD", g] == pytest.approx([-lr * g] * 3, abs=1e-4)
        # b = g, 1.9 g, 2.71 g: the velocity builds up towards g / (1 - 0.9)
        assert moves["momentum", g] == pytest.approx([-lr * g * k for k in (1, 1.9, 2.71)],
                                                      abs=1e-3)
        assert moves["Adam", g] == pytest.approx([-lr] * 3, abs=1e-4)  # the scale drops out
        # RMSprop, no bias correction: s = (1 - 0.99^t) g^2, so the step is lr / sqrt(1 - 0.99^t)
        assert moves["RMSprop", g] == pytest.approx(
            [-lr / math.sqrt(1 - 0.99**t) for t in (1, 2, 3)], abs=1e-3)


def test_trajectories_on_the_rosenbrock_valley(executed):
    nb = executed(NB)
    text = text_of(cell_tagged(nb, "valley-table"))
    final = {r[0]: (float(r[1]), float(r[2])) for r in (line.split()
             for line in text.splitlines()[1:])}
    assert list(final) == ["SGD", "momentum", "RMSprop", "Adam"]
    for name in ("momentum", "Adam"):
        f, distance = final[name]
        assert distance < 0.05 and f < 1e-3, name  # they end at the minimum (1, 1)
    assert final["SGD"][1] > 0.3 and final["RMSprop"][1] > 0.1  # still on their way
    assert final["SGD"][0] > 100 * max(final["momentum"][0], final["Adam"][0])
    for tag in ("valley-plot", "lr-plot", "spirals", "network-plot", "schedule-plot"):
        assert "image/png" in mime_types(cell_tagged(nb, tag)), tag


def test_learning_rates_on_the_quadratic(executed):
    text = text_of(cell_tagged(executed(NB), "lr-table"))
    start = float(re.search(r"start: f = (\d+\.\d+)", text).group(1))
    assert start == 13.0
    f = {float(r[2]): float(r[8]) for r in _rows(text, "lr")}
    assert list(f) == [0.01, 0.1, 0.19, 0.21]
    assert f[0.21] > 10 * start  # diverges: |1 - 10 lr| > 1
    assert f[0.1] < 0.05 and f[0.19] < 0.05
    assert f[0.01] > 1  # too small: far from done after 30 steps


def test_network_losses_in_the_expected_order(executed):
    cell = cell_tagged(executed(NB), "network-table")
    text = text_of(cell)
    table = {r[0]: [float(v) for v in r[1:]] for r in (line.split() for line in
             text.splitlines()[text.splitlines().index(
                 "optimizer   train loss   val loss   val accuracy") + 1:])}
    assert list(table) == ["SGD", "momentum", "RMSprop", "Adam"]
    train = {name: row[0] for name, row in table.items()}
    assert train["SGD"] > 5 * max(train["momentum"], train["RMSprop"], train["Adam"])
    assert train["Adam"] < min(train["momentum"], train["RMSprop"])
    for name in ("momentum", "RMSprop", "Adam"):
        assert table[name][2] >= 0.95, name
    # one monitor, a panel per optimizer, its final picture saved
    assert "image/svg+xml" in mime_types(cell)
    svg = next(o.data["image/svg+xml"] for o in cell.outputs
               if "image/svg+xml" in o.get("data", {}))
    assert "40 / 40 steps (100%)" in svg
    for name in ("SGD", "momentum", "RMSprop", "Adam"):
        assert f"{name} train" in svg and f"{name} val" in svg


def test_cosine_schedule_settles_lower(executed):
    text = text_of(cell_tagged(executed(NB), "schedule-table"))
    lrs = eval(text.splitlines()[0].split(":", 1)[1])  # noqa: S307 (a printed list of floats)
    assert lrs == [round(0.15 * (1 + math.cos(math.pi * e / 40)), 4) for e in (0, 10, 20, 30, 39)]
    rows = {r[0]: [float(v) for v in r[1:]] for r in (line.split() for line in
            text.splitlines()) if r[:1] in (["constant"], ["cosine"])}
    constant, cosine = rows["constant"], rows["cosine"]
    assert cosine[0] < constant[0] / 2  # training loss of the last epochs
    assert cosine[1] < constant[1] and cosine[2] < constant[2]  # validation: mean and worst


# --- the checkers, run in-process on right and wrong answers ------------------------------------
def _checker(module, exercise: str, name: str):
    """The checker ``name`` of ``exercise-<exercise>``, loaded with ``torch = module``."""
    return _checkers.load(NB, (f"exercise-{exercise}", f"checker-{exercise}"), module)[name]


def _momentum(rule, no_grad=True):
    """A learner's momentum_step from rule(t, param, velocity, grad, lr, mu) -> new velocity."""
    def step(param, velocity, lr, momentum):
        t = nbtorch if isinstance(param, nbtorch.Tensor) else pytest.importorskip("torch")
        context = t.no_grad() if no_grad else contextlib.nullcontext()
        with context:
            return rule(t, param, velocity, param.grad, lr, momentum)
    return step


def _m_right(t, p, v, g, lr, mu):
    v = mu * v + g
    p -= lr * v
    return v


def _m_inplace(t, p, v, g, lr, mu):
    v.mul_(mu).add_(g)
    p.sub_(lr * v)
    return v


def _m_lr_in_velocity(t, p, v, g, lr, mu):
    v = mu * v + lr * g
    p -= v
    return v


def _m_plain(t, p, v, g, lr, mu):
    p -= lr * g
    return v


def _m_sign(t, p, v, g, lr, mu):
    v = mu * v + g
    p += lr * v
    return v


def _m_dampened(t, p, v, g, lr, mu):
    v = mu * v + (1 - mu) * g
    p -= lr * v
    return v


def _m_old_velocity(t, p, v, g, lr, mu):
    p -= lr * v
    return mu * v + g


def _m_nesterov(t, p, v, g, lr, mu):
    v = mu * v + g
    p -= lr * (g + mu * v)
    return v


def _m_lr_twice(t, p, v, g, lr, mu):
    v = mu * v + lr * g
    p -= lr * v
    return v


def _m_rebind(t, p, v, g, lr, mu):
    v = mu * v + g
    p = p - lr * v  # noqa: F841 (the mistake: a new local tensor, param is unchanged)
    return v


def _m_no_return(t, p, v, g, lr, mu):
    p -= lr * (mu * v + g)


def _m_list(t, p, v, g, lr, mu):
    v = mu * v + g
    p -= lr * v
    return v.tolist()


def _m_other(t, p, v, g, lr, mu):
    v = 0.5 * v + g
    p -= lr * v
    return v


MOMENTUM = [
    pytest.param(_momentum(_m_right), True, "Correct: 6 steps", id="right"),
    pytest.param(_momentum(_m_inplace), True, "Correct", id="right-inplace"),
    pytest.param(_momentum(_m_lr_in_velocity), True, "Correct", id="right-lr-in-velocity"),
    pytest.param(_momentum(_m_plain), False, "plain SGD steps", id="plain-sgd"),
    pytest.param(_momentum(_m_sign), False, "sign is flipped", id="sign"),
    pytest.param(_momentum(_m_dampened), False, "dampening", id="dampened"),
    pytest.param(_momentum(_m_old_velocity), False, "stepped with the old velocity",
                 id="old-velocity"),
    pytest.param(_momentum(_m_nesterov), False, "Nesterov", id="nesterov"),
    pytest.param(_momentum(_m_lr_twice), False, "by lr twice", id="lr-twice"),
    pytest.param(_momentum(_m_right, no_grad=False), False, "inside `with torch.no_grad():`",
                 id="no-no-grad"),
    pytest.param(_momentum(_m_rebind), False, "param did not change", id="rebind"),
    pytest.param(_momentum(_m_no_return), False, "returns None: return the new velocity",
                 id="no-return"),
    pytest.param(_momentum(_m_list), False, "a tensor shaped like param", id="list"),
    pytest.param(_momentum(_m_other), False, "Not yet: after step 2", id="other"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), MOMENTUM)
def test_momentum_checker(library, answer, right, message):
    check = _checker(_checkers.library(library), "momentum", "check_momentum")
    _checkers.expect(check, answer, right, message)


def _adam(correct_m=True, correct_v=True, square=True, root=True, eps_inside=False, sign=1.0,
          power=True, keep_hat=False, full_g=False, use_g=False, t_shift=0, inplace=False,
          no_grad=True, returns="both"):
    """A learner's adam_step, right by default, with one typical mistake switched on."""
    def step(param, m, v, t, lr, beta1, beta2, eps):
        lib = nbtorch if isinstance(param, nbtorch.Tensor) else pytest.importorskip("torch")
        with lib.no_grad() if no_grad else contextlib.nullcontext():
            g = param.grad
            if inplace:
                m.mul_(beta1).add_((1 - beta1) * g)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            else:
                m = beta1 * m + (g if full_g else (1 - beta1) * g)
                v = beta2 * v + (1 - beta2) * (g**2 if square else g)
            n = t + t_shift
            c1 = 1 - beta1**n if power else 1 - beta1 * n
            c2 = 1 - beta2**n if power else 1 - beta2 * n
            m_hat = m / c1 if correct_m else m
            v_hat = v / c2 if correct_v else v
            if root:
                denom = lib.sqrt(v_hat + eps) if eps_inside else lib.sqrt(v_hat) + eps
            else:
                denom = v_hat + eps
            param -= sign * lr * (g if use_g else m_hat) / denom
        if returns == "none":
            return None
        if returns == "m":
            return m
        return (m_hat, v_hat) if keep_hat else (m, v)
    return step


ADAM = [
    pytest.param(_adam(), True, "Correct: 6 steps", id="right"),
    pytest.param(_adam(inplace=True), True, "Correct", id="right-inplace"),
    pytest.param(_adam(correct_m=False, correct_v=False), False, "No bias correction",
                 id="no-bias-correction"),
    pytest.param(_adam(correct_m=False), False, "corrected v but not m", id="only-v"),
    pytest.param(_adam(correct_v=False), False, "corrected m but not v", id="only-m"),
    pytest.param(_adam(sign=-1.0), False, "sign is flipped", id="sign"),
    pytest.param(_adam(square=False), False, "squared gradient", id="no-square"),
    pytest.param(_adam(root=False), False, "square root of v-hat", id="no-sqrt"),
    pytest.param(_adam(eps_inside=True), False, "eps goes outside", id="eps-inside"),
    pytest.param(_adam(power=False), False, "a power, not 1 - beta * t", id="product"),
    pytest.param(_adam(keep_hat=True), False, "uncorrected m and v", id="keeps-hat"),
    pytest.param(_adam(full_g=True), False, "left out (1 - beta1)", id="m-without-1-beta"),
    pytest.param(_adam(use_g=True), False, "not the gradient itself", id="uses-g"),
    pytest.param(_adam(t_shift=-1), False, "became NaN", id="t-from-0"),
    pytest.param(_adam(t_shift=1), False, "Not yet: after step 1", id="t-plus-1"),
    pytest.param(_adam(no_grad=False), False, "inside `with torch.no_grad():`",
                 id="no-no-grad"),
    pytest.param(_adam(returns="none"), False, "returns None: return (m, v)", id="no-return"),
    pytest.param(_adam(returns="m"), False, "two tensors shaped like param", id="returns-m"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), ADAM)
def test_adam_checker(library, answer, right, message):
    check = _checker(_checkers.library(library), "adam", "check_adam")
    _checkers.expect(check, answer, right, message)

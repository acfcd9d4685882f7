"""02 · Stepping through backpropagation: the steps it prints, that the stepper's final gradients
are identical to ``loss.backward()``'s, the per-node finite-difference check, and its two exercise
checkers (a matmul node's and a broadcast bias's gradients) on right and typical wrong answers."""

from __future__ import annotations

import re

import pytest

import nbtorch
from tests.notebooks import _checkers
from tests.notebooks._nb import cell_tagged, mime_types, text_of

NB = "02_stepping_through_backprop.ipynb"


def _numbers(text: str) -> list[float]:
    return [float(v) for v in text.split(", ") if v != "..."]


def test_neuron_steps(executed):
    nb = executed(NB)
    cell = cell_tagged(nb, "neuron-stepper")
    assert {"image/svg+xml", "application/vnd.jupyter.widget-view+json"} <= mime_types(cell)
    # refresh_static() replaced the picture frozen before the first step
    assert "BackwardStepper, step 7: AccumulateGrad" in text_of(cell)
    assert text_of(cell_tagged(nb, "neuron-first")) == (
        "step 0: PowBackward0 (node 0)   rule: dy/dx = p * x^(p-1)\n"
        "   arrives: 1.0000\n"
        "   sends to SubBackward0 (node 1): -0.0875\n"
    )
    out = text_of(cell_tagged(nb, "neuron-steps"))
    ops = re.findall(r"^step (\d): (\w+)", out, flags=re.M)
    assert ops == [("1", "SubBackward0"), ("2", "TanhBackward0"), ("3", "AddBackward0"),
                   ("4", "AccumulateGrad"), ("5", "SumBackward0"), ("6", "MulBackward0"),
                   ("7", "AccumulateGrad")]
    assert "   b.grad: None -> -0.0075\n" in out
    assert "   w.grad: None -> [-0.0112, 0.0037] shape (2,)\n" in out
    assert out.endswith("8 steps, finished: True\n")


def test_navigation(executed):
    assert text_of(cell_tagged(executed(NB), "navigate")) == (
        "after back(2): current step 5   b.grad = tensor(-0.0075)   w.grad = None\n"
        "after jump(b): current step 4 (AccumulateGrad, names ['b'])\n"
        "after reset(): current step -1   b.grad = None\n"
        "after run():   finished True   w.grad = tensor([-0.0112,  0.0037])\n"
    )


def test_neuron_gradients_identical_to_backward(executed):
    lines = text_of(cell_tagged(executed(NB), "neuron-identical")).splitlines()
    assert [line[:2] for line in lines] == ["w:", "b:"]
    assert all(line.endswith("identical: True") for line in lines)


def test_network_steps_and_fanout(executed):
    nb = executed(NB)
    assert "BackwardStepper, step 13: AccumulateGrad" in text_of(cell_tagged(nb, "mlp-stepper"))
    out = text_of(cell_tagged(nb, "mlp-steps")).splitlines()
    assert out[-1] == "14 steps for 14 nodes"  # a TBackward0 per layer, as in PyTorch
    steps = out[:-1]
    assert len(steps) == 14
    summed = [line for line in steps if "sum of 2 parts" in line]
    assert len(summed) == 1 and summed[0].startswith("step 13: AccumulateGrad")
    fan = text_of(cell_tagged(nb, "mlp-fanout"))
    assert "(node 13 = 0.weight)" in fan
    arrived = _numbers(re.search(r"arrives: \[(.*?)\]", fan).group(1))
    parts = [_numbers(p) for p in re.findall(r"part from \w+ \(node \d+\): \[(.*?)\]", fan)]
    assert len(parts) == 2 and "part from PowBackward0" in fan and "from TBackward0" in fan
    assert arrived == pytest.approx([a + b for a, b in zip(*parts)], abs=2e-4)
    # a second pass without zero_grad adds to what the first left in .grad
    acc = text_of(cell_tagged(nb, "accumulate"))
    added = float(re.search(r"arrives: \[(.*?)\]", acc).group(1))
    before, after = map(float, re.search(r"2\.bias\.grad: \[(.*?)\] shape \(1,\) -> \[(.*?)\]",
                                         acc).groups())
    assert before != 0 and after == pytest.approx(before + added, abs=2e-4)


def test_finite_difference_check(executed):
    out = text_of(cell_tagged(executed(NB), "fd-check"))
    ok = re.findall(r"^step +\d+: (\w+) +ok: largest difference (\S+)$", out, flags=re.M)
    assert [op for op, _ in ok] == ["AddmmBackward0", "TBackward0", "TanhBackward0",
                                  "AddmmBackward0", "TBackward0"]
    assert all(float(diff) < 1e-5 for _, diff in ok)
    assert "mismatch" not in out
    assert "(c) AccumulateGrad only adds the gradient into .grad: nothing to check" in out


def test_network_gradients_identical_to_backward(executed):
    """The stepper's final gradients are bit for bit those of loss.backward()."""
    lines = text_of(cell_tagged(executed(NB), "mlp-identical")).splitlines()
    assert [line.split()[0] for line in lines[:4]] == ["0.weight", "0.bias", "2.weight",
                                                        "2.bias"]
    assert all("largest difference 0.0e+00  identical: True" in line for line in lines[:4])
    assert lines[4] == "14 steps, finished: True"


def test_exercise_setup_hides_the_answer(executed):
    nb = executed(NB)
    setup = text_of(cell_tagged(nb, "exercise-setup"))
    assert setup == ("step 5: MmBackward0, the node of z = h @ W2\n"
                     "   arrives (grad_C): (4, 3)\n"
                     "   sends to TanhBackward0 (node 7): (4, 5)\n"
                     "   sends to AccumulateGrad (node 6): (5, 3)\n")
    assert "Bᵀ" not in setup
    bias = text_of(cell_tagged(nb, "bias-step"))
    assert "grad_o" in bias and "(3,)" not in bias


# --- the exercises' checkers, run in-process on right and wrong answers -------------------------
TAGS = ("setup", "show-step", "exercise-setup", "exercise-matmul", "checker-matmul",
        "exercise-bias", "checker-bias")


@pytest.fixture(scope="module")
def ns():
    """The notebook's setup, exercise and checker cells, run once in this process (the exercises
    read the graph and stepper the setup cells build; the setup imports nbtorch itself)."""
    return _checkers.load(NB, TAGS, nbtorch, unsolved=2)


MATMUL = [
    # answer(torch, A, B, G), is it right, what the checker must say
    pytest.param(lambda t, A, B, G: (G @ B.T, A.T @ G), True, "Correct", id="right"),
    pytest.param(lambda t, A, B, G: [t.matmul(G, B.t()), t.matmul(A.t(), G)], True, "Correct",
                 id="right-list"),
    pytest.param(lambda t, A, B, G: None, False, "Not done yet", id="none"),
    pytest.param(lambda t, A, B, G: (None, None), False, "Not done yet", id="nones"),
    pytest.param(lambda t, A, B, G: G @ B.T, False, "Return two tensors", id="one"),
    pytest.param(lambda t, A, B, G: (A.T @ G, G @ B.T), False, "swapped", id="swapped"),
    pytest.param(lambda t, A, B, G: (G @ B.T, G.T @ A), False, "grad_B is transposed: shape "
                 "(3, 5), it must have the shape of its input, (5, 3)", id="transposed-B"),
    pytest.param(lambda t, A, B, G: (B @ G.T, A.T @ G), False, "grad_A is transposed",
                 id="transposed-A"),
    pytest.param(lambda t, A, B, G: (A @ G, A.T @ G), False,
                 "Your function raised RuntimeError", id="raises"),
    pytest.param(lambda t, A, B, G: (G * B, A.T @ G), False, "Line up the shapes: A is (4, 5)",
                 id="elementwise"),
    pytest.param(lambda t, A, B, G: (-(G @ B.T), -(A.T @ G)), False,
                 "sign of grad_A is flipped", id="sign"),
    pytest.param(lambda t, A, B, G: (G @ B.T, A.T @ (A @ B)), False,
                 "grad_B uses the output C = A @ B", id="output"),
    pytest.param(lambda t, A, B, G: (t.ones_like(G) @ B.T, A.T @ G), False,
                 "grad_A ignores grad_C", id="ones"),
    pytest.param(lambda t, A, B, G: (G @ B.T, A.T @ A), False,
                 "grad_B has shape (5, 5), but it must have the shape of its input, (5, 3)",
                 id="wrong-shape"),
    pytest.param(lambda t, A, B, G: (G @ B.T, 3.0), False, "grad_B should be a tensor, not "
                 "float", id="number"),
    pytest.param(lambda t, A, B, G: (G @ B.T, 2 * A.T @ G), False,
                 "grad_B has the right shape (5, 3) but wrong values", id="other"),
]


@pytest.mark.parametrize(("answer", "right", "message"), MATMUL)
def test_matmul_checker(ns, answer, right, message):
    torch = ns["torch"]
    _checkers.expect(ns["check_matmul_backward"], lambda A, B, G: answer(torch, A, B, G), right,
                     message)


def test_matmul_checker_uses_the_engines_gradients(ns):
    """The answer is compared with what the engine sent at the node z = h @ W2."""
    seen = {}

    def answer(A, B, G):
        seen.update(A=A, B=B, G=G)
        return G @ B.T, A.T @ G

    assert _checkers.verdict(ns["check_matmul_backward"], answer)[0] is True
    step = ns["layer"].backward_run.steps[-1]
    assert step.name == "MmBackward0"
    torch = ns["torch"]
    assert torch.equal(seen["G"], step.grad_outputs[0])
    assert torch.equal(seen["A"], ns["h"].detach()) and torch.equal(seen["B"], ns["W2"].detach())


BIAS = [
    # answer(G), is it right, what the checker must say
    pytest.param(lambda G: G.sum(0), True, "Correct", id="right"),
    pytest.param(lambda G: G.sum(dim=0, keepdim=True).squeeze(0), True, "Correct",
                 id="right-squeezed"),
    pytest.param(lambda G: None, False, "Not done yet", id="none"),
    pytest.param(lambda G: G, False, "You return grad_o unchanged, shape (4, 3)",
                 id="unchanged"),
    pytest.param(lambda G: G.mean(0), False, "sum, not mean", id="mean"),
    pytest.param(lambda G: G.sum(1), False, "You summed over dim 1", id="dim1"),
    pytest.param(lambda G: G.sum(), False, "You summed over everything", id="all"),
    pytest.param(lambda G: G.sum(0, keepdim=True), False, "drop the kept dimension",
                 id="keepdim"),
    pytest.param(lambda G: G[0], False, "first row's gradient only", id="first-row"),
    pytest.param(lambda G: -G.sum(0), False, "The sign is flipped", id="sign"),
    pytest.param(lambda G: G[:2], False, "Wrong shape: (2, 3), expected (3,)", id="shape"),
    pytest.param(lambda G: G.sum(0).tolist(), False, "should return a tensor, not list",
                 id="list"),
    pytest.param(lambda G: G.sum(5), False, "Your function raised", id="raises"),
    pytest.param(lambda G: 2 * G.sum(0), False, "Not yet: you return", id="other"),
]


@pytest.mark.parametrize(("answer", "right", "message"), BIAS)
def test_bias_checker(ns, answer, right, message):
    _checkers.expect(ns["check_bias_backward"], answer, right, message)

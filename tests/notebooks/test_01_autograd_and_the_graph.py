"""01 · Autograd and the graph: the graphs it draws, what it prints about them, and its two
exercise checkers (softplus's and hypot's backward), run on right and typical wrong answers with
nbtorch and, where installed, with PyTorch."""

from __future__ import annotations

import pytest

import nbtorch
from tests.notebooks import _checkers
from tests.notebooks._nb import cell_tagged, mime_types, text_of

NB = "01_autograd_and_the_graph.ipynb"


def _svg(cell) -> str:
    """The static picture a cell displayed (a Graph, or a widget's fallback)."""
    pictures = [o.data["image/svg+xml"] for o in cell.outputs
                if "image/svg+xml" in o.get("data", {})]
    assert len(pictures) == 1, f"{len(pictures)} pictures"
    return pictures[0]


def test_small_expression_graph(executed):
    nb = executed(NB)
    svg = _svg(cell_tagged(nb, "expr-graph"))
    for label in (">Tanh<", ">Add<", ">Mul<", ">w<", ">b<"):
        assert label in svg, label
    assert svg.count('class="nbt-node ') == 5  # x needs no gradient: no node
    assert text_of(cell_tagged(nb, "expr-nodes")) == (
        "node 0: Tanh  output made by TanhBackward0\n"
        "node 1: Add   op     made by AddBackward0\n"
        "node 2: b     leaf   made by AccumulateGrad\n"
        "node 3: Mul   op     made by MulBackward0\n"
        "node 4: w     leaf   made by AccumulateGrad\n"
        "edge 1 -> 0: node 1 is input 0 of Tanh\n"
        "edge 3 -> 1: node 3 is input 0 of Add\n"
        "edge 2 -> 1: node 2 is input 1 of Add\n"
        "edge 4 -> 3: node 4 is input 0 of Mul\n"
    )


def test_nodes_are_grad_fns(executed):
    out = text_of(cell_tagged(executed(NB), "correspondence"))
    assert "Mul's next_functions:        [('AccumulateGrad', 0), (None, 0)]" in out
    checks = [line for line in out.splitlines() if line.startswith("edge ")]
    assert len(checks) == 4 and all(line.endswith(": True") for line in checks)


def test_mlp_graph(executed):
    nb = executed(NB)
    cell = cell_tagged(nb, "mlp-graph")
    assert {"image/svg+xml", "application/vnd.jupyter.widget-view+json"} <= mime_types(cell)
    svg = _svg(cell)
    for label in (">0.weight<", ">0.bias<", ">2.weight<", ">2.bias<", ">Relu<", ">MseLoss<"):
        assert label in svg, label
    rows = text_of(cell_tagged(nb, "mlp-nodes")).splitlines()
    assert rows[1].split() == ["0", "MseLoss", "-", "-", "loss", "[]"]
    assert rows[2].split() == ["1", "Addmm", "2", "-", "out", "[5,", "2]"]
    assert rows[4].split() == ["3", "T", "2", "-", "-", "[4,", "2]"]  # weight.t(), as in PyTorch
    assert rows[10].split() == ["9", "0.weight", "0", "0.weight", "-", "[4,", "3]"]
    assert rows[-1] == ("modules: {'': 'Sequential', '0': 'Linear', '1': 'ReLU', "
                        "'2': 'Linear'}")
    folded = _svg(cell_tagged(nb, "mlp-collapsed"))
    assert folded.count("nbt-module") == 2 and folded.count(">Linear<") == 2
    assert ">Relu<" in folded and ">0.weight<" not in folded


def test_fanout_and_leaves(executed):
    nb = executed(NB)
    cell = cell_tagged(nb, "fanout")
    out = text_of(cell)
    assert "dy/dx from autograd: 7.0" in out
    assert "one gradient per use: [2.0, 2.0, 3.0]  sum: 7.0" in out
    assert "Graph(4 nodes, 5 edges)" in out  # x * x: two edges from x to one node
    assert ">x<" in _svg(cell)
    leaves = text_of(cell_tagged(nb, "leaves"))
    assert "w    is_leaf=True  grad_fn=None" in leaves
    assert "h    is_leaf=False grad_fn=MulBackward0  retains_grad=True" in leaves
    assert "h.grad = tensor([  6., -12.,   3.])" in leaves
    assert "w.grad = tensor([ 18., -36.,   9.])" in leaves
    grads = text_of(cell_tagged(nb, "graph-grads"))
    assert "Mul  names=['h']    gradient: norm 13.7477" in grads


def test_record_magic_and_custom_function(executed):
    nb = executed(NB)
    svg = _svg(cell_tagged(nb, "magic"))
    for label in (">scores<", ">probs<", ">loss<", ">weight<", ">Sigmoid<"):
        assert label in svg, label
    custom = text_of(cell_tagged(nb, "custom-fn"))
    assert "grad_fn: MyExpBackward" in custom and "gradcheck: True" in custom
    assert ">MyExp<" in _svg(cell_tagged(nb, "custom-graph"))


# --- the exercises' checkers, run in-process on right and wrong answers -------------------------
# both exercises' cells, run with ``torch = module``: both checkers say "Not done yet"
TAGS = ("exercise-softplus", "checker-softplus", "exercise-hypot", "checker-hypot")


SOFTPLUS = [
    # backward(torch, grad_output, x), is it right, what the checker must say
    pytest.param(lambda t, g, x: g * t.sigmoid(x), True, "Correct", id="right"),
    pytest.param(lambda t, g, x: g * t.exp(x) / (1 + t.exp(x)), True, "Correct", id="formula"),
    pytest.param(lambda t, g, x: (g * t.sigmoid(x)).float(), True, "Correct", id="float32"),
    pytest.param(lambda t, g, x: None, False, "Not done yet", id="none"),
    pytest.param(lambda t, g, x: -g * t.sigmoid(x), False, "sign is flipped", id="sign"),
    pytest.param(lambda t, g, x: t.sigmoid(x), False, "multiply by grad_output", id="no-g"),
    pytest.param(lambda t, g, x: g / (1 + t.exp(x)), False, "u'/u", id="sigmoid-minus-x"),
    pytest.param(lambda t, g, x: g * t.exp(x), False, "only the inside", id="exp-only"),
    pytest.param(lambda t, g, x: g / (1 + x), False, "log1p's derivative at x", id="log1p-at-x"),
    pytest.param(lambda t, g, x: g * t.log1p(t.exp(x)), False, "is another function",
                 id="forward-value"),
    pytest.param(lambda t, g, x: (g * t.sigmoid(x))[:3], False,
                 "Wrong shape: (3,), expected (7,)", id="shape"),
    pytest.param(lambda t, g, x: (g * t.sigmoid(x)).sum(), False,
                 "Wrong shape: (), expected (7,)", id="summed"),
    pytest.param(lambda t, g, x: (g, g), False, "return one gradient", id="two"),
    pytest.param(lambda t, g, x: [1.0] * 7, False, "should return a tensor, not list", id="list"),
    pytest.param(lambda t, g, x: t.sigmod(x), False, "Your backward raised AttributeError",
                 id="raises"),
    pytest.param(lambda t, g, x: g * x, False, "Not yet: at x = ", id="other"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("rule", "right", "message"), SOFTPLUS)
def test_softplus_checker(library, rule, right, message):
    module = _checkers.library(library)
    ns = _checkers.load(NB, TAGS, module, unsolved=2)

    class Answer(ns["MySoftplus"]):
        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return rule(module, grad_output, x)

    _checkers.expect(ns["check_softplus"], Answer, right, message)


def test_softplus_checker_catches_a_changed_forward():
    ns = _checkers.load(NB, TAGS, nbtorch, unsolved=2)

    class Answer(ns["MySoftplus"]):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return nbtorch.relu(x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * nbtorch.sigmoid(x)

    verdict, printed = _checkers.verdict(ns["check_softplus"], Answer)
    assert verdict is False and "not with finite differences" in printed


HYPOT = [
    # backward(torch, grad_output, a, b, y) -> what it returns, is it right, the message
    pytest.param(lambda t, g, a, b, y: (g * a / y, g * b / y), True, "Correct", id="right"),
    pytest.param(lambda t, g, a, b, y: (g * a / t.sqrt(a * a + b * b), g * b / (a**2 + b**2)
                                        ** 0.5), True, "Correct", id="recompute"),
    pytest.param(lambda t, g, a, b, y: (g * a / y, g * b / y, None), True, "Correct",
                 id="extra-none"),
    pytest.param(lambda t, g, a, b, y: (None, None), False, "Not done yet", id="none"),
    pytest.param(lambda t, g, a, b, y: (g * b / y, g * a / y), False, "swapped", id="swapped"),
    pytest.param(lambda t, g, a, b, y: g * a / y, False, "returns 1 value(s)", id="one"),
    pytest.param(lambda t, g, a, b, y: (g * a / y, None), False, "gradient for b is None",
                 id="b-none"),
    pytest.param(lambda t, g, a, b, y: (g * a / y, -g * b / y), False,
                 "sign of b's gradient is flipped", id="sign-b"),
    pytest.param(lambda t, g, a, b, y: (a / y, b / y), False,
                 "a's gradient misses the chain rule's factor", id="no-g"),
    pytest.param(lambda t, g, a, b, y: (g * a, g * b), False, "forgot to divide by y",
                 id="no-divide"),
    pytest.param(lambda t, g, a, b, y: (2 * g * a, 2 * g * b), False, "the square root adds",
                 id="two-a"),
    pytest.param(lambda t, g, a, b, y: (g / (2 * y), g / (2 * y)), False,
                 "times the inner derivative 2a", id="outer-only"),
    pytest.param(lambda t, g, a, b, y: (g * a / (2 * y), g * b / (2 * y)), False,
                 "half the right value", id="half"),
    pytest.param(lambda t, g, a, b, y: ((g * a / y)[:3], g * b / y), False,
                 "Wrong shape for a's gradient: (3,), expected (6,)", id="shape"),
    pytest.param(lambda t, g, a, b, y: (g * a / y, [1.0] * 6), False,
                 "gradient for b should be a tensor, not list", id="list"),
    pytest.param(lambda t, g, a, b, y: (g * a * b / y, g * b / y), False,
                 "Not yet: a's gradient at a = ", id="other"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("rule", "right", "message"), HYPOT)
def test_hypot_checker(library, rule, right, message):
    module = _checkers.library(library)
    ns = _checkers.load(NB, TAGS, module, unsolved=2)

    class Answer(ns["MyHypot"]):
        @staticmethod
        def backward(ctx, grad_output):
            a, b, y = ctx.saved_tensors
            return rule(module, grad_output, a, b, y)

    _checkers.expect(ns["check_hypot"], Answer, right, message)

"""Recording: custom ``autograd.Function`` (PyTorch's contract) and the ``grad_fn`` nodes it
records, compared with PyTorch on the same code wherever PyTorch is installed."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import both, cube_function, needs_torch, real_torch
from tests.helpers import values_of as _values

# --- custom Function ----------------------------------------------------------------------------



@both
def test_save_for_backward_and_saved_tensors(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = cube_function(m).apply(x)
    assert y.grad_fn.name() == "CubeBackward"
    saved = y.grad_fn.saved_tensors
    assert type(saved) is tuple and saved[0] is x
    y.backward(m.ones(2))
    np.testing.assert_allclose(_values(x.grad), [3.0, 12.0])


@both
def test_saved_tensors_are_freed_after_backward(m):
    x = m.tensor(2.0, requires_grad=True)
    y = cube_function(m).apply(x)
    y.backward()
    with pytest.raises(RuntimeError, match=r"^Trying to backward through the graph a second time "
                                           r"\(or directly access saved tensors after they have "
                                           r"already been freed\)"):
        _ = y.grad_fn.saved_tensors
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


@both
def test_saved_tensors_survive_retain_graph(m):
    x = m.tensor(2.0, requires_grad=True)
    y = cube_function(m).apply(x)
    y.backward(retain_graph=True)
    assert y.grad_fn.saved_tensors[0] is x
    y.backward()
    assert x.grad.item() == 24.0


@both
def test_double_backward_through_a_custom_function(m):
    x = m.tensor(2.0, requires_grad=True)
    (d1,) = m.autograd.grad(cube_function(m).apply(x), x, create_graph=True)
    (d2,) = m.autograd.grad(d1, x)
    assert (d1.item(), d2.item()) == (12.0, 12.0)


@both
def test_needs_input_grad(m):
    seen = []

    class Scale(m.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append(("forward", ctx.needs_input_grad))
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            seen.append(("backward", ctx.needs_input_grad))
            return g, None, None

    x = m.tensor([1.0, 2.0], requires_grad=True)
    Scale.apply(x, m.tensor([1.0, 1.0]), 3).backward(m.ones(2))
    assert seen == [("forward", (True, False, False)), ("backward", (True, False, False))]


@both
def test_forward_does_not_record_and_backward_runs_without_grad(m):
    modes = []

    class Double(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            z = a * 2
            modes.append(("forward", m.is_grad_enabled(), z.requires_grad))
            return z

        @staticmethod
        def backward(ctx, g):
            modes.append(("backward", m.is_grad_enabled()))
            return g * 2

    x = m.tensor([1.0], requires_grad=True)
    y = Double.apply(x)
    assert y.grad_fn.name() == "DoubleBackward"
    assert y.grad_fn.next_functions[0][0].variable is x
    y.backward(m.ones(1))
    assert modes == [("forward", False, False), ("backward", False)]


@both
def test_apply_under_no_grad_records_nothing(m):
    x = m.tensor([1.0], requires_grad=True)
    with m.no_grad():
        y = cube_function(m).apply(x)
    assert not y.requires_grad and y.grad_fn is None


@both
def test_mark_non_differentiable(m):
    received = []

    class ValuesAndIndices(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, order = x * 1, m.tensor([1, 0])
            doubled = x * 2
            ctx.mark_non_differentiable(order, doubled)
            return values, order, doubled

        @staticmethod
        def backward(ctx, g, g_order, g_doubled):
            received.append(_values(g_doubled).tolist())  # zeros, as in PyTorch
            return g

    x = m.tensor([1.0, 2.0], requires_grad=True)
    values, order, doubled = ValuesAndIndices.apply(x)
    assert values.requires_grad and not order.requires_grad and not doubled.requires_grad
    assert order.grad_fn is None and doubled.grad_fn is None
    values.backward(m.ones(2))
    np.testing.assert_array_equal(_values(x.grad), [1.0, 1.0])
    assert received == [[0.0, 0.0]]


@both
def test_multiple_outputs_share_one_node(m):
    got = []

    class Two(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, ga, gb):
            got.append((ga.item(), gb.item()))  # the unused output's gradient is materialized
            return ga * 2 + gb * 3

    x = m.tensor(1.0, requires_grad=True)
    p, q = Two.apply(x)
    assert p.grad_fn is q.grad_fn and q.output_nr == 1
    p.backward()
    assert got == [(1.0, 0.0)] and x.grad.item() == 2.0
    x.grad = None
    p, q = Two.apply(x)
    (p * 10 + q).backward()
    assert got[-1] == (10.0, 1.0) and x.grad.item() == 23.0


@both
def test_set_materialize_grads_false_passes_none(m):
    got = []

    class Two(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.set_materialize_grads(False)
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, ga, gb):
            got.append(gb)
            return ga * 2

    x = m.tensor(1.0, requires_grad=True)
    p, _ = Two.apply(x)
    p.backward()
    assert got == [None]
    assert p.grad_fn.metadata == {}  # the flag is not user metadata


@both
def test_wrong_number_of_gradients(m):
    class MyFn(m.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    x = m.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^function MyFnBackward returned an incorrect number "
                                           r"of gradients \(expected 2, got 1\)$"):
        MyFn.apply(x, x).backward(m.ones(2))

    class TooMany(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    with pytest.raises(RuntimeError, match=r"^function TooManyBackward returned an incorrect "
                                           r"number of gradients \(expected 1, got 2\)$"):
        TooMany.apply(x).backward(m.ones(2))


@both
def test_backward_must_return_tensors(m):
    """A list (or a number) is not a gradient: PyTorch's error, not a silent conversion."""

    class Listy(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return [2.0, 2.0]

    x = m.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^expected Variable or None \(got list\)$"):
        Listy.apply(x).backward(m.ones(2))
    assert x.grad is None


@both
def test_extra_trailing_none_gradients_are_accepted(m):
    class Extra(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None

    x = m.ones(2, requires_grad=True)
    Extra.apply(x).backward(m.ones(2))
    np.testing.assert_array_equal(_values(x.grad), [2.0, 2.0])


@both
def test_none_gradient_for_an_input_that_requires_grad(m):
    class FirstOnly(m.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, None

    a, b = m.tensor(1.0, requires_grad=True), m.tensor(2.0, requires_grad=True)
    FirstOnly.apply(a, b).backward()
    assert a.grad.item() == 1.0 and b.grad is None


@both
def test_gradient_of_the_wrong_shape(m):
    class WrongShape(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return m.ones(3)

    with pytest.raises(RuntimeError, match=r"^Function WrongShapeBackward returned an invalid "
                                           r"gradient at index 0 - got \[3\] but expected shape "
                                           r"compatible with \[2\]$"):
        WrongShape.apply(m.ones(2, requires_grad=True)).backward(m.ones(2))


@both
def test_ctx_attributes_and_non_tensor_outputs(m):
    class Scaled(m.autograd.Function):
        @staticmethod
        def forward(ctx, a, scale):
            ctx.scale = scale
            return a * scale, "note"

        @staticmethod
        def backward(ctx, g, _):
            return g * ctx.scale, None

    x = m.tensor(2.0, requires_grad=True)
    y, note = Scaled.apply(x, 5.0)
    assert note == "note" and y.grad_fn.scale == 5.0
    y.backward()
    assert x.grad.item() == 5.0


@both
def test_returning_an_input_unchanged(m):
    class Identity(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = Identity.apply(x)
    assert y is not x and y.grad_fn.name() == "IdentityBackward"
    y.backward(m.ones(2))
    np.testing.assert_array_equal(_values(x.grad), [5.0, 5.0])


def test_function_without_backward():
    class NoBackward(nbtorch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

    x = nbtorch.ones(1, requires_grad=True)
    with pytest.raises(NotImplementedError, match="You must implement either the backward"):
        NoBackward.apply(x).backward(nbtorch.ones(1))


# --- grad_fn as PyTorch shows it -----------------------------------------------------------------


def _structure(fn, depth=0):
    """The graph below ``fn`` as nested (name, children) tuples; ``None`` for an edge-less input."""
    if fn is None:
        return None
    name = fn.name().split("::")[-1]  # PyTorch: torch::autograd::AccumulateGrad
    return (name, tuple((_structure(child, depth + 1), nr) for child, nr in fn.next_functions))


EXPRESSIONS = [
    "x * c + x.exp()",
    "x * 2",
    "2 * x",
    "x + 1",
    "1 + x",
    "x - x",
    "x * x",
    "x.detach() * x",
    "(x.sin() * w).exp() / w",
    "-(x * x) + w.tanh()",
    "x.sigmoid() * c.sqrt()",
    "x.sum()",
    "(x * w).sum() * 3",
]


@needs_torch
@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_grad_fn_structure_and_names_match_pytorch(expr):
    if ".sum()" in expr and not hasattr(nbtorch.Tensor, "sum"):
        pytest.skip("Tensor.sum arrives with ops/reduce.py")
    structures = []
    for m in (nbtorch, real_torch):
        x = m.tensor([0.5, 1.5], requires_grad=True)
        w = m.tensor([2.0, 3.0], requires_grad=True)
        c = m.tensor([3.0, 4.0])
        structures.append(_structure(eval(expr, {"m": m, "x": x, "w": w, "c": c}).grad_fn))
    assert structures[0] == structures[1]


def test_accumulate_grad_is_shared_and_points_at_its_leaf():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x * nbtorch.tensor([3.0, 4.0]) + x.exp()
    mul, exp = (fn for fn, _ in y.grad_fn.next_functions)
    acc = mul.next_functions[0][0]
    assert acc is exp.next_functions[0][0]
    assert acc.variable is x and acc.name() == "AccumulateGrad"
    assert acc.next_functions == ()
    assert mul.next_functions[1] == (None, 0)
    assert repr(acc).startswith("<AccumulateGrad object at 0x")
    assert repr(mul).startswith("<MulBackward0 object at 0x")


@both
def test_node_hooks(m):
    log = []
    x = m.tensor([1.0, 2.0], requires_grad=True)
    c = m.tensor([3.0, 4.0])
    y = x * c
    pre = y.grad_fn.register_prehook(lambda go: log.append(("pre", _values(go[0]).tolist())))
    y.grad_fn.register_hook(lambda gi, go: log.append(
        ("post", _values(gi[0]).tolist(), gi[1], _values(go[0]).tolist())))
    y.backward(m.ones(2), retain_graph=True)
    assert log == [("pre", [1.0, 1.0]), ("post", [3.0, 4.0], None, [1.0, 1.0])]
    pre.remove()
    log.clear()
    y.backward(m.ones(2))
    assert [entry[0] for entry in log] == ["post"]


@both
def test_node_hooks_can_replace_gradients(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    c = m.tensor([3.0, 4.0])
    y = x * c
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 10, None))
    y.backward(m.ones(2))
    np.testing.assert_array_equal(_values(x.grad), [30.0, 40.0])
    x.grad = None
    y = x * c
    y.grad_fn.register_prehook(lambda go: (go[0] * 3,))
    y.backward(m.ones(2))
    np.testing.assert_array_equal(_values(x.grad), [9.0, 12.0])


@both
def test_metadata_is_a_persistent_dict(m):
    x = m.tensor([1.0], requires_grad=True)
    y = x * 2
    assert y.grad_fn.metadata == {}
    y.grad_fn.metadata["name"] = "double"
    assert y.grad_fn.metadata == {"name": "double"}
    assert (y * 1).grad_fn.next_functions[0][0].metadata["name"] == "double"


# --- next_functions lists the inputs PyTorch's node lists -----------------------------------------
def _next_names(t) -> list:
    return [None if f is None else f.name() for f, _ in t.grad_fn.next_functions]


NEXT_FUNCTIONS = [
    # the op on x2 = x * 2, what PyTorch's grad_fn lists (indices, masks and targets are no edges)
    ("where", lambda m, x2: m.where(x2 > 0, x2, x2 * 3), ["MulBackward0", "MulBackward0"]),
    ("masked_fill", lambda m, x2: x2.masked_fill(x2 > 0, 0.0), ["MulBackward0"]),
    ("masked_fill_tensor", lambda m, x2: x2.masked_fill(x2 > 0, x2.sum()),
     ["MulBackward0", "SumBackward0"]),
    ("embedding", lambda m, x2: m.nn.functional.embedding(m.tensor([0, 1]), x2),
     ["MulBackward0"]),
    ("nll_loss", lambda m, x2: m.nn.functional.nll_loss(x2, m.tensor([0, 2])), ["MulBackward0"]),
    ("cross_entropy", lambda m, x2: m.nn.functional.cross_entropy(x2, m.tensor([0, 2])),
     ["LogSoftmaxBackward0"]),
    ("cross_entropy_weighted", lambda m, x2: m.nn.functional.cross_entropy(
        x2, m.tensor([0, 2]), weight=m.ones(3)), ["LogSoftmaxBackward0"]),
    ("binary_cross_entropy", lambda m, x2: m.nn.functional.binary_cross_entropy(
        x2.sigmoid(), m.ones(2, 3)), ["SigmoidBackward0", None]),
    ("bce_with_logits", lambda m, x2: m.nn.functional.binary_cross_entropy_with_logits(
        x2, m.ones(2, 3), pos_weight=m.ones(3)), ["MulBackward0", None]),
    ("number_minus", lambda m, x2: 1 - x2, ["MulBackward0"]),  # RsubBackward1
    ("number_over", lambda m, x2: 2 / x2, ["ReciprocalBackward0", None]),  # MulBackward0
    ("outer", lambda m, x2: m.outer(x2[0], x2[1]), ["ViewBackward0", "SelectBackward0"]),
    ("lerp", lambda m, x2: m.lerp(x2, x2 * 3, 0.7), ["MulBackward0", "MulBackward0"]),
    ("lerp_tensor", lambda m, x2: m.lerp(x2, x2 * 3, x2.sigmoid()),
     ["MulBackward0", "MulBackward0", "SigmoidBackward0"]),
    ("addcmul", lambda m, x2: m.addcmul(x2, x2 * 3, x2 * 4, value=0.5),
     ["MulBackward0", "MulBackward0", "MulBackward0"]),
    ("addcdiv", lambda m, x2: m.addcdiv(x2, x2 * 3, x2.exp()),
     ["MulBackward0", "MulBackward0", "ExpBackward0"]),
]

NODE_NAMES = {"number_minus": "RsubBackward1", "number_over": "MulBackward0",
              "outer": "MulBackward0", "lerp": "LerpBackward0", "lerp_tensor": "LerpBackward1",
              "addcmul": "AddcmulBackward0", "addcdiv": "AddcdivBackward0"}


@both
@pytest.mark.parametrize(("op", "expected"), [(f, e) for _, f, e in NEXT_FUNCTIONS],
                         ids=[n for n, _, _ in NEXT_FUNCTIONS])
def test_next_functions_lists_what_pytorch_lists(m, op, expected):
    x = m.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], requires_grad=True)
    out = op(m, x * 2)
    assert _next_names(out) == expected
    name = next((n for n, f, _ in NEXT_FUNCTIONS if f is op), None)
    if name in NODE_NAMES:
        assert out.grad_fn.name() == NODE_NAMES[name]
    out.sum().backward()  # the gradients still reach x through the edges that are left
    assert x.grad is not None and x.grad.shape == x.shape


@both
def test_clamp_by_numbers_is_clampbackward1(m):
    x = m.tensor([0.5, -1.0, 2.0], requires_grad=True)
    assert x.clamp(min=0).grad_fn.name() == x.clamp(0, 1).grad_fn.name() == "ClampBackward1"

"""The backward engine, grad modes, hooks, in-place safety, anomaly mode and events, checked
against PyTorch on the same code wherever PyTorch is installed (``m`` is nbtorch or torch)."""

from __future__ import annotations

import gc
import inspect
import math
import time
import warnings
import weakref

import numpy as np
import pytest

import nbtorch
from nbtorch.autograd import Step, backward_steps, events
from tests.helpers import both, needs_torch, real_torch
from tests.helpers import values_of as _values


def total(m, y):
    """``y.sum()``; before ops/reduce.py lands, the same sum as a custom Function."""
    if hasattr(m.Tensor, "sum"):
        return y.sum()

    class Total(m.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.shape = t.shape
            return m.tensor(float(_values(t).sum()), dtype=t.dtype)

        @staticmethod
        def backward(ctx, g):
            return g * m.ones(ctx.shape, dtype=g.dtype)

    return Total.apply(y)


# --- graph shapes ---------------------------------------------------------------------------------


@both
def test_diamond(m):
    x = m.tensor([0.5, -1.0, 2.0], requires_grad=True)
    a, b = x * 2, x.exp()
    total(m, a * b).backward()
    xs = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    np.testing.assert_allclose(_values(x.grad), 2 * np.exp(xs) * (1 + xs), rtol=1e-6)


@both
def test_fan_out(m):
    x = m.tensor([0.5, 1.0], requires_grad=True)
    total(m, x * 2 + x * 3 + x.sin()).backward()
    np.testing.assert_allclose(_values(x.grad), 5 + np.cos([0.5, 1.0]), rtol=1e-6)


@both
@pytest.mark.parametrize("expr,expected", [
    ("x * x", [2.0, 4.0]), ("x + x", [2.0, 2.0]), ("x - x", [0.0, 0.0]), ("x / x", [0.0, 0.0]),
    ("x ** x", None),
])
def test_tensor_used_as_both_inputs(m, expr, expected):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    eval(expr).backward(m.ones(2))
    if expected is None:  # d/dx x^x = x^x (ln x + 1)
        expected = [1.0, 4 * (math.log(2.0) + 1)]
    np.testing.assert_allclose(_values(x.grad), expected, rtol=1e-6, atol=1e-7)


@both
def test_several_roots_and_inputs_argument(m):
    x = m.tensor(1.0, requires_grad=True)
    w = m.tensor(2.0, requires_grad=True)
    m.autograd.backward([x * 2, x * w], [m.tensor(1.0), m.tensor(10.0)])
    assert (x.grad.item(), w.grad.item()) == (22.0, 10.0)
    x.grad = w.grad = None
    (x * w).backward(inputs=[x])
    assert x.grad.item() == 2.0 and w.grad is None


# --- retain_graph and freeing -------------------------------------------------------------------

FREES_SAVED = ["x * 3", "x * 3 + 1", "x / 2", "x.exp()", "x * x", "x.sin()", "(x + 1) * 2",
               "x.relu()", "x.tanh()", "x ** 2"]
SAVES_NOTHING = ["x + 1", "-x", "x - 1", "x.clone()", "x + x", "x - x"]


@both
@pytest.mark.parametrize("expr", FREES_SAVED + SAVES_NOTHING)
def test_second_backward_raises_only_when_saved_tensors_are_needed(m, expr):
    x = m.tensor(2.0, requires_grad=True)
    y = eval(expr)
    y.backward()
    first = x.grad.item()
    if expr in FREES_SAVED:
        with pytest.raises(RuntimeError) as info:
            y.backward()
        assert str(info.value) == (
            "Trying to backward through the graph a second time (or directly access saved tensors "
            "after they have already been freed). Saved intermediate values of the graph are freed "
            "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need "
            "to backward through the graph a second time or if you need to access saved tensors "
            "after calling backward."
        )
    else:
        y.backward()
        assert x.grad.item() == 2 * first


@both
def test_retain_graph_allows_a_second_backward(m):
    x = m.tensor(2.0, requires_grad=True)
    y = x.exp() * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * 3 * math.exp(2.0), rel=1e-6)
    (g,) = m.autograd.grad(x * x, x, retain_graph=True)
    assert g.item() == 4.0


@both
def test_gradients_accumulate_across_backward_calls(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (x * x).backward(m.ones(2))
    np.testing.assert_array_equal(_values(x.grad), [6.0, 12.0])
    x.grad.zero_()
    (x * 5).backward(m.ones(2))
    np.testing.assert_array_equal(_values(x.grad), [5.0, 5.0])
    x.grad = None
    (x * 7).backward(m.ones(2))
    np.testing.assert_array_equal(_values(x.grad), [7.0, 7.0])


@both
def test_intermediate_tensor_is_freed_after_backward(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    a = x * 2
    b = a * a  # saves its input a
    ref = weakref.ref(a)
    del a
    assert ref() is not None
    b.backward(m.ones(2))
    assert ref() is None


def test_graph_is_freed_with_its_output_without_the_garbage_collector():
    gc.disable()
    try:
        x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
        y = (x * 2).exp().sin()
        refs = [weakref.ref(y.grad_fn), weakref.ref(y.grad_fn.next_functions[0][0])]
        del y
        assert [r() for r in refs] == [None, None]  # no reference cycles
    finally:
        gc.enable()


def test_saved_tensors_are_released_by_backward():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp() * x
    mul = y.grad_fn
    exp = mul.next_functions[0][0]
    y.backward(nbtorch.ones(2))
    for node in (mul, exp):
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second"):
            _ = node.saved_tensors


def test_deep_chain_has_no_recursion_limit_and_is_fast():
    x = nbtorch.tensor(1.0, requires_grad=True)
    start = time.perf_counter()
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    elapsed = time.perf_counter() - start
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-3)
    assert elapsed < 5.0, f"10,000-op forward + backward took {elapsed:.2f}s"
    y2 = x
    for _ in range(10_000):
        y2 = y2.sin()
    del y2  # freeing a deep graph must not recurse either


# --- higher order ---------------------------------------------------------------------------------


@both
def test_third_derivative_of_x_to_the_fourth(m):
    x = m.tensor(1.5, requires_grad=True)
    (d1,) = m.autograd.grad(x ** 4, x, create_graph=True)
    (d2,) = m.autograd.grad(d1, x, create_graph=True)
    (d3,) = m.autograd.grad(d2, x)
    assert [d1.item(), d2.item(), d3.item()] == pytest.approx([4 * 1.5 ** 3, 12 * 1.5 ** 2, 36.0])
    assert not d3.requires_grad


@both
def test_repeated_derivatives_of_sin(m):
    x = m.tensor(0.5, dtype=m.float64, requires_grad=True)
    g, got = x.sin(), []
    for _ in range(4):
        (g,) = m.autograd.grad(g, x, create_graph=True)
        got.append(g.item())
    s, c = math.sin(0.5), math.cos(0.5)
    assert got == pytest.approx([c, -s, -c, s], rel=1e-12)


@both
def test_mixed_second_derivative(m):
    x = m.tensor(2.0, dtype=m.float64, requires_grad=True)
    w = m.tensor(3.0, dtype=m.float64, requires_grad=True)
    (dx,) = m.autograd.grad(x * w * w + x.exp(), x, create_graph=True)  # w² + e^x
    dxx, dxw = m.autograd.grad(dx, [x, w])
    assert (dxx.item(), dxw.item()) == pytest.approx((math.exp(2.0), 6.0))


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@both
def test_backward_with_create_graph(m):
    x = m.tensor(2.0, requires_grad=True)
    (x ** 3).backward(create_graph=True)
    assert x.grad.item() == 12.0 and x.grad.requires_grad
    (g2,) = m.autograd.grad(x.grad, x)
    assert g2.item() == 12.0


# --- autograd.grad --------------------------------------------------------------------------------


@both
def test_grad_leaves_dot_grad_alone_and_reaches_intermediates(m):
    x = m.tensor(2.0, requires_grad=True)
    h = x * 3
    y = h * h
    (gh,) = m.autograd.grad(y, h, retain_graph=True)
    assert gh.item() == 12.0 and x.grad is None and not gh.requires_grad
    gx, gh2 = m.autograd.grad(y, [x, h])
    assert (gx.item(), gh2.item()) == (36.0, 12.0)


@both
def test_grad_allow_unused_and_materialize_grads(m):
    x = m.tensor(1.0, requires_grad=True)
    z = m.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^The differentiated Tensor at index 1 appears to not "
                                           r"have been used in the graph. Set allow_unused=True if "
                                           r"this is the desired behavior.$"):
        m.autograd.grad(x * 2, [x, z])
    gx, gz = m.autograd.grad(x * 2, [x, z], allow_unused=True)
    assert gx.item() == 2.0 and gz is None
    gx, gz = m.autograd.grad(x * 2, [x, z], materialize_grads=True)
    assert gx.item() == 2.0 and _values(gz).tolist() == [0.0, 0.0]


@both
def test_grad_outputs(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    (g,) = m.autograd.grad(x * x, x, grad_outputs=m.tensor([1.0, 10.0]))
    np.testing.assert_array_equal(_values(g), [2.0, 40.0])
    with pytest.raises(RuntimeError, match=r"^Mismatch in shape: grad_output\[0\] has a shape of "
                                           r"torch.Size\(\[3\]\) and output\[0\] has a shape of "
                                           r"torch.Size\(\[2\]\).$"):
        m.autograd.grad(x * x, x, grad_outputs=m.ones(3))


@both
def test_non_scalar_backward_with_a_gradient(m):
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(gradient=m.tensor([1.0, 0.5, -1.0]))
    np.testing.assert_array_equal(_values(x.grad), [2.0, 2.0, -6.0])
    with pytest.raises(RuntimeError, match="^grad can be implicitly created only for scalar "
                                           "outputs$"):
        (x * x).backward()
    with pytest.raises(RuntimeError, match="^grad can be implicitly created only for scalar "
                                           "outputs$"):
        m.autograd.grad(x * x, x)


@both
def test_backward_of_a_tensor_that_does_not_require_grad(m):
    msg = "^element {} of tensors does not require grad and does not have a grad_fn$"
    with pytest.raises(RuntimeError, match=msg.format(0)):
        (m.tensor([1.0, 2.0]) * 2).backward(m.ones(2))
    x = m.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match=msg.format(1)):
        m.autograd.backward([x * 2, m.tensor(1.0)])
    with pytest.raises(RuntimeError, match=msg.format(0)):
        m.autograd.grad(m.tensor(1.0) * 2, x)


# --- tensor hooks and retain_grad -----------------------------------------------------------------


@both
def test_leaf_hooks(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h1 = x.register_hook(lambda g: seen.append(_values(g).tolist()))  # observes, returns None
    h2 = x.register_hook(lambda g: g * 2)
    x.register_hook(lambda g: g + 1)  # runs after h2, on its result
    (x * 3).backward(m.ones(2))
    assert seen == [[3.0, 3.0]]
    np.testing.assert_array_equal(_values(x.grad), [7.0, 7.0])
    h1.remove()
    h2.remove()
    x.grad = None
    (x * 3).backward(m.ones(2))
    np.testing.assert_array_equal(_values(x.grad), [4.0, 4.0])
    assert len(seen) == 1


@both
def test_non_leaf_hook_changes_what_flows_on(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    seen = []
    y.register_hook(lambda g: seen.append(_values(g).tolist()) or g * 10)
    (y * y).backward(m.ones(2))
    assert seen == [[6.0, 12.0]]
    np.testing.assert_array_equal(_values(x.grad), [180.0, 360.0])


@both
def test_a_backward_inside_a_hook_leaves_the_outer_pass_intact(m):
    """A hook that runs a backward pass of its own (autograd.grad) must leave the outer pass's
    grad mode and array mode as they were: the nodes after it still see their saved arrays."""
    x = m.tensor([1.0, 2.0], requires_grad=True)
    z = m.tensor([0.5, -1.0], requires_grad=True)
    inner = []

    def hook(g):
        with m.enable_grad():  # hooks run with grad mode off, as the backward pass does
            (dz,) = m.autograd.grad((z * z).sum(), z)
        inner.append(_values(dz).tolist())
        return g

    y = x.tanh()
    y.register_hook(hook)
    (y.sigmoid() * x).sum().backward()
    assert inner == [[1.0, -2.0]]
    s = np.tanh(np.array([1.0, 2.0], dtype=np.float32))
    sig = 1 / (1 + np.exp(-s))
    expected = sig + np.array([1.0, 2.0]) * sig * (1 - sig) * (1 - s * s)
    np.testing.assert_allclose(_values(x.grad), expected, rtol=1e-6)
    assert m.is_grad_enabled()


@both
def test_hook_on_a_tensor_without_grad(m):
    with pytest.raises(RuntimeError, match="^cannot register a hook on a tensor that doesn't "
                                           "require gradient$"):
        m.ones(2).register_hook(lambda g: g)


@both
def test_retain_grad(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = y * y
    assert y.retains_grad and not z.retains_grad and not x.retains_grad
    z.backward(m.ones(2), retain_graph=True)
    np.testing.assert_array_equal(_values(y.grad), [6.0, 12.0])
    z.backward(m.ones(2))  # retained gradients accumulate too
    np.testing.assert_array_equal(_values(y.grad), [12.0, 24.0])
    x.retain_grad()  # a no-op on a leaf
    with pytest.raises(RuntimeError, match="^can't retain_grad on Tensor that has "
                                           "requires_grad=False$"):
        m.ones(2).retain_grad()


# --- in-place safety ------------------------------------------------------------------------------


@both
def test_modified_saved_output_raises_pytorchs_error(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError) as info:
        y.backward(m.ones(2))
    assert str(info.value) == (
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: [torch.FloatTensor [2]], which is output 0 of Exp, is at version 1; expected "
        "version 0 instead. Hint: enable anomaly detection to find the operation that failed to "
        "compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."
    )


@needs_torch
@pytest.mark.parametrize("case", ["saved_input", "detached_alias", "scalar_output", "custom"])
def test_modified_saved_tensor_messages_match_pytorch(case):
    messages = []
    for m in (nbtorch, real_torch):
        class Twice(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x * 2
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, g):
                (y,) = ctx.saved_tensors
                return g * y

        x = m.tensor([1.0, 2.0], requires_grad=True)
        if case == "saved_input":
            a = x * 1
            y = a * a
            a.mul_(3)
        elif case == "detached_alias":
            a = x.detach()
            y = x * a
            a.add_(1)
        elif case == "scalar_output":
            x = m.tensor(0.5, dtype=m.float64, requires_grad=True)
            y = x.sigmoid()
            y.mul_(2)
        else:
            y = Twice.apply(x)
            y.sub_(1)
        with pytest.raises(RuntimeError) as info:
            y.backward(m.ones_like(y))
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@both
def test_in_place_on_a_non_leaf_that_nothing_saved(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    y.mul_(3)
    assert y.grad_fn.name() == "MulBackward0"
    y.backward(m.ones(2))
    np.testing.assert_array_equal(_values(x.grad), [6.0, 6.0])


@both
def test_in_place_on_a_leaf(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad is being used in "
                                           "an in-place operation.$"):
        x.add_(1)
    with m.no_grad():  # what optimizers do
        x.add_(1)
    assert x._version == 1 and x.is_leaf and x.grad_fn is None
    np.testing.assert_array_equal(_values(x), [2.0, 3.0])


@both
def test_version_counter(m):
    x = m.tensor([1.0, 2.0])
    assert x._version == 0
    x.add_(1)
    x.mul_(2)
    assert x._version == 2
    d = x.detach()
    d.add_(1)
    assert x._version == 3  # detach shares the version counter


# --- grad modes ---------------------------------------------------------------------------------


@both
def test_grad_mode_context_managers(m):
    x = m.tensor([1.0], requires_grad=True)
    with m.no_grad():
        assert not (x * 2).requires_grad and not m.is_grad_enabled()
        with m.enable_grad():
            assert (x * 2).requires_grad
        assert not m.is_grad_enabled()
    with m.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert m.is_grad_enabled()
    with m.inference_mode():
        assert not (x * 2).requires_grad
    with m.inference_mode(False):
        assert (x * 2).requires_grad


@both
def test_grad_modes_as_decorators(m):
    x = m.tensor([1.0], requires_grad=True)

    @m.no_grad()
    def frozen(t):
        return t * 2

    @m.enable_grad()
    def tracked(t):
        return t * 2

    @m.inference_mode()
    def inferred(t):
        return t * 2

    @m.no_grad()
    def generator():
        yield m.is_grad_enabled()
        yield m.is_grad_enabled()

    assert not frozen(x).requires_grad and not inferred(x).requires_grad
    with m.no_grad():
        assert tracked(x).requires_grad
    assert list(generator()) == [False, False] and m.is_grad_enabled()


@both
def test_set_grad_enabled_as_a_function_and_restore_on_error(m):
    m.set_grad_enabled(False)
    try:
        assert not m.is_grad_enabled()
    finally:
        m.set_grad_enabled(True)
    assert m.is_grad_enabled()
    with pytest.raises(ValueError):
        with m.no_grad():
            raise ValueError
    assert m.is_grad_enabled()


@both
def test_detach(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    d.zero_()
    assert _values(y).tolist() == [0.0, 0.0]  # same memory
    y.detach_()
    assert not y.requires_grad and y.grad_fn is None


@both
def test_requires_grad_errors(m):
    with pytest.raises(RuntimeError, match="^only Tensors of floating point dtype can require "
                                           "gradients$"):
        m.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="^only Tensors of floating point and complex dtype can "
                                           "require gradients$"):
        m.tensor([1, 2]).requires_grad = True
    with pytest.raises(RuntimeError, match="^Only Tensors of floating point and complex dtype can "
                                           "require gradients$"):
        m.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="^you can only change requires_grad flags of leaf "
                                           "variables."):
        (m.ones(1, requires_grad=True) * 2).requires_grad = False
    assert not m.tensor([1, 2]).requires_grad_(False).requires_grad


# --- backward_steps -------------------------------------------------------------------------------

GRAPHS = {
    "chain": lambda x, w: x.exp().sin().tanh(),
    "diamond": lambda x, w: (x * w).sin() + (x * w).exp(),
    "shared_diamond": lambda x, w: (lambda a: a.sin() * a.exp())(x * w),
    "fan_out": lambda x, w: x * 2 + x * 3 + x.sin(),
    "reuse": lambda x, w: (lambda a: (a * w).exp() * x)(x * w),
    "mlp": lambda x, w: ((x * w + 1).relu() * w).tanh() - x,
    "late_leaves": lambda x, w: (x.exp() * w.exp()).sigmoid() * x,
}


def _torch_order(y, grad):
    """The nodes PyTorch's engine runs, in order, recorded by a pre-hook on each node."""
    seen, stack, names = set(), [y.grad_fn], []
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        fn.register_prehook(lambda go, fn=fn: names.append(fn.name().split("::")[-1]))
        stack.extend(child for child, _ in fn.next_functions)
    y.backward(grad)
    return names


@needs_torch
@pytest.mark.parametrize("name", list(GRAPHS))
def test_backward_steps_follow_pytorchs_order(name):
    x = real_torch.tensor([0.5, 1.5], requires_grad=True)
    w = real_torch.tensor([2.0, -1.0], requires_grad=True)
    expected = _torch_order(GRAPHS[name](x, w), real_torch.ones(2))
    x = nbtorch.tensor([0.5, 1.5], requires_grad=True)
    w = nbtorch.tensor([2.0, -1.0], requires_grad=True)
    steps = list(backward_steps([GRAPHS[name](x, w)], [nbtorch.ones(2)]))
    assert [s.name for s in steps] == expected
    assert [s.index for s in steps] == list(range(len(steps)))


@pytest.mark.parametrize("name", list(GRAPHS))
def test_draining_backward_steps_equals_backward(name):
    grads = []
    for drain in (True, False):
        x = nbtorch.tensor([0.5, 1.5], requires_grad=True)
        w = nbtorch.tensor([2.0, -1.0], requires_grad=True)
        y = GRAPHS[name](x, w)
        if drain:
            for step in backward_steps([y], [nbtorch.ones(2)]):
                assert isinstance(step, Step)
        else:
            y.backward(nbtorch.ones(2))
        grads.append([_values(x.grad), None if w.grad is None else _values(w.grad)])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def test_steps_are_lazy_and_report_what_happened():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp() * 3
    steps = backward_steps([y], [nbtorch.ones(2)])
    first = next(steps)
    assert first.name == "MulBackward0" and x.grad is None  # nothing accumulated yet
    np.testing.assert_array_equal(_values(first.grad_outputs[0]), [1.0, 1.0])
    np.testing.assert_array_equal(_values(first.grad_inputs[0]), [3.0, 3.0])
    assert first.grad_inputs[1] is None and first.edges[1] == (None, 0)
    assert first.edges[0][0] is y.grad_fn.next_functions[0][0]
    exp, leaf = list(steps)
    assert (exp.name, leaf.name) == ("ExpBackward0", "AccumulateGrad")
    np.testing.assert_allclose(_values(leaf.grad_inputs[0]), 3 * np.exp([1.0, 2.0]), rtol=1e-6)
    np.testing.assert_allclose(_values(x.grad), 3 * np.exp([1.0, 2.0]), rtol=1e-6)
    assert repr(leaf) == "Step(2, AccumulateGrad)"


def test_user_code_between_steps_runs_in_its_own_grad_mode():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    steps = backward_steps([x.exp()], [nbtorch.ones(2)])
    next(steps)
    assert nbtorch.is_grad_enabled() and (x * 2).requires_grad
    list(steps)


# --- anomaly mode ---------------------------------------------------------------------------------


@both
def test_detect_anomaly_names_the_op_and_the_source_line(m):
    x = m.tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns that anomaly mode is slow
        with m.autograd.detect_anomaly():
            line = inspect.currentframe().f_lineno + 1
            y = x.sqrt() * 0  # sqrt'(0) = inf, and inf * 0 = nan
            y.backward(m.ones(2))
    msg = str(info.value)
    assert msg.splitlines()[0] == "Function 'SqrtBackward0' returned nan values in its 0th output."
    if m is nbtorch:
        assert f'{__file__}", line {line}: y = x.sqrt() * 0' in msg


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@both
def test_without_anomaly_mode_nan_passes_silently(m):
    x = m.tensor([0.0, 1.0], requires_grad=True)
    (x.sqrt() * 0).backward(m.ones(2))
    assert np.isnan(_values(x.grad)[0])


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_set_detect_anomaly_as_a_call_and_a_context():
    from nbtorch.autograd import is_anomaly_enabled, set_detect_anomaly

    set_detect_anomaly(True)
    assert is_anomaly_enabled()
    with set_detect_anomaly(False):
        assert not is_anomaly_enabled()
    assert is_anomaly_enabled()
    set_detect_anomaly(False)
    assert not is_anomaly_enabled()
    x = nbtorch.tensor([0.0], requires_grad=True)
    with nbtorch.autograd.detect_anomaly(check_nan=False):
        (x.sqrt() * 0).backward(nbtorch.ones(1))  # no error without the NaN check


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_anomaly_mode_remembers_the_first_forward_nan():
    from nbtorch.autograd.anomaly import ANOMALY

    x = nbtorch.tensor([-1.0, 4.0], requires_grad=True)
    with nbtorch.autograd.detect_anomaly():
        y = x.sqrt().exp()  # the NaN appears in sqrt and is only carried by exp
        name, where = ANOMALY.first_forward_nan
        del y
    assert name == "SqrtBackward0" and "y = x.sqrt().exp()" in where


# --- events ---------------------------------------------------------------------------------------


def test_events_are_announced_to_listeners():
    seen = []
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    with events.listen(seen.append):
        y = x.exp() * 2
        y.backward(nbtorch.ones(2))
    kinds = [type(e).__name__ for e in seen]
    assert kinds == ["NodeRecorded", "NodeRecorded", "BackwardStep", "BackwardStep",
                     "BackwardStep", "GradAccumulated"] or \
        kinds == ["NodeRecorded", "NodeRecorded", "BackwardStep", "BackwardStep",
                  "GradAccumulated", "BackwardStep"]
    recorded = [e for e in seen if isinstance(e, events.NodeRecorded)]
    assert [e.name for e in recorded] == ["ExpBackward0", "MulBackward0"]
    assert recorded[1].input_ids[0] == recorded[0].node_id and recorded[1].input_ids[1] is None
    assert recorded[0].shape == (2,) and recorded[0].dtype == "float32"
    assert recorded[0].device == "cpu"
    steps = [e for e in seen if isinstance(e, events.BackwardStep)]
    assert [(e.name, e.step) for e in steps] == [("MulBackward0", 0), ("ExpBackward0", 1),
                                                 ("AccumulateGrad", 2)]
    (acc,) = [e for e in seen if isinstance(e, events.GradAccumulated)]
    assert acc.tensor_id == id(x) and acc.shape == (2,)
    assert acc.norm == pytest.approx(float(np.linalg.norm(2 * np.exp([1.0, 2.0]))), rel=1e-6)
    count = len(seen)
    (x * 2).backward(nbtorch.ones(2))  # the handle was removed on exit
    assert len(seen) == count and not events.LISTENERS


def test_listener_handle_remove():
    seen = []
    handle = events.listen(seen.append)
    nbtorch.ones(1, requires_grad=True) * 2
    handle.remove()
    handle.remove()  # twice is harmless
    nbtorch.ones(1, requires_grad=True) * 2
    assert len(seen) == 1


def test_without_listeners_no_event_is_built(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an event record was built with nobody listening")

    for name in ("NodeRecorded", "BackwardStep", "GradAccumulated"):
        monkeypatch.setattr(events, name, refuse)
    assert not events.LISTENERS
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    (x.exp() * x).backward(nbtorch.ones(2))

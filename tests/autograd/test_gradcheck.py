"""gradcheck and gradgradcheck: they pass on correct gradients, catch wrong ones with PyTorch's
messages, and agree with PyTorch's own gradcheck on the same functions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nbtorch
from nbtorch.autograd import gradcheck, gradgradcheck
from nbtorch.autograd.gradcheck import GradcheckError

try:
    import torch as real_torch
except ImportError:  # pragma: no cover - depends on the machine
    real_torch = None

needs_torch = pytest.mark.skipif(real_torch is None, reason="PyTorch is not installed")


def _inputs(m, *arrays, device=None):
    kwargs = {} if device is None else {"device": device}
    return tuple(m.tensor(a, dtype=m.float64, requires_grad=True, **kwargs) for a in arrays)


def _square_with(m, factor):
    """A custom Function for x² whose backward returns ``factor * x * g`` (right when factor=2)."""

    class Square(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * factor * x

    return Square


CORRECT = [
    ("exp_times", lambda m, x: x.exp() * x, [[0.5, -1.0, 2.0]]),
    ("div_broadcast", lambda m, x, y: x / (y * y + 1), [[[0.5, 1.0], [2.0, -1.0]], [0.3, 0.7]]),
    ("tanh_pow", lambda m, x: x.tanh() ** 3, [[0.1, -0.4]]),
    ("two_outputs", lambda m, x, y: (x * y, x.sin() + y), [[0.2, 0.3], [1.5, -0.5]]),
    ("scalar", lambda m, x: (x * x).exp(), [0.7]),
]


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("name,fn,arrays", CORRECT, ids=[c[0] for c in CORRECT])
def test_gradcheck_passes_on_correct_gradients(name, fn, arrays, fast_mode, device):
    inputs = _inputs(nbtorch, *arrays, device=device)
    assert gradcheck(lambda *t: fn(nbtorch, *t), inputs, fast_mode=fast_mode) is True


def test_gradcheck_accepts_a_single_tensor_and_constant_inputs():
    x = nbtorch.tensor([0.5, 1.5], dtype=nbtorch.float64, requires_grad=True)
    c = nbtorch.tensor([2.0, 3.0], dtype=nbtorch.float64)
    assert gradcheck(lambda t: t.sin(), x)
    assert gradcheck(lambda t, k, n: t * k + n, (x, c, 3))


def test_gradcheck_is_reachable_as_in_pytorch():
    assert nbtorch.autograd.gradcheck is gradcheck
    assert nbtorch.autograd.gradgradcheck is gradgradcheck
    assert issubclass(GradcheckError, RuntimeError)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_gradcheck_catches_a_wrong_custom_backward(fast_mode):
    Square = _square_with(nbtorch, 1.0)  # should be 2
    (x,) = _inputs(nbtorch, [1.0, 2.0, 3.0])
    with pytest.raises(GradcheckError) as info:
        gradcheck(Square.apply, (x,), fast_mode=fast_mode)
    msg = str(info.value)
    assert msg.startswith("Jacobian mismatch for output 0 with respect to input 0,\nnumerical:")
    assert "\nanalytical:" in msg
    assert gradcheck(Square.apply, (x,), raise_exception=False, fast_mode=fast_mode) is False
    assert gradcheck(_square_with(nbtorch, 2.0).apply, (x,), fast_mode=fast_mode)


@needs_torch
@pytest.mark.parametrize("fast_mode", [False, True])
def test_mismatch_message_is_pytorchs(fast_mode):
    messages = []
    for m in (nbtorch, real_torch):
        (x,) = _inputs(m, [1.0, 2.0, 3.0])
        with pytest.raises(RuntimeError) as info:
            m.autograd.gradcheck(_square_with(m, 1.0).apply, (x,), fast_mode=fast_mode)
        messages.append(str(info.value))
    if fast_mode:  # the random projections differ; the slow-mode part that follows must not
        messages = [m[m.index("Below, we recompute"):] for m in messages]
        messages = [m[:m.index("The max per-element")] for m in messages]
    assert messages[0] == messages[1]


def test_mismatch_names_the_output_and_the_input():
    Square = _square_with(nbtorch, 1.0)
    a, b = _inputs(nbtorch, [1.0, 2.0], [0.5, 0.25])
    with pytest.raises(GradcheckError, match="for output 1 with respect to input 1,"):
        gradcheck(lambda x, y: (x * 2, Square.apply(y)), (a, b))


def test_jacobian_layout_is_input_by_output():
    from nbtorch.autograd.gradcheck import numerical_jacobian

    (x,) = _inputs(nbtorch, [1.0, 2.0])
    scale = nbtorch.tensor([3.0, 5.0], dtype=nbtorch.float64)
    ((jac,),) = numerical_jacobian(lambda t: t * scale, (x,))
    np.testing.assert_allclose(jac, np.diag([3.0, 5.0]), atol=1e-8)


def test_input_errors_and_warnings():
    x32 = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Input #0 requires gradient and is not a double"):
        gradcheck(lambda t: t * 2, (x32,), atol=1e-2, rtol=1e-2, raise_exception=False)
    with pytest.raises(ValueError, match="gradcheck expects at least one input tensor to require "
                                         "gradient, but none of them have requires_grad=True."):
        gradcheck(lambda t: t * 2, (nbtorch.tensor([1.0], dtype=nbtorch.float64),))
    broadcast = nbtorch.Tensor._wrap(np.broadcast_to(np.ones(1), (3,))).requires_grad_()
    with pytest.raises(RuntimeError, match="The 0th input has a dimension with stride 0"):
        gradcheck(lambda t: t * 2, (broadcast,))


def test_nondeterministic_backward_is_not_reentrant():
    rng = np.random.default_rng(0)

    class Noisy(nbtorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * (2 + float(rng.uniform(-1e-9, 1e-9)))

    (x,) = _inputs(nbtorch, [1.0, 2.0])
    with pytest.raises(GradcheckError, match="Backward is not reentrant"):
        gradcheck(Noisy.apply, (x,))
    assert gradcheck(Noisy.apply, (x,), nondet_tol=1e-6)


def test_backward_must_be_multiplied_by_grad_output():
    class IgnoresZeros(nbtorch.autograd.Function):
        """Right Jacobian, but a nonzero gradient when the incoming gradient is all zeros."""

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            if not any(g.tolist()):
                return nbtorch.ones_like(g)
            return g * 2

    (x,) = _inputs(nbtorch, [1.0, 2.0])
    with pytest.raises(GradcheckError, match="backward not multiplied by grad_output"):
        gradcheck(IgnoresZeros.apply, (x,))


def _two_outputs(materialize: bool, handles_none: bool):
    class TwoOutputs(nbtorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            if handles_none:
                ga = 0 if ga is None else ga
                gb = 0 if gb is None else gb
            return ga * 2 + gb * 3

    return TwoOutputs


def test_undefined_output_gradients():
    (x,) = _inputs(nbtorch, [1.0, 2.0])
    # Materialized (PyTorch's default): a missing gradient arrives as zeros.
    assert gradcheck(_two_outputs(True, handles_none=False).apply, (x,))
    assert gradcheck(_two_outputs(False, handles_none=True).apply, (x,))
    # Not materialized: backward gets None for the output that was not used, as in PyTorch.
    with pytest.raises(TypeError):
        gradcheck(_two_outputs(False, handles_none=False).apply, (x,))


def test_undefined_grad_sends_nothing_back():
    from nbtorch.autograd.gradcheck import UndefinedGrad

    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = UndefinedGrad.apply(x * 2)
    np.testing.assert_array_equal(y.detach().numpy(), [2.0, 4.0])
    assert nbtorch.autograd.grad(y, x, nbtorch.ones(2), allow_unused=True) == (None,)


def test_function_without_differentiable_outputs():
    (x,) = _inputs(nbtorch, [1.0, 2.0])
    assert gradcheck(lambda t: t > 1.5, (x,))  # a bool output: the numerical gradient is zero
    with pytest.raises(GradcheckError, match="Numerical gradient for function expected to be zero"):
        gradcheck(lambda t: (t * 2).detach(), (x,))


def test_gradgradcheck_passes_on_correct_second_derivatives(device):
    x, y = _inputs(nbtorch, [0.5, 1.5], [0.2, -0.3], device=device)
    assert gradgradcheck(lambda t: t.sin() * t, (x,))
    assert gradgradcheck(lambda a, b: a * a * b, (x, y))
    assert gradgradcheck(lambda t: t.exp() ** 2, (x,), fast_mode=True)
    go = nbtorch.tensor([1.0, -2.0], dtype=nbtorch.float64, device=device, requires_grad=True)
    assert gradgradcheck(lambda t: t ** 3, (x,), (go,))


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    class DetachedSquare(nbtorch.autograd.Function):
        """First derivative right; the second is lost because backward detaches ``x``."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x.detach()

    (x,) = _inputs(nbtorch, [0.5, 1.5])
    assert gradcheck(DetachedSquare.apply, (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to "
                                             "input 0"):
        gradgradcheck(DetachedSquare.apply, (x,))
    assert gradgradcheck(DetachedSquare.apply, (x,), raise_exception=False) is False


@needs_torch
@pytest.mark.parametrize("name,fn,arrays", CORRECT, ids=[c[0] for c in CORRECT])
def test_agrees_with_pytorchs_gradcheck(name, fn, arrays):
    for m in (nbtorch, real_torch):
        inputs = _inputs(m, *arrays)
        assert m.autograd.gradcheck(lambda *t, m=m: fn(m, *t), inputs)
        assert m.autograd.gradgradcheck(lambda *t, m=m: fn(m, *t), inputs)


def test_gradcheck_leaves_inputs_and_grad_mode_alone():
    (x,) = _inputs(nbtorch, [0.5, 1.5])
    before = x.detach().numpy().copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda t: t.exp(), (x,))
    np.testing.assert_array_equal(x.detach().numpy(), before)
    assert x.grad is None
    with nbtorch.no_grad():  # as in PyTorch: nothing is recorded, so nothing can be checked
        with pytest.raises(GradcheckError, match="Numerical gradient for function expected"):
            gradcheck(lambda t: t.exp(), (x,))
        assert not nbtorch.is_grad_enabled()

"""Tests of nbtorch/nn/functional/_activation.py: every activation against a numpy reference,
float64 finite differences (first and second derivatives) and PyTorch (values, gradients, node
names), the in-place variants, extreme inputs and PyTorch's errors and warnings."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, both, check_op, needs_torch, real_torch, values_of

RNG = np.random.default_rng(0)
# Values away from the kinks (0, ±3, the thresholds) so that finite differences are meaningful.
X = np.array([[-4.2, -2.5, -1.1, -0.4], [0.3, 0.9, 1.7, 2.6], [3.4, -0.7, 0.6, -3.3]])
X6 = np.array([[-1.5, 0.5, 2.5, 5.5], [6.5, 3.5, -0.2, 7.2]])
ERF = np.vectorize(math.erf)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _softplus(a, beta=1.0, threshold=20.0):
    return np.where(a * beta > threshold, a, np.log1p(np.exp(a * beta)) / beta)


SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805

# (id, fn(m, x), numpy reference, input, node name in PyTorch)
CASES = [
    ("relu", lambda m, x: m.nn.functional.relu(x), lambda a: np.maximum(a, 0), X,
     "ReluBackward0"),
    ("relu6", lambda m, x: m.nn.functional.relu6(x), lambda a: np.clip(a, 0, 6), X6,
     "HardtanhBackward0"),
    ("leaky_relu", lambda m, x: m.nn.functional.leaky_relu(x),
     lambda a: np.where(a > 0, a, 0.01 * a), X, "LeakyReluBackward0"),
    ("leaky_relu_slope", lambda m, x: m.nn.functional.leaky_relu(x, 0.2),
     lambda a: np.where(a > 0, a, 0.2 * a), X, "LeakyReluBackward0"),
    ("elu", lambda m, x: m.nn.functional.elu(x), lambda a: np.where(a > 0, a, np.expm1(a)), X,
     "EluBackward0"),
    ("elu_alpha", lambda m, x: m.nn.functional.elu(x, alpha=0.5),
     lambda a: np.where(a > 0, a, 0.5 * np.expm1(a)), X, "EluBackward0"),
    ("selu", lambda m, x: m.nn.functional.selu(x),
     lambda a: SELU_S * np.where(a > 0, a, SELU_A * np.expm1(a)), X, "EluBackward0"),
    ("celu", lambda m, x: m.nn.functional.celu(x, alpha=1.5),
     lambda a: np.where(a > 0, a, 1.5 * np.expm1(a / 1.5)), X, "CeluBackward0"),
    ("gelu", lambda m, x: m.nn.functional.gelu(x), lambda a: a * 0.5 * (1 + ERF(a / np.sqrt(2))),
     X, "GeluBackward0"),
    ("gelu_tanh", lambda m, x: m.nn.functional.gelu(x, approximate="tanh"),
     lambda a: 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a ** 3))), X,
     "GeluBackward0"),
    ("silu", lambda m, x: m.nn.functional.silu(x), lambda a: a * _sigmoid(a), X,
     "SiluBackward0"),
    ("mish", lambda m, x: m.nn.functional.mish(x), lambda a: a * np.tanh(np.log1p(np.exp(a))), X,
     "MishBackward0"),
    ("softplus", lambda m, x: m.nn.functional.softplus(x), _softplus, X, "SoftplusBackward0"),
    ("softplus_beta_threshold", lambda m, x: m.nn.functional.softplus(x, beta=2, threshold=3),
     lambda a: _softplus(a, 2, 3), X, "SoftplusBackward0"),
    ("softsign", lambda m, x: m.nn.functional.softsign(x), lambda a: a / (1 + np.abs(a)), X,
     "DivBackward0"),
    ("tanh", lambda m, x: m.nn.functional.tanh(x), np.tanh, X, "TanhBackward0"),
    ("sigmoid", lambda m, x: m.nn.functional.sigmoid(x), _sigmoid, X, "SigmoidBackward0"),
    ("hardtanh", lambda m, x: m.nn.functional.hardtanh(x), lambda a: np.clip(a, -1, 1), X,
     "HardtanhBackward0"),
    ("hardtanh_bounds", lambda m, x: m.nn.functional.hardtanh(x, -2.0, 3.0),
     lambda a: np.clip(a, -2, 3), X, "HardtanhBackward0"),
    ("hardsigmoid", lambda m, x: m.nn.functional.hardsigmoid(x),
     lambda a: np.clip(a / 6 + 0.5, 0, 1), X, "HardsigmoidBackward0"),
    ("hardswish", lambda m, x: m.nn.functional.hardswish(x),
     lambda a: a * np.clip(a + 3, 0, 6) / 6, X, "HardswishBackward0"),
    ("logsigmoid", lambda m, x: m.nn.functional.logsigmoid(x), lambda a: -np.log1p(np.exp(-a)),
     X, "LogSigmoidBackward0"),
    ("softmax", lambda m, x: m.nn.functional.softmax(x, dim=1),
     lambda a: np.exp(a) / np.exp(a).sum(1, keepdims=True), X, "SoftmaxBackward0"),
    ("log_softmax", lambda m, x: m.nn.functional.log_softmax(x, 0),
     lambda a: a - np.log(np.exp(a).sum(0, keepdims=True)), X, "LogSoftmaxBackward0"),
    ("softmin", lambda m, x: m.nn.functional.softmin(x, 1),
     lambda a: np.exp(-a) / np.exp(-a).sum(1, keepdims=True), X, "SoftmaxBackward0"),
    ("glu", lambda m, x: m.nn.functional.glu(x), lambda a: a[:, :2] * _sigmoid(a[:, 2:]), X,
     "GluBackward0"),
    ("glu_dim0", lambda m, x: m.nn.functional.glu(x, 0),
     lambda a: a[:3] * _sigmoid(a[3:]), np.concatenate([X, X[::-1] * 0.5]), "GluBackward0"),
    ("threshold", lambda m, x: m.nn.functional.threshold(x, 0.5, -1.0),
     lambda a: np.where(a > 0.5, a, -1.0), X, "ThresholdBackward0"),
    ("tanhshrink", lambda m, x: m.nn.functional.tanhshrink(x), lambda a: a - np.tanh(a), X,
     "SubBackward0"),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("fn, ref, array", [c[1:4] for c in CASES], ids=IDS)
def test_values_and_gradients(fn, ref, array, device):
    check_op(fn, ref, [array], device=device)


@pytest.mark.parametrize("fn, array", [(c[1], c[3]) for c in CASES], ids=IDS)
def test_second_derivatives_float64(fn, array):
    x = nbtorch.tensor(array, requires_grad=True)
    assert nbtorch.autograd.gradgradcheck(lambda t: fn(nbtorch, t), (x,))


@needs_torch
@pytest.mark.parametrize("fn, array, name", [(c[1], c[3], c[4]) for c in CASES], ids=IDS)
def test_node_names_and_double_backward_match_torch(fn, array, name):
    results = []
    for m in (nbtorch, real_torch):
        x = m.tensor(array, requires_grad=True)
        y = fn(m, x)
        assert y.grad_fn.name() == name
        (g,) = m.autograd.grad((y * m.tensor(np.cos(np.arange(y.numel())).reshape(y.shape))).sum(),
                               x, create_graph=True)
        if g.requires_grad and not (m is real_torch and name == "HardsigmoidBackward0"):
            (g * g).sum().backward()  # (PyTorch has no second derivative of hardsigmoid)
        # a piecewise-linear activation has no second derivative: no graph, or a zero gradient
        second = np.zeros(array.shape) if x.grad is None else values_of(x.grad)
        if name == "HardsigmoidBackward0":
            second = np.zeros(array.shape)
        results.append((values_of(g), second))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-7, atol=1e-12)


INPLACE = [
    ("relu", lambda F, x: F.relu(x, inplace=True), lambda F, x: F.relu_(x)),
    ("relu6", lambda F, x: F.relu6(x, inplace=True), None),
    ("leaky_relu", lambda F, x: F.leaky_relu(x, 0.1, True), lambda F, x: F.leaky_relu_(x, 0.1)),
    ("elu", lambda F, x: F.elu(x, inplace=True), lambda F, x: F.elu_(x)),
    ("selu", lambda F, x: F.selu(x, inplace=True), lambda F, x: F.selu_(x)),
    ("celu", lambda F, x: F.celu(x, inplace=True), lambda F, x: F.celu_(x)),
    ("silu", lambda F, x: F.silu(x, inplace=True), None),
    ("mish", lambda F, x: F.mish(x, inplace=True), None),
    ("hardtanh", lambda F, x: F.hardtanh(x, inplace=True), lambda F, x: F.hardtanh_(x)),
    ("hardsigmoid", lambda F, x: F.hardsigmoid(x, inplace=True), None),
    ("hardswish", lambda F, x: F.hardswish(x, inplace=True), None),
    ("threshold", lambda F, x: F.threshold(x, 0.5, 2.0, inplace=True),
     lambda F, x: F.threshold_(x, 0.5, 2.0)),
]


@both
@pytest.mark.parametrize("inplace, underscore", [c[1:] for c in INPLACE],
                         ids=[c[0] for c in INPLACE])
def test_in_place_variants(m, inplace, underscore):
    F = m.nn.functional
    for variant in (inplace, underscore):
        if variant is None:
            continue
        leaf = m.tensor(X, requires_grad=True)
        reference = leaf * 1.5
        expected = values_of(variant(F, reference.clone().detach()))
        x = leaf * 1.5  # a non-leaf: in-place is allowed and the graph goes through it
        out = variant(F, x)
        assert out is x
        np.testing.assert_allclose(values_of(x), expected)
        x.sum().backward()
        assert leaf.grad is not None and leaf.grad.shape == leaf.shape


@both
def test_in_place_on_a_leaf_that_requires_grad_is_refused(m):
    x = m.tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        m.nn.functional.relu(x, inplace=True)


@both
def test_stable_at_extremes(m):
    F = m.nn.functional
    x = m.tensor([-1e4, -100.0, 0.0, 100.0, 1e4], requires_grad=True)
    outs = [F.logsigmoid(x), F.softplus(x), F.mish(x), F.silu(x), F.elu(x), F.selu(x),
            F.celu(x), F.gelu(x), F.gelu(x, approximate="tanh"), F.sigmoid(x), F.softsign(x)]
    for out in outs:
        assert np.isfinite(values_of(out)).all(), out
        (g,) = m.autograd.grad(out.sum(), x)
        assert np.isfinite(values_of(g)).all(), out
    np.testing.assert_allclose(values_of(F.logsigmoid(x)), [-1e4, -100, -math.log(2), 0, 0],
                               rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(values_of(F.softplus(x)), [0, math.exp(-100), math.log(2), 100,
                                                          1e4], rtol=1e-6, atol=1e-30)


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda F, x: F.softplus(x, beta=0.5, threshold=1.0), lambda F, x: F.logsigmoid(x),
    lambda F, x: F.mish(x), lambda F, x: F.hardswish(x), lambda F, x: F.hardsigmoid(x),
    lambda F, x: F.hardtanh(x), lambda F, x: F.relu6(x), lambda F, x: F.leaky_relu(x),
    lambda F, x: F.elu(x), lambda F, x: F.threshold(x, 0.0, 3.0),
])
def test_gradients_at_the_kinks_match_torch(fn):
    data = np.array([-1e4, -3.0, -1.0, 0.0, 1.0, 2.0, 3.0, 6.0, 1e4], dtype=np.float32)
    grads = []
    for m in (nbtorch, real_torch):
        x = m.tensor(data, requires_grad=True)
        y = fn(m.nn.functional, x)
        y.sum().backward()
        grads.append((values_of(y), values_of(x.grad)))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-6, atol=1e-7)


@both
def test_integer_inputs(m):
    F = m.nn.functional
    ints = m.tensor([[-1, 2], [7, 4]])
    assert F.relu(ints).dtype == m.int64 and values_of(F.relu6(ints)).tolist() == [[0, 2], [6, 4]]
    assert F.sigmoid(ints).dtype == m.float32
    assert values_of(F.hardtanh(ints)).tolist() == [[-1, 1], [1, 1]]


@both
def test_implicit_softmax_dim_warns_and_picks_pytorchs_dim(m):
    F = m.nn.functional
    x = m.tensor(RNG.standard_normal((2, 3, 4)))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax has been "
                                         "deprecated. Change the call to include dim=X"):
        y = F.softmax(x)
    np.testing.assert_allclose(values_of(y).sum(0), 1)
    with pytest.warns(UserWarning, match="log_softmax"):
        y = F.log_softmax(x[0])
    np.testing.assert_allclose(np.exp(values_of(y)).sum(1), 1, rtol=1e-6)
    with pytest.warns(UserWarning, match="softmin"):
        F.softmin(x[0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.softmax(x, dim=1)


def test_errors():
    assert_same_error(lambda m: m.nn.functional.gelu(m.ones(2), approximate="foo"),
                      RuntimeError, "approximate argument must be either none or tanh.")
    assert_same_error(lambda m: m.nn.functional.hardtanh(m.ones(2), 1.0, -1.0), ValueError,
                      "min_val cannot be greater than max_val")
    assert_same_error(lambda m: m.nn.functional.glu(m.ones(2, 3)), RuntimeError,
                      "Halving dimension must be even, but dimension 1 is size 3")
    assert_same_error(lambda m: m.nn.functional.glu(m.tensor(1.0)), RuntimeError,
                      "glu does not support scalars because halving size must be even")
    for name, kernel in [("leaky_relu", "leaky_relu_cpu"), ("elu", "elu_cpu"),
                         ("gelu", "GeluKernelImpl"), ("silu", "silu_cpu"), ("mish", "mish_cpu"),
                         ("softplus", "softplus_cpu"), ("logsigmoid", "log_sigmoid_cpu"),
                         ("hardswish", "hardswish_cpu"), ("glu", "glu_cpu")]:
        assert_same_error(lambda m, name=name: getattr(m.nn.functional, name)(m.tensor([1, 2])),
                          NotImplementedError, f"\"{kernel}\" not implemented for 'Long'")


@both
def test_prelu(m):
    F = m.nn.functional
    x = m.tensor(RNG.standard_normal((2, 3, 4)), requires_grad=True)
    w = m.tensor([0.1, 0.2, 0.3], dtype=m.float64, requires_grad=True)
    y = F.prelu(x, w)
    expected = np.where(values_of(x) > 0, values_of(x), values_of(x) * np.array([0.1, 0.2, 0.3])
                        [:, None])
    np.testing.assert_allclose(values_of(y), expected)
    y.sum().backward()
    np.testing.assert_allclose(values_of(w.grad),
                               np.minimum(values_of(x), 0).sum((0, 2)), rtol=1e-12)

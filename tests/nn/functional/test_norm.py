"""Tests of nbtorch/nn/functional/_norm.py: batch_norm, layer_norm, group_norm, instance_norm and
rms_norm against numpy references, float64 central differences and PyTorch; running statistics
over several steps; double backward; PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from nbtorch.autograd import gradcheck, gradgradcheck
from tests.helpers import assert_same_error, check_op, needs_torch, real_torch

RNG = np.random.default_rng(0)
X2 = RNG.standard_normal((5, 3))
X3 = RNG.standard_normal((4, 3, 5))
X4 = RNG.standard_normal((3, 4, 2, 3))
W3, B3 = RNG.standard_normal(3), RNG.standard_normal(3)
W4, B4 = RNG.standard_normal(4), RNG.standard_normal(4)
EPS = 1e-5


def _affine(y, w, b, shape):
    if w is not None:
        y = y * w.reshape(shape)
    if b is not None:
        y = y + b.reshape(shape)
    return y


def bn_ref(x, w=None, b=None, eps=EPS):
    axes = (0,) + tuple(range(2, x.ndim))
    y = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)
    return _affine(y, w, b, (1, -1) + (1,) * (x.ndim - 2))


def ln_ref(x, k, w=None, b=None, eps=EPS):
    axes = tuple(range(x.ndim - k, x.ndim))
    y = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)
    return _affine(y, w, b, x.shape[x.ndim - k:])


def gn_ref(x, groups, w=None, b=None, eps=EPS):
    g = x.reshape(x.shape[0], groups, -1)
    y = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps)).reshape(x.shape)
    return _affine(y, w, b, (1, -1) + (1,) * (x.ndim - 2))


def rms_ref(x, k, w=None, eps=None):
    eps = np.finfo(x.dtype).eps if eps is None else eps
    axes = tuple(range(x.ndim - k, x.ndim))
    y = x / np.sqrt((x * x).mean(axes, keepdims=True) + eps)
    return y * w if w is not None else y


def F(m):
    return m.nn.functional


CASES = [
    ("batch_norm-2d", lambda m, x: F(m).batch_norm(x, None, None, training=True),
     lambda x: bn_ref(x), [X2]),
    ("batch_norm-3d-affine", lambda m, x, w, b: F(m).batch_norm(x, None, None, w, b, True),
     lambda x, w, b: bn_ref(x, w, b), [X3, W3, B3]),
    ("batch_norm-4d-affine-running", lambda m, x, w, b: F(m).batch_norm(
        x, m.zeros(4, dtype=x.dtype), m.ones(4, dtype=x.dtype), w, b, True, 0.3, 1e-3),
     lambda x, w, b: bn_ref(x, w, b, 1e-3), [X4, W4, B4]),
    ("batch_norm-eval", lambda m, x, w, b: F(m).batch_norm(
        x, m.tensor([0.5, -1.0, 2.0], dtype=x.dtype), m.tensor([1.0, 4.0, 0.25], dtype=x.dtype),
        w, b),
     lambda x, w, b: ((x - np.array([0.5, -1.0, 2.0])[:, None])
                      / np.sqrt(np.array([1.0, 4.0, 0.25])[:, None] + EPS)) * w[:, None]
     + b[:, None], [X3, W3, B3]),
    ("batch_norm-weight-only", lambda m, x, w: F(m).batch_norm(x, None, None, w, None, True),
     lambda x, w: bn_ref(x, w), [X3, W3]),
    ("layer_norm-1", lambda m, x: F(m).layer_norm(x, (5,)), lambda x: ln_ref(x, 1), [X3]),
    ("layer_norm-2-affine", lambda m, x, w, b: F(m).layer_norm(x, (3, 5), w, b),
     lambda x, w, b: ln_ref(x, 2, w, b), [X3, RNG.standard_normal((3, 5)),
                                        RNG.standard_normal((3, 5))]),
    ("layer_norm-bias-only", lambda m, x, b: F(m).layer_norm(x, [3], None, b, 1e-3),
     lambda x, b: ln_ref(x, 1, None, b, 1e-3), [X2, B3]),
    ("layer_norm-whole", lambda m, x, w: F(m).layer_norm(x, x.shape, w),
     lambda x, w: ln_ref(x, 2, w), [X2, RNG.standard_normal((5, 3))]),
    ("group_norm", lambda m, x, w, b: F(m).group_norm(x, 2, w, b),
     lambda x, w, b: gn_ref(x, 2, w, b), [X4, W4, B4]),
    ("group_norm-1-group", lambda m, x: F(m).group_norm(x, 1), lambda x: gn_ref(x, 1), [X3]),
    ("group_norm-per-channel", lambda m, x: F(m).group_norm(x, 3), lambda x: gn_ref(x, 3), [X3]),
    ("instance_norm", lambda m, x, w, b: F(m).instance_norm(x, weight=w, bias=b),
     lambda x, w, b: gn_ref(x, x.shape[1], w, b), [X3, W3, B3]),
    ("rms_norm", lambda m, x, w: F(m).rms_norm(x, (5,), w), lambda x, w: rms_ref(x, 1, w),
     [X3, RNG.standard_normal(5)]),
    ("rms_norm-eps", lambda m, x: F(m).rms_norm(x, (3, 5), eps=1e-3),
     lambda x: rms_ref(x, 2, eps=1e-3), [X3]),
]


@pytest.mark.parametrize("fn, ref, arrays", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_values_and_gradients(fn, ref, arrays, device):
    check_op(fn, ref, arrays, device=device, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fn", [
    lambda x, w, b: F(nbtorch).layer_norm(x, (2, 3), w.reshape(2, 3), b.reshape(2, 3)),
    lambda x, w, b: F(nbtorch).batch_norm(x, None, None, w[:4], b[:4], training=True),
    lambda x, w, b: F(nbtorch).group_norm(x, 2, w[:4], b[:4]),
    lambda x, w, b: F(nbtorch).instance_norm(x, weight=w[:4], bias=b[:4]),
], ids=["layer_norm", "batch_norm", "group_norm", "instance_norm"])
def test_double_backward(fn):
    x = nbtorch.tensor(X4, requires_grad=True)
    w = nbtorch.tensor(RNG.standard_normal(6), requires_grad=True)
    b = nbtorch.tensor(RNG.standard_normal(6), requires_grad=True)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


@needs_torch
@pytest.mark.parametrize("name", ["layer_norm", "batch_norm"])
def test_double_backward_matches_torch(name):
    """Gradient-of-gradient norms (as in a gradient penalty) equal PyTorch's."""
    results = []
    for m in (nbtorch, real_torch):
        x = m.tensor(X4, requires_grad=True)
        w = m.tensor(W4 if name == "batch_norm" else W3, requires_grad=True)
        if name == "batch_norm":
            y = F(m).batch_norm(x, None, None, w, None, training=True)
        else:
            y = F(m).layer_norm(x, (3,), w)
        (gx,) = m.autograd.grad((y * y * y).sum(), x, create_graph=True)
        (gw,) = m.autograd.grad((gx * gx).sum(), w)
        results.append(gw.detach().cpu().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-9, atol=1e-9)


def test_grad_fn_names_match_torch():
    x = nbtorch.tensor(X4, requires_grad=True)
    assert F(nbtorch).layer_norm(x, (3,)).grad_fn.name() == "NativeLayerNormBackward0"
    assert F(nbtorch).batch_norm(x, None, None, training=True).grad_fn.name() == \
        "NativeBatchNormBackward0"
    assert F(nbtorch).group_norm(x, 2).grad_fn.name() == "NativeGroupNormBackward0"


@needs_torch
@pytest.mark.parametrize("momentum", [0.1, 0.5])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 3, 2, 4)])
def test_running_statistics_follow_torch(shape, momentum, device):
    """Several training steps: running_mean and the *unbiased* running_var follow PyTorch's."""
    rm, rv = nbtorch.zeros(3, device=device), nbtorch.ones(3, device=device)
    trm, trv = real_torch.zeros(3), real_torch.ones(3)
    for step in range(4):
        x = RNG.standard_normal(shape).astype(np.float32) * (step + 1) + step
        y = F(nbtorch).batch_norm(nbtorch.tensor(x, device=device), rm, rv, training=True,
                                  momentum=momentum)
        ty = F(real_torch).batch_norm(real_torch.tensor(x), trm, trv, training=True,
                                      momentum=momentum)
        np.testing.assert_allclose(y.cpu().numpy(), ty.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(rm.cpu().numpy(), trm.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rv.cpu().numpy(), trv.numpy(), rtol=1e-5, atol=1e-6)


def test_running_statistics_formula():
    rm, rv = nbtorch.zeros(2, dtype=nbtorch.float64), nbtorch.ones(2, dtype=nbtorch.float64)
    x = RNG.standard_normal((7, 2))
    version = rm._version
    F(nbtorch).batch_norm(nbtorch.tensor(x), rm, rv, training=True, momentum=0.25)
    np.testing.assert_allclose(rm.numpy(), 0.25 * x.mean(0))
    np.testing.assert_allclose(rv.numpy(), 0.75 + 0.25 * x.var(0, ddof=1))
    assert rm._version == version + 1  # an in-place change: the version counter moves


def test_eval_mode_leaves_running_statistics():
    rm, rv = nbtorch.tensor([1.0, 2.0, 3.0]), nbtorch.tensor([1.0, 1.0, 4.0])
    F(nbtorch).batch_norm(nbtorch.tensor(X3, dtype=nbtorch.float32), rm, rv, training=False)
    assert rm.tolist() == [1.0, 2.0, 3.0] and rv.tolist() == [1.0, 1.0, 4.0]


@needs_torch
def test_instance_norm_running_statistics_follow_torch():
    rm, rv = nbtorch.zeros(3), nbtorch.ones(3)
    trm, trv = real_torch.zeros(3), real_torch.ones(3)
    for _ in range(3):
        x = RNG.standard_normal((2, 3, 6)).astype(np.float32)
        y = F(nbtorch).instance_norm(nbtorch.tensor(x), rm, rv, momentum=0.2)
        ty = F(real_torch).instance_norm(real_torch.tensor(x), trm, trv, momentum=0.2)
        np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-5, atol=1e-6)
    x = RNG.standard_normal((2, 3, 6)).astype(np.float32)
    np.testing.assert_allclose(
        F(nbtorch).instance_norm(nbtorch.tensor(x), rm, rv, use_input_stats=False).numpy(),
        F(real_torch).instance_norm(real_torch.tensor(x), trm, trv, use_input_stats=False).numpy(),
        rtol=1e-4, atol=1e-5)


def test_float32_stays_float32():
    x = nbtorch.randn(4, 3, 5)
    for y in (F(nbtorch).layer_norm(x, (5,)), F(nbtorch).batch_norm(x, None, None, training=True),
              F(nbtorch).group_norm(x, 3), F(nbtorch).rms_norm(x, (5,))):
        assert y.dtype == nbtorch.float32


def test_incoming_gradient_is_not_modified():
    x = nbtorch.randn(4, 6, requires_grad=True)
    g = nbtorch.randn(4, 6)
    before = g.numpy().copy()
    F(nbtorch).layer_norm(x, (6,)).backward(g)
    np.testing.assert_array_equal(g.numpy(), before)


ERRORS = [
    (lambda m: F(m).batch_norm(m.randn(1, 3), m.zeros(3), m.ones(3), training=True), ValueError,
     "Expected more than 1 value per channel when training, got input size torch.Size([1, 3])"),
    (lambda m: F(m).batch_norm(m.randn(4, 3), None, None), RuntimeError,
     "running_mean must be defined in evaluation mode"),
    (lambda m: F(m).batch_norm(m.randn(4, 3), m.zeros(4), m.ones(4)), RuntimeError,
     "running_mean should contain 3 elements not 4"),
    (lambda m: F(m).batch_norm(m.randn(4, 3), m.zeros(3), m.ones(3), m.ones(4)), RuntimeError,
     "weight should contain 3 elements not 4"),
    (lambda m: F(m).batch_norm(m.randn(4, 3), m.zeros(3), None, training=True), ValueError,
     "running_mean and running_var must either both be None or neither be None"),
    (lambda m: F(m).batch_norm(m.randn(4, 3), None, None, training=True, eps=0), ValueError,
     "batch_norm eps must be positive during training, but got 0"),
    (lambda m: F(m).layer_norm(m.randn(2, 3), (4,)), RuntimeError,
     "Given normalized_shape=[4], expected input with shape [*, 4], but got input of size[2, 3]"),
    (lambda m: F(m).layer_norm(m.randn(2, 3), (3,), m.ones(4)), RuntimeError,
     "Expected weight to be of same shape as normalized_shape, but got weight of shape [4] and "
     "normalized_shape = [3]"),
    (lambda m: F(m).layer_norm(m.randn(2, 3), []), RuntimeError,
     "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
     "element, but got normalized_shape = []"),
    (lambda m: F(m).layer_norm(m.randn(2, 3), 3), TypeError,
     "layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not int"),
    (lambda m: F(m).rms_norm(m.randn(2, 3), (4,)), RuntimeError,
     "Given normalized_shape=[4], expected input with shape [*4], but got input of size[2, 3]"),
    (lambda m: F(m).group_norm(m.randn(2, 6, 4), 4), RuntimeError,
     "Expected number of channels in input to be divisible by num_groups, but got input of shape "
     "[2, 6, 4] and num_groups=4"),
    (lambda m: F(m).group_norm(m.randn(2, 6, 4), 3, m.ones(3)), RuntimeError,
     "Expected weight to be a vector of size equal to the number of channels in input, but got "
     "weight of shape [3] and input of shape [2, 6, 4]"),
    (lambda m: F(m).group_norm(m.randn(1, 3), 3), ValueError,
     "Expected more than 1 value per channel when training, got input size [1, 3]"),
    (lambda m: F(m).group_norm(m.randn(6), 3), RuntimeError,
     "Expected at least 2 dimensions for input tensor but received 1"),
    (lambda m: F(m).instance_norm(m.randn(2, 3, 1)), ValueError,
     "Expected more than 1 spatial element when training, got input size torch.Size([2, 3, 1])"),
    (lambda m: F(m).instance_norm(m.randn(2, 3, 4), use_input_stats=False), RuntimeError,
     "Expected running_mean and running_var to be defined when use_input_stats is false"),
]


@pytest.mark.parametrize("make, error, message", ERRORS)
def test_errors_match_torch(make, error, message):
    assert_same_error(make, error, message)

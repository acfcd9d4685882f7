"""nn.init against PyTorch from the same seed: which initializers give PyTorch's exact bits, the
others to rounding; formulas (bounds, standard deviations), errors and warnings."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, both, needs_torch, real_torch, values_of

SHAPES = [(4, 3), (64, 32), (3, 5, 2, 2)]


def _init(m, fn, shape, dtype="float32", seed=0):
    m.manual_seed(seed)
    t = m.empty(*shape, dtype=getattr(m, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return values_of(fn(m, t))


EXACT = {
    "uniform_": lambda m, t: m.nn.init.uniform_(t, -0.3, 0.7),
    "xavier_uniform_": lambda m, t: m.nn.init.xavier_uniform_(t, gain=1.3),
    "kaiming_uniform_": lambda m, t: m.nn.init.kaiming_uniform_(t, a=math.sqrt(5)),
    "kaiming_uniform_relu_fan_out": lambda m, t: m.nn.init.kaiming_uniform_(
        t, mode="fan_out", nonlinearity="relu"),
    "constant_": lambda m, t: m.nn.init.constant_(t, 0.3),
    "ones_": lambda m, t: m.nn.init.ones_(t),
    "zeros_": lambda m, t: m.nn.init.zeros_(t),
    "trunc_normal_narrow": lambda m, t: m.nn.init.trunc_normal_(t, 0.0, 1.0, -0.2, 0.2),
    "trunc_normal_tail": lambda m, t: m.nn.init.trunc_normal_(t, 0.0, 1.0, 2.0, 3.0),
}

# Normal draws of 16 or more values agree with PyTorch to one rounding (its vectorized float
# Box-Muller); orthogonal_ factors in float64 where PyTorch factors in float32.
CLOSE = {
    "normal_": lambda m, t: m.nn.init.normal_(t, 0.5, 2.0),
    "xavier_normal_": lambda m, t: m.nn.init.xavier_normal_(t, gain=1.3),
    "kaiming_normal_": lambda m, t: m.nn.init.kaiming_normal_(t, mode="fan_out"),
    "trunc_normal_wide": lambda m, t: m.nn.init.trunc_normal_(t, 0.1, 1.5, -1.0, 2.0),
    "trunc_normal_default": lambda m, t: m.nn.init.trunc_normal_(t, std=0.02),
    "orthogonal_": lambda m, t: m.nn.init.orthogonal_(t, gain=2.0),
}


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(EXACT))
def test_exact_initializers(name, shape, dtype):
    got = _init(nbtorch, EXACT[name], shape, dtype)
    want = _init(real_torch, EXACT[name], shape, dtype)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)


@needs_torch
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(CLOSE))
def test_close_initializers(name, shape):
    got = _init(nbtorch, CLOSE[name], shape)
    want = _init(real_torch, CLOSE[name], shape)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("name", ["normal_", "xavier_normal_", "kaiming_normal_"])
def test_small_normal_initializers_are_exact(name):
    got, want = _init(nbtorch, CLOSE[name], (3, 5)), _init(real_torch, CLOSE[name], (3, 5))
    assert np.array_equal(got, want)


@needs_torch
@pytest.mark.parametrize("make", [
    lambda m, t: m.nn.init.eye_(t.reshape(12, -1)[:3, :5].contiguous()),
    lambda m, t: m.nn.init.dirac_(m.empty(4, 2, 3, 3)),
    lambda m, t: m.nn.init.dirac_(m.empty(4, 2, 3), groups=2),
    lambda m, t: m.nn.init.dirac_(m.empty(2, 4, 3, 1, 3)),
])
def test_deterministic_initializers(make):
    assert np.array_equal(_init(nbtorch, make, (4, 3)), _init(real_torch, make, (4, 3)))


@needs_torch
def test_sparse_zeros_the_same_entries():
    fn = lambda m, t: m.nn.init.sparse_(t, 0.3)  # noqa: E731
    got, want = _init(nbtorch, fn, (10, 6)), _init(real_torch, fn, (10, 6))
    assert np.array_equal(got == 0, want == 0)
    assert ((got == 0).sum(0) == 3).all()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)


@both
def test_formulas(m):
    init = m.nn.init
    t = m.empty(200, 100)
    bound = 1.3 * math.sqrt(6.0 / 300)
    assert np.abs(values_of(init.xavier_uniform_(t, gain=1.3))).max() <= bound
    bound = math.sqrt(2.0) * math.sqrt(3.0 / 200)
    assert np.abs(values_of(init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"))
                  ).max() <= bound
    std = values_of(init.kaiming_normal_(m.empty(1000, 500))).std()
    assert abs(std - math.sqrt(2.0 / 500)) < 0.01 * math.sqrt(2.0 / 500) * 10
    q = values_of(init.orthogonal_(m.empty(4, 6)))
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)
    q = values_of(init.orthogonal_(m.empty(6, 2, 2)).reshape(6, 4))
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)
    w = values_of(init.trunc_normal_(m.empty(5000), mean=1.0, std=2.0, a=0.0, b=1.5))
    assert w.min() >= 0.0 and w.max() <= 1.5


@both
def test_calculate_gain(m):
    gain = m.nn.init.calculate_gain
    assert gain("linear") == 1 and gain("conv2d") == 1 and gain("sigmoid") == 1
    assert gain("tanh") == 5.0 / 3
    assert gain("relu") == math.sqrt(2.0)
    assert gain("leaky_relu") == math.sqrt(2.0 / (1 + 0.01 ** 2))
    assert gain("leaky_relu", 1) == 1.0
    assert gain("selu") == 0.75


@both
def test_init_does_not_record_and_keeps_the_parameter(m):
    p = m.nn.Parameter(m.empty(3, 4))
    for fn in (m.nn.init.uniform_, m.nn.init.normal_, m.nn.init.xavier_uniform_,
               m.nn.init.kaiming_normal_, m.nn.init.zeros_, m.nn.init.orthogonal_,
               m.nn.init.trunc_normal_, m.nn.init.eye_):
        assert fn(p) is p
        assert p.grad_fn is None and p.requires_grad


@both
def test_generator_argument(m):
    g1, g2 = m.Generator().manual_seed(5), m.Generator().manual_seed(5)
    a = m.nn.init.kaiming_uniform_(m.empty(3, 4), generator=g1)
    b = m.nn.init.kaiming_uniform_(m.empty(3, 4), generator=g2)
    assert np.array_equal(values_of(a), values_of(b))


@pytest.mark.parametrize("make, error, message", [
    (lambda m: m.nn.init.xavier_uniform_(m.empty(3)), ValueError,
     "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"),
    (lambda m: m.nn.init.kaiming_normal_(m.empty(3, 3), mode="fan_x"), ValueError,
     "Mode fan_x not supported, please use one of ['fan_in', 'fan_out']"),
    (lambda m: m.nn.init.calculate_gain("swish"), ValueError, "Unsupported nonlinearity swish"),
    (lambda m: m.nn.init.calculate_gain("leaky_relu", True), ValueError,
     "negative_slope True not a valid number"),
    (lambda m: m.nn.init.eye_(m.empty(3)), ValueError,
     "Only tensors with 2 dimensions are supported"),
    (lambda m: m.nn.init.dirac_(m.empty(3, 3)), ValueError,
     "Only tensors with 3, 4, or 5 dimensions are supported"),
    (lambda m: m.nn.init.dirac_(m.empty(3, 3, 3), groups=2), ValueError,
     "dim 0 must be divisible by groups"),
    (lambda m: m.nn.init.orthogonal_(m.empty(3)), ValueError,
     "Only tensors with 2 or more dimensions are supported"),
    (lambda m: m.nn.init.sparse_(m.empty(3), 0.1), ValueError,
     "Only tensors with 2 dimensions are supported"),
])
def test_errors(make, error, message):
    assert_same_error(make, error, message)


@both
def test_warnings(m):
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        m.nn.init.kaiming_uniform_(m.empty(0, 3))
    with pytest.warns(UserWarning, match="mean is more than 2 std from \\[a, b\\]"):
        m.nn.init.trunc_normal_(m.empty(3), mean=10.0)
    with pytest.warns(FutureWarning, match="`nn.init.xavier_uniform` is now deprecated in favor "
                                           "of `nn.init.xavier_uniform_`."):
        m.nn.init.xavier_uniform(m.empty(2, 2))

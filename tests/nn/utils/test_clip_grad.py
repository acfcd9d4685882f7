"""clip_grad_norm_ / clip_grad_value_ / get_total_norm against PyTorch and numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, both, needs_torch, real_torch, values_of

RNG = np.random.default_rng(0)
GRADS = [RNG.standard_normal((3, 4)).astype(np.float32),
         RNG.standard_normal(5).astype(np.float32),
         RNG.standard_normal((2, 2, 2)).astype(np.float32)]


def params_with_grads(m, grads=GRADS, dtype=None, missing=False):
    params = []
    for g in grads:
        p = m.nn.Parameter(m.zeros(*g.shape, dtype=dtype))
        p.grad = m.tensor(g, dtype=dtype)
        params.append(p)
    if missing:
        params.append(m.nn.Parameter(m.zeros(2)))  # no .grad: skipped
    return params


def ref_norm(grads, norm_type):
    """PyTorch's definition: the norm of the vector of each gradient's norm (for p > 0 the
    norm of all entries together; for p = 0 it counts the gradients that are not all zero)."""
    def norm(v):
        v = np.abs(v.astype(np.float64).ravel())
        if norm_type == math.inf:
            return v.max()
        if norm_type == 0:
            return float((v != 0).sum())
        return (v ** norm_type).sum() ** (1 / norm_type)

    return norm(np.array([norm(g) for g in grads]))


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, 0.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm(norm_type, max_norm, device):
    params = params_with_grads(nbtorch, missing=True)
    for p in params:
        p.data = p.data.to(device)
        if p.grad is not None:
            p.grad = p.grad.to(device)
    total = nbtorch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    expected = ref_norm(GRADS, norm_type)
    assert total.dtype == nbtorch.float32 and total.dim() == 0
    np.testing.assert_allclose(float(total), expected, rtol=1e-5)
    coef = min(1.0, max_norm / (expected + 1e-6))
    for p, g in zip(params, GRADS):
        np.testing.assert_allclose(values_of(p.grad), g * coef, rtol=1e-5, atol=1e-7)
    assert params[-1].grad is None


@needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type):
    results = []
    for m in (nbtorch, real_torch):
        params = params_with_grads(m)
        total = m.nn.utils.clip_grad_norm_(params, 0.7, norm_type)
        results.append((values_of(total), [values_of(p.grad) for p in params]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@both
def test_clip_grad_norm_keeps_grad_objects_and_dtype(m):
    params = params_with_grads(m, dtype=m.float64)
    grads = [p.grad for p in params]
    total = m.nn.utils.clip_grad_norm_(iter(params), 1.0)
    assert total.dtype == m.float64
    assert all(p.grad is g for p, g in zip(params, grads))
    single = params_with_grads(m)[0]
    total = m.nn.utils.clip_grad_norm_(single, 1.0)  # one tensor is accepted
    np.testing.assert_allclose(float(total), np.linalg.norm(GRADS[0]), rtol=1e-5)


@both
def test_clip_grad_norm_without_grads(m):
    total = m.nn.utils.clip_grad_norm_([m.nn.Parameter(m.ones(2))], 1.0)
    assert float(total) == 0.0 and total.dtype == m.float32
    with pytest.warns(UserWarning, match="`parameters` is an empty generator, no gradient "
                                         "clipping will occur."):
        m.nn.utils.clip_grad_norm_((p for p in []), 1.0)


@both
def test_non_finite_norm(m):
    p = m.nn.Parameter(m.ones(2))
    p.grad = m.tensor([1.0, float("nan")])
    total = m.nn.utils.clip_grad_norm_([p], 1.0)
    assert math.isnan(float(total))


def test_non_finite_error():
    def make(m):
        p = m.nn.Parameter(m.ones(2))
        p.grad = m.tensor([1.0, float("inf")])
        m.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)

    assert_same_error(make, RuntimeError, (
        "The total norm of order 2.0 for gradients from `parameters` is non-finite, so it cannot "
        "be clipped. To disable this error and scale the gradients by the non-finite norm "
        "anyway, set `error_if_nonfinite=False`"))


@both
def test_foreach_flag_gives_the_same_result(m):
    a, b = params_with_grads(m), params_with_grads(m)
    ta = m.nn.utils.clip_grad_norm_(a, 1.0, foreach=True)
    tb = m.nn.utils.clip_grad_norm_(b, 1.0, foreach=False)
    assert float(ta) == float(tb)
    m.nn.utils.clip_grad_value_(a, 0.1, foreach=True)
    assert np.abs(values_of(a[0].grad)).max() <= 0.1


@both
def test_get_total_norm_and_clip_grads_with_norm(m):
    params = params_with_grads(m)
    total = m.nn.utils.get_total_norm([p.grad for p in params])
    np.testing.assert_allclose(float(total), ref_norm(GRADS, 2), rtol=1e-5)
    m.nn.utils.clip_grads_with_norm_(params, 1.0, total)
    np.testing.assert_allclose(float(m.nn.utils.get_total_norm([p.grad for p in params])), 1.0,
                               rtol=1e-5)


@both
def test_clip_grad_value(m):
    params = params_with_grads(m, missing=True)
    assert m.nn.utils.clip_grad_value_(params, 0.5) is None
    for p, g in zip(params, GRADS):
        np.testing.assert_array_equal(values_of(p.grad), np.clip(g, -0.5, 0.5))
    p = params_with_grads(m)[1]
    m.nn.utils.clip_grad_value_(p, 1)
    assert np.abs(values_of(p.grad)).max() <= 1


@both
def test_clipping_is_not_recorded(m):
    p = m.nn.Parameter(m.ones(3))
    (p * m.tensor([3.0, 4.0, 0.0])).sum().backward()
    m.nn.utils.clip_grad_norm_([p], 1.0)
    assert p.grad.grad_fn is None and not p.grad.requires_grad


def test_deprecated_alias():
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
        nbtorch.nn.utils.clip_grad_norm(params_with_grads(nbtorch), 1.0)

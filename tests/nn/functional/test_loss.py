"""Tests of nbtorch/nn/functional/_loss.py: every loss and option against PyTorch (values,
gradients, node names) or a numpy reference, float64 finite differences (first and second
derivatives), extreme logits, and PyTorch's errors and warnings."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, both, check_op, needs_torch, real_torch, values_of

RNG = np.random.default_rng(0)


def _tensor(m, a, grad):
    if a is None or not isinstance(a, np.ndarray):
        return a
    t = m.tensor(a)
    return t.requires_grad_() if grad and a.dtype.kind == "f" else t


def run(m, fn, arrays, grad=(0,), seed=3):
    """``fn(m, *tensors)`` and the gradients of the inputs listed in ``grad`` (for a random
    upstream gradient); returns (output values, [gradients], node name)."""
    tensors = [_tensor(m, a, i in grad) for i, a in enumerate(arrays)]
    out = fn(m, *tensors)
    name = out.grad_fn.name() if out.grad_fn is not None else None
    upstream = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    if out.requires_grad:
        out.backward(m.tensor(upstream.astype(values_of(out).dtype)))
    grads = [values_of(tensors[i].grad) if tensors[i].grad is not None else None for i in grad]
    return values_of(out), grads, name


def compare(fn, arrays, grad=(0,), rtol=1e-5, atol=1e-6, names=True):
    """nbtorch agrees with PyTorch on ``fn``: values, gradients and (unless told) node names."""
    ours = run(nbtorch, fn, arrays, grad)
    if real_torch is None:
        return ours
    theirs = run(real_torch, fn, arrays, grad)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=rtol, atol=atol, equal_nan=True)
    assert ours[0].dtype == theirs[0].dtype and ours[0].shape == theirs[0].shape
    for a, b in zip(ours[1], theirs[1]):
        if b is None:
            assert a is None or not a.any()
            continue
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if names:
        assert ours[2] == theirs[2]
    return ours


# --- cross_entropy and nll_loss with class indices -----------------------------------------------

SHAPES = [(5,), (4, 5), (3, 5, 2), (2, 5, 2, 3), (2, 5, 1, 2, 2)]


def _targets(shape, ignore):
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = RNG.integers(0, n_classes, tshape)
    if ignore:
        t = np.where(RNG.random(tshape) < 0.4, 2, t)  # class 2 is the ignored one below
        t.reshape(-1)[:1] = 0  # at least one target counts (all ignored: see test_ignored_targets)
    return t, n_classes


OPTIONS = list(itertools.product([False, True], [False, True], ["mean", "sum", "none"]))


@needs_torch
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("weighted, ignore, reduction", OPTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_class_indices_match_torch(shape, weighted, ignore, reduction, smoothing):
    x = RNG.standard_normal(shape).astype(np.float32)
    t, n_classes = _targets(shape, ignore)
    w = RNG.uniform(0.2, 2.0, n_classes).astype(np.float32) if weighted else None

    def fn(m, x, t, w):
        return m.nn.functional.cross_entropy(x, t, weight=w, ignore_index=2 if ignore else -100,
                                             reduction=reduction, label_smoothing=smoothing)

    compare(fn, [x, t, w])


@needs_torch
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("weighted, ignore, reduction", OPTIONS)
def test_nll_loss_matches_torch(shape, weighted, ignore, reduction):
    x = RNG.standard_normal(shape).astype(np.float32)
    t, n_classes = _targets(shape, ignore)
    w = RNG.uniform(0.2, 2.0, n_classes).astype(np.float32) if weighted else None

    def fn(m, x, t, w):
        return m.nn.functional.nll_loss(x, t, weight=w, ignore_index=2 if ignore else -100,
                                        reduction=reduction)

    compare(fn, [x, t, w])


@needs_torch
@pytest.mark.parametrize("shape", [(5,), (4, 5), (3, 5, 2)], ids=str)
@pytest.mark.parametrize("weighted, reduction, smoothing",
                         list(itertools.product([False, True], ["mean", "sum", "none"],
                                                [0.0, 0.3])))
def test_cross_entropy_probability_targets_match_torch(shape, weighted, reduction, smoothing):
    x = RNG.standard_normal(shape).astype(np.float32)
    p = RNG.random(shape).astype(np.float32)
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    w = RNG.uniform(0.2, 2.0, n_classes).astype(np.float32) if weighted else None

    def fn(m, x, p, w):
        return m.nn.functional.cross_entropy(x, p, weight=w, reduction=reduction,
                                             label_smoothing=smoothing)

    # PyTorch divides by a C++ number (DivBackward1); nbtorch has one Div node for both.
    compare(fn, [x, p, w], grad=(0, 1), names=reduction != "mean")


def test_cross_entropy_reference_values():
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    t = np.array([0, 2])
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expected = -(logp[0, 0] + logp[1, 2]) / 2
    got = nbtorch.nn.functional.cross_entropy(nbtorch.tensor(logits), nbtorch.tensor(t))
    np.testing.assert_allclose(got._data, expected, rtol=1e-12)
    w = np.array([0.5, 1.0, 3.0])
    got = nbtorch.nn.functional.cross_entropy(nbtorch.tensor(logits), nbtorch.tensor(t),
                                              weight=nbtorch.tensor(w))
    np.testing.assert_allclose(got._data, -(0.5 * logp[0, 0] + 3 * logp[1, 2]) / 3.5, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2)], ids=str)
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_gradcheck_float64(reduction, shape, name, device):
    x = RNG.standard_normal(shape)
    t, n_classes = _targets(shape, ignore=True)
    w = RNG.uniform(0.5, 2.0, n_classes)

    def fn(m, x):
        return getattr(m.nn.functional, name)(x, m.tensor(t, device=x.device),
                                              weight=m.tensor(w, device=x.device, dtype=x.dtype),
                                              ignore_index=2, reduction=reduction)

    check_op(fn, lambda a: values_of(fn(nbtorch, nbtorch.tensor(a))), [x], device=device)
    xt = nbtorch.tensor(x, requires_grad=True, device=device)
    assert nbtorch.autograd.gradgradcheck(lambda v: fn(nbtorch, v), (xt,))


@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(4, 3), (5,), (2, 3, 2)], ids=str)
def test_cross_entropy_double_backward_matches_torch(reduction, shape):
    x_np = RNG.standard_normal(shape)
    t, n_classes = _targets(shape, ignore=len(shape) > 1)
    w = RNG.uniform(0.5, 2.0, n_classes)
    results = []
    for m in (nbtorch, real_torch):
        x = m.tensor(x_np, requires_grad=True)
        loss = m.nn.functional.cross_entropy(x, m.tensor(t), weight=m.tensor(w),
                                             ignore_index=2, reduction=reduction)
        (g,) = m.autograd.grad(loss.sum() if reduction == "none" else loss, x, create_graph=True)
        (g * g.detach().cos()).sum().backward()
        results.append((values_of(g), values_of(x.grad)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-12)


@both
def test_cross_entropy_extreme_logits_are_finite(m):
    # rows whose maximum is far below the batch's maximum, and huge gaps inside a row
    logits = m.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1, -1e4 + 2], [-5e3, 5e3, 0.0],
                       [3.0, 1.0, 2.0]], requires_grad=True)
    target = m.tensor([1, 0, 1, 2])
    loss = m.nn.functional.cross_entropy(logits, target, reduction="none")
    np.testing.assert_allclose(values_of(loss), [2e4, 2.40760596, 0.0, 1.40760596], rtol=1e-6)
    loss.sum().backward()
    grad = values_of(logits.grad)
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(grad[0], [1, -1, 0], atol=1e-7)
    np.testing.assert_allclose(grad.sum(1), 0, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_rows_far_below_the_batch_maximum_match_torch(dtype):
    x = RNG.standard_normal((6, 7)) * 3
    x[1] -= 300.0
    x[3] -= 5e4
    x[4] += 2e4
    x[5, 2] = -np.inf
    t = np.array([0, 1, 2, 3, 4, 5])
    compare(lambda m, x, t: m.nn.functional.cross_entropy(x, t, reduction="none"),
            [x.astype(dtype), t])


@needs_torch
@pytest.mark.parametrize("row", [[np.inf, 1.0, 0.0], [np.nan, 0.0, 1.0],
                                 [-np.inf, -np.inf, -np.inf], [-np.inf, 0.0, 1.0]])
def test_cross_entropy_non_finite_logits_match_torch(row):
    x = np.array([row, [0.5, 0.2, -0.1]], dtype=np.float32)
    compare(lambda m, x, t: m.nn.functional.cross_entropy(x, t, reduction="none"),
            [x, np.array([1, 0])])


@both
def test_ignored_targets(m):
    F = m.nn.functional
    x = m.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    everything_ignored = m.tensor([-100, -100, -100])
    loss = F.cross_entropy(x, everything_ignored)
    assert math.isnan(loss.item())
    loss.backward()
    assert not values_of(x.grad).any()  # no gradient, not nan, as in PyTorch
    assert F.cross_entropy(x, everything_ignored, reduction="sum").item() == 0.0
    assert not values_of(F.nll_loss(x, everything_ignored, reduction="none")).any()
    x.grad = None
    zero_weights = F.cross_entropy(x, m.tensor([0, 1, 2]), weight=m.zeros(4, dtype=x.dtype))
    assert math.isnan(zero_weights.item())
    zero_weights.backward()
    assert np.isnan(values_of(x.grad)).all()  # 0/0 in every row, as in PyTorch


@both
def test_ignore_index_that_is_a_class_and_byte_targets(m):
    F = m.nn.functional
    x = m.tensor(RNG.standard_normal((4, 3)))
    t = m.tensor([0, 1, 2, 1])
    kept = F.cross_entropy(x[t != 1], t[t != 1])
    np.testing.assert_allclose(F.cross_entropy(x, t, ignore_index=1).item(), kept.item())
    byte = F.cross_entropy(x, t.to(m.uint8), ignore_index=1)
    np.testing.assert_allclose(byte.item(), kept.item())


@both
def test_cross_entropy_float32_stays_float32(m):
    x = m.tensor(RNG.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    loss = m.nn.functional.cross_entropy(x, m.tensor([0, 1, 2, 1]))
    assert loss.dtype == m.float32
    loss.backward()
    assert x.grad.dtype == m.float32


def test_fused_cross_entropy_gradient_is_adopted_without_a_copy():
    x = nbtorch.tensor(RNG.standard_normal((8, 5)).astype(np.float32), requires_grad=True)
    nbtorch.nn.functional.cross_entropy(x, nbtorch.tensor(RNG.integers(0, 5, 8))).backward()
    assert x.grad._data.flags.owndata and x.grad._data.flags.c_contiguous


CLASS_ERRORS = [
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.tensor([1, 2, 5])), IndexError,
     "Target 5 is out of bounds."),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.tensor([1, -1, 0])), IndexError,
     "Target -1 is out of bounds."),
    (lambda m: m.nn.functional.nll_loss(m.randn(3, 5), m.tensor([1, 2, 7])), IndexError,
     "Target 7 is out of bounds."),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5, 2), m.zeros(3, 2, dtype=m.long) + 9),
     IndexError, "Target 9 is out of bounds."),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.tensor([1, 2])), ValueError,
     "Expected input batch_size (3) to match target batch_size (2)."),
    (lambda m: m.nn.functional.nll_loss(m.randn(3, 5), m.tensor([1, 2])), ValueError,
     "Expected input batch_size (3) to match target batch_size (2)."),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.tensor([1.0, 2.0, 3.0])),
     RuntimeError, "expected target dtype to be Long or Byte, but got Float"),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.tensor([1, 2, 3],
                                                                     dtype=m.int32)),
     RuntimeError, "expected target dtype to be Long or Byte, but got Int"),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.randint(0, 5, (3, 5))),
     RuntimeError, "Expected floating point type for target with class probabilities, got Long"),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.tensor([[1], [2], [3]])),
     RuntimeError, "0D or 1D target tensor expected, multi-target not supported"),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.rand(3, 5), ignore_index=1),
     RuntimeError, "ignore_index is not supported for floating point target"),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.tensor([1, 2, 3]),
                                             weight=m.rand(4)),
     RuntimeError, "weight tensor should be defined either for all 5 classes or no classes but "
                   "got weight tensor of shape: [4]"),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.rand(3, 5), weight=m.rand(4)),
     RuntimeError, "cross_entropy: weight tensor should be defined either for all 5 classes or no "
                   "classes but got weight tensor of shape: [4]"),
    (lambda m: m.nn.functional.nll_loss(m.randn(3, 5, 2), m.zeros(3, 2, dtype=m.long),
                                        weight=m.ones(3)),
     RuntimeError, "weight tensor should be defined either for all or no classes"),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.tensor([1, 2, 3]),
                                             weight=m.rand(5).double()),
     RuntimeError, "expected scalar type Float but found Double"),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.tensor([1, 2, 3]),
                                             reduction="foo"),
     ValueError, "foo is not a valid value for reduction"),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.tensor([1, 2, 3]),
                                             label_smoothing=1.5),
     RuntimeError, "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5, 2), m.randint(0, 5, (3, 3))),
     RuntimeError, "Expected target size [3, 2], got [3, 3]"),
    (lambda m: m.nn.functional.nll_loss(m.randn(3, 5, 2, 2), m.randint(0, 5, (3, 2, 3))),
     RuntimeError, "size mismatch (got input: [3, 5, 2, 2] , target: [3, 2, 3]"),
    (lambda m: m.nn.functional.nll_loss(m.randn(3, 5, 2, 2), m.tensor([1, 2, 0])),
     RuntimeError, "only batches of spatial targets supported (3D tensors) but got targets of "
                   "dimension: 1"),
    (lambda m: m.nn.functional.cross_entropy(m.randn(5), m.tensor([1, 2])), ValueError,
     "For 1D input, 1D target must have size 1, but got target size: 2"),
    (lambda m: m.nn.functional.cross_entropy(m.randint(0, 5, (3, 5)), m.tensor([1, 2, 3])),
     NotImplementedError, "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    (lambda m: m.nn.functional.nll_loss(m.randint(0, 5, (3, 5)), m.tensor([1, 2, 3])),
     NotImplementedError, "\"nll_loss_out_frame\" not implemented for 'Long'"),
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 5), m.tensor([1, 2, 3]),
                                             weight=m.rand(5, requires_grad=True)),
     RuntimeError, "The function 'nll_loss_forward' is not differentiable with respect to "
                   "argument 'weight'. This input cannot have requires_grad True."),
]


@pytest.mark.parametrize("make, error, message", CLASS_ERRORS)
def test_class_target_errors(make, error, message):
    assert_same_error(make, error, message)


# --- regression losses ---------------------------------------------------------------------------

A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((3, 4))
REGRESSION = [
    ("mse", lambda F, a, b, r: F.mse_loss(a, b, reduction=r), lambda d: d * d),
    ("l1", lambda F, a, b, r: F.l1_loss(a, b, reduction=r), np.abs),
    ("smooth_l1", lambda F, a, b, r: F.smooth_l1_loss(a, b, reduction=r),
     lambda d: np.where(np.abs(d) < 1, 0.5 * d * d, np.abs(d) - 0.5)),
    ("smooth_l1_beta", lambda F, a, b, r: F.smooth_l1_loss(a, b, reduction=r, beta=0.5),
     lambda d: np.where(np.abs(d) < 0.5, d * d, np.abs(d) - 0.25)),
    ("smooth_l1_beta0", lambda F, a, b, r: F.smooth_l1_loss(a, b, reduction=r, beta=0.0),
     np.abs),
    ("huber", lambda F, a, b, r: F.huber_loss(a, b, reduction=r),
     lambda d: np.where(np.abs(d) < 1, 0.5 * d * d, np.abs(d) - 0.5)),
    ("huber_delta", lambda F, a, b, r: F.huber_loss(a, b, reduction=r, delta=0.7),
     lambda d: np.where(np.abs(d) < 0.7, 0.5 * d * d, 0.7 * (np.abs(d) - 0.35))),
]
REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}


@pytest.mark.parametrize("fn, elementwise", [c[1:] for c in REGRESSION],
                         ids=[c[0] for c in REGRESSION])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(fn, elementwise, reduction, device):
    check_op(lambda m, a, b: fn(m.nn.functional, a, b, reduction),
             lambda a, b: REDUCE[reduction](elementwise(a - b)), [A, B], device=device)
    a = nbtorch.tensor(A, requires_grad=True, device=device)
    b = nbtorch.tensor(B, requires_grad=True, device=device)
    assert nbtorch.autograd.gradgradcheck(
        lambda x, y: fn(nbtorch.nn.functional, x, y, reduction), (a, b))


@needs_torch
@pytest.mark.parametrize("fn", [c[1] for c in REGRESSION], ids=[c[0] for c in REGRESSION])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_node_names_match_torch(fn, reduction):
    compare(lambda m, a, b: fn(m.nn.functional, a, b, reduction), [A, B], grad=(0, 1))


@needs_torch
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weighted_regression_losses_match_torch(name, reduction):
    w = RNG.random((3, 4))
    compare(lambda m, a, b, w: getattr(m.nn.functional, name)(a, b, reduction=reduction,
                                                              weight=w),
            [A, B, w], grad=(0, 1))


@both
def test_regression_losses_broadcast_with_pytorchs_warning(m):
    x = m.tensor(RNG.standard_normal((3, 1)), requires_grad=True)
    y = m.tensor(RNG.standard_normal(3))
    message = ("Using a target size (torch.Size([3])) that is different to the input size "
               "(torch.Size([3, 1])). This will likely lead to incorrect results due to "
               "broadcasting. Please ensure they have the same size.")
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loss = getattr(m.nn.functional, name)(x, y)
        assert [str(w.message) for w in caught] == [message]
        assert caught[0].filename == __file__  # the warning points at the caller's line
        assert loss.shape == ()
    diff = values_of(x) - values_of(y)
    with pytest.warns(UserWarning, match="Using a target size"):
        np.testing.assert_allclose(values_of(m.nn.functional.mse_loss(x, y)), (diff ** 2).mean())


@both
def test_regression_dtype_promotion(m):
    F = m.nn.functional
    assert F.mse_loss(m.rand(3), m.rand(3).double()).dtype == m.float64
    assert F.mse_loss(m.rand(3), m.tensor([1, 0, 1])).dtype == m.float32
    assert F.mse_loss(m.randn(0), m.randn(0)).isnan().item()


@pytest.mark.filterwarnings("ignore:Using a target size")
def test_regression_errors():
    assert_same_error(lambda m: m.nn.functional.mse_loss(m.tensor([1, 2]), m.tensor([1, 0])),
                      NotImplementedError, "\"mse_cpu\" not implemented for 'Long'")
    assert_same_error(lambda m: m.nn.functional.mse_loss(m.randn(3, 2), m.randn(3)),
                      RuntimeError, "The size of tensor a (2) must match the size of tensor b "
                                    "(3) at non-singleton dimension 1")
    assert_same_error(lambda m: m.nn.functional.huber_loss(m.randn(3), m.randn(3), delta=0),
                      RuntimeError, "huber_loss does not support non-positive values for delta.")
    assert_same_error(lambda m: m.nn.functional.smooth_l1_loss(m.randn(3), m.randn(3), beta=-1),
                      RuntimeError, "smooth_l1_loss does not support negative values for beta.")
    assert_same_error(lambda m: m.nn.functional.mse_loss(m.randn(3), m.randn(3), reduction="x"),
                      ValueError, "x is not a valid value for reduction")
    assert_same_error(lambda m: m.nn.functional.mse_loss(m.randn(3), m.randn(3),
                                                         weight=m.rand(2)),
                      ValueError, "Weights and input must have the same size.")


@both
def test_legacy_size_average_and_reduce(m):
    F = m.nn.functional
    a, b = m.tensor(A), m.tensor(B)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated, "
                                         "please use reduction='sum' instead."):
        total = F.mse_loss(a, b, size_average=False)
    np.testing.assert_allclose(values_of(total), ((A - B) ** 2).sum(), rtol=1e-6)
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert F.l1_loss(a, b, reduce=False).shape == (3, 4)


# --- binary cross-entropy ------------------------------------------------------------------------

P = RNG.uniform(0.05, 0.95, (3, 4))
T = RNG.uniform(0.0, 1.0, (3, 4))
LOGITS = RNG.standard_normal((3, 4)) * 3


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted, device):
    w = RNG.uniform(0.5, 2.0, 4)

    def fn(m, p, t):
        weight = m.tensor(w, device=p.device, dtype=p.dtype) if weighted else None
        return m.nn.functional.binary_cross_entropy(p, t, weight=weight, reduction=reduction)

    def ref(p, t):
        loss = -(t * np.log(p) + (1 - t) * np.log1p(-p)) * (w if weighted else 1)
        return REDUCE[reduction](loss)

    check_op(fn, ref, [P, T], device=device)
    compare(fn, [P, T], grad=(0, 1))
    p = nbtorch.tensor(P, requires_grad=True, device=device)
    t = nbtorch.tensor(T, requires_grad=True, device=device)
    assert nbtorch.autograd.gradgradcheck(lambda a, b: fn(nbtorch, a, b), (p, t))


@needs_torch
def test_binary_cross_entropy_clamps_like_torch():
    p = np.array([0.0, 1.0, 1e-30, 1 - 1e-7, 0.5, 1e-8], dtype=np.float32)
    t = np.array([1.0, 0.0, 1.0, 0.0, 0.5, 0.0], dtype=np.float32)
    out, grads, _ = compare(
        lambda m, p, t: m.nn.functional.binary_cross_entropy(p, t, reduction="none"), [p, t],
        grad=(0,), rtol=1e-5)
    assert np.isfinite(out).all() and out[0] == 100.0
    # the target's gradient is log(1 - p) - log(p), unclamped (infinite at 0 and 1)
    compare(lambda m, p, t: m.nn.functional.binary_cross_entropy(p, t, reduction="sum"),
            [p[:2], t[:2]], grad=(0, 1))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted, positive", [(False, False), (True, False), (False, True),
                                                (True, True)])
def test_binary_cross_entropy_with_logits(reduction, weighted, positive, device):
    w = RNG.uniform(0.5, 2.0, (3, 1))
    pw = RNG.uniform(0.5, 3.0, 4)

    def fn(m, x, t):
        weight = m.tensor(w, device=x.device) if weighted else None
        pos = m.tensor(pw, device=x.device) if positive else None
        return m.nn.functional.binary_cross_entropy_with_logits(
            x, t, weight=weight, pos_weight=pos, reduction=reduction)

    def ref(x, t):
        log_sig = -np.log1p(np.exp(-x))
        log_one_minus = -np.log1p(np.exp(x))
        p = pw if positive else 1
        loss = -(p * t * log_sig + (1 - t) * log_one_minus) * (w if weighted else 1)
        return REDUCE[reduction](loss)

    check_op(fn, ref, [LOGITS, T], device=device)
    compare(lambda m, x, t: fn(m, x, t), [LOGITS, T], grad=(0, 1))
    x = nbtorch.tensor(LOGITS, requires_grad=True, device=device)
    t = nbtorch.tensor(T, requires_grad=True, device=device)
    assert nbtorch.autograd.gradgradcheck(lambda a, b: fn(nbtorch, a, b), (x, t))


@needs_torch
def test_binary_cross_entropy_with_logits_extremes_match_torch():
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4, 3.0], dtype=np.float32)
    t = np.array([1.0, 0.0, 0.5, 1.0, 0.0, 0.5], dtype=np.float32)
    pw = np.array([2.0, 3.0, 4.0, 0.5, 1.0, 2.0], dtype=np.float32)
    out, _, _ = compare(lambda m, x, t, p: m.nn.functional.binary_cross_entropy_with_logits(
        x, t, pos_weight=p, reduction="none"), [x, t, pw], grad=(0, 1))
    assert np.isfinite(out).all()


def test_binary_errors():
    assert_same_error(lambda m: m.nn.functional.binary_cross_entropy(m.tensor([0.5, 1.5]),
                                                                     m.rand(2)),
                      RuntimeError, "all elements of input should be between 0 and 1")
    assert_same_error(lambda m: m.nn.functional.binary_cross_entropy(m.tensor([0.5, 0.5]),
                                                                     m.tensor([2.0, -1.0])),
                      RuntimeError, "all elements of target should be between 0 and 1")
    assert_same_error(lambda m: m.nn.functional.binary_cross_entropy(m.tensor([0.5, 0.5]),
                                                                     m.tensor([1, 0])),
                      RuntimeError, "Found dtype Long but expected Float")
    assert_same_error(lambda m: m.nn.functional.binary_cross_entropy(m.rand(3, 1), m.rand(3)),
                      ValueError, "Using a target size (torch.Size([3])) that is different to the "
                                  "input size (torch.Size([3, 1])) is deprecated. Please ensure "
                                  "they have the same size.")
    assert_same_error(lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.rand(3, 1),
                                                                                 m.rand(3)),
                      ValueError, "Target size (torch.Size([3])) must be the same as input size "
                                  "(torch.Size([3, 1]))")


# --- divergences and margins ---------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    logq = np.log(RNG.dirichlet(np.ones(4), 3))
    p = RNG.dirichlet(np.ones(4), 3)
    target = np.log(p) if log_target else p

    def fn(m, q, t):
        return m.nn.functional.kl_div(q, t, reduction=reduction, log_target=log_target)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'mean' warns; checked below
        compare(fn, [logq, target], grad=(0, 1))
        if not log_target:
            # 0 log 0 = 0; the target's gradient there is nan in PyTorch (not compared)
            p[0, 1] = 0.0
            compare(fn, [logq, p], grad=(0,))


@both
def test_kl_div_mean_warns_and_gradcheck(m):
    x = m.tensor(np.log(RNG.dirichlet(np.ones(3), 2)), requires_grad=True)
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss by both the "
                                         "batch size and the support size."):
        m.nn.functional.kl_div(x, x.exp().detach())
    y = nbtorch.tensor(RNG.dirichlet(np.ones(3), 2), requires_grad=True)
    xs = nbtorch.tensor(values_of(x), requires_grad=True)
    assert nbtorch.autograd.gradgradcheck(
        lambda a, b: nbtorch.nn.functional.kl_div(a, b, reduction="batchmean"), (xs, y))


OTHER = [
    ("soft_margin", lambda m, a, b, y: m.nn.functional.soft_margin_loss(a, y)),
    ("margin_ranking", lambda m, a, b, y: m.nn.functional.margin_ranking_loss(a, b, y,
                                                                              margin=0.3)),
    ("hinge_embedding", lambda m, a, b, y: m.nn.functional.hinge_embedding_loss(a, y)),
    ("cosine_embedding", lambda m, a, b, y: m.nn.functional.cosine_embedding_loss(
        a.reshape(2, 3), b.reshape(2, 3), y[:2], margin=0.1, reduction="sum")),
    ("gaussian_nll", lambda m, a, b, y: m.nn.functional.gaussian_nll_loss(a, b, y.abs() + 0.5,
                                                                          full=True)),
    ("poisson_nll", lambda m, a, b, y: m.nn.functional.poisson_nll_loss(a, b.abs(), full=True)),
]


@needs_torch
@pytest.mark.parametrize("fn", [c[1] for c in OTHER], ids=[c[0] for c in OTHER])
def test_other_losses_match_torch(fn):
    a, b = RNG.standard_normal(6), RNG.standard_normal(6) * 2
    y = np.array([1.0, -1.0, 1.0, -1.0, -1.0, 1.0])
    compare(fn, [a, b, y], grad=(0, 1), names=False)

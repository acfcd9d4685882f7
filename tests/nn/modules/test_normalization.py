"""Tests of nbtorch/nn/modules/normalization.py and batchnorm.py: LayerNorm, GroupNorm, RMSNorm,
BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d against PyTorch (values, gradients, running statistics
over training steps, eval mode, state_dict keys, reprs, errors)."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, needs_torch, real_torch

RNG = np.random.default_rng(0)
nn = nbtorch.nn


def _copy_params(nb_layer, th_layer):
    """Give the nbtorch layer the torch layer's parameters and buffers."""
    state = {k: nbtorch.tensor(v.detach().numpy()) for k, v in th_layer.state_dict().items()}
    nb_layer.load_state_dict(state)


def _np(t):
    return t.detach().cpu().numpy()


REPRS = [
    (lambda m: m.nn.BatchNorm2d(16),
     "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"),
    (lambda m: m.nn.BatchNorm1d(4, affine=False, bias=False),
     "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=False, bias=False, "
     "track_running_stats=True)"),
    (lambda m: m.nn.BatchNorm3d(3, momentum=None, track_running_stats=False),
     "BatchNorm3d(3, eps=1e-05, momentum=None, affine=True, bias=True, "
     "track_running_stats=False)"),
    (lambda m: m.nn.LayerNorm(10), "LayerNorm((10,), eps=1e-05, elementwise_affine=True, "
                                   "bias=True)"),
    (lambda m: m.nn.LayerNorm((3, 4), eps=1e-3, bias=False),
     "LayerNorm((3, 4), eps=0.001, elementwise_affine=True, bias=False)"),
    (lambda m: m.nn.LayerNorm([5], elementwise_affine=False),
     "LayerNorm((5,), eps=1e-05, elementwise_affine=False, bias=False)"),
    (lambda m: m.nn.GroupNorm(2, 4), "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"),
    (lambda m: m.nn.RMSNorm(4), "RMSNorm((4,), eps=None, elementwise_affine=True)"),
    (lambda m: m.nn.RMSNorm([4, 5], eps=1e-3, elementwise_affine=False),
     "RMSNorm((4, 5), eps=0.001, elementwise_affine=False)"),
    (lambda m: m.nn.InstanceNorm2d(3),
     "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, "
     "track_running_stats=False)"),
    (lambda m: m.nn.InstanceNorm1d(3, affine=True, track_running_stats=True),
     "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, "
     "track_running_stats=True)"),
    (lambda m: m.nn.Sequential(m.nn.Linear(2, 2), m.nn.BatchNorm1d(2)),
     "Sequential(\n  (0): Linear(in_features=2, out_features=2, bias=True)\n  (1): BatchNorm1d(2, "
     "eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)\n)"),
]


@pytest.mark.parametrize("make, text", REPRS)
def test_repr_matches_torch(make, text):
    if make is REPRS[-1][0] and not hasattr(nn, "Sequential"):
        pytest.skip("nn.Sequential is not written yet")
    assert repr(make(nbtorch)) == text
    if real_torch is not None:
        assert repr(make(real_torch)) == text


STATE = [
    lambda m: m.nn.BatchNorm1d(3), lambda m: m.nn.BatchNorm2d(3, affine=False),
    lambda m: m.nn.BatchNorm3d(3, track_running_stats=False),
    lambda m: m.nn.BatchNorm2d(3, bias=False),
    lambda m: m.nn.LayerNorm(3), lambda m: m.nn.LayerNorm(3, bias=False),
    lambda m: m.nn.GroupNorm(1, 3), lambda m: m.nn.RMSNorm(3),
    lambda m: m.nn.InstanceNorm1d(3), lambda m: m.nn.InstanceNorm2d(3, track_running_stats=True),
]


@needs_torch
@pytest.mark.parametrize("make", STATE)
def test_state_dict_keys_and_dtypes_match_torch(make):
    ours, theirs = make(nbtorch).state_dict(), make(real_torch).state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert str(ours[key].dtype) == str(theirs[key].dtype), key
        np.testing.assert_array_equal(_np(ours[key]), theirs[key].numpy())
    assert [n for n, _ in make(nbtorch).named_parameters()] == \
        [n for n, _ in make(real_torch).named_parameters()]


def test_batchnorm_buffers():
    bn = nn.BatchNorm2d(4)
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                   "num_batches_tracked"]
    assert bn.num_batches_tracked.dtype == nbtorch.int64 and bn.num_batches_tracked.shape == ()
    bn.double()
    assert bn.running_mean.dtype == nbtorch.float64 and bn.num_batches_tracked.dtype == \
        nbtorch.int64
    assert nn.BatchNorm1d(3, track_running_stats=False).running_mean is None


BATCH_NORMS = [
    ("BatchNorm1d-2d", lambda m, **k: m.nn.BatchNorm1d(3, **k), (8, 3)),
    ("BatchNorm1d-3d", lambda m, **k: m.nn.BatchNorm1d(3, **k), (4, 3, 5)),
    ("BatchNorm2d", lambda m, **k: m.nn.BatchNorm2d(3, **k), (4, 3, 2, 3)),
    ("BatchNorm3d", lambda m, **k: m.nn.BatchNorm3d(3, **k), (2, 3, 2, 2, 3)),
    ("InstanceNorm1d", lambda m, **k: m.nn.InstanceNorm1d(3, affine=True,
                                                          track_running_stats=True, **k),
     (4, 3, 5)),
    ("InstanceNorm2d", lambda m, **k: m.nn.InstanceNorm2d(3, affine=True,
                                                          track_running_stats=True, **k),
     (2, 3, 3, 4)),
]


@needs_torch
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("make, shape", [b[1:] for b in BATCH_NORMS],
                         ids=[b[0] for b in BATCH_NORMS])
def test_training_trajectory_follows_torch(make, shape, momentum):
    """Several train steps (forward, backward, SGD update): outputs, gradients, running statistics
    and num_batches_tracked follow PyTorch's; then eval mode uses the running statistics."""
    ours, theirs = make(nbtorch, momentum=momentum), make(real_torch, momentum=momentum)
    with real_torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.uniform_(-0.5, 0.5)
    _copy_params(ours, theirs)
    for step in range(4):
        x = (RNG.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        g = RNG.standard_normal(shape).astype(np.float32)
        xn, xt = nbtorch.tensor(x, requires_grad=True), real_torch.tensor(x, requires_grad=True)
        yn, yt = ours(xn), theirs(xt)
        np.testing.assert_allclose(_np(yn), _np(yt), rtol=1e-4, atol=1e-5)
        yn.backward(nbtorch.tensor(g))
        yt.backward(real_torch.tensor(g))
        np.testing.assert_allclose(_np(xn.grad), _np(xt.grad), rtol=1e-3, atol=1e-4)
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(_np(p.grad), _np(q.grad), rtol=1e-3, atol=1e-4,
                                       err_msg=name)
            with nbtorch.no_grad():
                p -= 0.1 * p.grad
            with real_torch.no_grad():
                q -= 0.1 * q.grad
            p.grad = q.grad = None
        for (name, b), c in zip(ours.named_buffers(), theirs.buffers()):
            np.testing.assert_allclose(_np(b), _np(c), rtol=1e-5, atol=1e-6, err_msg=name)
    ours.eval()
    theirs.eval()
    x = RNG.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(_np(ours(nbtorch.tensor(x))), _np(theirs(real_torch.tensor(x))),
                               rtol=1e-4, atol=1e-5)


def test_eval_mode_uses_running_statistics():
    bn = nn.BatchNorm1d(2)
    bn.running_mean.copy_(nbtorch.tensor([1.0, -1.0]))
    bn.running_var.copy_(nbtorch.tensor([4.0, 0.25]))
    bn.eval()
    x = nbtorch.tensor([[3.0, 0.0]])  # one sample: fine in eval mode
    np.testing.assert_allclose(_np(bn(x)), [[2 / np.sqrt(4 + 1e-5), 1 / np.sqrt(0.25 + 1e-5)]],
                               rtol=1e-6)
    assert bn.num_batches_tracked.item() == 0  # eval does not count batches


def test_without_running_statistics_eval_uses_the_batch():
    bn = nn.BatchNorm1d(2, track_running_stats=False).eval()
    y = bn(nbtorch.tensor([[1.0, 2.0], [3.0, 6.0]]))
    np.testing.assert_allclose(_np(y), [[-1, -1], [1, 1]], rtol=1e-4)


def test_cumulative_moving_average():
    bn = nn.BatchNorm1d(1, momentum=None)
    means = []
    for step in range(3):
        x = RNG.standard_normal((5, 1)) + step
        means.append(x.mean())
        bn(nbtorch.tensor(x, dtype=nbtorch.float32))
    np.testing.assert_allclose(bn.running_mean.numpy(), [np.mean(means)], rtol=1e-5)
    assert bn.num_batches_tracked.item() == 3


@needs_torch
@pytest.mark.parametrize("make, shape", [
    (lambda m: m.nn.LayerNorm(5), (2, 3, 5)), (lambda m: m.nn.LayerNorm((3, 5)), (2, 3, 5)),
    (lambda m: m.nn.LayerNorm(5, bias=False), (4, 5)), (lambda m: m.nn.GroupNorm(2, 4), (3, 4, 5)),
    (lambda m: m.nn.GroupNorm(4, 4, affine=False), (3, 4, 2, 2)), (lambda m: m.nn.RMSNorm(5),
                                                                  (2, 3, 5)),
    (lambda m: m.nn.InstanceNorm1d(3), (3, 5)), (lambda m: m.nn.InstanceNorm2d(3), (2, 3, 2, 3)),
    (lambda m: m.nn.InstanceNorm3d(2, affine=True), (2, 2, 2, 3)),
])
def test_layers_match_torch(make, shape, device):
    ours, theirs = make(nbtorch), make(real_torch)
    with real_torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1.5, 1.5)
    _copy_params(ours, theirs)
    ours.to(device)
    x = RNG.standard_normal(shape).astype(np.float32)
    g = RNG.standard_normal(shape).astype(np.float32)
    xn = nbtorch.tensor(x, requires_grad=True, device=device)
    xt = real_torch.tensor(x, requires_grad=True)
    yn, yt = ours(xn), theirs(xt)
    np.testing.assert_allclose(_np(yn), _np(yt), rtol=1e-4, atol=1e-5)
    yn.backward(nbtorch.tensor(g, device=device))
    yt.backward(real_torch.tensor(g))
    np.testing.assert_allclose(_np(xn.grad), _np(xt.grad), rtol=1e-3, atol=1e-4)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(_np(p.grad), _np(q.grad), rtol=1e-3, atol=1e-4)


def test_parameters_start_at_ones_and_zeros():
    for layer in (nn.LayerNorm(3), nn.GroupNorm(1, 3), nn.BatchNorm1d(3),
                  nn.InstanceNorm1d(3, affine=True)):
        assert layer.weight.tolist() == [1.0] * 3 and layer.bias.tolist() == [0.0] * 3
    assert nn.RMSNorm(3).weight.tolist() == [1.0] * 3


def test_load_state_dict_without_num_batches_tracked():
    """Old checkpoints (before num_batches_tracked existed) load, with the count left at 0."""
    bn = nn.BatchNorm1d(2)
    state = {k: v for k, v in nn.BatchNorm1d(2).state_dict().items()
             if k != "num_batches_tracked"}
    bn.load_state_dict(state)
    assert bn.num_batches_tracked.item() == 0


ERRORS = [
    (lambda m: m.nn.BatchNorm1d(3)(m.randn(2, 3, 4, 5)), ValueError,
     "expected 2D or 3D input (got 4D input)"),
    (lambda m: m.nn.BatchNorm2d(3)(m.randn(2, 3, 4)), ValueError,
     "expected 4D input (got 3D input)"),
    (lambda m: m.nn.BatchNorm3d(3)(m.randn(2, 3, 4, 4)), ValueError,
     "expected 5D input (got 4D input)"),
    (lambda m: m.nn.BatchNorm1d(3)(m.randn(1, 3)), ValueError,
     "Expected more than 1 value per channel when training, got input size torch.Size([1, 3])"),
    (lambda m: m.nn.BatchNorm1d(3)(m.randn(4, 5)), RuntimeError,
     "running_mean should contain 5 elements not 3"),
    (lambda m: m.nn.GroupNorm(4, 6), ValueError, "num_channels (6) must be divisible by "
                                                 "num_groups (4)"),
    (lambda m: m.nn.InstanceNorm1d(3, affine=True)(m.randn(2, 4, 5)), ValueError,
     "expected input's size at dim=1 to match num_features (3), but got: 4."),
    (lambda m: m.nn.InstanceNorm2d(3)(m.randn(2, 3)), ValueError,
     "expected 3D or 4D input (got 2D input)"),
    (lambda m: m.nn.LayerNorm(4)(m.randn(2, 3)), RuntimeError,
     "Given normalized_shape=[4], expected input with shape [*, 4], but got input of size[2, 3]"),
]


@pytest.mark.parametrize("make, error, message", ERRORS)
def test_errors_match_torch(make, error, message):
    assert_same_error(make, error, message)


def test_instance_norm_warns_when_channels_differ_without_affine():
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3)(nbtorch.randn(2, 4, 5))

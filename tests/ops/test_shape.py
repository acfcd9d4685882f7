"""Shape and movement ops: values, gradients and grad_fn names against numpy and PyTorch, PyTorch's
error messages, view aliasing and in-place ops through views, and hypothesis round trips."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbtorch
from nbtorch.autograd.tensor_xp import TENSOR_XP
from tests.helpers import check_op, real_torch

R = np.random.default_rng(0)


def arr(*shape):
    return R.standard_normal(shape)


def _scale(pieces):
    """Weigh the pieces differently, so a gradient sent to the wrong piece shows."""
    return [p * (i + 1) for i, p in enumerate(pieces)]


def _np_scaled(pieces):
    return [p * (i + 1) for i, p in enumerate(pieces)]


# --- values and gradients: (id, fn(m, *tensors), numpy reference, inputs) -------------------------
CASES = [
    ("view", lambda m, x: x.view(3, -1), lambda x: x.reshape(3, -1), [arr(2, 3, 2)]),
    ("view_size", lambda m, x: x.view(m.Size([6, 2])), lambda x: x.reshape(6, 2), [arr(3, 4)]),
    ("view_as", lambda m, x, y: x.view_as(y), lambda x, y: x.reshape(y.shape),
     [arr(2, 6), np.zeros((3, 4), dtype=np.int64)]),
    ("reshape", lambda m, x: m.reshape(x, (4, 3)), lambda x: x.reshape(4, 3), [arr(2, 6)]),
    ("reshape_copy", lambda m, x: x.t().reshape(-1), lambda x: x.T.reshape(-1), [arr(3, 4)]),
    ("reshape_as", lambda m, x, y: x.reshape_as(y), lambda x, y: x.reshape(y.shape),
     [arr(6), np.zeros((2, 3), dtype=np.int64)]),
    ("permute", lambda m, x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), [arr(2, 3, 4)]),
    ("permute_fn", lambda m, x: m.permute(x, (1, -1, 0)), lambda x: x.transpose(1, 2, 0),
     [arr(2, 3, 4)]),
    ("transpose", lambda m, x: m.transpose(x, 0, -1), lambda x: x.swapaxes(0, 2),
     [arr(2, 3, 4)]),
    ("swapaxes", lambda m, x: x.swapaxes(0, 1), lambda x: x.swapaxes(0, 1), [arr(2, 3)]),
    ("swapdims", lambda m, x: m.swapdims(x, 1, 2), lambda x: x.swapaxes(1, 2), [arr(2, 3, 4)]),
    ("t", lambda m, x: x.t(), lambda x: x.T, [arr(2, 3)]),
    ("t_1d", lambda m, x: m.t(x), lambda x: x, [arr(4)]),
    ("T", lambda m, x: x.T, lambda x: x.T, [arr(3, 2)]),
    ("mT", lambda m, x: x.mT, lambda x: x.swapaxes(-1, -2), [arr(2, 3, 4)]),
    ("mH", lambda m, x: x.mH, lambda x: x.swapaxes(-1, -2), [arr(2, 3, 4)]),
    ("H", lambda m, x: x.H, lambda x: x.T, [arr(2, 3)]),
    ("movedim", lambda m, x: m.movedim(x, 0, -1), lambda x: np.moveaxis(x, 0, -1),
     [arr(2, 3, 4)]),
    ("moveaxis", lambda m, x: x.moveaxis((0, 1), (2, 0)),
     lambda x: np.moveaxis(x, (0, 1), (2, 0)), [arr(2, 3, 4)]),
    ("squeeze_all", lambda m, x: x.squeeze(), lambda x: x.squeeze(), [arr(1, 3, 1, 2)]),
    ("squeeze_dim", lambda m, x: m.squeeze(x, -2), lambda x: x.squeeze(-2), [arr(1, 3, 1, 2)]),
    ("squeeze_noop", lambda m, x: x.squeeze(1), lambda x: x, [arr(1, 3, 1, 2)]),
    ("squeeze_dims", lambda m, x: x.squeeze((0, 1, 2)), lambda x: x.squeeze((0, 2)),
     [arr(1, 3, 1, 2)]),
    ("unsqueeze", lambda m, x: x.unsqueeze(1), lambda x: x[:, None], [arr(2, 3)]),
    ("unsqueeze_neg", lambda m, x: m.unsqueeze(x, -1), lambda x: x[..., None], [arr(2, 3)]),
    ("flatten", lambda m, x: x.flatten(), lambda x: x.reshape(-1), [arr(2, 3, 4)]),
    ("flatten_mid", lambda m, x: m.flatten(x, 1, 2), lambda x: x.reshape(2, 12),
     [arr(2, 3, 4)]),
    ("flatten_nc", lambda m, x: x.transpose(0, 1).flatten(1),
     lambda x: x.swapaxes(0, 1).reshape(3, -1), [arr(2, 3, 4)]),
    ("unflatten", lambda m, x: x.unflatten(1, (2, -1)), lambda x: x.reshape(3, 2, 2),
     [arr(3, 4)]),
    ("ravel", lambda m, x: x.ravel(), lambda x: x.ravel(), [arr(2, 3)]),
    ("ravel_nc", lambda m, x: m.ravel(x.t()), lambda x: x.T.ravel(), [arr(2, 3)]),
    ("contiguous", lambda m, x: x.t().contiguous(), lambda x: x.T, [arr(2, 3)]),
    ("expand", lambda m, x: x.expand(2, -1, 3), lambda x: np.broadcast_to(x, (2, 4, 3)),
     [arr(4, 1)]),
    ("expand_same", lambda m, x: x.expand(4, 3), lambda x: x, [arr(4, 3)]),
    ("expand_as", lambda m, x, y: x.expand_as(y), lambda x, y: np.broadcast_to(x, y.shape),
     [arr(3), np.zeros((2, 3), dtype=np.int64)]),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3, 4)),
     lambda x: np.broadcast_to(x, (2, 3, 4)), [arr(3, 1)]),
    ("meshgrid_ij", lambda m, x, y: m.meshgrid(x, y, indexing="ij")[0] * 1
     + m.meshgrid(x, y, indexing="ij")[1] * 2,
     lambda x, y: np.meshgrid(x, y, indexing="ij")[0] + 2 * np.meshgrid(x, y, indexing="ij")[1],
     [arr(3), arr(4)]),
    ("meshgrid_xy", lambda m, x, y, z: m.meshgrid([x, y, z], indexing="xy")[0] * 1
     + m.meshgrid(x, y, z, indexing="xy")[1] * 2 + m.meshgrid(x, y, z, indexing="xy")[2] * 3,
     lambda x, y, z: sum((k + 1) * g for k, g in enumerate(np.meshgrid(x, y, z, indexing="xy"))),
     [arr(3), arr(4), arr(2)]),
    ("broadcast_tensors", lambda m, x, y: m.broadcast_tensors(x, y)[0] * 1
     + m.broadcast_tensors(x, y)[1] * 2, lambda x, y: x + 2 * y, [arr(2, 1), arr(3)]),
    ("repeat", lambda m, x: x.repeat(2, 1, 3), lambda x: np.tile(x, (2, 1, 3)), [arr(2, 3)]),
    ("repeat_fn", lambda m, x: x.repeat((3, 2)), lambda x: np.tile(x, (3, 2)), [arr(2)]),
    ("tile", lambda m, x: m.tile(x, (2,)), lambda x: np.tile(x, 2), [arr(2, 3)]),
    ("cat", lambda m, x, y: m.cat([x, y]), lambda x, y: np.concatenate([x, y]),
     [arr(2, 3), arr(4, 3)]),
    ("cat_dim", lambda m, x, y, z: m.cat((x, y, z), dim=-1),
     lambda x, y, z: np.concatenate([x, y, z], -1), [arr(2, 1), arr(2, 3), arr(2, 2)]),
    ("concat", lambda m, x, y: m.concat([x, y], 1), lambda x, y: np.concatenate([x, y], 1),
     [arr(2, 1), arr(2, 2)]),
    ("concatenate", lambda m, x: m.concatenate([x, x]), lambda x: np.concatenate([x, x]),
     [arr(3)]),
    ("cat_same_input", lambda m, x: m.cat([x, x * 2], 0), lambda x: np.concatenate([x, 2 * x]),
     [arr(2, 2)]),
    ("stack", lambda m, x, y: m.stack([x, y]), lambda x, y: np.stack([x, y]),
     [arr(2, 3), arr(2, 3)]),
    ("stack_dim", lambda m, x, y: m.stack((x, y), -1), lambda x, y: np.stack([x, y], -1),
     [arr(2, 3), arr(2, 3)]),
    ("hstack", lambda m, x, y: m.hstack([x, y]), lambda x, y: np.hstack([x, y]),
     [arr(2, 3), arr(2, 1)]),
    ("hstack_1d", lambda m, x, y: m.hstack([x, y]), lambda x, y: np.hstack([x, y]),
     [arr(2), arr(3)]),
    ("vstack", lambda m, x, y: m.vstack([x, y]), lambda x, y: np.vstack([x, y]),
     [arr(3), arr(2, 3)]),
    ("dstack", lambda m, x, y: m.dstack([x, y]), lambda x, y: np.dstack([x, y]),
     [arr(2, 3), arr(2, 3)]),
    ("column_stack", lambda m, x, y: m.column_stack([x, y]),
     lambda x, y: np.column_stack([x, y]), [arr(3), arr(3, 2)]),
    ("split", lambda m, x: m.cat(_scale(x.split(2)), 0),
     lambda x: np.concatenate(_np_scaled(np.split(x, [2, 4]))), [arr(5, 2)]),
    ("split_sizes", lambda m, x: m.cat(_scale(m.split(x, [1, 3], dim=1)), 1),
     lambda x: np.concatenate(_np_scaled(np.split(x, [1], 1)), 1), [arr(2, 4)]),
    ("chunk", lambda m, x: m.cat(_scale(x.chunk(3, -1)), -1),
     lambda x: np.concatenate(_np_scaled(np.split(x, [3, 6], -1)), -1), [arr(2, 7)]),
    ("tensor_split", lambda m, x: m.cat(_scale(m.tensor_split(x, 3)), 0),
     lambda x: np.concatenate(_np_scaled(np.array_split(x, 3))), [arr(7)]),
    ("tensor_split_idx", lambda m, x: m.cat(_scale(x.tensor_split([1, 3], 1)), 1),
     lambda x: np.concatenate(_np_scaled(np.split(x, [1, 3], 1)), 1), [arr(2, 5)]),
    ("unbind", lambda m, x: m.stack(_scale(x.unbind(1)), 0),
     lambda x: np.stack(_np_scaled(list(np.moveaxis(x, 1, 0)))), [arr(2, 3)]),
    ("iter", lambda m, x: m.stack(_scale(list(x))), lambda x: np.stack(_np_scaled(list(x))),
     [arr(3, 2)]),
    ("flip", lambda m, x: m.flip(x, [0, 2]), lambda x: np.flip(x, (0, 2)), [arr(2, 3, 4)]),
    ("flip_method", lambda m, x: x.flip(1), lambda x: np.flip(x, 1), [arr(2, 3)]),
    ("fliplr", lambda m, x: m.fliplr(x), np.fliplr, [arr(2, 3)]),
    ("flipud", lambda m, x: x.flipud(), np.flipud, [arr(3, 2)]),
    ("roll_flat", lambda m, x: m.roll(x, 2), lambda x: np.roll(x, 2), [arr(2, 3)]),
    ("roll_dims", lambda m, x: x.roll((1, -1), (0, 2)), lambda x: np.roll(x, (1, -1), (0, 2)),
     [arr(2, 3, 4)]),
    ("narrow", lambda m, x: m.narrow(x, 1, 1, 2), lambda x: x[:, 1:3], [arr(2, 4)]),
    ("narrow_neg", lambda m, x: x.narrow(-1, -2, 2), lambda x: x[..., 2:], [arr(2, 4)]),
    ("select", lambda m, x: m.select(x, 1, -1), lambda x: x[:, -1], [arr(2, 3)]),
    ("select_0d", lambda m, x: x.select(0, 2), lambda x: x[2], [arr(4)]),
    ("diagonal", lambda m, x: m.diagonal(x), lambda x: np.diagonal(x), [arr(3, 4)]),
    ("diagonal_offset", lambda m, x: x.diagonal(-1, 2, 0),
     lambda x: np.diagonal(x, -1, 2, 0), [arr(3, 2, 4)]),
    ("atleast_3d", lambda m, x: m.atleast_3d(x), np.atleast_3d, [arr(3)]),
]


@pytest.mark.parametrize("name,fn,ref,arrays", CASES, ids=[c[0] for c in CASES])
def test_op(name, fn, ref, arrays, device):
    check_op(fn, ref, arrays, device=device)


# --- grad_fn names, as PyTorch shows them ---------------------------------------------------------
NAMES = [
    (lambda x: x.view(12), "ViewBackward0"),
    (lambda x: x.reshape(4, 3), "ViewBackward0"),
    (lambda x: x.t().reshape(12), "UnsafeViewBackward0"),
    (lambda x: x.t().ravel(), "ViewBackward0"),
    (lambda x: x.t().contiguous(), "CloneBackward0"),
    (lambda x: x.flatten(), "ViewBackward0"),
    (lambda x: x.unflatten(1, (2, 2)), "ViewBackward0"),
    (lambda x: x.permute(1, 0), "PermuteBackward0"),
    (lambda x: x.T, "PermuteBackward0"),
    (lambda x: x.movedim(0, 1), "PermuteBackward0"),
    (lambda x: x.t(), "TBackward0"),
    (lambda x: x.transpose(0, 1), "TransposeBackward0"),
    (lambda x: x.mT, "TransposeBackward0"),
    (lambda x: x.unsqueeze(0).squeeze(), "SqueezeBackward0"),
    (lambda x: x.unsqueeze(0).squeeze(0), "SqueezeBackward1"),
    (lambda x: x.unsqueeze(0).squeeze((0,)), "SqueezeBackward2"),
    (lambda x: x.unsqueeze(0), "UnsqueezeBackward0"),
    (lambda x: x.expand(2, 3, 4), "ExpandBackward0"),
    (lambda x: x.repeat(2, 1), "RepeatBackward0"),
    (lambda x: x.narrow(0, 1, 1), "SliceBackward0"),
    (lambda x: x.select(0, 1), "SelectBackward0"),
    (lambda x: x.split(2)[1], "SplitBackward0"),
    (lambda x: x.chunk(2, 1)[0], "SplitBackward0"),
    (lambda x: x.split([1, 2])[1], "SplitWithSizesBackward0"),
    (lambda x: x.unbind()[2], "UnbindBackward0"),
    (lambda x: x.tensor_split(2)[0], "SliceBackward0"),
    (lambda x: x.diagonal(), "DiagonalBackward0"),
    (lambda x: x.flip(0), "FlipBackward0"),
    (lambda x: x.roll(1), "RollBackward0"),
]


@pytest.mark.parametrize("fn,name", NAMES, ids=[n for _, n in NAMES])
def test_grad_fn_names(fn, name):
    x = nbtorch.ones(3, 4, requires_grad=True) * 1
    assert fn(x).grad_fn.name() == name
    if real_torch is not None:
        tx = real_torch.ones(3, 4, requires_grad=True) * 1
        assert fn(tx).grad_fn.name() == name


def test_join_names():
    a = nbtorch.ones(2, requires_grad=True)
    assert nbtorch.cat([a, a]).grad_fn.name() == "CatBackward0"
    assert nbtorch.stack([a, a]).grad_fn.name() == "StackBackward0"
    assert nbtorch.hstack([a, a]).grad_fn.name() == "CatBackward0"


# --- PyTorch's error messages ---------------------------------------------------------------------
ERRORS = [
    (lambda m: m.zeros(2, 3).t().view(6), RuntimeError,
     "view size is not compatible with input tensor's size and stride (at least one dimension "
     "spans across two contiguous subspaces). Use .reshape(...) instead."),
    (lambda m: m.zeros(2, 3).view(2, 5), RuntimeError,
     "shape '[2, 5]' is invalid for input of size 6"),
    (lambda m: m.zeros(2, 3).reshape(-1, 4), RuntimeError,
     "shape '[-1, 4]' is invalid for input of size 6"),
    (lambda m: m.zeros(2, 3).view(-1, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda m: m.zeros(2, 3).view(-2, 3), RuntimeError,
     "invalid shape dimension -2 at index 0 of shape [-2, 3]"),
    (lambda m: m.zeros(0, 3).view(-1, 0), RuntimeError,
     "cannot reshape tensor of 0 elements into shape [-1, 0] because the unspecified dimension "
     "size -1 can be any value and is ambiguous"),
    (lambda m: m.zeros(1, 2, 3).t(), RuntimeError,
     "t() expects a tensor with <= 2 dimensions, but self is 3D"),
    (lambda m: m.zeros(3).mT, RuntimeError,
     "tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor."),
    (lambda m: m.zeros(3).H, RuntimeError,
     "tensor.H is only supported on matrices (2-D tensors). Got 1-D tensor."),
    (lambda m: m.zeros(2, 3).permute(0), RuntimeError,
     "permute(sparse_coo): number of dimensions in the tensor input does not match the length of "
     "the desired ordering of dimensions i.e. input.dim() = 2 is not equal to len(dims) = 1"),
    (lambda m: m.zeros(2, 3).permute(0, 0), RuntimeError,
     "permute(): duplicate dims are not allowed."),
    (lambda m: m.zeros(2, 3).permute(0, 2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda m: m.zeros(2, 3).transpose(0, 2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda m: m.zeros(2, 3).movedim((0, 0), (1, 0)), RuntimeError,
     "movedim: repeated dim in `source` ([0, 0])"),
    (lambda m: m.zeros(2, 3).movedim((0, 1), (1, 1)), RuntimeError,
     "movedim: repeated dim in `destination` ([1, 1])"),
    (lambda m: m.zeros(2, 3).movedim((0, 1), (1,)), RuntimeError,
     "movedim: Invalid source or destination dims: source ([0, 1] dims) should contain the same "
     "number of dims as destination ([1] dims)"),
    (lambda m: m.zeros(2, 3).squeeze(2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda m: m.zeros(1, 1).squeeze((0, 0)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    (lambda m: m.zeros(2, 3).unsqueeze(3), IndexError,
     "Dimension out of range (expected to be in range of [-3, 2], but got 3)"),
    (lambda m: m.zeros(2, 3).flatten(1, 0), RuntimeError,
     "flatten() has invalid args: start_dim cannot come after end_dim"),
    (lambda m: m.zeros(2, 3).unflatten(1, (2, 2)), RuntimeError,
     "unflatten: Provided sizes [2, 2] don't multiply up to the size of dim 1 (3) in the input "
     "tensor"),
    (lambda m: m.zeros(2, 3).unflatten(1, ()), RuntimeError, "unflatten: sizes must be non-empty"),
    (lambda m: m.zeros(2, 3).expand(2, 4), RuntimeError,
     "The expanded size of the tensor (4) must match the existing size (3) at non-singleton "
     "dimension 1.  Target sizes: [2, 4].  Tensor sizes: [2, 3]"),
    (lambda m: m.zeros(2, 3).expand(3), RuntimeError,
     "expand(torch.FloatTensor{[2, 3]}, size=[3]): the number of sizes provided (1) must be "
     "greater or equal to the number of dimensions in the tensor (2)"),
    (lambda m: m.zeros(2, 3).expand(-1, 2, 3), RuntimeError,
     "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0"),
    (lambda m: m.broadcast_tensors(m.zeros(2, 3), m.zeros(4)), RuntimeError,
     "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"),
    (lambda m: m.meshgrid(m.zeros(2), m.zeros(3), indexing="yx"), RuntimeError,
     'torch.meshgrid: indexing must be one of "xy" or "ij", but received: yx'),
    (lambda m: m.meshgrid(m.zeros(2), m.zeros(3, dtype=m.int64), indexing="ij"), RuntimeError,
     "meshgrid expects all tensors to have the same dtype"),
    (lambda m: m.meshgrid(indexing="xy"), RuntimeError, "meshgrid expects a non-empty TensorList"),
    (lambda m: m.broadcast_shapes((2, 3), (4,)), RuntimeError,
     "Attempting to broadcast a dimension of length 4 at -1! Mismatching argument at index 1 had "
     "(4,); but expected shape should be broadcastable to [2, 3]"),
    (lambda m: m.zeros(2, 3).repeat(2), RuntimeError,
     "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"),
    (lambda m: m.zeros(2, 3).repeat(2, -1), RuntimeError,
     "Trying to create tensor with negative dimension -3: [4, -3]"),
    (lambda m: m.cat([m.zeros(2, 3), m.zeros(3, 3)], 1), RuntimeError,
     "Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3 for "
     "tensor number 1 in the list."),
    (lambda m: m.cat([m.zeros(2, 3), m.zeros(2)]), RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda m: m.cat([m.zeros(2), m.tensor(1.0)]), RuntimeError,
     "zero-dimensional tensor (at position 1) cannot be concatenated"),
    (lambda m: m.cat([]), ValueError, "torch.cat(): expected a non-empty list of Tensors"),
    (lambda m: m.cat(m.zeros(2)), TypeError,
     "cat(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor"),
    (lambda m: m.cat([m.zeros(2, 3)], 2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda m: m.stack([m.zeros(2, 3), m.zeros(2, 4)]), RuntimeError,
     "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at entry "
     "1"),
    (lambda m: m.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda m: m.hstack([]), RuntimeError, "hstack expects a non-empty TensorList"),
    (lambda m: m.vstack([]), RuntimeError, "vstack expects a non-empty TensorList"),
    (lambda m: m.zeros(2, 3).split(0), RuntimeError,
     "split_size can only be 0 if dimension size is 0, but got dimension size of 2"),
    (lambda m: m.zeros(2, 3).split(-1), RuntimeError,
     "split expects split_size be non-negative, but got split_size=-1"),
    (lambda m: m.zeros(2, 3).split([1, 2]), RuntimeError,
     "split_with_sizes expects split_sizes to sum exactly to 2 (input tensor's size at dimension "
     "0), but got split_sizes=[1, 2]"),
    (lambda m: m.zeros(2, 3).split([-1, 3]), RuntimeError,
     "split_with_sizes expects split_sizes have only non-negative entries, but got "
     "split_sizes=[-1, 3]"),
    (lambda m: m.tensor(1.0).split(1), RuntimeError,
     "split expects at least a 1-dimensional tensor"),
    (lambda m: m.zeros(2, 3).chunk(0), RuntimeError,
     "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda m: m.zeros(2, 3).tensor_split(0), RuntimeError,
     "number of sections must be larger than 0, got 0"),
    (lambda m: m.tensor(1.0).unbind(), IndexError,
     "Dimension specified as 0 but tensor has no dimensions"),
    (lambda m: m.zeros(2, 3).flip(0, 0), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    (lambda m: m.zeros(3).fliplr(), RuntimeError, "Input must be >= 2-d."),
    (lambda m: m.tensor(1.0).flipud(), RuntimeError, "Input must be >= 1-d."),
    (lambda m: m.zeros(2, 3).roll((1, 2), (0,)), RuntimeError,
     "shifts and dimensions must align. shifts: 2, dims:1"),
    (lambda m: m.zeros(2, 3).roll((1, 1)), RuntimeError,
     "shifts and dimensions must align. shifts: 2, dims:0"),
    (lambda m: m.zeros(2, 3).narrow(1, 2, 2), RuntimeError,
     "start (2) + length (2) exceeds dimension size (3)."),
    (lambda m: m.zeros(2, 3).narrow(1, 0, -1), RuntimeError,
     "narrow(): length must be non-negative."),
    (lambda m: m.zeros(2, 3).narrow(1, 4, 0), IndexError,
     "start out of range (expected to be in range of [-3, 3], but got 4)"),
    (lambda m: m.tensor(1.0).narrow(0, 0, 1), RuntimeError,
     "narrow() cannot be applied to a 0-dim tensor."),
    (lambda m: m.zeros(2, 3).select(0, 5), IndexError,
     "select(): index 5 out of range for tensor of size [2, 3] at dimension 0"),
    (lambda m: m.zeros(2, 3).select(1, -4), IndexError,
     "select(): index -4 out of range for tensor of size [2, 3] at dimension 1"),
    (lambda m: m.tensor(1.0).select(0, 0), IndexError,
     "select() cannot be applied to a 0-dim tensor."),
    (lambda m: m.zeros(2, 3).diagonal(0, 0, 0), RuntimeError,
     "diagonal dimensions cannot be identical 0, 0"),
    (lambda m: m.zeros(3).view(m.int64), RuntimeError,
     "self.size(-1) must be divisible by 2 to view Float as Long (different element sizes), but "
     "got 3"),
    (lambda m: m.zeros(1, 3).expand(2, 3).add_(1), RuntimeError,
     "unsupported operation: more than one element of the written-to tensor refers to a single "
     "memory location. Please clone() the tensor before performing the operation."),
    (lambda m: m.zeros(2, requires_grad=True).unsqueeze_(0), RuntimeError,
     "a leaf Variable that requires grad is being used in an in-place operation."),
]


@pytest.mark.parametrize("fn,kind,message", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors(fn, kind, message):
    with pytest.raises(kind) as caught:
        fn(nbtorch)
    assert str(caught.value).strip("'\"") == message
    if real_torch is not None:
        with pytest.raises(kind) as expected:
            fn(real_torch)
        assert str(expected.value).strip("'\"") == message


def test_shape_arguments_type_errors():
    with pytest.raises(TypeError, match="view\\(\\) received an invalid combination"):
        nbtorch.zeros(2, 3).view(2.0, 3)
    with pytest.raises(TypeError, match="must be tuple of ints, but found element of type float"):
        nbtorch.reshape(nbtorch.zeros(2, 3), (2.0, 3))


# --- PyTorch's results for the trickier argument forms --------------------------------------------
SHAPES = [
    lambda m: [t.shape for t in m.zeros(6).chunk(4)],
    lambda m: [t.shape for t in m.zeros(5).chunk(4)],
    lambda m: [t.shape for t in m.zeros(0, 3).chunk(2)],
    lambda m: [t.shape for t in m.zeros(0, 3).split(2)],
    lambda m: [t.shape for t in m.zeros(2, 3).tensor_split([1, 5], 1)],
    lambda m: [t.shape for t in m.zeros(2, 3).tensor_split(m.tensor([1]), 1)],
    lambda m: [t.shape for t in m.zeros(7).tensor_split(m.tensor(3))],
    lambda m: m.cat([m.zeros(2, 3), m.zeros(0)], 1).shape,
    lambda m: m.cat([m.zeros(0), m.zeros(0)]).shape,
    lambda m: m.tensor(1.0).squeeze(0).shape,
    lambda m: m.zeros(3).squeeze(()).shape,
    lambda m: m.tensor(1.0).unsqueeze(-1).shape,
    lambda m: m.tensor(1.0).flatten().shape,
    lambda m: m.tensor(1.0).ravel().shape,
    lambda m: m.tensor(1.0).expand(3, 2).shape,
    lambda m: m.tensor(1.0).transpose(0, -1).shape,
    lambda m: m.tensor(1.0).t().shape,
    lambda m: m.tensor(1.0).roll(1).shape,
    lambda m: m.tensor(1.0).flip(0).shape,
    lambda m: m.zeros(2, 3).unflatten(-1, (3, 1)).shape,
    lambda m: m.zeros(2, 3).select(0, m.tensor(1)).shape,
    lambda m: m.zeros(2, 3).narrow(0, m.tensor(1), 1).shape,
    lambda m: m.zeros(2, 3).diagonal(5).shape,
    lambda m: m.zeros(2, 3, 4).diagonal(1, -1, -2).shape,
    lambda m: m.zeros(2, 3).view(m.int32).shape,
    lambda m: m.zeros(2, 3).view(m.int16).shape,
    lambda m: m.zeros(2, 3).tile(2).shape,
    lambda m: m.zeros(2).tile((2, 2)).shape,
    lambda m: m.atleast_2d(m.zeros(3), m.tensor(1.0))[1].shape,
    lambda m: m.atleast_1d([m.tensor(1.0), m.zeros(2)])[0].shape,
    lambda m: m.broadcast_shapes((2, 1), (4,), 1),
    lambda m: [g.tolist() for g in m.meshgrid(m.tensor(1.0), m.arange(2.0), indexing="xy")],
    lambda m: [g.shape for g in m.meshgrid(m.arange(3), indexing="ij")],
    lambda m: m.cat([m.zeros(2, dtype=m.int64), m.zeros(2)]).dtype,
    lambda m: m.cat([m.zeros(2, dtype=m.int32), m.zeros(2, dtype=m.bool)]).dtype,
    lambda m: m.cat([m.zeros(2, dtype=m.float16), m.zeros(2, dtype=m.int64)]).dtype,
    lambda m: m.stack([m.zeros(2, dtype=m.int64), m.zeros(2, dtype=m.float64)]).dtype,
    lambda m: m.hstack([m.tensor(1.0), m.tensor(2.0)]).tolist(),
    lambda m: m.roll(m.arange(6).view(2, 3), 1).tolist(),
    lambda m: m.arange(6).view(2, 3).diagonal(1).tolist(),
    lambda m: m.arange(6).view(2, 3).diagonal(-1).tolist(),
    lambda m: m.column_stack([m.zeros(3), m.zeros(3, 2)]).shape,
    lambda m: m.zeros(1, 3).expand(2, 3).stride(),
    lambda m: m.zeros(2, 3).t().is_contiguous(),
    lambda m: m.zeros(2, 3).permute(1, 0).contiguous().is_contiguous(),
]


@pytest.mark.skipif(real_torch is None, reason="PyTorch is the oracle here")
@pytest.mark.parametrize("fn", SHAPES, ids=[str(i) for i in range(len(SHAPES))])
def test_same_result_as_torch(fn):
    def plain(x):  # Sizes and dtypes by how they print; lists and numbers as they are
        if isinstance(x, (list, tuple)) and type(x).__name__ != "Size":
            return [plain(v) for v in x]
        return x if isinstance(x, (int, float, bool)) else str(x)

    assert plain(fn(nbtorch)) == plain(fn(real_torch))


# --- views share memory and the version counter ---------------------------------------------------
VIEWS = [
    lambda x: x.view(-1), lambda x: x.reshape(3, 4), lambda x: x.permute(1, 0),
    lambda x: x.transpose(0, 1), lambda x: x.t(), lambda x: x.T, lambda x: x.mT,
    lambda x: x.unsqueeze(0), lambda x: x.unsqueeze(1).squeeze(1), lambda x: x.flatten(),
    lambda x: x.unflatten(1, (2, 2)), lambda x: x.narrow(1, 1, 2), lambda x: x.select(0, 1),
    lambda x: x.split(1)[2], lambda x: x.chunk(2, 1)[1], lambda x: x.unbind(1)[3],
    lambda x: x.diagonal(), lambda x: x.movedim(0, 1), lambda x: x.expand(3, 4),
    lambda x: x.ravel(), lambda x: x.view_as(x), lambda x: x.tensor_split(2)[1],
]


@pytest.mark.parametrize("fn", VIEWS, ids=[str(i) for i in range(len(VIEWS))])
def test_views_alias_their_base(fn, device):
    base = nbtorch.arange(12.0, device=device).view(3, 4)
    v = fn(base)
    assert v._vbox is base._vbox
    assert v.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
    before = base.sum().item()
    if any(s == 0 and n > 1 for s, n in zip(v.stride(), v.shape)):
        return  # an expanded view cannot be written in place
    v.add_(1)  # the write shows in the base (the one element of a 0-d view, or all of v)
    assert base.sum().item() == before + v.numel()
    assert base._version == 1


@pytest.mark.parametrize("fn", [
    lambda x: x.flip(0), lambda x: x.roll(1), lambda x: x.repeat(1, 1), lambda x: x.t().reshape(-1),
    lambda x: nbtorch.cat([x]), lambda x: nbtorch.stack([x]), lambda x: x.t().contiguous(),
])
def test_copies_do_not_alias(fn):
    base = nbtorch.zeros(3, 4)
    out = fn(base)
    out.add_(1)
    assert base.sum().item() == 0
    assert out._vbox is not base._vbox


def test_identity_cases_return_the_input():
    x = nbtorch.zeros(2, 3)
    assert x.contiguous() is x
    assert x.flatten(1, 1) is x
    a, b = nbtorch.broadcast_tensors(x, nbtorch.zeros(3))
    assert a is x and b.shape == (2, 3)


def test_meshgrid_gives_views_and_warns_without_indexing():
    x, y = nbtorch.arange(3.0), nbtorch.arange(2.0)
    with pytest.warns(UserWarning, match="pass the indexing argument"):
        gx, gy = nbtorch.meshgrid(x, y)
    assert gx.shape == gy.shape == (3, 2)
    gx, gy = nbtorch.meshgrid(x, y, indexing="xy")
    assert gx._base is x and gy._base is y and gx.stride() == (0, 1)


# --- in-place ops on views: gradients against PyTorch ---------------------------------------------
INPLACE_ON_VIEWS = [
    lambda base, b: base.transpose(0, 1).mul_(2),
    lambda base, b: base.view(-1).add_(b.view(-1)),
    lambda base, b: base.permute(1, 0).mul_(b.t()),
    lambda base, b: base.narrow(1, 1, 2).mul_(b.narrow(1, 0, 2)),
    lambda base, b: base.select(0, 1).add_(b.select(0, 0) * 3),
    lambda base, b: base.diagonal().mul_(b.diagonal()),
    lambda base, b: base.unsqueeze(0).squeeze(0).t().mul_(b.t()),
    lambda base, b: base.narrow(0, 1, 1).mul_(b.split(1)[0]),
    lambda base, b: base.select(1, 2).mul_(b.unbind(1)[0]),
    lambda base, b: base.tensor_split(2, 1)[1].mul_(b.narrow(1, 0, 1)),
    lambda base, b: base.t().narrow(0, 1, 2).select(1, 1).mul_(5),
    lambda base, b: base.flatten().narrow(0, 2, 3).add_(b.flatten().narrow(0, 1, 3)),
]


@pytest.mark.parametrize("modify", INPLACE_ON_VIEWS, ids=[str(i) for i in
                                                          range(len(INPLACE_ON_VIEWS))])
def test_inplace_on_view_gradients(modify, device):
    a_np, b_np, w_np = arr(2, 3), arr(2, 3), arr(2, 3)

    def run(m, dev=None):
        kw = {"device": dev} if dev else {}
        a = m.tensor(a_np, **kw).requires_grad_()
        b = m.tensor(b_np, **kw).requires_grad_()
        base = a * 1
        modify(base, b)
        (base * m.tensor(w_np, **kw)).sum().backward()
        grads = [t.grad.cpu().numpy() if t.grad is not None else np.zeros(t.shape) for t in (a, b)]
        return [base.detach().cpu().numpy(), *grads]

    got = run(nbtorch, device)
    base_expected = a_np.copy()
    if real_torch is not None:
        expected = run(real_torch)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-9)
    else:
        assert not np.allclose(got[0], base_expected)


MULTI_OUTPUT = [
    (lambda a: a.split(2)[1].mul_(2), "Output 1 of Split is a view"),
    (lambda a: a.split([1, 3])[1].mul_(2), "Output 1 of SplitWithSizes is a view"),
    (lambda a: a.chunk(2)[1].mul_(2), "Output 1 of Split is a view"),
    (lambda a: a.unbind(1)[2].mul_(2), "Output 2 of Unbind is a view"),
    (lambda a: a.unbind(0)[1].view(-1).mul_(2), "Output 0 of View is a view"),
    (lambda a: list(a)[3].add_(1), "Output 3 of Unbind is a view"),
]


@pytest.mark.parametrize("fn,start", MULTI_OUTPUT, ids=[m[1] for m in MULTI_OUTPUT])
def test_pieces_of_multi_output_views_refuse_inplace(fn, start):
    rest = (" and is being modified inplace. This view is the output of a function that returns "
            "multiple views. Such functions do not allow the output views to be modified inplace. "
            "You should replace the inplace operation by an out-of-place one.")
    for m in (nbtorch, real_torch) if real_torch is not None else (nbtorch,):
        a = m.ones(4, 3, requires_grad=True) * 1
        with pytest.raises(RuntimeError) as caught:
            fn(a)
        assert str(caught.value) == start + rest
        with m.no_grad():
            fn(a)  # allowed when nothing records
    b = nbtorch.ones(4, 3)
    fn(b)  # and when nothing requires grad
    assert b.sum().item() != 12


def test_view_of_modified_view_sees_new_history():
    a = nbtorch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    base = a * 1
    v = base.t()
    v.mul_(3)
    assert base.grad_fn.name().startswith("CopySlices")
    assert v.grad_fn.name() == "TBackward0"
    base.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full((2, 2), 3.0))


def test_modifying_a_view_invalidates_saved_base():
    def run(m):
        a = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        b = m.tensor([[1.0, 1.0], [1.0, 1.0]], requires_grad=True)
        base = a * 1
        y = base * b  # saves base for b's gradient
        base.view(-1).add_(1)  # bumps the shared version counter
        y.sum().backward()

    for m in (nbtorch, real_torch) if real_torch is not None else (nbtorch,):
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient "
                           "computation has been modified by an inplace operation"):
            run(m)


def test_modifying_the_base_invalidates_saved_view():
    a = nbtorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = a * 1
    v = base.narrow(0, 0, 2)
    y = v.exp()  # saves its output
    z = v * v  # saves v
    base.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    y.sum().backward()  # the exp output itself was not modified


def test_inplace_on_view_of_leaf_is_an_error():
    a = nbtorch.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        a.t().mul_(2)


def test_view_write_without_grad_changes_base():
    a = nbtorch.zeros(2, 3)
    a.t().select(0, 1).fill_(7)
    np.testing.assert_array_equal(a.numpy(), [[0, 7, 0], [0, 7, 0]])


# --- in-place shape changes -----------------------------------------------------------------------
def test_metadata_inplace_methods():
    x = nbtorch.zeros(2, 3)
    assert x.unsqueeze_(0) is x and x.shape == (1, 2, 3)
    assert x.squeeze_() is x and x.shape == (2, 3)
    assert x.t_() is x and x.shape == (3, 2)
    assert x.transpose_(0, 1).shape == (2, 3)
    assert x.swapaxes_(0, 1).shape == (3, 2)
    a = nbtorch.ones(2, 3, requires_grad=True)
    y = a * 2
    y.unsqueeze_(0)
    assert y.grad_fn.name() == "UnsqueezeBackward0"
    y.backward(nbtorch.ones(1, 2, 3))
    np.testing.assert_allclose(a.grad.numpy(), np.full((2, 3), 2.0))


# --- warnings of x.T ------------------------------------------------------------------------------
def test_T_warns_like_torch_off_2d():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nbtorch.zeros(2, 3).T.shape == (3, 2)
    with pytest.warns(UserWarning, match="The use of `x.T` on tensors of dimension other than 2"):
        assert nbtorch.zeros(2, 3, 4).T.shape == (4, 3, 2)
    with pytest.warns(UserWarning, match="Tensor.T is deprecated on 0-D tensors"):
        assert nbtorch.tensor(1.0).T.shape == ()


# --- double backward ------------------------------------------------------------------------------
SECOND_ORDER = [
    lambda x: x.view(-1) * x.view(-1),
    lambda x: x.t() * x.permute(1, 0),
    lambda x: x.narrow(1, 0, 2) ** 2,
    lambda x: x.select(0, 1) ** 3,
    lambda x: nbtorch.cat([x, x * x], 1),
    lambda x: nbtorch.stack([x * x, x], 0),
    lambda x: x.flip(0) * x,
    lambda x: x.roll(1, 1) * x,
    lambda x: x.unsqueeze(0).expand(2, 2, 3) ** 2,
    lambda x: x.diagonal() ** 3,
    lambda x: x.repeat(2, 1) ** 2,
    lambda x: x.split(1, 1)[1] ** 2,
    lambda x: x.squeeze().unsqueeze(0) ** 2,
]


@pytest.mark.parametrize("fn", SECOND_ORDER, ids=[str(i) for i in range(len(SECOND_ORDER))])
def test_second_order(fn):
    x = nbtorch.tensor(arr(2, 3), requires_grad=True)
    assert nbtorch.autograd.gradgradcheck(fn, (x,))


# --- TENSOR_XP adapters used by backward formulas -------------------------------------------------
def test_tensor_xp_adapters_follow_numpy():
    a = arr(2, 3, 4)
    x = nbtorch.tensor(a)
    checks = [
        (TENSOR_XP.transpose(x, (2, 0, 1)), np.transpose(a, (2, 0, 1))),
        (TENSOR_XP.transpose(x), np.transpose(a)),
        (TENSOR_XP.swapaxes(x, 0, 2), np.swapaxes(a, 0, 2)),
        (TENSOR_XP.moveaxis(x, 0, -1), np.moveaxis(a, 0, -1)),
        (TENSOR_XP.expand_dims(x, (0, -1)), np.expand_dims(a, (0, -1))),
        (TENSOR_XP.broadcast_to(x, (5, 2, 3, 4)), np.broadcast_to(a, (5, 2, 3, 4))),
        (TENSOR_XP.concatenate([x, x], axis=1), np.concatenate([a, a], axis=1)),
        (TENSOR_XP.stack((x, x), axis=-1), np.stack([a, a], axis=-1)),
        (TENSOR_XP.flip(x, axis=1), np.flip(a, axis=1)),
        (TENSOR_XP.flip(x, axis=(0, 2)), np.flip(a, axis=(0, 2))),
        (TENSOR_XP.roll(x, 2), np.roll(a, 2)),
        (TENSOR_XP.roll(x, (1, 2), axis=(0, 1)), np.roll(a, (1, 2), axis=(0, 1))),
        (TENSOR_XP.squeeze(x.unsqueeze(0)), a),
        (TENSOR_XP.tile(x, 2), np.tile(a, 2)),
        (TENSOR_XP.reshape(x, (4, 6)), a.reshape(4, 6)),
    ]
    for got, expected in checks:
        np.testing.assert_allclose(got.numpy(), expected)
    for got, expected in zip(TENSOR_XP.split(x, [1, 3], axis=2), np.split(a, [1, 3], axis=2)):
        np.testing.assert_allclose(got.numpy(), expected)
    for got, expected in zip(TENSOR_XP.split(x, 2, axis=0), np.split(a, 2, axis=0)):
        np.testing.assert_allclose(got.numpy(), expected)


# --- hypothesis: round trips ----------------------------------------------------------------------
shapes = st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple)


@settings(max_examples=40, deadline=None)
@given(shapes, st.randoms(use_true_random=False))
def test_reshape_round_trip(shape, random):
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = nbtorch.tensor(a, requires_grad=True)
    # a random factorization of numel as the intermediate shape
    n, target = a.size, []
    while n > 1:
        f = random.choice([d for d in range(1, n + 1) if n % d == 0])
        target.append(f)
        n //= f
    if random.random() < 0.5 and target:
        target[random.randrange(len(target))] = -1
    y = x.reshape(target)
    np.testing.assert_array_equal(y.detach().numpy(), a.reshape(target))
    back = y.reshape(shape)
    np.testing.assert_array_equal(back.detach().numpy(), a)
    back.backward(nbtorch.ones(shape, dtype=nbtorch.float64))
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(shape))


@settings(max_examples=40, deadline=None)
@given(shapes, st.randoms(use_true_random=False))
def test_permute_round_trip(shape, random):
    a = np.random.default_rng(len(shape)).standard_normal(shape)
    x = nbtorch.tensor(a, requires_grad=True)
    dims = list(range(len(shape)))
    random.shuffle(dims)
    y = x.permute(*dims) if dims else x.permute(())
    np.testing.assert_array_equal(y.detach().numpy(), np.transpose(a, dims))
    inverse = [dims.index(i) for i in range(len(dims))]
    back = y.permute(inverse)
    np.testing.assert_array_equal(back.detach().numpy(), a)
    w = np.random.default_rng(1).standard_normal(shape)
    back.backward(nbtorch.tensor(w))
    np.testing.assert_array_equal(x.grad.numpy(), w)
    # a permuted tensor flattens to the same numbers as numpy's transposed array
    np.testing.assert_array_equal(y.reshape(-1).detach().numpy(), np.transpose(a, dims).ravel())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=4), st.integers(1, 3),
       st.integers(0, 2), st.randoms(use_true_random=False))
def test_cat_split_round_trip(sizes, other, dim, random):
    rng = np.random.default_rng(sum(sizes))
    arrays = [rng.standard_normal([(s, other), (other, s), (other, 2, s)][dim]) for s in sizes]
    axis = [0, 1, 2][dim]
    tensors = [nbtorch.tensor(a, requires_grad=True) for a in arrays]
    joined = nbtorch.cat(tensors, axis)
    np.testing.assert_array_equal(joined.detach().numpy(), np.concatenate(arrays, axis))
    pieces = joined.split(sizes, axis)
    for p, a in zip(pieces, arrays):
        np.testing.assert_array_equal(p.detach().numpy(), a)
    upstream = rng.standard_normal(joined.shape)
    joined.backward(nbtorch.tensor(upstream))
    bounds = np.cumsum(sizes)[:-1]
    for t, g in zip(tensors, np.split(upstream, bounds, axis)):
        np.testing.assert_array_equal(t.grad.numpy(), g)
    # stack then unbind gives the inputs back when they share a shape
    same = [nbtorch.tensor(arrays[0]) for _ in range(random.randint(1, 3))]
    for t, u in zip(same, nbtorch.stack(same, axis % (arrays[0].ndim + 1)).unbind(
            axis % (arrays[0].ndim + 1))):
        np.testing.assert_array_equal(t.numpy(), u.numpy())

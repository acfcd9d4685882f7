"""Normalization functions: batch_norm, layer_norm, group_norm, instance_norm, rms_norm.

Batch, layer and group norm in training run through one fused primitive each
(``ops/normalization.py``: it says why and how much faster); evaluation-mode batch norm is an affine
map of the running statistics and rms_norm a composition, as in PyTorch.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..._tensor import Tensor
from ...ops.normalization import NativeBatchNorm, NativeGroupNorm, NativeLayerNorm

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm"]


def _verify_batch_size(size) -> None:
    """Training needs at least two values per channel to estimate a variance."""
    values = size[0]
    for n in size[2:]:
        values *= n
    if values == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {size}"
        )


def _check_features(name: str, expected: int, tensor: Tensor | None) -> None:
    if tensor is not None and tensor.numel() != expected:
        raise RuntimeError(f"{name} should contain {expected} elements not {tensor.numel()}")


def _channel_view(t: Tensor | None, ndim: int) -> Tensor | None:
    """A (C,) vector shaped (C, 1, ..., 1) so that it broadcasts along dim 1 of an ndim input."""
    if t is None or ndim <= 2:
        return t
    return t.reshape((t.shape[0],) + (1,) * (ndim - 2))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) by its mean and variance over the batch and spatial dims,
    then scale by ``weight`` and shift by ``bias``.

    In training the batch statistics are used and, when given, ``running_mean`` and
    ``running_var`` are updated in place: ``running = (1 - momentum) * running + momentum * stat``
    with the *unbiased* batch variance.  Otherwise the running statistics are used.

    >>> import nbtorch as torch
    >>> import nbtorch.nn.functional as F
    >>> x = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    >>> rm, rv = torch.zeros(2), torch.ones(2)
    >>> F.batch_norm(x, rm, rv, training=True)
    tensor([[-1.0000, -1.0000],
            [ 1.0000,  1.0000]])
    >>> rm, rv
    (tensor([0.2000, 0.4000]), tensor([1.1000, 1.7000]))
    """
    if training:
        _verify_batch_size(input.size())
        if eps <= 0.0:
            raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps):
    """``torch.batch_norm``: batch_norm without the Python-side size and eps checks."""
    if momentum is None:
        raise TypeError("batch_norm(): argument 'momentum' (position 7) must be float, not "
                        "NoneType")
    if training and (running_mean is None) != (running_var is None):
        raise ValueError(
            "running_mean and running_var must either both be None or neither be None")
    if input.numel() == 0:
        return input.clone()
    channels = input.shape[1] if input.dim() > 1 else 0
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None:
            _check_features(name, channels, stat)
        elif not training:
            raise RuntimeError(f"{name} must be defined in evaluation mode")
    _check_features("weight", channels, weight)
    _check_features("bias", channels, bias)
    ndim = input.dim()
    if training:
        running = (running_mean, running_var) if running_mean is not None else None
        return NativeBatchNorm.apply(input, _channel_view(weight, ndim), _channel_view(bias, ndim),
                                     stats_shape=(input.shape[0], channels, -1), axes=(0, 2),
                                     eps=eps, running=running, momentum=momentum)
    # Evaluation: an affine map, y = x * scale + shift (PyTorch computes it the same way).
    scale = (running_var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale
    if bias is not None:
        shift = shift + bias
    return input * _channel_view(scale, ndim) + _channel_view(shift, ndim)


def _verify_spatial_size(size) -> None:
    values = 1
    for n in size[2:]:
        values *= n
    if values == 1:
        raise ValueError(
            f"Expected more than 1 spatial element when training, got input size {size}"
        )


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of each sample over its spatial dims (batch norm of the input seen
    as one sample with N*C channels, as PyTorch computes it).

    >>> import nbtorch as torch
    >>> import nbtorch.nn.functional as F
    >>> F.instance_norm(torch.tensor([[[1.0, 3.0], [2.0, 2.0]]]))
    tensor([[[-1.0000,  1.0000],
             [ 0.0000,  0.0000]]])
    """
    if use_input_stats:
        _verify_spatial_size(input.size())
    elif running_mean is None or running_var is None:
        raise RuntimeError(
            "Expected running_mean and running_var to be defined when use_input_stats is false")
    n, c = input.shape[0], input.shape[1]

    def repeated(t):
        return t.repeat(n) if t is not None else None

    rm, rv = repeated(running_mean), repeated(running_var)
    out = _batch_norm(input.reshape((1, n * c) + tuple(input.shape[2:])), rm, rv,
                      repeated(weight), repeated(bias), use_input_stats, momentum, eps)
    for stat, batch in ((running_mean, rm), (running_var, rv)):
        if stat is not None:  # the per-sample statistics are averaged back into the buffer
            stat._data[...] = batch._data.reshape(n, c).mean(0).astype(stat._data.dtype)
            stat._vbox[0] += 1
    return out.reshape(input.shape)


def _normalized_shape(normalized_shape, fn: str) -> tuple:
    """PyTorch's parsing of ``normalized_shape``: a sequence of ints (an int is refused here; the
    modules accept one)."""
    if isinstance(normalized_shape, numbers.Integral) or not hasattr(normalized_shape,
                                                                      "__iter__"):
        raise TypeError(f"{fn}(): argument 'normalized_shape' (position 2) must be tuple of ints, "
                        f"not {type(normalized_shape).__name__}")
    shape = tuple(normalized_shape)
    for i, n in enumerate(shape):
        if not isinstance(n, (numbers.Integral, np.integer)):
            raise TypeError(f"{fn}(): argument 'normalized_shape' (position 2) must be tuple of "
                            f"ints, but found element of type {type(n).__name__} at pos {i}")
    shape = tuple(int(n) for n in shape)
    if not shape:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
            "one element, but got normalized_shape = []")
    return shape


def _check_normalized(input, shape, weight, bias, sep=", "):
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(t.shape)} and normalized_shape = {list(shape)}")
    if tuple(input.shape[input.dim() - len(shape):]) != shape or input.dim() < len(shape):
        dims = ", ".join(map(str, shape))
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*{sep}{dims}], but "
            f"got input of size{list(input.shape)}")


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize each sample over its last ``len(normalized_shape)`` dims (biased variance), then
    scale by ``weight`` and shift by ``bias`` (both of shape ``normalized_shape``).

    >>> import nbtorch as torch
    >>> import nbtorch.nn.functional as F
    >>> F.layer_norm(torch.tensor([[1.0, 2.0, 3.0]]), (3,))
    tensor([[-1.2247,  0.0000,  1.2247]])
    """
    shape = _normalized_shape(normalized_shape, "layer_norm")
    _check_normalized(input, shape, weight, bias)
    return NativeLayerNorm.apply(input, weight, bias, stats_shape=(1, -1, math.prod(shape)),
                                 axes=(2,), eps=eps)


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``input / sqrt(mean(input², last dims) + eps) * weight``; ``eps`` defaults to the machine
    epsilon of the input's dtype.

    >>> import nbtorch as torch
    >>> import nbtorch.nn.functional as F
    >>> F.rms_norm(torch.tensor([[3.0, 4.0]]), (2,))
    tensor([[0.8485, 1.1314]])
    """
    shape = _normalized_shape(normalized_shape, "rms_norm")
    _check_normalized(input, shape, weight, None, sep="")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(-len(shape), 0))
    out = input * (input * input).mean(dims, keepdim=True).add(eps).rsqrt()
    return out * weight if weight is not None else out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Split the channels (dim 1) into ``num_groups`` groups and normalize each group of each
    sample, then scale and shift each channel.

    >>> import nbtorch as torch
    >>> import nbtorch.nn.functional as F
    >>> F.group_norm(torch.tensor([[1.0, 3.0, 5.0, 9.0]]), 2)
    tensor([[-1.0000,  1.0000, -1.0000,  1.0000]])
    """
    if input.dim() < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    n, c = input.shape[0], input.shape[1]
    _verify_batch_size([n * c // num_groups, num_groups] + list(input.shape[2:]))
    if c % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(input.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or t.numel() != c):
            # PyTorch prints the weight's shape in both messages ([0] when there is no weight).
            shown = list(weight.shape) if weight is not None else [0]
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {shown} and input of shape {list(input.shape)}")
    ndim = input.dim()
    return NativeGroupNorm.apply(input, _channel_view(weight, ndim), _channel_view(bias, ndim),
                                 stats_shape=(1, n * num_groups, input.numel() // max(
                                     n * num_groups, 1)), axes=(2,), eps=eps)


"""Convolution functions of ``torch.nn.functional``: conv1d/2d/3d, conv_transpose1d/2d/3d (the
primitives live in ``nbtorch/ops/conv.py``), and unfold/fold (im2col and its adjoint)."""

from __future__ import annotations

from ..._tensor import Tensor
from ...ops.conv import (
    Fold,
    Geometry,
    Unfold,
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "fold", "unfold"]


def _pair(value, name: str) -> tuple:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    value = tuple(value)
    if len(value) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(value)}")
    return value


def _window_args(kernel_size, dilation, padding, stride) -> tuple:
    """Check unfold/fold's window arguments with PyTorch's errors."""
    k = _pair(kernel_size, "kernel_size")
    d = _pair(dilation, "dilation")
    p = _pair(padding, "padding")
    s = _pair(stride, "stride")
    if min(k) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{k[0]} kernel_width: {k[1]}")
    if min(s) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {s[0]} "
                           f"stride_width: {s[1]}")
    if min(p) < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {p[0]} "
                           f"pad_width: {p[1]}")
    if min(d) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{d[0]} dilation_width: {d[1]}")
    return k, d, p, s


def _blocks(size, k, d, p, s) -> tuple:
    return tuple((i + 2 * pp - dd * (kk - 1) - 1) // ss + 1
                 for i, kk, dd, pp, ss in zip(size, k, d, p, s))


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding local blocks (im2col): (N, C, H, W) -> (N, C·kh·kw, L), one column per
    window position, L = number of windows.

    >>> import nbtorch as torch
    >>> unfold(torch.arange(9.0).reshape(1, 1, 3, 3), 2)
    tensor([[[0., 1., 3., 4.],
             [1., 2., 4., 5.],
             [3., 4., 6., 7.],
             [4., 5., 7., 8.]]])
    """
    if input.dim() not in (3, 4):
        if input.dim() < 3:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-input.dim()}, {input.dim() - 1}], but got 2)")
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
            f"dimensions for input, but got: {list(input.shape)}"
        )
    k, d, p, s = _window_args(kernel_size, dilation, padding, stride)
    size = tuple(input.shape[-2:])
    blocks = _blocks(size, k, d, p, s)
    if min(blocks) < 1:
        raise RuntimeError(
            f"Given input with spatial size {size}, kernel_size={k}, dilation={d}, padding={p}, "
            f"calculated shape of the array of sliding blocks as {blocks}, but its components "
            "must be at least one."
        )
    return Unfold.apply(input, geometry=Geometry(size, k, s, p, p, d, exact=True))


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Combine sliding local blocks into a tensor (col2im, the adjoint of ``unfold``):
    (N, C·kh·kw, L) -> (N, C, *output_size); values landing on the same pixel add up.

    >>> import nbtorch as torch
    >>> fold(torch.ones(1, 4, 4), (3, 3), 2)
    tensor([[[[1., 2., 1.],
              [2., 4., 2.],
              [1., 2., 1.]]]])
    """
    if input.dim() not in (2, 3):
        raise RuntimeError(
            "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
            f"non-zero dimensions for input, but got: {list(input.shape)}"
        )
    size = _pair(output_size, "output_size")
    k, d, p, s = _window_args(kernel_size, dilation, padding, stride)
    taps = k[0] * k[1]
    rows, length = input.shape[-2:]
    if rows % taps:
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
            f"but got input.size(1)={rows} and kernel_size={k}."
        )
    blocks = _blocks(size, k, d, p, s)
    if blocks[0] * blocks[1] != length:
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={k}, dilation={d}, padding={p}, stride={s}, "
            f"expected size of input's dimension 2 to match the calculated number of sliding "
            f"blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
            f"input.size(2)={length}."
        )
    return Fold.apply(input, geometry=Geometry(size, k, s, p, p, d, exact=True),
                      channels=rows // taps)

"""Pooling primitives: max and average pooling over sliding windows, adaptive pooling.

Pooling reuses the convolution's window machinery (``ops/conv.py``): every channel is pooled on
its own, so ``(N, C, *size)`` is treated as ``N·C`` one-channel images; the padded input is copied
once through a strided view into the window-major matrix ``cols`` of shape ``(K, N·C·positions)``
(one row per kernel tap), and a reduction over its first axis gives the result:

* max: ``y = cols.max(0)``.  The gradient goes to the first maximum of each window (PyTorch's
  rule; a NaN wins, the last one), recorded as one boolean mask per tap; backward puts ``g`` back
  where the mask is set, one strided ``+=`` per tap ("col2im").
* average: ``y = cols.sum(0) / divisor``; backward spreads ``g / divisor`` over every tap.

Adaptive average pooling averages the window ``[⌊i·S/O⌋, ⌈(i+1)·S/O⌉)`` along each dim; that is
a linear map per dim, so it is one small averaging matrix per dim.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..autograd.function import Op
from .conv import (
    Geometry,
    _contiguous_strides,
    _grad_positions,
    _n_ints,
    col2im,
    im2col,
    padded_block,
)

# torch.<name>; the rest (avg_pool2d, adaptive_avg_pool2d, ...) are torch.nn.functional only
__all__ = ["adaptive_avg_pool1d", "adaptive_max_pool1d", "avg_pool1d", "max_pool1d",
           "max_pool1d_with_indices", "max_pool2d", "max_pool3d"]


# --- array kernels -------------------------------------------------------------------------------


def _planes(shape, geo: Geometry) -> int:
    """How many independent planes (N·C, or C unbatched) a (…, *size) shape holds."""
    return math.prod(shape[:len(shape) - len(geo.size)])


def _windows(xp, x, geo: Geometry, fill):
    """``(cols, n)``: the (K, n·npos) window-major matrix of x (…, *size), n planes."""
    n = _planes(x.shape, geo)
    block = padded_block(xp, x.reshape((n, 1) + geo.size), geo, fill)
    return im2col(xp, block, geo).reshape(len(geo.taps), n * geo.npos), n


def _to_output(xp, values, geo: Geometry, shape):
    """(n·npos) values at window positions -> the (…, *out) output (contiguous)."""
    n = _planes(shape, geo)
    if geo.positions == geo.out:
        return values.reshape(shape)
    view = values.reshape(n, geo.npos)
    out = xp.empty(shape, dtype=values.dtype)
    out.reshape((n,) + geo.out)[...] = backend.strided_view(
        xp, view, (n,) + geo.out, (geo.npos,) + geo.out_strides)
    return out


def _from_output(xp, g, geo: Geometry):
    """The (…, *out) gradient as (n·npos) window positions (zero where no output is)."""
    if geo.positions == geo.out:
        return xp.ascontiguousarray(g).reshape(-1)
    return _grad_positions(xp, g.reshape((-1, 1) + geo.out), geo, None)


def _spread(xp, gpos, geo: Geometry, x_shape, dtype, mask=None):
    """col2im for pooling: put ``gpos`` (n·npos), times ``mask`` (K, n·npos) if given, back on
    every tap of its window; returns the (…, *size) input gradient."""
    n = math.prod(x_shape[:len(x_shape) - len(geo.size)])
    k = len(geo.taps)
    if _tiles(geo):
        # the windows cut the input into disjoint tiles: one strided write, no zero fill
        gx = xp.empty((n,) + geo.size, dtype=dtype)
        view = backend.strided_view(xp, gx, geo.kernel + (n,) + geo.out, _contiguous_strides(
            geo.size) + (geo.plane,) + tuple(s * f for s, f in zip(geo.stride, geo.flat)))
        g = gpos.reshape((n,) + geo.out)
        if mask is None:
            view[...] = g
        else:
            xp.multiply(mask.reshape(view.shape), g, out=view)
        return gx.reshape(x_shape)
    gcols = xp.broadcast_to(gpos, (k, gpos.shape[0])) if mask is None else mask * gpos
    cols = gcols.reshape(1, k, n, geo.npos)
    if not geo.padding:
        gx = xp.zeros((n, 1) + geo.size, dtype=dtype)
        col2im(xp, cols, gx, geo)
        return gx.reshape(x_shape)
    block = xp.zeros((n, 1) + geo.padded, dtype=dtype)
    col2im(xp, cols, block, geo)
    return xp.ascontiguousarray(block[geo.interior]).reshape(x_shape)


def _tiles(geo: Geometry) -> bool:
    """Do the windows cut the input exactly into disjoint tiles (the common k = stride case)?"""
    return not geo.padding and all(
        d == 1 and s == k and o * s == size
        for d, s, k, o, size in zip(geo.dilation, geo.stride, geo.kernel, geo.out, geo.size))


def _first_max(xp, cols, m):
    """One mask per tap: where tap k holds the first maximum of its window (a NaN wins: the last
    NaN, as PyTorch's ``val > max || isnan(val)`` scan picks)."""
    first = cols == m
    taken = first[0].copy()
    for k in range(1, first.shape[0]):
        xp.greater(first[k], taken, out=first[k])  # first[k] and not taken
        taken |= first[k]
    if cols.dtype.kind == "f":
        nan = xp.isnan(m)
        if nan.any():
            rows = xp.isnan(cols[:, nan])
            last = xp.zeros_like(rows)
            taken = xp.zeros_like(rows[0])
            for k in range(rows.shape[0] - 1, -1, -1):
                last[k] = rows[k] > taken
                taken |= rows[k]
            first[:, nan] = last
    return first


def _tap_index(xp, first):
    """The tap index of each window's maximum, from the masks."""
    taps = xp.arange(first.shape[0], dtype=np.int64)
    return taps @ first.astype(np.int64) if first.shape[0] > 1 else xp.zeros(
        first.shape[1], dtype=np.int64)


def flat_indices(xp, first, geo: Geometry, shape):
    """PyTorch's ``return_indices``: the flat index into each input plane of every maximum."""
    n = _planes(shape, geo)
    tap = _to_output(xp, _tap_index(xp, first), geo, shape).reshape((n,) + geo.out)
    plane = _contiguous_strides(geo.size)
    offsets = xp.asarray([sum(i * d * f for i, d, f in zip(ks, geo.dilation, plane))
                          for ks in itertools.product(*map(range, geo.kernel))], dtype=np.int64)
    base = xp.zeros(geo.out, dtype=np.int64)  # where each window starts (may be in the padding)
    for d, (o, s, lo, f) in enumerate(zip(geo.out, geo.stride, geo.lo, plane)):
        along = (xp.arange(o, dtype=np.int64) * s - lo) * f
        base = base + along.reshape([o if e == d else 1 for e in range(len(geo.out))])
    return (base + offsets[tap]).reshape(shape)


def _divisor(geo: Geometry, pads, count_include_pad: bool, divisor_override, xp, dtype):
    """Each output's divisor for average pooling (PyTorch's formula), broadcastable to out."""
    if divisor_override:
        return divisor_override
    total = None
    for d, (o, s, k, p, size) in enumerate(zip(geo.out, geo.stride, geo.kernel, pads, geo.size)):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        if count_include_pad:
            count = end - start
        else:
            count = np.minimum(end, size) - np.maximum(start, 0)
        count = count.reshape([o if e == d else 1 for e in range(len(geo.out))])
        total = count if total is None else total * count
    if (total == total.flat[0]).all():
        return int(total.flat[0])
    return xp.asarray(total.astype(dtype if np.dtype(dtype).kind == "f" else np.int64))


def _divide(xp, s, div):
    if s.dtype.kind == "f":
        return s / div
    return (xp.abs(s) // div * xp.sign(s)).astype(s.dtype)  # C's truncating division


# --- ops ------------------------------------------------------------------------------------------


class MaxPool(Op):
    """Max pooling: y = max over each window; dy/dx = 1 at the window's first maximum, else 0"""

    _backward_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, geometry=None, with_indices=False):
        xp = ctx.xp
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        cols, n = _windows(xp, x, geometry, fill)
        m = cols.max(axis=0)
        shape = x.shape[:x.ndim - len(geometry.size)] + geometry.out
        y = _to_output(xp, m, geometry, shape)
        ctx.geometry = geometry
        if ctx.needs_input_grad or with_indices:
            ctx.first = _first_max(xp, cols, m)
            ctx.save_for_backward(x)
        if with_indices:
            indices = flat_indices(xp, ctx.first, geometry, shape)
            ctx.mark_non_differentiable(indices)
            return y, indices
        return y

    @staticmethod
    def backward(ctx, g, *_):
        (x,) = ctx.saved_tensors
        geo = ctx.geometry
        if isinstance(g, Tensor):  # create_graph: a differentiable scatter of g
            shape = tuple(g.shape)
            idx = flat_indices(_xp(g), ctx.first, geo, shape)
            n = _planes(shape, geo)
            zeros = g.new_zeros((n, math.prod(geo.size)))
            return zeros.scatter_add(1, Tensor._wrap(idx.reshape(n, -1)), g.reshape(n, -1)) \
                .reshape(tuple(x.shape))
        xp = ctx.xp
        return _spread(xp, _from_output(xp, g, geo), geo, x.shape, g.dtype, mask=ctx.first)


def _xp(t: Tensor):
    return backend.xp_of(t._data)


class MaxPool3D(MaxPool):
    _backward_name = "MaxPool3DWithIndicesBackward0"


class AvgPool(Op):
    """Average pooling: y = Σ window / divisor; dy/dx = 1 / divisor for every tap"""

    _backward_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, geometry=None, divisor=1):
        xp = ctx.xp
        cols, n = _windows(xp, x, geometry, 0)
        s = cols.sum(axis=0, dtype=x.dtype)
        ctx.geometry, ctx.divisor, ctx.x_shape = geometry, divisor, x.shape
        shape = x.shape[:x.ndim - len(geometry.size)] + geometry.out
        return _divide(xp, _to_output(xp, s, geometry, shape), divisor)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            return AvgPoolBackward.apply(g, geometry=ctx.geometry, divisor=ctx.divisor,
                                         x_shape=ctx.x_shape)
        return avg_pool_backward(ctx.xp, g, ctx.geometry, ctx.divisor, ctx.x_shape)


def avg_pool_backward(xp, g, geo, divisor, x_shape):
    return _spread(xp, _from_output(xp, g / divisor, geo), geo, x_shape, g.dtype)


class AvgPool3D(AvgPool):
    _backward_name = "AvgPool3DBackward0"


class AvgPoolBackward(Op):
    """The gradient of average pooling (linear in g): spread g / divisor over each window; its
    own gradient is average pooling again"""

    _backward_name = "AvgPool2DBackwardBackward0"

    @staticmethod
    def forward(ctx, g, geometry=None, divisor=1, x_shape=None):
        ctx.geometry, ctx.divisor = geometry, divisor
        return avg_pool_backward(ctx.xp, g, geometry, divisor, x_shape)

    @staticmethod
    def backward(ctx, h):
        return AvgPool.apply(h, geometry=ctx.geometry, divisor=ctx.divisor)


def _averaging_matrix(size: int, out: int, dtype) -> np.ndarray:
    """Row i averages PyTorch's adaptive window [⌊i·S/O⌋, ⌈(i+1)·S/O⌉)."""
    a = np.zeros((out, size), dtype=dtype)
    for i in range(out):
        start, end = (i * size) // out, -(-((i + 1) * size) // out)
        a[i, start:end] = 1.0 / (end - start)
    return a


def _along(xp, x, matrices):
    """Apply one matrix per trailing dim: y[..., i, j] = Σ A[i, h] B[j, w] x[..., h, w]."""
    nd = len(matrices)
    for d, a in enumerate(matrices):
        axis = x.ndim - nd + d
        x = xp.moveaxis(xp.tensordot(x, a, axes=([axis], [1])), -1, axis)
    return xp.ascontiguousarray(x)


class AdaptiveAvgPool(Op):
    """Adaptive average pooling: y = x ×_h A_h ×_w A_w (averaging matrices); dx = g ×_h A_hᵀ ×_w
    A_wᵀ"""

    _backward_name = "AdaptiveAvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, matrices=()):
        xp = ctx.xp
        mats = tuple(xp.asarray(a) for a in matrices)
        ctx.matrices = matrices
        return _along(xp, x, mats)

    @staticmethod
    def backward(ctx, g):
        transposed = tuple(np.ascontiguousarray(a.T) for a in ctx.matrices)
        if isinstance(g, Tensor):
            return AdaptiveAvgPool.apply(g, matrices=transposed)
        return _along(ctx.xp, g, tuple(ctx.xp.asarray(a) for a in transposed))


class AdaptiveMaxPool(Op):
    """Adaptive max pooling: y = x at each adaptive window's first maximum; dy/dx = 1 there"""

    _backward_name = "AdaptiveMaxPool2DBackward0"

    @staticmethod
    def forward(ctx, x, output_size=(), with_indices=False):
        xp = ctx.xp
        idx = _adaptive_max_indices(xp, x, output_size)
        lead = x.shape[:-2]
        y = xp.take_along_axis(x.reshape(lead + (-1,)), idx.reshape(lead + (-1,)), axis=-1)
        ctx.idx = idx
        ctx.save_for_backward(x)
        y = y.reshape(idx.shape)
        if with_indices:
            ctx.mark_non_differentiable(idx)
            return y, idx
        return y

    @staticmethod
    def backward(ctx, g, *_):
        (x,) = ctx.saved_tensors
        n = math.prod(x.shape[:-2])
        plane = x.shape[-2] * x.shape[-1]
        idx = ctx.idx.reshape(n, -1)
        if isinstance(g, Tensor):
            return g.new_zeros((n, plane)).scatter_add(1, Tensor._wrap(idx), g.reshape(n, -1)) \
                .reshape(tuple(x.shape))
        xp = ctx.xp
        gx = xp.zeros((n, plane), dtype=g.dtype)
        rows = xp.arange(n).reshape(n, 1)
        backend.scatter_add(xp, gx, (rows, idx), g.reshape(n, -1))  # windows may overlap
        return gx.reshape(x.shape)


# --- argument handling -------------------------------------------------------------------------


def _ints(value, n: int, fn: str, what: str) -> tuple:
    value = _n_ints(value, n)
    if len(value) != n:
        words = {1: "a single int", 2: "a tuple of two ints", 3: "a tuple of three ints"}
        raise RuntimeError(f"{fn}: {what} must either be a single int, or {words[n]}")
    return value


def _out_size(size, k, p, s, d, ceil_mode) -> int:
    """PyTorch's pooling_output_shape: a window must start inside the input or left padding."""
    top = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = top // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_geometry(x: Tensor, nd: int, kernel_size, stride, padding, dilation, ceil_mode,
                   fn: str, kind: str):
    """Check a pooling call's arguments with PyTorch's errors; return its Geometry."""
    kernel = _ints(kernel_size, nd, fn, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _ints(stride, nd, fn, "stride")
    pads = _ints(padding, nd, fn, "padding")
    dil = _ints(dilation, nd, fn, "dilation")
    if any(k <= 0 for k in kernel):
        if kind == "max":
            raise RuntimeError("stride should not be zero")
        raise RuntimeError("stride should not be zero")
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(p < 0 for p in pads):
        raise RuntimeError(f"pad must be non-negative, but got pad: {pads[0]}")
    if any(d <= 0 for d in dil):
        names = ["dilationH", "dilationW"] if nd == 2 else [f"dilation{i}" for i in range(nd)]
        raise RuntimeError("dilation should be greater than zero, but got " +
                           " ".join(f"{a}: {b}" for a, b in zip(names, dil)))
    for p, k, d in zip(pads, kernel, dil):
        if p > (d * (k - 1) + 1) // 2 if kind == "max" else p > k // 2:
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={p}, "
                f"kernel_size={k} and dilation={d}"
            )
    size = tuple(x.shape[-nd:])
    out = tuple(_out_size(i, k, p, s, d, ceil_mode)
                for i, k, p, s, d in zip(size, kernel, pads, stride, dil))
    if any(o <= 0 for o in out):
        c = x.shape[-nd - 1]
        raise RuntimeError(
            f"Given input size: ({'x'.join(map(str, (c,) + size))}). Calculated output size: "
            f"({'x'.join(map(str, (c,) + out))}). Output size is too small"
        )
    # ceil_mode windows may run past the right padding: pad (with the neutral value) up to them
    hi = tuple(max(p, (o - 1) * s + d * (k - 1) + 1 - i - p)
               for i, k, p, s, d, o in zip(size, kernel, pads, stride, dil, out))
    return Geometry(size, kernel, stride, pads, hi, dil, out=out), pads


def _check_pool_input(x: Tensor, nd: int, fn: str) -> None:
    if x.dim() not in (nd + 1, nd + 2):
        if nd == 2:
            raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for "
                           "input")
    if any(s == 0 for s in x.shape[-nd - 1:]):
        raise RuntimeError(
            f"Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with optional 0 dim batch size "
            f"for input, but got:{list(x.shape)}"
        )
    if x.dtype.is_complex or str(x.dtype) == "torch.bool":
        names = {"torch.bool": "Bool", "torch.complex64": "ComplexFloat",
                 "torch.complex128": "ComplexDouble"}
        raise NotImplementedError(f'"{fn}" not implemented for \'{names[str(x.dtype)]}\'')


# --- max pooling ---------------------------------------------------------------------------------


def _max_pool(nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, fn):
    _check_pool_input(input, nd, fn)
    geo, _ = _pool_geometry(input, nd, kernel_size, stride, padding, dilation, ceil_mode, fn,
                            "max")
    op = MaxPool3D if nd == 3 else MaxPool
    return op.apply(input, geometry=geo, with_indices=bool(return_indices))


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling over (N, C, H, W) or (C, H, W): the largest value of each window (padding
    counts as -inf); with ``return_indices`` also where it is (flat index into H·W).

    >>> import nbtorch as torch
    >>> max_pool2d(torch.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     "max_pool2d")


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """``max_pool2d`` returning ``(values, indices)``.

    >>> import nbtorch as torch
    >>> max_pool2d_with_indices(torch.tensor([[[[1.0, 3.0], [2.0, 0.0]]]]), 2)[1]
    tensor([[[[1]]]])
    """
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W).

    >>> import nbtorch as torch
    >>> max_pool3d(torch.arange(8.0).reshape(1, 1, 2, 2, 2), 2).flatten()
    tensor([7.])
    """
    out = _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                    "max_pool3d")
    return out


def _check_1d(input: Tensor, fn: str, what: str = "") -> None:
    if input.dim() not in (2, 3):
        if fn == "max_pool1d":
            raise RuntimeError(
                f"max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch "
                f"size for input, but got:{list(input.shape)}"
            )
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument "
            f"#1 'self' (while checking arguments for {fn})"
        )


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-D max pooling over (N, C, L) or (C, L).

    >>> import nbtorch as torch
    >>> max_pool1d(torch.tensor([[1.0, 5.0, 2.0, 0.0, 4.0]]), 2)
    tensor([[5., 2.]])
    """
    _check_1d(input, "max_pool1d")
    k = _ints(kernel_size, 1, "max_pool1d", "kernel_size")[0]
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _ints(stride, 1, "max_pool1d", "stride")[0]
    p = _ints(padding, 1, "max_pool1d", "padding")[0]
    d = _ints(dilation, 1, "max_pool1d", "dilation")[0]
    if k <= 0:
        raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {k}")
    if s <= 0:
        raise RuntimeError(f"max_pool1d() stride must be greater than zero, but got {s}")
    if p < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p}")
    if d <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d}")
    if p > k // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but got "
                           f"padding={p} and kernel_size={k}")
    if _out_size(input.shape[-1], k, p, s, d, ceil_mode) <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: "
                           f"{_out_size(input.shape[-1], k, p, s, d, ceil_mode)}")
    out = max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, p), (1, d), ceil_mode,
                     return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """``max_pool1d`` returning ``(values, indices)``.

    >>> import nbtorch as torch
    >>> max_pool1d_with_indices(torch.tensor([[1.0, 5.0, 2.0, 0.0]]), 2)[1]
    tensor([[1, 2]])
    """
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# --- average pooling -----------------------------------------------------------------------------


def _avg_pool(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, fn):
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    geo, pads = _pool_geometry(input, nd, kernel_size, stride, padding, 1, ceil_mode, fn, "avg")
    if input.dtype.is_complex or str(input.dtype) == "torch.bool":
        raise NotImplementedError(f'"{fn}" not implemented for '
                                  f"'{str(input.dtype)[6:].title()}'")
    divisor = _divisor(geo, pads, count_include_pad, divisor_override, _xp(input),
                       input._data.dtype)
    op = AvgPool3D if nd == 3 else AvgPool
    return op.apply(input, geometry=geo, divisor=divisor)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """2-D average pooling over (N, C, H, W) or (C, H, W): the mean of each window (zero padding
    counts towards the mean unless ``count_include_pad=False``).

    >>> import nbtorch as torch
    >>> avg_pool2d(torch.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    if input.dim() not in (3, 4):
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-max(input.dim(), 1)}, {max(input.dim(), 1) - 1}], but got -3)")
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, "avg_pool2d")


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W).

    >>> import nbtorch as torch
    >>> avg_pool3d(torch.arange(8.0).reshape(1, 1, 2, 2, 2), 2).flatten()
    tensor([3.5000])
    """
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, "avg_pool3d")


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over (N, C, L) or (C, L).

    >>> import nbtorch as torch
    >>> avg_pool1d(torch.tensor([[1.0, 5.0, 2.0, 0.0, 4.0]]), 2)
    tensor([[3., 1.]])
    """
    _check_1d(input, "avg_pool1d")
    k = _ints(kernel_size, 1, "avg_pool1d", "kernel_size")[0]
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _ints(stride, 1, "avg_pool1d", "stride")[0]
    p = _ints(padding, 1, "avg_pool1d", "padding")[0]
    out = _avg_pool(2, input.unsqueeze(-2), (1, k), (1, s), (0, p), ceil_mode,
                    count_include_pad, None, "avg_pool1d")
    return out.squeeze(-2)


# --- adaptive pooling ----------------------------------------------------------------------------


_TYPE_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _adaptive_sizes(input: Tensor, output_size, nd: int, fn: str) -> tuple:
    if isinstance(output_size, (int, np.integer)) and not isinstance(output_size, bool):
        sizes = (int(output_size),) * nd
    else:
        sizes = tuple(output_size)
        if len(sizes) != nd:
            raise RuntimeError(f"{fn}: output_size must be {nd}")
    size = tuple(input.shape[-nd:])
    return tuple(s if o is None else int(o) for s, o in zip(size, sizes))


def _adaptive_avg(nd, input, output_size, fn):
    if nd == 2 and input.dim() not in (3, 4):
        raise RuntimeError(f"{fn}(): Expected 3D or 4D tensor, but got {list(input.shape)}")
    out = _adaptive_sizes(input, output_size, nd, fn)
    if input._data.dtype.kind not in "f":
        name = _TYPE_NAMES.get(input._data.dtype.name, input._data.dtype.name)
        raise NotImplementedError(f'"adaptive_avg_pool{nd}d" not implemented for \'{name}\'')
    for i, s in enumerate(input.shape[-nd:]):
        if s == 0 and any(o for o in out):
            raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {input.dim() - nd + i} being empty")
    if all(o == 1 for o in out):  # global average pooling, as PyTorch does it
        return input.mean(dim=tuple(range(-nd, 0)), keepdim=True)
    dtype = input._data.dtype
    mats = tuple(_averaging_matrix(s, o, dtype) for s, o in zip(input.shape[-nd:], out))
    return AdaptiveAvgPool.apply(input, matrices=mats)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """2-D adaptive average pooling: output (…, OH, OW) whatever the input size; cell (i, j)
    averages rows ⌊i·H/OH⌋ … ⌈(i+1)·H/OH⌉ - 1 (and likewise columns).  ``None`` keeps a size.

    >>> import nbtorch as torch
    >>> adaptive_avg_pool2d(torch.arange(9.0).reshape(1, 3, 3), 2)
    tensor([[[2., 3.],
             [5., 6.]]])
    """
    return _adaptive_avg(2, input, output_size, "adaptive_avg_pool2d")


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """1-D adaptive average pooling over (N, C, L) or (C, L).

    >>> import nbtorch as torch
    >>> adaptive_avg_pool1d(torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]]), 2)
    tensor([[2., 4.]])
    """
    _check_1d(input, "adaptive_avg_pool1d")
    size = _adaptive_sizes(input, output_size, 1, "adaptive_avg_pool1d")
    return _adaptive_avg(2, input.unsqueeze(-2), (1, size[0]),
                         "adaptive_avg_pool2d").squeeze(-2)


def _adaptive_max_indices(xp, x, out):
    """Flat index (into each H·W plane) of the first maximum of every adaptive window."""
    h_in, w_in = x.shape[-2:]
    lead = x.shape[:-2]
    idx = xp.empty(lead + out, dtype=np.int64)
    for i in range(out[0]):
        h0, h1 = (i * h_in) // out[0], -(-((i + 1) * h_in) // out[0])
        for j in range(out[1]):
            w0, w1 = (j * w_in) // out[1], -(-((j + 1) * w_in) // out[1])
            window = x[..., h0:h1, w0:w1].reshape(lead + (-1,))
            if window.dtype.kind == "f":
                nan = xp.isnan(window)
                pick = xp.where(nan.any(-1), window.shape[-1] - 1 - xp.argmax(nan[..., ::-1], -1),
                                xp.argmax(window, -1))
            else:
                pick = xp.argmax(window, -1)
            width = w1 - w0
            idx[..., i, j] = (h0 + pick // width) * w_in + w0 + pick % width
    return idx


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """2-D adaptive max pooling: the largest value of PyTorch's adaptive windows (see
    ``adaptive_avg_pool2d``), and with ``return_indices`` its flat index into H·W.

    >>> import nbtorch as torch
    >>> adaptive_max_pool2d(torch.arange(9.0).reshape(1, 3, 3), 2)
    tensor([[[4., 5.],
             [7., 8.]]])
    """
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: "
                           f"{list(input.shape)}")
    out = _adaptive_sizes(input, output_size, 2, "adaptive_max_pool2d")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"adaptive_max_pool2d" not implemented for '
                                  f"'{_TYPE_NAMES.get(input._data.dtype.name, 'Long')}'")
    if any(o <= 0 for o in out) or any(s == 0 for s in input.shape[-2:]):
        if any(s == 0 for s in input.shape[-2:]):
            raise RuntimeError(
                f"adaptive_max_pool2d(): Expected input to have non-zero size for non-batch "
                f"dimensions, but input has sizes {list(input.shape)} with dimension "
                f"{input.dim() - 2 + [s == 0 for s in input.shape[-2:]].index(True)} being empty")
    return AdaptiveMaxPool.apply(input, output_size=out, with_indices=bool(return_indices))


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """1-D adaptive max pooling over (N, C, L) or (C, L).

    >>> import nbtorch as torch
    >>> adaptive_max_pool1d(torch.tensor([[1.0, 5.0, 2.0, 0.0, 4.0]]), 2)
    tensor([[5., 4.]])
    """
    _check_1d(input, "adaptive_max_pool1d")
    size = _adaptive_sizes(input, output_size, 1, "adaptive_max_pool1d")
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, size[0]), return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


METHODS: dict = {}
INPLACE: tuple = ()

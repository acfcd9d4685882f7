"""Convolution primitives: N-d convolution, transposed convolution, and unfold/fold (im2col).

One idea does all the work: **strided im2col + one GEMM**.  A zero-padded input block of shape
``(n, C, *padded)`` is viewed (no copy) through strides as ``(C, *kernel, n, *positions)``: entry
``[c, k, b, p]`` is the input value that kernel tap ``k`` of channel ``c`` meets at output
position ``p`` of sample ``b``.  Copying that view into a matrix ``cols`` of shape
``(C·K, n·positions)`` is the only data movement; then the convolution is one matrix product::

    y = W (O, C·K) @ cols (C·K, n·P)        dW = g (O, n·P) @ colsᵀ        dcols = Wᵀ @ g

and the input gradient puts ``dcols`` back with one strided ``+=`` per kernel tap ("col2im").

Two refinements make it fast on the CPU:

* **wrap-around positions.**  With stride 1 an output position ``(i, j)`` reads the flattened
  padded image at ``i·Wp + j + offset``.  Instead of the exact ``(OH, OW)`` grid (rows of only OW
  elements: slow strided copies), ``positions`` is then the contiguous run ``0 .. (OH-1)·Wp + OW``;
  the few positions that wrap past a row end are computed and ignored.  Every copy moves long
  contiguous runs, and the valid outputs are picked out with one strided view.
* **batch chunks.**  The batch is processed a few samples at a time, so that ``cols`` stays in the
  CPU cache between the copy that makes it and the GEMM that reads it (on a GPU: one chunk).

The three bilinear maps of a convolution are each other's derivatives, which gives backward and
double backward without any further code::

    C(x, w) = conv(x, w)     T(g, w) = conv_transpose(g, w)     Wg(x, g) = weight gradient
    <C(x, w), g> = <x, T(g, w)> = <w, Wg(x, g)>

Each is an ``Op`` whose backward calls the other two (on arrays in an ordinary backward pass, as
``Op.apply`` on tensors with ``create_graph=True``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..autograd.function import Op

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "convolution"]

# Samples per chunk, on the CPU: im2col elements per chunk (512 KiB of float32, so that cols stays
# in L2 between its copy and its GEMM), and a larger budget for col2im, whose cost is one strided
# += per kernel tap and per chunk: there, fewer and longer adds win over cache locality (measured
# on LeNet's shapes).
_CHUNK_ELEMENTS = 1 << 17
_SCATTER_CHUNK_ELEMENTS = 1 << 20
_GPU_CHUNK_ELEMENTS = 1 << 25  # 128 MiB of float32 per im2col chunk on a GPU


# --- geometry ----------------------------------------------------------------------------------


class Geometry:
    """Where every output of an N-d sliding window reads its input.

    ``size`` is the spatial size of the (unpadded) input, ``lo``/``hi`` the padding before and
    after each dim, ``out`` the output size (computed unless given: a transposed convolution may
    use fewer outputs than fit).  Derived: ``padded`` sizes, their row-major ``flat`` strides,
    ``taps`` (the flat offset of each kernel tap) and the ``positions`` grid that im2col walks
    (``exact`` forbids wrap-around positions).
    """

    __slots__ = ("size", "kernel", "stride", "lo", "hi", "dilation", "groups", "out", "padded",
                 "plane", "flat", "taps", "tap_strides", "positions", "position_strides",
                 "out_strides", "npos", "padding", "interior")

    def __init__(self, size, kernel, stride, lo, hi, dilation, groups=1, out=None, exact=False):
        self.size, self.kernel, self.stride = tuple(size), tuple(kernel), tuple(stride)
        self.lo, self.hi, self.dilation, self.groups = tuple(lo), tuple(hi), tuple(dilation), groups
        self.padded = tuple(s + a + b for s, a, b in zip(size, lo, hi))
        self.padding = any(lo) or any(hi)
        if out is None:
            out = tuple((p - d * (k - 1) - 1) // s + 1
                        for p, k, s, d in zip(self.padded, kernel, stride, dilation))
        self.out = tuple(out)
        flat, acc = [], 1
        for p in reversed(self.padded):
            flat.insert(0, acc)
            acc *= p
        self.flat, self.plane = tuple(flat), acc
        taps = [0]
        for k, d, f in zip(kernel, dilation, flat):
            taps = [t + i * d * f for t in taps for i in range(k)]
        self.taps = tuple(taps)
        self.tap_strides = tuple(d * f for d, f in zip(dilation, flat))
        self.interior = (slice(None), slice(None)) + tuple(
            slice(a, a + s) for a, s in zip(self.lo, self.size))
        if len(self.out) > 1 and all(s == 1 for s in stride) and not exact:
            # wrap-around positions: one contiguous run per sample (see the module docstring)
            run = sum((o - 1) * f for o, f in zip(self.out, flat)) + 1
            self.positions, self.position_strides = (run,), (1,)
            self.out_strides = self.flat
        else:
            self.positions = self.out
            self.position_strides = tuple(s * f for s, f in zip(stride, flat))
            self.out_strides = _contiguous_strides(self.out)
        self.npos = math.prod(self.positions)

    def key(self) -> tuple:
        return (self.size, self.kernel, self.stride, self.lo, self.hi, self.dilation,
                self.groups, self.out)

    def __eq__(self, other) -> bool:
        return isinstance(other, Geometry) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __repr__(self) -> str:
        return "Geometry(size={}, kernel={}, stride={}, lo={}, hi={}, dilation={}, groups={}, " \
               "out={})".format(*self.key())

    def chunk(self, xp, n: int, rows: int, budget: int | None = None) -> int:
        """How many samples to process at once (``rows`` im2col rows per position)."""
        if xp is not np:  # a GPU wants few, large GEMMs; the bound only caps cols' memory
            budget = _GPU_CHUNK_ELEMENTS
        elif budget is None:
            budget = _CHUNK_ELEMENTS
        return max(1, min(n, budget // max(1, rows * self.npos)))


def _contiguous_strides(shape) -> tuple:
    strides, acc = [], 1
    for s in reversed(shape):
        strides.insert(0, acc)
        acc *= s
    return tuple(strides)


# --- array kernels (numpy or cupy) -------------------------------------------------------------


def padded_block(xp, x, geo: Geometry, fill, buf=None):
    """``x`` (n, C, *size) padded with ``fill`` as a C-contiguous (n, C, *padded) array; ``buf``
    (a previous result of the same shape or larger batch) is reused: its border is already
    filled, only the interior is written."""
    if not geo.padding:
        return xp.ascontiguousarray(x)
    n, c = x.shape[:2]
    if buf is None or buf.shape[0] < n:
        buf = xp.full((n, c) + geo.padded, fill, dtype=x.dtype)
    block = buf[:n]
    block[geo.interior] = x
    return block


def im2col(xp, block, geo: Geometry, out=None):
    """``cols[(c, *k), (b, *p)] = block[b, c, p + k]`` as a contiguous (C, K, n, npos) array
    (in the flat buffer ``out`` when it is large enough)."""
    n, c = block.shape[:2]
    plane = geo.plane
    shape = (c,) + geo.kernel + (n,) + geo.positions
    view = backend.strided_view(xp, block, shape,
                                (plane,) + geo.tap_strides + (c * plane,) + geo.position_strides)
    size = math.prod(shape)
    cols = xp.empty(size, dtype=block.dtype) if out is None or out.size < size else out[:size]
    cols = cols.reshape(shape)
    cols[...] = view
    return cols.reshape(c, len(geo.taps), n, geo.npos)


def col2im(xp, cols, block, geo: Geometry) -> None:
    """The adjoint of im2col: ``block[b, c, p + k] += cols[c, k, b, p]`` (block is C-contiguous)."""
    n, c = block.shape[:2]
    plane = geo.plane
    shape = (c, n) + geo.positions
    strides = (plane, c * plane) + geo.position_strides
    for k, offset in enumerate(geo.taps):
        target = backend.strided_view(xp, block, shape, strides, offset)
        target += cols[:, k].reshape(shape)


def _positions_view(xp, buf, geo: Geometry, channels: int, n: int):
    """The (n, channels, *out) outputs inside a contiguous (channels, n, npos) buffer."""
    return backend.strided_view(xp, buf, (n, channels) + geo.out,
                                (geo.npos, n * geo.npos) + geo.out_strides)


def _grad_positions(xp, g, geo: Geometry, buf):
    """``g`` (n, O, *out) laid out as the (O, n·npos) matrix of positions, zero where a
    position is not an output (wrap-around)."""
    n, o = g.shape[:2]
    size = o * n * geo.npos
    if buf is None or buf.size != size:
        buf = xp.zeros(size, dtype=g.dtype)  # positions that are no output stay zero
    view = _positions_view(xp, buf, geo, o, n)
    view[...] = g
    return buf


def conv_forward(xp, x, w, b, geo: Geometry):
    """y = C(x, w) + b: (N, C, *size) * (O, C/G, *kernel) -> (N, O, *out)."""
    n_all, c = x.shape[:2]
    o, groups = w.shape[0], geo.groups
    wg = w.reshape(groups, o // groups, -1)
    dtype = np.result_type(x.dtype, w.dtype)
    y = xp.empty((n_all, o) + geo.out, dtype=dtype)
    nb = geo.chunk(xp, n_all, c * len(geo.taps))
    bias = None if b is None else b.reshape((o,) + (1,) * len(geo.out))
    block = cols = None
    for n0 in range(0, n_all, nb):
        n = min(nb, n_all - n0)
        block = padded_block(xp, x[n0:n0 + n], geo, 0, block)
        cols_all = im2col(xp, block, geo, cols)
        if cols is None:
            cols = cols_all.reshape(-1)
        yq = xp.matmul(wg, cols_all.reshape(groups, -1, n * geo.npos))
        view = _positions_view(xp, yq.reshape(-1), geo, o, n)
        if bias is None:
            y[n0:n0 + n] = view
        else:
            xp.add(view, bias, out=y[n0:n0 + n])
    return y


def conv_input_grad(xp, g, w, geo: Geometry):
    """T(g, w): the gradient of C(x, w) for x, i.e. the transposed convolution of g."""
    n_all, o = g.shape[:2]
    groups = geo.groups
    c = w.shape[1] * groups
    wt = w.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    dtype = np.result_type(g.dtype, w.dtype)
    gx = (xp.empty if geo.padding else xp.zeros)((n_all, c) + geo.size, dtype=dtype)
    nb = geo.chunk(xp, n_all, c * len(geo.taps), _SCATTER_CHUNK_ELEMENTS)
    buf = block = None
    for n0 in range(0, n_all, nb):
        n = min(nb, n_all - n0)
        buf = _grad_positions(xp, g[n0:n0 + n], geo, buf)
        dcols = xp.matmul(wt, buf.reshape(groups, o // groups, n * geo.npos))
        dcols = dcols.reshape(c, len(geo.taps), n, geo.npos)
        if geo.padding:
            if block is None or block.shape[0] != n:
                block = xp.zeros((n, c) + geo.padded, dtype=dtype)
            else:
                block.fill(0)
            col2im(xp, dcols, block, geo)
            gx[n0:n0 + n] = block[geo.interior]
        else:
            col2im(xp, dcols, gx[n0:n0 + n], geo)
    return gx


def conv_weight_grad(xp, x, g, geo: Geometry, w_shape: tuple):
    """Wg(x, g): the gradient of C(x, w) for w, sum over samples and positions of g ⊗ cols."""
    n_all, c = x.shape[:2]
    o, groups = g.shape[1], geo.groups
    dtype = np.result_type(x.dtype, g.dtype)
    # accumulated transposed, (C·K, O) = cols @ gᵀ: BLAS is faster transposing the small operand
    gwt = xp.zeros((groups, (c // groups) * len(geo.taps), o // groups), dtype=dtype)
    nb = geo.chunk(xp, n_all, c * len(geo.taps))
    buf = block = cols = None
    for n0 in range(0, n_all, nb):
        n = min(nb, n_all - n0)
        buf = _grad_positions(xp, g[n0:n0 + n], geo, buf)
        block = padded_block(xp, x[n0:n0 + n], geo, 0, block)
        cols_all = im2col(xp, block, geo, cols)
        if cols is None:
            cols = cols_all.reshape(-1)
        gq = buf.reshape(groups, o // groups, n * geo.npos)
        gwt += xp.matmul(cols_all.reshape(groups, -1, n * geo.npos), gq.transpose(0, 2, 1))
    return xp.ascontiguousarray(gwt.transpose(0, 2, 1)).reshape(w_shape)


# --- ops ------------------------------------------------------------------------------------------


def _bias_grad(xp, g):
    return xp.sum(g, axis=(0,) + tuple(range(2, g.ndim)))


def _conv(x, w, geo):
    if isinstance(x, Tensor):
        return Convolution.apply(x, w, None, geometry=geo)
    return conv_forward(backend.xp_of(x), x, w, None, geo)


def _conv_t(g, w, geo):
    if isinstance(g, Tensor):
        return ConvolutionTranspose.apply(g, w, None, geometry=geo)
    return conv_input_grad(backend.xp_of(g), g, w, geo)


def _conv_w(x, g, geo, w_shape):
    if isinstance(x, Tensor):
        return ConvolutionWeight.apply(x, g, geometry=geo, weight_shape=w_shape)
    return conv_weight_grad(backend.xp_of(x), x, g, geo, w_shape)


class Convolution(Op):
    """Convolution: y = C(x, w) + b, y[n,o,p] = Σ_{c,k} x[n,c,p·s+k·d] w[o,c,k] + b[o];
    dx = T(g, w) (transposed convolution), dw = Wg(x, g), db = Σ g"""

    _backward_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, geometry=None):
        ctx.geometry, ctx.weight_shape = geometry, w.shape
        need = ctx.needs_input_grad or (False, False, False)
        # NOTE: x's im2col matrix is made again for the weight gradient rather than kept: keeping
        # it (a few MB for LeNet) measured slower, as fresh memory costs more than a cached copy.
        ctx.save_for_backward(x if need[1] else None, w if need[0] else None)
        return conv_forward(ctx.xp, x, w, b, geometry)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        geo = ctx.geometry
        gx = _conv_t(g, w, geo) if need[0] else None
        gw = _conv_w(x, g, geo, ctx.weight_shape) if need[1] else None
        gb = _bias_grad(ctx.xp, g) if need[2] else None
        return gx, gw, gb


class ConvolutionTranspose(Op):
    """Transposed convolution: y = T(x, w) + b, the adjoint of C(·, w) (``geometry`` is that of the
    convolution whose input y is); dx = C(g, w), dw = Wg(g, x), db = Σ g"""

    _backward_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, geometry=None):
        ctx.geometry, ctx.weight_shape = geometry, w.shape
        need = ctx.needs_input_grad or (False, False, False)
        ctx.save_for_backward(x if need[1] else None, w if need[0] else None)
        y = conv_input_grad(ctx.xp, x, w, geometry)
        if b is not None:
            y += b.reshape((-1,) + (1,) * len(geometry.size))
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        geo = ctx.geometry
        gx = _conv(g, w, geo) if need[0] else None
        gw = _conv_w(g, x, geo, ctx.weight_shape) if need[1] else None
        gb = _bias_grad(ctx.xp, g) if need[2] else None
        return gx, gw, gb


class ConvolutionWeight(Op):
    """Weight gradient of a convolution: y = Wg(x, g), bilinear; dx = T(g, h), dg = C(x, h)"""

    _backward_name = "ConvolutionBackwardBackward0"

    @staticmethod
    def forward(ctx, x, g, geometry=None, weight_shape=None):
        ctx.geometry = geometry
        need = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(x if need[1] else None, g if need[0] else None)
        return conv_weight_grad(ctx.xp, x, g, geometry, weight_shape)

    @staticmethod
    def backward(ctx, h):
        x, g = ctx.saved_tensors
        need = ctx.needs_input_grad
        geo = ctx.geometry
        return (_conv_t(g, h, geo) if need[0] else None), (_conv(x, h, geo) if need[1] else None)


def unfold_forward(xp, x, geo: Geometry):
    """im2col as PyTorch lays it out: (N, C, *size) -> (N, C·K, L), L = number of windows; an
    unbatched (C, *size) input gives (C·K, L)."""
    if x.ndim == len(geo.size) + 1:
        return unfold_forward(xp, x[None], geo)[0]
    n, c = x.shape[:2]
    block = padded_block(xp, x, geo, 0)
    view = backend.strided_view(xp, block, (n, c) + geo.kernel + geo.out,
                                (c * geo.plane, geo.plane) + geo.tap_strides + geo.position_strides)
    return xp.ascontiguousarray(view).reshape(n, c * len(geo.taps), geo.npos)


def fold_forward(xp, cols, geo: Geometry, channels: int):
    """col2im as PyTorch lays it out: (N, C·K, L) -> (N, C, *size), overlapping windows add; an
    unbatched (C·K, L) input gives (C, *size)."""
    if cols.ndim == 2:
        return fold_forward(xp, cols[None], geo, channels)[0]
    n = cols.shape[0]
    block = xp.zeros((n, channels) + geo.padded, dtype=cols.dtype)
    per_tap = cols.reshape(n, channels, len(geo.taps), geo.npos).transpose(1, 2, 0, 3)
    col2im(xp, per_tap, block, geo)
    return xp.ascontiguousarray(block[geo.interior])


class Unfold(Op):
    """Unfold (im2col): y[n, (c,k), l] = x[n, c, window l + tap k]; dx = fold(g) (adjoint)"""

    _backward_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, geometry=None):
        ctx.geometry, ctx.channels = geometry, x.shape[-len(geometry.size) - 1]
        return unfold_forward(ctx.xp, x, geometry)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            return Fold.apply(g, geometry=ctx.geometry, channels=ctx.channels)
        return fold_forward(ctx.xp, g, ctx.geometry, ctx.channels)


class Fold(Op):
    """Fold (col2im): y[n, c, p] = Σ of the column entries that land on p; dx = unfold(g)"""

    _backward_name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, cols, geometry=None, channels=1):
        ctx.geometry = geometry
        return fold_forward(ctx.xp, cols, geometry, channels)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            return Unfold.apply(g, geometry=ctx.geometry)
        return unfold_forward(ctx.xp, g, ctx.geometry)


# --- public functions ----------------------------------------------------------------------------


def _n_ints(value, n: int) -> tuple:
    """An int, or a sequence of one or n ints, as n ints (any other length comes back as it is,
    for the caller's own error)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    return value * n if len(value) == 1 else value


def _tuple(value, n: int, name: str, what: str = None) -> tuple:
    """An int or a sequence of n ints, with PyTorch's error otherwise."""
    value = _n_ints(value, n)
    if len(value) != n:
        raise RuntimeError(
            f"expected {what or name} to be a single integer value or a list of {n} values to "
            f"match the convolution dimensions, but got {what or name}={list(value)}"
        )
    return value


def _sizes(shape) -> str:
    return " x ".join(str(s) for s in shape)


def _check_dtypes(input: Tensor, weight: Tensor, bias) -> None:
    a, b = input._data.dtype, weight._data.dtype
    if a != b:
        names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                 "int32": "Int"}
        raise RuntimeError(f"expected scalar type {names.get(a.name, a.name)} but found "
                           f"{names.get(b.name, b.name)}")
    if bias is not None and bias._data.dtype != a:
        names = {"float32": "float", "float64": "double", "float16": "c10::Half",
                 "int64": "long int"}
        raise RuntimeError(f"Input type ({names.get(a.name, a.name)}) and bias type "
                           f"({names.get(bias._data.dtype.name, bias._data.dtype.name)}) should "
                           "be the same")


def convolution(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                dilation=1, transposed: bool = False, output_padding=0, groups: int = 1,
                _name: str = "convolution") -> Tensor:
    """N-d (transposed) convolution of a batched ``(N, C, *size)`` or unbatched input, as
    ``torch.convolution``; ``padding`` may be ints, ``'valid'`` or ``'same'``.

    >>> import nbtorch as torch
    >>> x = torch.arange(9.0).reshape(1, 1, 3, 3)
    >>> convolution(x, torch.ones(1, 1, 2, 2))
    tensor([[[[ 8., 12.],
              [20., 24.]]]])
    """
    w_dims = weight.dim()
    nd = w_dims - 2
    if nd < 1:
        raise RuntimeError("weight should have at least three dimensions")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {_name}, but got "
            f"input of size: {list(input.shape)}"
        )
    unbatched = input.dim() == nd + 1
    if unbatched:
        input = input.unsqueeze(0)
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    kernel = tuple(weight.shape[2:])
    size = tuple(input.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            lo = hi = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            lo = tuple(t // 2 for t in total)
            hi = tuple(t - t // 2 for t in total)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        lo = hi = _tuple(padding, nd, "padding")
        if any(p < 0 for p in lo):
            raise RuntimeError("negative padding is not supported")
    _check_dtypes(input, weight, bias)
    if input._data.dtype == np.bool_:
        kernel_name = ("slow_conv_transpose2d_out_cpu" if transposed
                       else "compute_columns3d" if nd == 3 else "slow_conv2d_cpu")
        raise NotImplementedError(f'"{kernel_name}" not implemented for \'Bool\'')
    w_shape = list(weight.shape)
    channels = input.shape[1]
    if w_shape[0] < groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, but "
            f"got weight of size {w_shape} instead"
        )
    if w_shape[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size [{w_shape}] instead"
        )
    if transposed:
        if channels != w_shape[0]:
            raise RuntimeError(
                f"Given transposed=1, weight of size {w_shape}, expected input"
                f"{list(input.shape)} to have {w_shape[0]} channels, but got {channels} channels "
                "instead"
            )
        out_channels = w_shape[1] * groups
    else:
        if channels != w_shape[1] * groups:
            raise RuntimeError(
                f"Given groups={groups}, weight of size {w_shape}, expected input"
                f"{list(input.shape)} to have {w_shape[1] * groups} channels, but got {channels} "
                "channels instead"
            )
        out_channels = w_shape[0]
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out_channels):
        raise RuntimeError(
            f"Given weight of size {w_shape}, expected bias to be 1-dimensional with "
            f"{out_channels} elements, but got bias of size {list(bias.shape)} instead"
        )
    if transposed:
        out_pad = _tuple(output_padding, nd, "output_padding")
        if any(op >= s and op >= d for op, s, d in zip(out_pad, stride, dilation)):
            names = "height", "width"
            parts = [f"output_padding_{names[i] if nd == 2 else i}: {out_pad[i]}"
                     for i in range(nd)]
            parts += [f"stride_{names[i] if nd == 2 else i}: {stride[i]}" for i in range(nd)]
            parts += [f"dilation_{names[i] if nd == 2 else i}: {dilation[i]}" for i in range(nd)]
            raise RuntimeError("output padding must be smaller than either stride or dilation, "
                               "but got " + " ".join(parts))
        full = tuple((i - 1) * s - a - b + d * (k - 1) + op + 1 for i, s, a, b, d, k, op in
                     zip(size, stride, lo, hi, dilation, kernel, out_pad))
        if any(f <= 0 for f in full):
            raise RuntimeError(
                f"Given input size per channel: ({_sizes(size)}). Calculated output size per "
                f"channel: ({_sizes(full)}). Output size is too small"
            )
        geo = Geometry(full, kernel, stride, lo, hi, dilation, groups, out=size)
        out = ConvolutionTranspose.apply(input, weight, bias, geometry=geo)
    else:
        padded = tuple(s + a + b for s, a, b in zip(size, lo, hi))
        extent = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
        if any(p < e for p, e in zip(padded, extent)):
            raise RuntimeError(
                f"Calculated padded input size per channel: ({_sizes(padded)}). Kernel size: "
                f"({_sizes(extent)}). Kernel size can't be greater than actual input size"
            )
        geo = Geometry(size, kernel, stride, lo, hi, dilation, groups)
        out = Convolution.apply(input, weight, bias, geometry=geo)
    return out.squeeze(0) if unbatched else out


def _conv_fn(nd: int, name: str):
    def conv(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
             dilation=1, groups: int = 1) -> Tensor:
        if weight.dim() != nd + 2:  # PyTorch expands the stride to nd values, then checks it
            strides = [stride] * nd if isinstance(stride, int) else list(stride)
            raise RuntimeError(
                f"expected stride to be a single integer value or a list of {weight.dim() - 2} "
                f"values to match the convolution dimensions, but got stride={strides}"
            )
        return convolution(input, weight, bias, stride, padding, dilation, False, 0, groups,
                           _name=name)

    conv.__name__ = conv.__qualname__ = name
    return conv


def _conv_transpose_fn(nd: int, name: str):
    def conv_transpose(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                       padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
        if isinstance(padding, str):
            raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
        return convolution(input, weight, bias, stride, padding, dilation, True, output_padding,
                           groups, _name=name)

    conv_transpose.__name__ = conv_transpose.__qualname__ = name
    return conv_transpose


conv1d = _conv_fn(1, "conv1d")
conv2d = _conv_fn(2, "conv2d")
conv3d = _conv_fn(3, "conv3d")
conv_transpose1d = _conv_transpose_fn(1, "conv_transpose1d")
conv_transpose2d = _conv_transpose_fn(2, "conv_transpose2d")
conv_transpose3d = _conv_transpose_fn(3, "conv_transpose3d")

conv1d.__doc__ = """1-D convolution over (N, C, L) (or unbatched (C, L)) input.

    >>> import nbtorch as torch
    >>> conv1d(torch.tensor([[[1.0, 2.0, 3.0, 4.0]]]), torch.tensor([[[1.0, -1.0]]]))
    tensor([[[-1., -1., -1.]]])
    """
conv2d.__doc__ = """2-D convolution over (N, C, H, W) (or unbatched (C, H, W)) input:
    y[n, o] = b[o] + Σ_c x[n, c] ⋆ w[o, c] (cross-correlation, as in PyTorch).

    >>> import nbtorch as torch
    >>> x = torch.ones(1, 1, 4, 4)
    >>> conv2d(x, torch.ones(2, 1, 3, 3), padding=1)[0, 0]
    tensor([[4., 6., 6., 4.],
            [6., 9., 9., 6.],
            [6., 9., 9., 6.],
            [4., 6., 6., 4.]])
    """
conv3d.__doc__ = """3-D convolution over (N, C, D, H, W) (or unbatched) input.

    >>> import nbtorch as torch
    >>> conv3d(torch.ones(1, 1, 3, 3, 3), torch.ones(1, 1, 2, 2, 2)).shape
    torch.Size([1, 1, 2, 2, 2])
    """
conv_transpose1d.__doc__ = """1-D transposed convolution (the gradient of conv1d for its input).

    >>> import nbtorch as torch
    >>> conv_transpose1d(torch.tensor([[[1.0, 2.0]]]), torch.tensor([[[1.0, 1.0, 1.0]]]))
    tensor([[[1., 3., 3., 2.]]])
    """
conv_transpose2d.__doc__ = """2-D transposed convolution ("deconvolution"): each input pixel
    stamps the kernel, scaled, into the output; the gradient of conv2d for its input.

    >>> import nbtorch as torch
    >>> conv_transpose2d(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2), stride=2)[0, 0]
    tensor([[1., 1., 1., 1.],
            [1., 1., 1., 1.],
            [1., 1., 1., 1.],
            [1., 1., 1., 1.]])
    """
conv_transpose3d.__doc__ = """3-D transposed convolution.

    >>> import nbtorch as torch
    >>> conv_transpose3d(torch.ones(1, 1, 2, 2, 2), torch.ones(1, 1, 2, 2, 2)).shape
    torch.Size([1, 1, 3, 3, 3])
    """

METHODS: dict = {}
INPLACE: tuple = ()

"""Reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, median, var/std, logsumexp, norm,
cumsum/cumprod, all/any, count_nonzero.

A reduction ``Op`` reduces its input over ``dims`` (a sorted tuple of dims, or ``None`` for all of
them).  Its backward broadcasts the gradient back over the reduced dims (``_expand``) and multiplies
by the local derivative; it is written once against ``ctx.xp`` (see ``autograd/tensor_xp.py``).
Masks that only *select* where a gradient goes (ties of max, the position of a zero in prod) are
constants: they are computed on the raw arrays even when backward records a graph.
"""

from __future__ import annotations

import builtins
import functools
import math
import numbers
import warnings

import numpy as np

from .. import backend, return_types
from .._tensor import Tensor, _wrap_dim
from ..autograd.function import Op
from ..autograd.tensor_xp import adapter
from ._promote import floating

__all__ = [
    "sum", "mean", "nansum", "nanmean", "prod", "max", "min", "amax", "amin", "aminmax", "argmax",
    "argmin", "median", "var", "std", "var_mean", "std_mean", "logsumexp", "norm", "cumsum",
    "cumprod", "all", "any", "count_nonzero",
]

_INT64 = np.dtype(np.int64)


# --- dims, shapes and the gradient's way back ---------------------------------------------------


def _dims(dim, ndim: int, name: str):
    """``dim`` (int, tuple, list or None) as a sorted tuple of dims; ``None`` means all dims.

    An empty tuple or list also means all dims, as in PyTorch.  A 0-d tensor accepts dim 0 or -1 and
    has nothing to reduce: ``()``.
    """
    if dim is None:
        return None
    items = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if not items:
        return None
    wrapped = []
    for d in items:
        if isinstance(d, bool) or not isinstance(d, (numbers.Integral, Tensor)):
            raise TypeError(
                f"{name}() received an invalid combination of arguments - got "
                f"({type(dim).__name__}), but expected (tuple of ints dim, bool keepdim)"
            )
        d = _wrap_dim(int(d), ndim)
        if d in wrapped:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        wrapped.append(d)
    return () if ndim == 0 else tuple(sorted(wrapped))


def _dim(dim, ndim: int, name: str) -> int:
    """A single dim, wrapped (ops such as max(dim), cumsum and median take exactly one)."""
    if isinstance(dim, bool) or not isinstance(dim, (numbers.Integral, Tensor)):
        raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    return _wrap_dim(int(dim), ndim)


def _keep_shape(shape: tuple, dims) -> tuple:
    """``shape`` with the reduced dims kept as size 1 (the shape of a ``keepdim=True`` result)."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _count(shape: tuple, dims) -> int:
    """How many elements each reduced value summarizes."""
    return math.prod(shape) if dims is None else math.prod(shape[d] for d in dims)


def _kept(y, shape: tuple, dims, keepdim: bool):
    """A reduction's result (or its gradient) reshaped to broadcast against the input."""
    keep = _keep_shape(shape, dims)
    return y if keepdim or tuple(y.shape) == keep else y.reshape(keep)


def _expand(xp, g, shape: tuple, dims, keepdim: bool):
    """The gradient of a reduction broadcast back to the input's shape."""
    g = _kept(g, shape, dims, keepdim)
    return g if tuple(g.shape) == shape else xp.broadcast_to(g, shape)


def _expand_copy(xp, g, shape: tuple, dims, keepdim: bool):
    """``_expand`` as a gradient of its own: sum and mean hand it on unchanged, and a hook or
    ``retain_grad`` may modify it in place, so it must not be a read-only broadcast view."""
    g = _expand(xp, g, shape, dims, keepdim)
    if isinstance(g, Tensor) or getattr(g.flags, "writeable", True):  # cupy has no read-only views
        return g
    return g.copy()


def _raw(a):
    return a._data if isinstance(a, Tensor) else a


def _like(constant, g):
    """A constant array (a mask, a share) in the form of ``g``: a Tensor when backward records."""
    return Tensor._wrap(constant) if isinstance(g, Tensor) else constant


def _renamed(op, backward_name: str):
    """``op`` under another node name: PyTorch names the full and the per-dim variants of some
    reductions differently (``x.sum()`` has a SumBackward0, ``x.sum(0)`` a SumBackward1)."""
    variant = type(op.__name__, (op,), {"__doc__": op.__doc__, "__module__": op.__module__})
    variant._backward_name = backward_name
    return variant


def _numpy_names(function):
    """Accept numpy's ``axis=`` and ``keepdims=`` for ``dim=`` and ``keepdim=``, as PyTorch does."""

    @functools.wraps(function)
    def reduction(input, *args, **kwargs):
        if kwargs:
            if "axis" in kwargs:
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return function(input, *args, **kwargs)

    return reduction


# --- sum, mean, prod ----------------------------------------------------------------------------


def _sum_array(xp, x, axis, keepdims: bool):
    """numpy's sum with PyTorch's result dtypes: integers and bools sum to int64, float16 is
    accumulated in float32."""
    dtype = x.dtype
    if dtype.kind in "fc" and dtype.itemsize > 2:
        return xp.asarray(x.sum(axis, keepdims=keepdims))  # the method: no dispatch cost
    if dtype.kind in "biu":
        return xp.asarray(x.sum(axis, dtype=_INT64, keepdims=keepdims))
    return xp.asarray(x.sum(axis, dtype=np.float32, keepdims=keepdims)).astype(dtype)


class Sum(Op):
    """Sum: y = Σ x over dims; dy/dx = 1 (the gradient is broadcast back over the dims)"""

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return _sum_array(ctx.xp, x, dims, keepdim)

    @staticmethod
    def backward(ctx, g):
        return _expand_copy(ctx.xp, g, ctx.shape, ctx.dims, ctx.keepdim)


class Mean(Op):
    """Mean: y = Σ x / N over dims; dy/dx = 1 / N"""

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False):
        xp = ctx.xp
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.n = _count(x.shape, dims)
        if x.dtype == np.float16:
            total = x.sum(dims, keepdims=keepdim, dtype=np.float32)
            return xp.asarray(total / ctx.n).astype(x.dtype)
        return xp.asarray(x.sum(dims, keepdims=keepdim) / ctx.n)  # N = 0 gives nan

    @staticmethod
    def backward(ctx, g):
        return _expand_copy(ctx.xp, g / ctx.n, ctx.shape, ctx.dims, ctx.keepdim)


class Prod(Op):
    """Prod: y = Π x over dims; dy/dx_i = Π_{j≠i} x_j (= y / x_i when no x_j is 0)"""

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False):
        xp = ctx.xp
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        dtype = _INT64 if x.dtype.kind in "biu" else None
        y = xp.asarray(xp.prod(x, axis=dims, keepdims=keepdim, dtype=dtype))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp, shape, dims = ctx.xp, ctx.shape, ctx.dims
        g = _expand(xp, g, shape, dims, ctx.keepdim)
        y = _kept(y, shape, dims, ctx.keepdim)
        zero = _raw(x) == 0
        if not bool(zero.any()):
            return g * y / x
        # A slice with one zero: only the zero gets a gradient, the product of the others.
        # A slice with two or more zeros: all of its gradients are 0.
        zeros = zero.sum(axis=dims, keepdims=True)
        no_zero, lone_zero = _like(zeros == 0, g), _like(zero & (zeros == 1), g)
        zero = _like(zero, g)
        x_safe = xp.where(zero, 1, x)
        others = xp.prod(x_safe, axis=dims, keepdims=True)
        return xp.where(no_zero, g * y / x_safe, xp.where(lone_zero, g * others, 0))


# --- selections: max, min, amax, amin, median -------------------------------------------------


class _EvenSplit(Op):
    """Reductions that select a value (amax, amin, max(), min(), median()); the gradient is shared
    evenly among the elements equal to the result, as in PyTorch."""

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        shape, dims = ctx.shape, ctx.dims
        x, y = _raw(x), _kept(_raw(y), shape, dims, ctx.keepdim)
        rxp = backend.xp_of(x)
        chosen = (x == y) | (rxp.isnan(x) & rxp.isnan(y))
        share = (chosen / chosen.sum(axis=dims, keepdims=True)).astype(x.dtype)
        return _expand(ctx.xp, g, shape, dims, ctx.keepdim) * _like(share, g)


class Amax(_EvenSplit):
    """Amax: y = max x over dims; dy/dx = 1 / (number of ties) where x = y, else 0"""

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        y = ctx.xp.asarray(ctx.xp.max(x, axis=dims, keepdims=keepdim))
        ctx.save_for_backward(x, y)
        return y


class Amin(_EvenSplit):
    """Amin: y = min x over dims; dy/dx = 1 / (number of ties) where x = y, else 0"""

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        y = ctx.xp.asarray(ctx.xp.min(x, axis=dims, keepdims=keepdim))
        ctx.save_for_backward(x, y)
        return y


class Median(_EvenSplit):
    """Median: y = the lower median of all elements (nan if any is nan); dy/dx = 1 / (number of
    ties) where x = y, else 0"""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, None, False
        flat = x.reshape(-1)
        if flat.size == 0 or x.dtype.kind == "f" and bool(xp.isnan(flat).any()):
            y = xp.asarray(np.iinfo(x.dtype).min if x.dtype.kind in "iu" else np.nan, dtype=x.dtype)
        else:
            k = (flat.size - 1) // 2
            y = xp.asarray(xp.partition(flat, k)[k])
        ctx.save_for_backward(x, y)
        return y


class _IndexedSelect(Op):
    """Reductions along one dim that return (values, indices): max(dim), min(dim), median(dim).
    The gradient goes to the selected index only."""

    @staticmethod
    def backward(ctx, g, _indices_grad=None):
        (index,) = ctx.saved_tensors
        shape, dim = ctx.shape, ctx.dim
        if not shape:
            return g
        index = _kept(_raw(index), shape, (dim,), ctx.keepdim)
        rxp = backend.xp_of(index)
        along = [-1 if d == dim else 1 for d in range(len(shape))]
        positions = rxp.arange(shape[dim]).reshape(along)
        chosen = positions == index
        return _expand(ctx.xp, g, shape, (dim,), ctx.keepdim) * _like(chosen, g)

    @staticmethod
    def _extreme(ctx, x, dim, keepdim, arg_extreme):
        """max(dim) and min(dim): ``arg_extreme`` is ``xp.argmax`` or ``xp.argmin``."""
        xp = ctx.xp
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        if x.ndim == 0:
            index = xp.zeros((), dtype=_INT64)
            ctx.save_for_backward(index)
            return x.copy(), index
        return _IndexedSelect._finish(ctx, x, xp.expand_dims(arg_extreme(x, axis=dim), dim),
                                      keepdim)

    @staticmethod
    def _finish(ctx, x, index, keepdim):
        """Values at ``index`` (kept dim) and the saved, squeezed indices: the op's two outputs."""
        xp, dim = ctx.xp, ctx.dim
        index = index.astype(_INT64, copy=False)
        values = xp.take_along_axis(x, index, axis=dim)
        if not keepdim:
            index, values = index.squeeze(dim), values.squeeze(dim)
        ctx.save_for_backward(index)
        return values, index


class Max(_IndexedSelect):
    """Max: (values, indices) of the maxima along dim; dvalues/dx = 1 at the index, else 0"""

    @staticmethod
    def forward(ctx, x, dim=0, keepdim=False):
        return Max._extreme(ctx, x, dim, keepdim, ctx.xp.argmax)


class Min(_IndexedSelect):
    """Min: (values, indices) of the minima along dim; dvalues/dx = 1 at the index, else 0"""

    @staticmethod
    def forward(ctx, x, dim=0, keepdim=False):
        return Min._extreme(ctx, x, dim, keepdim, ctx.xp.argmin)


class MedianDim(_IndexedSelect):
    """Median: (values, indices) of the lower medians along dim (nan where a slice has nan);
    dvalues/dx = 1 at the index, else 0"""

    @staticmethod
    def forward(ctx, x, dim=0, keepdim=False):
        xp = ctx.xp
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        if x.ndim == 0:
            index = xp.zeros((), dtype=_INT64)
            ctx.save_for_backward(index)
            return x.copy(), index
        # A stable sort picks, among equal values, the one PyTorch picks in the common cases.
        order = xp.argsort(x, axis=dim, **({"kind": "stable"} if xp is np else {}))
        k = (x.shape[dim] - 1) // 2
        index = order[(slice(None),) * dim + (slice(k, k + 1),)]
        if x.dtype.kind == "f":
            nan = xp.isnan(x)
            index = xp.where(nan.any(axis=dim, keepdims=True),
                             xp.expand_dims(xp.argmax(nan, axis=dim), dim), index)
        return MedianDim._finish(ctx, x, index, keepdim)


# --- variance, logsumexp, norm ---------------------------------------------------------------


def _variance(xp, x, dims, keepdim: bool, correction, name: str):
    """Σ(x - x̄)² / (N - correction), and that denominator (PyTorch warns when it is <= 0)."""
    n = _count(x.shape, dims)
    denom = builtins.max(n - correction, 0)
    if denom == 0:
        warnings.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=4)
    centered = x - xp.mean(x, axis=dims, keepdims=True)
    squares = xp.sum(centered * centered, axis=dims, keepdims=keepdim)
    return xp.asarray(squares / denom).astype(x.dtype, copy=False), denom


def _variance_backward(xp, g, x, ctx):
    """dvar/dx = 2 (x - x̄) / (N - correction), with g already divided by that denominator."""
    centered = x - xp.mean(x, axis=ctx.dims, keepdims=True)
    return _expand(xp, g, ctx.shape, ctx.dims, ctx.keepdim) * 2 * centered


class Var(Op):
    """Var: y = Σ(x - x̄)² / (N - correction); dy/dx = 2 (x - x̄) / (N - correction)"""

    @staticmethod
    def forward(ctx, x, dims=None, correction=1, keepdim=False):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        y, ctx.denom = _variance(ctx.xp, x, dims, keepdim, correction, "var")
        ctx.save_for_backward(x)
        return y

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        scale = 1 / ctx.denom if ctx.denom else math.inf
        return _variance_backward(ctx.xp, g * scale, x, ctx)


class Std(Op):
    """Std: y = √var x; dy/dx = (x - x̄) / ((N - correction) y), 0 where y = 0"""

    @staticmethod
    def forward(ctx, x, dims=None, correction=1, keepdim=False):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        var, ctx.denom = _variance(ctx.xp, x, dims, keepdim, correction, "std")
        y = ctx.xp.sqrt(var)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp = ctx.xp
        flat = _like(_raw(y) == 0, g)
        # dstd = dvar / (2 y); a constant slice (y = 0) gets gradient 0, as in PyTorch.
        g = xp.where(flat, 0, g / (2 * xp.where(flat, 1, y)))
        return _variance_backward(xp, g * (1 / ctx.denom if ctx.denom else math.inf), x, ctx)


class Logsumexp(Op):
    """Logsumexp: y = log Σ e^x, computed as m + log Σ e^(x - m) with m = max x (no overflow);
    dy/dx = e^(x - y)"""

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False):
        xp = ctx.xp
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        if x.size:
            m = xp.max(x, axis=dims, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)  # all -inf (or an inf) must not give inf - inf
        else:
            m = xp.zeros(_keep_shape(x.shape, dims), dtype=x.dtype)
        y = xp.log(xp.sum(xp.exp(x - m), axis=dims, keepdims=True)) + m
        if not keepdim:
            y = y.reshape([n for i, n in enumerate(y.shape) if dims is not None and i not in dims])
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp, shape, dims = ctx.xp, ctx.shape, ctx.dims
        y = _kept(y, shape, dims, ctx.keepdim)
        return _expand(xp, g, shape, dims, ctx.keepdim) * xp.exp(x - y)


class Norm(Op):
    """LinalgVectorNorm: y = (Σ |x|^p)^(1/p) over dims (p = inf: max |x|, p = 0: count of nonzeros);
    dy/dx = sign(x) |x|^(p-1) / y^(p-1) (p = 2: x / y, 0 where y = 0)"""

    @staticmethod
    def forward(ctx, x, ord=2.0, dims=None, keepdim=False):
        xp = ctx.xp
        ctx.shape, ctx.dims, ctx.keepdim, ctx.ord = x.shape, dims, keepdim, ord
        a = xp.abs(x)
        if ord == 2:
            y = xp.sqrt(xp.sum(a * a, axis=dims, keepdims=keepdim))
        elif ord == 1:
            y = xp.sum(a, axis=dims, keepdims=keepdim)
        elif ord == math.inf:
            y = xp.max(a, axis=dims, keepdims=keepdim)
        elif ord == -math.inf:
            y = xp.min(a, axis=dims, keepdims=keepdim)
        elif ord == 0:
            y = xp.sum(a != 0, axis=dims, keepdims=keepdim)
        else:
            y = xp.sum(a ** ord, axis=dims, keepdims=keepdim) ** (1 / ord)
        y = xp.asarray(y).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp, shape, dims, p = ctx.xp, ctx.shape, ctx.dims, ctx.ord
        g = _expand(xp, g, shape, dims, ctx.keepdim)
        y = _kept(y, shape, dims, ctx.keepdim)
        if p == 0:
            return g * 0
        if p == 1:
            return g * xp.sign(x)
        if p in (math.inf, -math.inf):  # shared evenly among the ties, as amax
            chosen = backend.xp_of(_raw(x)).abs(_raw(x)) == _raw(y)
            share = (chosen / chosen.sum(axis=dims, keepdims=True)).astype(_raw(x).dtype)
            return g * xp.sign(x) * _like(share, g)
        y_safe = xp.where(_like(_raw(y) == 0, g), 1, y)  # where y = 0, x = 0: the gradient is 0
        if p == 2:
            return g * x / y_safe
        zero = _like(_raw(x) == 0, g)
        scaled = xp.sign(x) * xp.where(zero, 1, xp.abs(x)) ** (p - 1)
        return g * scaled / y_safe ** (p - 1)


Norm._backward_name = "LinalgVectorNormBackward0"


# --- cumulative ops ---------------------------------------------------------------------------


def _reverse_cumsum(xp, a, dim):
    """Σ_{k≥i} a_k along dim."""
    return xp.flip(xp.cumsum(xp.flip(a, dim), dim), dim)


class Cumsum(Op):
    """Cumsum: y_i = Σ_{j≤i} x_j along dim; dL/dx_i = Σ_{k≥i} g_k (a reversed cumsum)"""

    @staticmethod
    def forward(ctx, x, dim=0):
        ctx.dim, ctx.ndim = dim, x.ndim
        if x.ndim == 0:
            return x.copy() if x.dtype.kind not in "biu" else x.astype(_INT64)
        dtype = _INT64 if x.dtype.kind in "biu" else None
        return ctx.xp.cumsum(x, axis=dim, dtype=dtype)

    @staticmethod
    def backward(ctx, g):
        return g if ctx.ndim == 0 else _reverse_cumsum(ctx.xp, g, ctx.dim)


class Cumprod(Op):
    """Cumprod: y_i = Π_{j≤i} x_j along dim; dL/dx_i = Σ_{k≥i} g_k Π_{j≤k, j≠i} x_j"""

    @staticmethod
    def forward(ctx, x, dim=0):
        xp = ctx.xp
        ctx.dim, ctx.ndim = dim, x.ndim
        if x.ndim == 0:
            y = x.copy() if x.dtype.kind not in "biu" else x.astype(_INT64)
        else:
            y = xp.cumprod(x, axis=dim, dtype=_INT64 if x.dtype.kind in "biu" else None)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp, dim = ctx.xp, ctx.dim
        if ctx.ndim == 0:
            return g
        zero = _raw(x) == 0
        if not bool(zero.any()):
            return _reverse_cumsum(xp, g * y, dim) / x
        # Positions before a slice's first zero: Σ_{k≥i} g_k y_k / x_i as usual.  The first zero
        # itself: the same sum with that zero replaced by 1.  After it: 0 (a zero is in every term).
        zeros_so_far = backend.xp_of(zero).cumsum(zero, axis=dim)
        before, first = _like(zeros_so_far == 0, g), _like(zero & (zeros_so_far == 1), g)
        x_safe = xp.where(_like(zero, g), 1, x)
        y_skip = xp.cumprod(xp.where(first, 1, x), dim)
        return xp.where(before, _reverse_cumsum(xp, g * y, dim) / x_safe,
                        xp.where(first, _reverse_cumsum(xp, g * y_skip, dim), 0))


# --- TENSOR_XP adapters (numpy's signatures over the functions below) ---------------------------


def _xp_prod(x, axis=None, keepdims=False):
    if axis is None or len(axis) != 1:
        y = prod(x)
        return y.reshape((1,) * x.ndim) if keepdims else y
    return prod(x, axis[0], keepdim=keepdims)


def _xp_cumsum(x, axis=None):
    return cumsum(x, axis)


def _xp_cumprod(x, axis=None):
    return cumprod(x, axis)


for _name, _function in (("prod", _xp_prod), ("cumsum", _xp_cumsum), ("cumprod", _xp_cumprod)):
    _function.__name__ = _name
    adapter(_function)


# --- public functions -------------------------------------------------------------------------


def _cast(input, dtype):
    return input if dtype is None else input.to(dtype=dtype)


_SumDim = _renamed(Sum, "SumBackward1")
_MeanDim = _renamed(Mean, "MeanBackward1")
_ProdDim = _renamed(Prod, "ProdBackward1")
_MaxAll = _renamed(Amax, "MaxBackward1")
_MinAll = _renamed(Amin, "MinBackward1")
MedianDim._backward_name = "MedianBackward1"


@_numpy_names
def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Sum of elements over ``dim`` (an int, a tuple of ints, or all dims); integer and bool tensors
    sum to int64.

    >>> import nbtorch as torch
    >>> x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> torch.sum(x), x.sum(0), x.sum(dim=(0, 1), keepdim=True)
    (tensor(10.), tensor([4., 6.]), tensor([[10.]]))
    >>> torch.tensor([True, True, False]).sum()
    tensor(2)
    """
    if dim is None and not keepdim and dtype is None:
        return Sum.apply(input)
    input = _cast(input, dtype)
    return _whole_or_dims(Sum, _SumDim, input, dim, keepdim, "sum")


def _whole_or_dims(whole, per_dims, input, dim, keepdim: bool, name: str):
    """The op over all elements (``dim`` None, PyTorch's ``SumBackward0``) or over some dims
    (``SumBackward1``), with ``dim`` checked in PyTorch's words."""
    dims = _dims(dim, input._data.ndim, name)
    if dims is None and dim is None:
        return whole.apply(input, keepdim=keepdim)
    return per_dims.apply(input, dims=dims, keepdim=keepdim)


@_numpy_names
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum that treats nan as 0.

    >>> import nbtorch as torch
    >>> torch.nansum(torch.tensor([1.0, float('nan'), 2.0]))
    tensor(3.)
    """
    if input._data.dtype.kind == "f":
        from .elementwise import isnan, where

        input = where(isnan(input), 0.0, input)
    return sum(input, dim, keepdim, dtype=dtype)


@_numpy_names
def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Mean over ``dim`` (all dims by default); the input must be floating point (or ``dtype``
    given).

    >>> import nbtorch as torch
    >>> x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> x.mean(), x.mean(1), x.mean(-1, keepdim=True)
    (tensor(2.5000), tensor([1.5000, 3.5000]), tensor([[1.5000],
            [3.5000]]))
    """
    input = _cast(input, dtype)
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {_type_name(input)}"
        )
    if dim is None and not keepdim:
        return Mean.apply(input)
    return _whole_or_dims(Mean, _MeanDim, input, dim, keepdim, "mean")


@_numpy_names
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of the non-nan elements.

    >>> import nbtorch as torch
    >>> torch.nanmean(torch.tensor([1.0, float('nan'), 2.0]))
    tensor(1.5000)
    """
    input = _cast(input, dtype)
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{input.dtype.name.capitalize()}"
        )
    from .elementwise import div, isnan, logical_not

    return div(nansum(input, dim, keepdim), sum(logical_not(isnan(input)), dim, keepdim))


@_numpy_names
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of all elements, or over one ``dim``; integer and bool tensors give int64.

    >>> import nbtorch as torch
    >>> x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> torch.prod(x), x.prod(1)
    (tensor(24.), tensor([ 2., 12.]))
    """
    input = _cast(input, dtype)
    if dim is None:
        return Prod.apply(input, keepdim=True) if keepdim else Prod.apply(input)
    if isinstance(dim, (tuple, list)):
        raise TypeError(
            "prod() received an invalid combination of arguments - got (tuple), but expected "
            "(int dim, bool keepdim)"
        )
    d = _dim(dim, input._data.ndim, "prod")
    return _ProdDim.apply(input, dims=(d,) if input._data.ndim else (), keepdim=keepdim)


def _type_name(t: Tensor) -> str:
    from .inplace import _name

    return _name(t._data.dtype)


def _check_empty(input, name: str, dims, error=RuntimeError, hint=True) -> None:
    """PyTorch refuses max-like reductions over nothing: they have no identity."""
    shape = input._data.shape
    if dims is None and input._data.size == 0:
        more = " Specify the reduction dim with the 'dim' argument." if hint else ""
        raise error(f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
                    f"{more}")
    for d in dims or ():
        if shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _select(name, full_op, dim_op, other_fn):
    def select(input, dim=None, keepdim=False, *, other=None, out=None):
        if isinstance(dim, Tensor) or other is not None:
            return other_fn(input, dim if other is None else other)
        if dim is None:
            _check_empty(input, name, None)
            return full_op.apply(input)
        d = _dim(dim, input._data.ndim, name)
        if input._data.ndim:
            _check_empty(input, name, (d,))
        return getattr(return_types, name)(dim_op.apply(input, dim=d, keepdim=keepdim))

    return _numpy_names(select)


def _maximum(input, other):
    from .elementwise import maximum

    return maximum(input, other)


def _minimum(input, other):
    from .elementwise import minimum

    return minimum(input, other)


max = _select("max", _MaxAll, Max, _maximum)
max.__name__ = "max"
max.__doc__ = """The largest element; with ``dim``, ``(values, indices)`` along it; with a second
tensor, the elementwise maximum.

    >>> import nbtorch as torch
    >>> x = torch.tensor([[1.0, 5.0], [4.0, 2.0]])
    >>> x.max()
    tensor(5.)
    >>> torch.max(x, 1)
    torch.return_types.max(
    values=tensor([5., 4.]),
    indices=tensor([1, 0]))
    >>> values, indices = x.max(dim=0, keepdim=True); indices
    tensor([[1, 0]])
    """

min = _select("min", _MinAll, Min, _minimum)
min.__name__ = "min"
min.__doc__ = """The smallest element; with ``dim``, ``(values, indices)`` along it; with a second
tensor, the elementwise minimum.

    >>> import nbtorch as torch
    >>> torch.tensor([[1.0, 5.0], [4.0, 2.0]]).min(1)
    torch.return_types.min(
    values=tensor([1., 2.]),
    indices=tensor([0, 1]))
    """


@_numpy_names
def amax(input, dim=(), keepdim=False, *, out=None):
    """The maxima over ``dim`` (all dims by default); the gradient is shared among ties.

    >>> import nbtorch as torch
    >>> x = torch.tensor([[1.0, 5.0], [4.0, 2.0]])
    >>> torch.amax(x), x.amax(0), x.amax((0, 1), keepdim=True)
    (tensor(5.), tensor([4., 5.]), tensor([[5.]]))
    """
    dims = _dims(dim, input._data.ndim, "amax")
    _check_empty(input, "amax", dims)
    return Amax.apply(input, dims=dims, keepdim=keepdim)


@_numpy_names
def amin(input, dim=(), keepdim=False, *, out=None):
    """The minima over ``dim`` (all dims by default); the gradient is shared among ties.

    >>> import nbtorch as torch
    >>> torch.tensor([[1.0, 5.0], [4.0, 2.0]]).amin(1)
    tensor([1., 2.])
    """
    dims = _dims(dim, input._data.ndim, "amin")
    _check_empty(input, "amin", dims)
    return Amin.apply(input, dims=dims, keepdim=keepdim)


def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` over ``dim`` (all dims by default).

    >>> import nbtorch as torch
    >>> torch.aminmax(torch.tensor([3.0, -1.0, 2.0]))
    torch.return_types.aminmax(
    min=tensor(-1.),
    max=tensor(3.))
    """
    dims = _dims(dim, input._data.ndim, "aminmax")
    if input._data.size == 0 and (dims is None or builtins.any(input._data.shape[d] == 0
                                                             for d in dims)):
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
    return return_types.aminmax((Amin.apply(input, dims=dims, keepdim=keepdim),
                                 Amax.apply(input, dims=dims, keepdim=keepdim)))


def _arg(name: str, function: str):
    def arg(input, dim=None, keepdim=False):
        data = input._data
        xp = backend.xp_of(data)
        if dim is None:
            _check_empty(input, name, None, IndexError, hint=False)
            index = getattr(xp, function)(data.reshape(-1))
            return Tensor._wrap(xp.asarray(index, dtype=_INT64).reshape(
                (1,) * data.ndim if keepdim else ()))
        d = _dim(dim, data.ndim, name)
        if data.ndim == 0:
            return Tensor._wrap(xp.zeros((), dtype=_INT64))
        _check_empty(input, name, (d,))
        index = getattr(xp, function)(data, axis=d).astype(_INT64, copy=False)
        return Tensor._wrap(xp.expand_dims(index, d) if keepdim else index)

    arg.__name__ = name
    return _numpy_names(arg)


argmax = _arg("argmax", "argmax")
argmax.__doc__ = """The index of the largest element (of the flattened tensor without ``dim``).

    >>> import nbtorch as torch
    >>> x = torch.tensor([[1.0, 5.0], [4.0, 2.0]])
    >>> torch.argmax(x), x.argmax(1), x.argmax(0, keepdim=True)
    (tensor(1), tensor([1, 0]), tensor([[1, 0]]))
    """
argmin = _arg("argmin", "argmin")
argmin.__doc__ = """The index of the smallest element (of the flattened tensor without ``dim``).

    >>> import nbtorch as torch
    >>> torch.tensor([[1.0, 5.0], [4.0, 2.0]]).argmin(1)
    tensor([0, 1])
    """


@_numpy_names
def median(input, dim=None, keepdim=False):
    """The lower median of all elements; with ``dim``, ``(values, indices)`` along it.

    >>> import nbtorch as torch
    >>> torch.tensor([1.0, 4.0, 2.0, 3.0]).median()
    tensor(2.)
    >>> torch.tensor([[1.0, 4.0, 2.0]]).median(1)
    torch.return_types.median(
    values=tensor([2.]),
    indices=tensor([2]))
    """
    if dim is None:
        return Median.apply(input)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"median(): argument 'dim' (position 1) must be int, not "
                        f"{type(dim).__name__}")
    d = _dim(dim, input._data.ndim, "median")
    if input._data.ndim:
        _check_empty(input, "median", (d,))
    return return_types.median(MedianDim.apply(input, dim=d, keepdim=keepdim))


def _correction(name: str, dim, unbiased, correction):
    """PyTorch's two spellings: ``correction=`` (N - correction in the denominator) and the legacy
    ``unbiased`` flag (also accepted as the first argument: ``x.var(False)``)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(
            f"{name}() received an invalid combination of arguments - got (correction=, "
            "unbiased=), but expected (dim, bool unbiased, bool keepdim) or "
            "(dim, *, Number correction, bool keepdim)"
        )
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


def _moment(name: str, op, input, dim, unbiased, keepdim, correction):
    dim, correction = _correction(name, dim, unbiased, correction)
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(f"{'std and var' if op in (Var, Std) else name} only support floating "
                           "point and complex dtypes")
    dims = _dims(dim, input._data.ndim, name)
    return op.apply(input, dims=dims, correction=correction, keepdim=keepdim)


@_numpy_names
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim``: Σ(x - x̄)² / (N - correction), ``correction=1`` by default (Bessel);
    ``unbiased=False`` is the legacy spelling of ``correction=0``.

    >>> import nbtorch as torch
    >>> x = torch.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])
    >>> x.var(), x.var(1), x.var(1, correction=0)
    (tensor(3.2000), tensor([1., 4.]), tensor([0.6667, 2.6667]))
    """
    return _moment("var", Var, input, dim, unbiased, keepdim, correction)


@_numpy_names
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation over ``dim``: √var (same arguments as ``var``).

    >>> import nbtorch as torch
    >>> torch.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]).std(1)
    tensor([1., 2.])
    """
    return _moment("std", Std, input, dim, unbiased, keepdim, correction)


def _with_mean(name: str, op, input, dim, unbiased, keepdim, correction):
    """``(op over dim, mean over dim)``: var_mean and std_mean, with PyTorch's checks."""
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(f"{name} only support floating point and complex dtypes")
    dims_arg, correction = _correction(name, dim, unbiased, correction)
    return (op.apply(input, dims=_dims(dims_arg, input._data.ndim, name), correction=correction,
                     keepdim=keepdim),
            mean(input, dims_arg, keepdim))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim``.

    >>> import nbtorch as torch
    >>> torch.var_mean(torch.tensor([1.0, 2.0, 3.0]))
    (tensor(1.), tensor(2.))
    """
    return _with_mean("var_mean", Var, input, dim, unbiased, keepdim, correction)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``.

    >>> import nbtorch as torch
    >>> torch.std_mean(torch.tensor([1.0, 2.0, 3.0]))
    (tensor(1.), tensor(2.))
    """
    return _with_mean("std_mean", Std, input, dim, unbiased, keepdim, correction)


@_numpy_names
def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input)))`` over ``dim``, computed without overflow.

    >>> import nbtorch as torch
    >>> torch.logsumexp(torch.tensor([1000.0, 1000.0]), 0)
    tensor(1000.6932)
    """
    input = floating(input)
    dims = _dims(dim, input._data.ndim, "logsumexp")
    return Logsumexp.apply(input, dims=dims, keepdim=keepdim)


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """The vector p-norm over ``dim`` (all dims by default): p = 2 ('fro', the default), 1, inf,
    -inf, 0 or any number.

    >>> import nbtorch as torch
    >>> x = torch.tensor([[3.0, -4.0], [0.0, 1.0]])
    >>> x.norm(), x.norm(dim=1), x.norm(1), x.norm(float('inf'), dim=0)
    (tensor(5.0990), tensor([5., 1.]), tensor(8.), tensor([3., 4.]))
    """
    dims_given = None if dim is None else (tuple(dim) if isinstance(dim, (tuple, list)) else (dim,))
    if isinstance(p, str):
        if p == "fro" and (dims_given is None or len(dims_given) <= 2):
            p = 2.0
        else:
            return _matrix_norm(input, p, dims_given, keepdim, dtype)
    elif p is None:
        p = 2.0
    if input._data.dtype.kind not in "fc":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_type_name(input)}")
    input = _cast(input, dtype)
    dims = _dims(dim, input._data.ndim, "norm")
    p = float(p)
    if p in (math.inf, -math.inf) and input._data.size == 0:
        sign = "" if p > 0 else "-"
        raise RuntimeError(f"linalg.vector_norm cannot compute the {sign}inf norm on an empty "
                           "tensor because the operation does not have an identity")
    if p in (math.inf, -math.inf):
        _check_empty(input, "linalg.vector_norm", dims)
    return Norm.apply(input, ord=p, dims=dims, keepdim=keepdim)


def _matrix_norm(input, p, dims, keepdim, dtype):
    """Matrix norms (such as 'nuc') belong to ``nbtorch.linalg``; here only PyTorch's checks."""
    dims = tuple(range(input._data.ndim)) if dims is None else dims
    if len(dims) != 2:
        raise RuntimeError(
            f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(str(d) for d in dims)}"
        )
    if p not in ("fro", "nuc"):
        raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
    try:
        from ..linalg import matrix_norm
    except ImportError:
        raise NotImplementedError(f"norm(p='{p}') needs nbtorch.linalg.matrix_norm") from None
    return matrix_norm(input, p, dims, keepdim, dtype=dtype)


@_numpy_names
def cumsum(input, dim, *, dtype=None, out=None):
    """Cumulative sums along ``dim``; integer and bool tensors give int64.

    >>> import nbtorch as torch
    >>> torch.cumsum(torch.tensor([1.0, 2.0, 3.0]), 0)
    tensor([1., 3., 6.])
    """
    input = _cast(input, dtype)
    return Cumsum.apply(input, dim=_dim(dim, input._data.ndim, "cumsum"))


@_numpy_names
def cumprod(input, dim, *, dtype=None, out=None):
    """Cumulative products along ``dim``; zeros are handled exactly in the gradient.

    >>> import nbtorch as torch
    >>> torch.tensor([1.0, 2.0, 3.0]).cumprod(0)
    tensor([1., 2., 6.])
    """
    input = _cast(input, dtype)
    return Cumprod.apply(input, dim=_dim(dim, input._data.ndim, "cumprod"))


def _logical(name: str):
    def reduce(input, dim=None, keepdim=False, *, out=None):
        data = input._data
        xp = backend.xp_of(data)
        dims = _dims(dim, data.ndim, name)
        result = xp.asarray(getattr(xp, name)(data, axis=dims, keepdims=keepdim))
        # PyTorch keeps uint8 for uint8 inputs (a legacy of masks stored as bytes).
        return Tensor._wrap(result.astype(np.uint8) if data.dtype == np.uint8 else result)

    reduce.__name__ = name
    return _numpy_names(reduce)


all = _logical("all")
all.__doc__ = """True when every element (over ``dim``) is nonzero.

    >>> import nbtorch as torch
    >>> x = torch.tensor([[True, False], [True, True]])
    >>> torch.all(x), x.all(1)
    (tensor(False), tensor([False,  True]))
    """
any = _logical("any")
any.__doc__ = """True when some element (over ``dim``) is nonzero.

    >>> import nbtorch as torch
    >>> torch.tensor([[0, 0], [0, 3]]).any(1)
    tensor([False,  True])
    """


def count_nonzero(input, dim=None):
    """How many elements (over ``dim``) are nonzero, as int64.

    >>> import nbtorch as torch
    >>> x = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    >>> torch.count_nonzero(x), x.count_nonzero(0)
    (tensor(3), tensor([1, 2]))
    """
    data = input._data
    xp = backend.xp_of(data)
    dims = _dims(dim, data.ndim, "count_nonzero")
    return Tensor._wrap(xp.asarray(xp.count_nonzero(data, axis=dims), dtype=_INT64))


METHODS = {
    "sum": sum, "nansum": nansum, "mean": mean, "nanmean": nanmean, "prod": prod, "max": max,
    "min": min, "amax": amax, "amin": amin, "aminmax": aminmax, "argmax": argmax,
    "argmin": argmin, "median": median, "var": var, "std": std, "logsumexp": logsumexp,
    "norm": norm, "cumsum": cumsum, "cumprod": cumprod, "all": all, "any": any,
    "count_nonzero": count_nonzero,
}
INPLACE = ("cumsum", "cumprod")

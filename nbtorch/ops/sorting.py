"""Sorting and searching: sort, argsort, topk, kthvalue, msort, unique, searchsorted, bucketize.

``sort``, ``topk`` and ``kthvalue`` return ``(values, indices)`` as ``torch.return_types``; the
values are differentiable (the gradient goes back to the places the values came from), the indices
are not.  Sorting is stable, so ties keep their order (PyTorch promises that only with
``stable=True``).
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend, return_types
from .._tensor import Tensor, _wrap_dim
from ..autograd.function import Op

# --- gathering along an axis, and its adjoint ----------------------------------------------------


class TakeAlongAxis(Op):
    """TakeAlongAxis: y = x at index along an axis; dL/dx = g put back at index (zeros elsewhere)"""

    @staticmethod
    def forward(ctx, x, index=None, axis=-1):
        ctx.where = (index, axis, x.shape)
        return ctx.xp.take_along_axis(x, index, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return _put_back(g, *ctx.where)


class PutAlongAxis(Op):
    """PutAlongAxis: y = zeros(shape) with g put at index along an axis; dL/dg = y's gradient
    taken at index"""

    @staticmethod
    def forward(ctx, g, index=None, axis=-1, shape=()):
        ctx.where = (index, axis)
        out = ctx.xp.zeros(shape, dtype=g.dtype)
        ctx.xp.put_along_axis(out, index, g, axis=axis)
        return out

    @staticmethod
    def backward(ctx, gg):
        index, axis = ctx.where
        if isinstance(gg, Tensor):
            return TakeAlongAxis.apply(gg, index=index, axis=axis)
        return ctx.xp.take_along_axis(gg, index, axis=axis)


def _put_back(g, index, axis, shape):
    """The gradient of taking ``index`` (no repeats) along ``axis`` from an array of ``shape``."""
    if isinstance(g, Tensor):  # create_graph: an op, so that the gradient has a gradient
        return PutAlongAxis.apply(g, index=index, axis=axis, shape=shape)
    out = backend.xp_of(g).zeros(shape, dtype=g.dtype)
    backend.xp_of(g).put_along_axis(out, index, g, axis=axis)
    return out


def _argsort(xp, x, axis: int, descending: bool):
    """Stable argsort; descending keeps ties in their original order and puts NaN first."""
    if not descending:
        return backend.argsort_stable(xp, x, axis)
    # Sort the reversed array ascending (stable), then reverse the result: ties keep their order.
    n = x.shape[axis]
    idx = backend.argsort_stable(xp, xp.flip(x, axis), axis)
    return xp.flip(n - 1 - idx, axis)


# --- ops with values and indices -----------------------------------------------------------------


class _TakenAlongDim(Op):
    """An op that returns (values, indices): values taken from x along a dim at indices p; its
    gradient goes back to x at p (the indices get none)"""

    @staticmethod
    def backward(ctx, g, _indices_grad):
        return _backward_at_indices(ctx, g)


def _taken(ctx, values, idx, dim: int, shape: tuple):
    """Keep what the backward needs (the indices, the dim and x's shape) when it will run."""
    if ctx.needs_input_grad:
        ctx.save_for_backward(idx)
        ctx.where = (dim, shape)
    return values, idx


class Sort(_TakenAlongDim):
    """Sort: y = x reordered along dim by the sorting permutation p; dL/dx = g put back at p"""

    @staticmethod
    def forward(ctx, x, dim=-1, descending=False):
        xp = ctx.xp
        flat = x.reshape(1) if x.ndim == 0 else x
        idx = _argsort(xp, flat, dim, descending)
        values = xp.take_along_axis(flat, idx, axis=dim).reshape(x.shape)
        idx = idx.reshape(x.shape)
        return _taken(ctx, values, idx, dim, x.shape)


class Topk(_TakenAlongDim):
    """Topk: y = the k largest (or smallest) x along dim, at indices p; dL/dx = g put back at p"""

    @staticmethod
    def forward(ctx, x, k=1, dim=-1, largest=True):
        xp = ctx.xp
        flat = x.reshape(1) if x.ndim == 0 else x
        # A full stable sort, then the first k: simple, deterministic on ties, and fast enough
        # for the sizes beginners use (an argpartition would save the log factor).
        idx = _argsort(xp, flat, dim, largest)
        idx = xp.take(idx, xp.arange(k), axis=dim)
        values = xp.take_along_axis(flat, idx, axis=dim)
        if x.ndim == 0 and k == 1:
            values, idx = values.reshape(()), idx.reshape(())
        return _taken(ctx, values, idx, dim, x.shape)


class Kthvalue(_TakenAlongDim):
    """Kthvalue: y = the k-th smallest x along dim, at index p; dL/dx = g put back at p"""

    @staticmethod
    def forward(ctx, x, k=1, dim=-1, keepdim=False):
        xp = ctx.xp
        flat = x.reshape(1) if x.ndim == 0 else x
        idx = backend.argsort_stable(xp, flat, dim)
        idx = xp.take(idx, xp.arange(k - 1, k), axis=dim)
        values = xp.take_along_axis(flat, idx, axis=dim)
        if x.ndim == 0:
            values, idx = values.reshape(()), idx.reshape(())
        elif not keepdim:
            values, idx = values.squeeze(dim), idx.squeeze(dim)
        return _taken(ctx, values, idx, dim, x.shape)


def _backward_at_indices(ctx, g):
    (idx,) = ctx.saved_tensors
    idx = idx._data if isinstance(idx, Tensor) else idx
    dim, shape = ctx.where
    if len(shape) == 0:
        return g
    if idx.ndim != len(shape):  # kthvalue without keepdim: put the reduced dimension back
        idx = backend.xp_of(idx).expand_dims(idx, dim)
        g = g.reshape(idx.shape)
    return _put_back(g, idx, dim, shape)


# --- public functions ----------------------------------------------------------------------------


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """Sort along ``dim``; returns ``(values, indices)`` with ``input[indices] == values``.

    >>> import nbtorch as torch
    >>> torch.sort(torch.tensor([3.0, 1.0, 2.0]))
    torch.return_types.sort(
    values=tensor([1., 2., 3.]),
    indices=tensor([1, 2, 0]))
    """
    dim = _wrap_dim(dim, input._data.ndim)
    params = {"dim": dim}
    if descending:
        params["descending"] = True
    return return_types.sort(Sort.apply(input, **params))


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim``.

    >>> import nbtorch as torch
    >>> torch.argsort(torch.tensor([3.0, 1.0, 2.0]), descending=True)
    tensor([0, 2, 1])
    """
    data = input._data
    dim = _wrap_dim(dim, data.ndim)
    if data.ndim == 0:
        return Tensor._wrap(backend.xp_of(data).zeros((), dtype=np.int64))
    return Tensor._wrap(_argsort(backend.xp_of(data), data, dim, descending).astype(np.int64,
                                                                                     copy=False))


def msort(input):
    """Sort along the first dimension (the values only).

    >>> import nbtorch as torch
    >>> torch.msort(torch.tensor([[3.0, 1.0], [1.0, 2.0]]))
    tensor([[1., 1.],
            [3., 2.]])
    """
    return sort(input, dim=0).values


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim``, in order.

    >>> import nbtorch as torch
    >>> torch.topk(torch.tensor([1.0, 5.0, 3.0, 4.0]), 2)
    torch.return_types.topk(
    values=tensor([5., 4.]),
    indices=tensor([1, 3]))
    """
    _check_number(k)
    data = input._data
    dim = _wrap_dim(dim, data.ndim)
    size = data.shape[dim] if data.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    if data.dtype.kind == "b":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    return return_types.topk(Topk.apply(input, k=int(k), dim=dim, largest=bool(largest)))


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """The ``k``-th smallest element along ``dim`` (``k`` counts from 1) and its index.

    >>> import nbtorch as torch
    >>> torch.kthvalue(torch.tensor([3.0, 1.0, 2.0]), 2)
    torch.return_types.kthvalue(
    values=tensor(2.),
    indices=tensor(2))
    """
    _check_number(k)
    data = input._data
    dim = _wrap_dim(dim, data.ndim)
    size = data.shape[dim] if data.ndim else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
    return return_types.kthvalue(Kthvalue.apply(input, k=int(k), dim=dim, keepdim=bool(keepdim)))


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values of ``input`` (sorted), optionally with the inverse map and counts.

    Not differentiable.

    >>> import nbtorch as torch
    >>> torch.unique(torch.tensor([3, 1, 2, 1]), return_counts=True)
    (tensor([1, 2, 3]), tensor([2, 1, 1]))
    """
    data = input._data
    xp = backend.xp_of(data)
    if dim is None:
        values, inverse, counts = xp.unique(data.reshape(-1), return_inverse=True,
                                            return_counts=True)
        inverse = inverse.reshape(data.shape)
    else:
        dim = _wrap_dim(dim, data.ndim)
        values, inverse, counts = xp.unique(data, return_inverse=True, return_counts=True,
                                            axis=dim)
        inverse = inverse.reshape(-1)
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values into one (flattened unless ``dim`` is given).

    >>> import nbtorch as torch
    >>> torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 1]))
    tensor([1, 2, 1])
    """
    data = input._data
    xp = backend.xp_of(data)
    if dim is None:
        rows = data.reshape(-1)
    else:
        dim = _wrap_dim(dim, data.ndim)
        rows = xp.moveaxis(data, dim, 0)
    n = rows.shape[0]
    change = xp.ones(n, dtype=bool)  # True where a new run starts
    if n > 1:
        change[1:] = (rows[1:] != rows[:-1]).reshape(n - 1, -1).any(axis=1)
    starts = xp.nonzero(change)[0]
    values = rows[starts] if dim is None else xp.moveaxis(rows[starts], 0, dim)
    inverse = xp.cumsum(change) - 1
    if dim is None:
        inverse = inverse.reshape(data.shape)
    counts = xp.diff(xp.concatenate([starts, xp.asarray([n], dtype=starts.dtype)]))
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def _unique_result(values, inverse, counts, return_inverse, return_counts):
    out = [Tensor._wrap(values)]
    if return_inverse:
        out.append(Tensor._wrap(inverse.astype(np.int64, copy=False)))
    if return_counts:
        out.append(Tensor._wrap(counts.astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None,
                 out=None):
    """Where ``input``'s values would go in ``sorted_sequence`` to keep it sorted (per row when
    both have leading dimensions).

    >>> import nbtorch as torch
    >>> torch.searchsorted(torch.tensor([1, 3, 5]), torch.tensor([2, 6]))
    tensor([1, 3])
    """
    if not isinstance(sorted_sequence, Tensor):
        raise TypeError("searchsorted(): argument 'sorted_sequence' (position 1) must be Tensor, "
                        f"not {type(sorted_sequence).__name__}")
    seq = sorted_sequence._data
    xp = backend.xp_of(seq)
    scalar = not isinstance(input, Tensor)
    values = xp.asarray(input) if scalar else input._data
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    if side is not None:
        right = side == "right"
    which = "right" if right else "left"
    if seq.ndim == 1:
        idx = xp.searchsorted(seq, values, side=which)
    else:
        if scalar or seq.shape[:-1] != values.shape[:-1]:
            raise RuntimeError(
                "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                "dimensions of boundaries tensor and input value tensor must match, but we got "
                f"boundaries tensor {list(seq.shape)} and input value tensor "
                f"{list(values.shape)}")
        rows, vals = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        idx = xp.stack([xp.searchsorted(r, v, side=which) for r, v in zip(rows, vals)])
        idx = idx.reshape(values.shape)
    return Tensor._wrap(xp.asarray(idx).astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The index of the bucket of ``boundaries`` (1-D, sorted) that each value falls in.

    >>> import nbtorch as torch
    >>> torch.bucketize(torch.tensor([2, 6]), torch.tensor([1, 3, 5]))
    tensor([1, 3])
    """
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def _check_number(k) -> None:
    if not isinstance(k, numbers.Integral):
        raise TypeError(f"argument 'k' must be int, not {type(k).__name__}")


METHODS = {
    "sort": sort, "argsort": argsort, "msort": msort, "topk": topk, "kthvalue": kthvalue,
    "unique": unique, "unique_consecutive": unique_consecutive,
}
INPLACE = ()

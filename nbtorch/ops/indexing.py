"""Indexing ops: ``x[key]`` and ``x[key] = value``, gather/scatter, index_*, take, masked_*,
nonzero, tril/triu.

Almost every op here is one of two primitives with a PyTorch name on top:

* ``y = x[key]`` (Index, Gather, IndexSelect, Take, MaskedSelect): the gradient is the incoming
  gradient added into zeros at ``key``, repeated positions summed (``backend.scatter_add``).
* ``out = base; out[key] = values`` or ``+= values`` (IndexPut, Scatter, ScatterAdd, IndexAdd,
  IndexFill): the base gets the gradient outside ``key`` (everywhere when adding), the values get
  the gradient's region ``g[key]``.

A key is a pair ``(basic, adv)``: ``basic`` (ints, slices, None) is applied first and gives a
view, ``adv`` (index arrays and full slices) is numpy's advanced indexing on that view.  Splitting
keys this way is how PyTorch treats ``x[1, :, idx]``: integers are applied as ``select`` before the
index arrays, so they never count as advanced indices (numpy would move the indexed dims to the
front).
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from .. import _dtype, backend
from .._tensor import Tensor, _wrap_dim
from ..autograd.function import Op, _type_string
from ..autograd.grad_mode import GRAD
from ._promote import check_broadcast
from .inplace import commit

__all__ = [
    "gather", "scatter", "scatter_add", "index_select", "index_add", "index_fill", "index_put",
    "take", "take_along_dim", "masked_fill", "masked_select", "masked_scatter", "nonzero",
    "argwhere", "tril", "triu", "tril_indices", "triu_indices",
]

_FULL = slice(None)

# --- the two primitives ---------------------------------------------------------------------------


def _region(a, key):
    """``a[basic][adv]`` for arrays; for Tensors the same through differentiable ops."""
    basic, adv = key
    if isinstance(a, Tensor):
        if basic is not None:
            a = _view_op(basic).apply(a, key=basic)
        return Index.apply(a, key=adv) if adv is not None else a
    if basic is not None:
        a = a[basic]
    return _read(a, adv) if adv is not None else a


def _read(a, adv):
    if a.ndim == 0 and adv[0] is None:  # a 0-d array is indexed as (None, i): its 1-element view
        return a.reshape(1)[adv[1:]]
    return a[adv]


def _assign(out, key, values, accumulate: bool) -> None:
    """``out[key] = values`` (or ``+=``, repeated positions summed) on an array, in place."""
    basic, adv = key
    target = out[basic] if basic is not None else out  # basic indexing: a view into out
    if hasattr(values, "dtype") and values.dtype != target.dtype:
        values = values.astype(target.dtype)
    if adv is None:
        if accumulate:
            target += values
        else:
            target[...] = values
        return
    if target.ndim == 0 and adv[0] is None:  # see _read
        target, adv = target.reshape(1), adv[1:]
    if accumulate:
        backend.scatter_add(backend.xp_of(target), target, adv, values)
    else:
        target[adv] = values


def _spread(g, shape: tuple, key, accumulate: bool):
    """Zeros of ``shape`` with ``g`` written (or added) at ``key``: the gradient of x[key]."""
    if isinstance(g, Tensor):  # create_graph: a recorded IndexPut, so double backward works
        zeros = Tensor._wrap(backend.xp_of(g._data).zeros(shape, dtype=g._data.dtype))
        return IndexPut.apply(zeros, g, key=key, accumulate=accumulate)
    out = backend.xp_of(g).zeros(shape, dtype=g.dtype)
    _assign(out, key, g, accumulate)
    return out


class _BasicIndex(Op):
    """y = x[key] for a basic key (ints, slices, None): a view; dy/dx = g placed at key in zeros"""

    _is_view = True

    @staticmethod
    def forward(ctx, x, key=(Ellipsis,)):
        ctx.shape, ctx.key = x.shape, key
        return x[key]  # every key ends with Ellipsis: numpy then returns a view, even when 0-d

    @staticmethod
    def backward(ctx, g):
        return _spread(g, ctx.shape, (ctx.key, None), accumulate=False)


class Select(_BasicIndex):
    """Select: y = x[i] (a view); dy/dx = g at i, 0 elsewhere"""


class Slice(_BasicIndex):
    """Slice: y = x[a:b:s] (a view); dy/dx = g on the slice, 0 elsewhere"""


class Unsqueeze(_BasicIndex):
    """Unsqueeze: y = x[None] (a view); dy/dx = g without the new dim"""


class Alias(_BasicIndex):
    """Alias: y = x[...] (a view of all of x); dy/dx = g"""


def _view_op(basic: tuple):
    """The PyTorch name of a basic key's view, from its last int, slice or None."""
    for item in reversed(basic):
        if item is None:
            return Unsqueeze
        if type(item) is int:
            return Select
        if type(item) is slice:
            return Slice
    return Alias


class Index(Op):
    """Index: y = x[key] (advanced indexing, a copy); dy/dx = g added into zeros at key, repeated
    positions summed"""

    @staticmethod
    def forward(ctx, x, key=()):
        ctx.shape, ctx.key = x.shape, key
        return _read(x, key)

    @staticmethod
    def backward(ctx, g):
        return _spread(g, ctx.shape, (None, ctx.key), accumulate=True)


class Gather(Index):
    """Gather: y[i][j] = x[index[i][j]][j] (dim 0); dy/dx = g added into zeros at index"""


class IndexSelect(Index):
    """IndexSelect: y = x indexed by a vector along dim; dy/dx = g added into zeros at index"""


class Take(Index):
    """Take: y = x.flatten()[index]; dy/dx = g added into zeros at index"""


class MaskedSelect(Index):
    """MaskedSelect: y = x[mask] (1-D); dy/dx = g placed where the mask is True"""


class IndexPut(Op):
    """IndexPut: out = base with out[key] = alpha * values (or += when accumulating);
    d/dbase = 1 outside key (everywhere when accumulating), d/dvalues = alpha * g[key]"""

    @staticmethod
    def forward(ctx, base, values, key=(None, None), accumulate=False, alpha=1, written=False):
        ctx.key, ctx.accumulate, ctx.alpha = key, accumulate, alpha
        ctx.values_shape = getattr(values, "shape", ())
        if written:  # __setitem__ has already written values into base's memory
            return base
        out = base.copy()
        _assign(out, key, values if alpha == 1 else values * alpha, accumulate)
        return out

    @staticmethod
    def backward(ctx, g):
        need_base, need_values = ctx.needs_input_grad
        key = ctx.key
        g_base = g_values = None
        if need_base:
            g_base = g if ctx.accumulate else _zero_region(g, key)
        if need_values:
            g_values = _region(g, key)
            if ctx.alpha != 1:
                g_values = g_values * ctx.alpha
            extra = len(ctx.values_shape) - g_values.ndim
            if extra > 0:  # values had leading 1-dims that assignment drops, as numpy does
                g_values = g_values.reshape((1,) * extra + tuple(g_values.shape))
        return g_base, g_values


def _zero_region(g, key):
    if isinstance(g, Tensor):
        return IndexPut.apply(g, 0.0, key=key)
    out = g.copy()
    _assign(out, key, 0, accumulate=False)
    return out


class SetItem(IndexPut):
    """CopySlices: x[basic key] = value, in place (PyTorch's name for a write through a view)"""


SetItem._backward_name = "CopySlices"


class Scatter(IndexPut):
    """Scatter: out = x with out[index[i][j]][j] = src[i][j] (dim 0); d/dx = g outside index,
    d/dsrc = g gathered at index"""


class ScatterValue(Scatter):
    """Scatter (value form): out = x with value at index; d/dx = g outside index"""


ScatterValue._backward_name = "ScatterBackward1"


class ScatterAdd(IndexPut):
    """ScatterAdd: out = x, then out[index[i][j]][j] += src[i][j] (dim 0); d/dx = g,
    d/dsrc = g gathered at index"""


class IndexAdd(IndexPut):
    """IndexAdd: out = x, then out[index[i]] += alpha * source[i] along dim; d/dx = g,
    d/dsource = alpha * g selected at index"""


class IndexFill(IndexPut):
    """IndexFill: out = x with value at index along dim; d/dx = g outside index"""


class IndexFillTensor(IndexFill):
    """IndexFill with a 0-d tensor value; d/dvalue = the sum of g at index"""


IndexFillTensor._backward_name = "IndexFillBackward1"


class ScatterReduce(Op):
    """Scatter with reduce='add' or 'multiply' (deprecated in PyTorch); no derivative, as there"""

    @staticmethod
    def forward(ctx, x, src, key=(), reduce="add"):
        out = x.copy()
        if hasattr(src, "dtype"):
            src = src.astype(x.dtype, copy=False)
        if reduce == "add":
            backend.scatter_add(ctx.xp, out, key, src)
        else:
            _multiply_at(ctx.xp, out, key, src)
        return out

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::scatter is not implemented")


ScatterReduce._backward_name = "NotImplemented"


def _multiply_at(xp, out, key, src) -> None:
    """``out[key] *= src`` with repeated positions all applied (numpy's ``multiply.at``, which
    CuPy lacks): one round per repetition, each round over positions that are unique."""
    if out.ndim == 0:
        out, key = out.reshape(1), key[1:]
    arrays = xp.broadcast_arrays(*key)
    flat = xp.ravel_multi_index(tuple(a.reshape(-1) for a in arrays), out.shape)
    values = xp.broadcast_to(xp.asarray(src, dtype=out.dtype), arrays[0].shape).reshape(-1)
    target = out.reshape(-1)  # out is a fresh contiguous copy: this is a view
    while flat.size:
        positions, first = xp.unique(flat, return_index=True)
        target[positions] *= values[first]
        rest = xp.ones(flat.size, dtype=bool)
        rest[first] = False
        flat, values = flat[rest], values[rest]


class MaskedFill(Op):
    """MaskedFill: y = value where mask, else x; dy/dx = 0 where mask, else 1"""

    _edge_args = (0,)  # as PyTorch's node lists them

    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.save_for_backward(mask)
        return ctx.xp.where(mask, value, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        xp = ctx.xp
        need_x, _, need_value = ctx.needs_input_grad
        return (xp.where(mask, 0.0, g) if need_x else None, None,
                xp.where(mask, g, 0.0) if need_value else None)


class MaskedFillTensor(MaskedFill):
    """MaskedFill with a 0-d tensor value; d/dvalue = the sum of g where mask"""

    _edge_args = (0, 2)  # input and value, as PyTorch's node lists them


MaskedFillTensor._backward_name = "MaskedFillBackward1"


class MaskedScatter(Op):
    """MaskedScatter: y = x with the masked positions filled, in order, by source's elements;
    dy/dx = 0 where mask, else 1; dy/dsource = g[mask] in the first elements"""

    @staticmethod
    def forward(ctx, x, mask, source, key=()):
        ctx.key, ctx.source_shape = key, source.shape
        shape = np.broadcast_shapes(x.shape, mask.shape)
        out = ctx.xp.broadcast_to(x, shape).copy()
        count = key[0].size if key else 0
        out[key] = source.reshape(-1)[:count]
        ctx.save_for_backward(mask)
        return out

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        need_x, _, need_source = ctx.needs_input_grad
        g_x = ctx.xp.where(mask, 0.0, g) if need_x else None
        g_source = None
        if need_source:
            size = int(np.prod(ctx.source_shape))
            count = ctx.key[0].size if ctx.key else 0
            picked = _region(g, (None, ctx.key))
            g_source = _spread(picked, (size,), (None, (slice(0, count),)), accumulate=False)
            g_source = g_source.reshape(ctx.source_shape)
        return g_x, None, g_source


class Tril(Op):
    """Tril: y = x with the elements above diagonal k set to 0; dy/dx = tril(g, k)"""

    @staticmethod
    def forward(ctx, x, diagonal=0):
        ctx.k = diagonal
        return ctx.xp.tril(x, diagonal)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.tril(g, ctx.k)


class Triu(Op):
    """Triu: y = x with the elements below diagonal k set to 0; dy/dx = triu(g, k)"""

    @staticmethod
    def forward(ctx, x, diagonal=0):
        ctx.k = diagonal
        return ctx.xp.triu(x, diagonal)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.triu(g, ctx.k)


# --- parsing x[key] -------------------------------------------------------------------------------


class _Parsed:
    """A key made ready for numpy: ``basic`` and ``adv`` (see the module docstring), the view op
    that PyTorch would name for the basic part, and whether any index array is involved."""

    __slots__ = ("basic", "adv", "view_op")

    def __init__(self, basic, adv, view_op):
        self.basic, self.adv, self.view_op = basic, adv, view_op

    @property
    def key(self) -> tuple:
        return (self.basic, self.adv)


def _index_items(key) -> tuple:
    if type(key) is tuple:
        return key
    # PyTorch (like old numpy) reads a short list holding sequences, slices, None, ... as a tuple.
    if isinstance(key, list) and len(key) < 32 and any(
            k is None or k is Ellipsis
            or isinstance(k, (list, tuple, range, slice, Tensor, np.ndarray))
            for k in key):
        return tuple(key)
    return (key,)


def _classify(item, xp, dev):
    """``(kind, value)``: kind is int, slice, none, ellipsis, bool, mask or array."""
    if item is None:
        return "none", None
    if item is Ellipsis:
        return "ellipsis", None
    t = type(item)
    if t is int:
        return "int", item
    if t is slice:
        return "slice", item
    if t is bool or isinstance(item, np.bool_):
        return "bool", bool(item)
    if isinstance(item, numbers.Integral):
        return "int", int(item)
    if isinstance(item, Tensor):
        data = backend.to_device(item._data, dev)
    elif isinstance(item, (list, tuple, range, np.ndarray)):
        data = np.asarray(item)
        if data.size == 0 and data.dtype.kind == "f":  # x[[]]: an empty index list
            data = data.astype(np.int64)
        data = backend.to_device(data, dev) if data.dtype != object else data
    elif hasattr(item, "__index__") and not hasattr(item, "shape"):
        return "int", operator.index(item)
    elif hasattr(item, "dtype") and hasattr(item, "shape"):  # a cupy array
        data = backend.to_device(item, dev)
    else:
        raise IndexError(
            "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
            f"valid indices (got {type(item).__name__})"
        )
    kind = data.dtype.kind
    if kind == "b" or data.dtype == np.uint8:
        if data.ndim == 0:
            return "bool", bool(data)
        return "mask", data.astype(bool, copy=False)
    if kind in "iu":
        return ("int", int(data)) if data.ndim == 0 else ("array", data)
    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")


def _normalize_slice(s: slice, n: int) -> slice:
    step = 1 if s.step is None else operator.index(s.step)
    if step == 0:
        raise ValueError("slice step cannot be zero")
    if step < 0:
        raise ValueError("step must be greater than zero")
    start = None if s.start is None else operator.index(s.start)
    stop = None if s.stop is None else operator.index(s.stop)
    return slice(*slice(start, stop, step).indices(n))


def _parse(x: Tensor, key) -> _Parsed:
    """Turn a Python indexing key into a ``_Parsed``, with PyTorch's errors."""
    data = x._data
    shape = data.shape
    ndim = len(shape)
    xp = backend.xp_of(data)
    dev = backend.device_of(data)
    items = [_classify(item, xp, dev) for item in _index_items(key)]
    consumed = sum(1 if k in ("int", "slice", "array") else v.ndim if k == "mask" else 0
                   for k, v in items)
    if consumed > ndim:
        if ndim == 0 and any(k == "int" for k, _ in items):
            raise IndexError(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            )
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    basic = []
    adv = {}  # position in x[basic] -> (index array, size of the dim it indexes or None)
    view_op = Alias
    dim = pos = 0  # dim: next dim of x; pos: next dim of x[basic]
    ellipsis_done = False
    for i, (kind, value) in enumerate(items):
        if kind == "int":
            n = shape[dim]
            if not -n <= value < n:
                # PyTorch names the position in the key, not the tensor's dim.
                raise IndexError(f"index {value} is out of bounds for dimension {i} with size {n}")
            basic.append(value % n)
            dim += 1
            view_op = Select
        elif kind == "slice":
            basic.append(_normalize_slice(value, shape[dim]))
            dim += 1
            pos += 1
            view_op = Slice
        elif kind == "none":
            basic.append(None)
            pos += 1
            view_op = Unsqueeze
        elif kind == "ellipsis":
            k = 0 if ellipsis_done else ndim - consumed
            ellipsis_done = True
            basic.extend([_FULL] * k)
            dim += k
            pos += k
        elif kind == "bool":  # x[True] is x[None][[0]]; x[False] is x[None][[]]
            basic.append(None)
            adv[pos] = (xp.zeros(1 if value else 0, dtype=np.int64), None)
            pos += 1
        elif kind == "mask":
            k = value.ndim
            for j in range(k):
                if value.shape[j] != shape[dim + j]:
                    raise IndexError(
                        f"The shape of the mask {list(value.shape)} at index {j} does not match "
                        f"the shape of the indexed tensor {list(shape)} at index {dim + j}"
                    )
            for j, coords in enumerate(xp.nonzero(value)):
                adv[pos + j] = (coords, None)  # in range by construction
            basic.extend([_FULL] * k)
            dim += k
            pos += k
        else:
            adv[pos] = (value, shape[dim])
            basic.append(_FULL)
            dim += 1
            pos += 1
    return _Parsed(_basic_key(basic, bool(adv)), _adv_key(adv), view_op)


def _basic_key(basic: list, has_adv: bool):
    while basic and basic[-1] == _FULL:
        basic.pop()
    if not basic and has_adv:
        return None
    return tuple(basic) + (Ellipsis,)


def _adv_key(adv: dict):
    if not adv:
        return None
    shapes = []
    for ordinal, pos in enumerate(sorted(adv)):
        index, n = adv[pos]
        if n is not None:
            _check_range(index, n, lambda bad, o=ordinal, n=n: IndexError(
                f"index {bad} is out of bounds for dimension {o} with size {n}"))
        shapes.append(index.shape)
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError(
            "shape mismatch: indexing tensors could not be broadcast together with shapes "
            + ", ".join(str(list(s)) for s in shapes)
        ) from None
    return tuple(adv[p][0] if p in adv else _FULL for p in range(max(adv) + 1))


def _check_range(index, n: int, error, negative: bool = True) -> None:
    """Raise ``error(first bad value)`` unless every index is in [-n, n) (or [0, n))."""
    if index.size == 0:
        return
    low = -n if negative else 0
    if int(index.min()) >= low and int(index.max()) < n:
        return
    flat = index.reshape(-1)
    bad = (flat < low) | (flat >= n)
    raise error(int(flat[int(bad.argmax())]))


# --- x[key] and x[key] = value --------------------------------------------------------------------


def getitem(self: Tensor, key) -> Tensor:
    """``self[key]``: a view for ints, slices, None and ``...``; a copy when an index tensor, list
    or bool mask is involved, as in PyTorch.

    >>> import nbtorch as torch
    >>> x = torch.arange(12).reshape(3, 4)
    >>> x[1, 1:3]
    tensor([5, 6])
    >>> x[torch.tensor([0, 2]), -1]
    tensor([ 3, 11])
    >>> x[x > 9]
    tensor([10, 11])
    """
    t = type(key)
    data = self._data
    if t is int and data.ndim:  # fast paths: x[i] and x[a:b] in loops
        n = data.shape[0]
        if not -n <= key < n:
            raise IndexError(f"index {key} is out of bounds for dimension 0 with size {n}")
        return Select.apply(self, key=(key % n, Ellipsis))
    if t is slice and data.ndim:
        return Slice.apply(self, key=(_normalize_slice(key, data.shape[0]), Ellipsis))
    parsed = _parse(self, key)
    out = self
    if parsed.basic is not None:
        out = parsed.view_op.apply(self, key=parsed.basic)
    if parsed.adv is not None:
        out = Index.apply(out, key=parsed.adv)
    return out


def setitem(self: Tensor, key, value) -> None:
    """``self[key] = value`` in place (value: a number or a tensor, broadcast).

    With autograd recording, ``self`` takes the write into its history (CopySlices for basic keys,
    IndexPutBackward0 for index tensors and masks), so gradients reach both the old values outside
    the region and ``value``.

    >>> import nbtorch as torch
    >>> h = torch.tensor([1.0, 2.0], requires_grad=True)
    >>> out = torch.zeros(2, 2)
    >>> out[1] = h * 3
    >>> out
    tensor([[0., 0.],
            [3., 6.]], grad_fn=<CopySlices>)
    >>> out.sum().backward(); h.grad
    tensor([3., 3.])
    """
    parsed = _parse(self, key)
    data = self._data
    if isinstance(value, Tensor):
        if backend.device_of(value._data) != backend.device_of(data):
            value = value.to(device=self.device)
        raw = value._data
        value_grad = value._requires_grad
    elif isinstance(value, (numbers.Number, np.bool_)) and not isinstance(value, np.ndarray):
        raw = value.item() if isinstance(value, np.generic) else value
        value = raw
        value_grad = False
    else:
        name = type(value).__name__
        module = type(value).__module__
        if module != "builtins":
            name = f"{module.split('.')[0]}.{name}"
        raise TypeError(f"can't assign a {name} to a {_type_string(data)}")
    recording = GRAD.enabled and (self._requires_grad or value_grad) and data.dtype.kind in "fc"
    if recording:
        _check_leaf(self, parsed)
    try:
        _assign(data, parsed.key, raw, accumulate=False)
    except ValueError:
        if not getattr(data.flags, "writeable", True):  # e.g. an expanded tensor
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to "
                "a single memory location. Please clone() the tensor before performing the "
                "operation."
            ) from None
        raise _value_shape_error(data, parsed, raw) from None
    if not recording:
        self._vbox[0] += 1
        return
    op = SetItem if parsed.adv is None else IndexPut
    commit(self, op.apply(self, value, key=parsed.key, written=True))


def _check_leaf(self: Tensor, parsed: _Parsed) -> None:
    """PyTorch's errors for writing into a leaf that requires grad (checked before writing)."""
    base = self._base
    view_of_leaf = base is not None and base.grad_fn is None and base._requires_grad
    if self.grad_fn is None and self._requires_grad or view_of_leaf:
        through_view = view_of_leaf or parsed.basic is not None
        raise RuntimeError(
            ("a view of a leaf Variable" if through_view else "a leaf Variable")
            + " that requires grad is being used in an in-place operation."
        )


def _value_shape_error(data, parsed: _Parsed, value) -> RuntimeError:
    target = tuple(_region(data, parsed.key).shape)
    vshape = tuple(value.shape)
    if parsed.adv is not None:
        return RuntimeError(
            f"shape mismatch: value tensor of shape {list(vshape)} cannot be broadcast to "
            f"indexing result of shape {list(target)}"
        )
    stripped = vshape
    while len(stripped) > len(target) and stripped[0] == 1:
        stripped = stripped[1:]
    if len(stripped) > len(target):
        return RuntimeError(
            f"expand({_type_string(value)}{{{list(vshape)}}}, size={list(target)}): the number of "
            f"sizes provided ({len(target)}) must be greater or equal to the number of dimensions "
            f"in the tensor ({len(vshape)})"
        )
    for i in range(1, len(stripped) + 1):
        if stripped[-i] not in (1, target[-i]):
            return RuntimeError(
                f"The expanded size of the tensor ({target[-i]}) must match the existing size "
                f"({stripped[-i]}) at non-singleton dimension {len(target) - i}.  Target sizes: "
                f"{list(target)}.  Tensor sizes: {list(stripped)}"
            )
    return RuntimeError(f"cannot assign a value of shape {list(vshape)} to {list(target)}")


# --- helpers for the functional ops ---------------------------------------------------------------


def _index_array(index, like: Tensor, error: str, kinds: str = "iu"):
    """The raw integer array of ``index`` on ``like``'s device, or PyTorch's dtype error."""
    if not isinstance(index, Tensor):
        raise TypeError(f"expected a Tensor as index, got {type(index).__name__}")
    data = index._data
    if data.dtype.kind not in kinds or data.dtype == np.uint8:
        raise RuntimeError(error.format(dtype=_type_name(data.dtype)))
    return backend.to_device(data, backend.device_of(like._data))


def _type_name(np_dtype) -> str:
    return _type_string(np.empty(0, np_dtype)).split(".")[-1].replace("Tensor", "")


def _along_key(index, dim: int, x_shape: tuple, xp, broadcast: bool = False) -> tuple:
    """The advanced key of ``gather``: ``x[key][i, j] = x[index[i, j], j]`` for dim 0.

    Other dims are indexed by aranges (broadcast against ``index``); with ``broadcast``, a
    size-1 dim of x is repeated, as ``take_along_dim`` does.
    """
    nd = len(x_shape)
    if nd == 0:
        return (None, index)
    if index.ndim == 0:
        return (index,)
    key = []
    for a in range(nd):
        if a == dim:
            key.append(index)
            continue
        n = max(index.shape[a], x_shape[a]) if broadcast else index.shape[a]
        r = xp.zeros(n, dtype=np.int64) if broadcast and x_shape[a] == 1 else xp.arange(n)
        key.append(r.reshape([n if b == a else 1 for b in range(nd)]))
    return tuple(key)


def _dim_key(index, dim: int, ndim: int) -> tuple:
    """The advanced key that indexes dim ``dim`` by the vector ``index``."""
    if ndim == 0:
        return (None, index.reshape(()))
    return (_FULL,) * dim + (index.reshape(-1),)


def _as_value(value, fn: str):
    """A fill value: a Python number, or a 0-d tensor (PyTorch's error otherwise)."""
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                f"{fn} only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        return value
    if isinstance(value, np.generic):
        return value.item()
    return value


# --- gather and scatter ---------------------------------------------------------------------------


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False,
           out=None) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` (``input[i][index[i][j]]`` for 1).

    >>> import nbtorch as torch
    >>> x = torch.tensor([[1, 2], [3, 4]])
    >>> torch.gather(x, 1, torch.tensor([[0, 0], [1, 0]]))
    tensor([[1, 1],
            [4, 3]])
    """
    idx = _index_array(index, input, "gather(): Expected dtype int32/int64 for index")
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    _check_same_ndim(idx, shape, "Index tensor must have the same number of dimensions as input "
                                 "tensor")
    for a in range(idx.ndim):
        if a != d and idx.shape[a] > shape[a]:
            raise RuntimeError(
                f"Size does not match at dimension {a} expected index {list(idx.shape)} to be no "
                f"larger than self {list(shape)} apart from dimension {d}"
            )
    n = shape[d] if shape else 1
    _check_range(idx, n, lambda bad: RuntimeError(
        f"index {bad} is out of bounds for dimension {d} with size {n}"), negative=False)
    return Gather.apply(input, key=_along_key(idx, d, shape, backend.xp_of(input._data)))


def _check_same_ndim(idx, shape, message: str) -> None:
    if max(idx.ndim, 1) != max(len(shape), 1):
        raise RuntimeError(message)


def _scatter_key(input: Tensor, dim: int, index: Tensor, src, fn: str):
    """Check scatter's arguments; return (key, src cut to index's shape or a number)."""
    idx = _index_array(index, input, fn + "(): Expected dtype int32/int64 for index")
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    _check_same_ndim(idx, shape, "Index tensor must have the same number of dimensions as self "
                                 "tensor")
    src_shape = None
    if isinstance(src, Tensor):
        src_shape = src._data.shape
        _check_same_ndim(idx, src_shape, "Index tensor must have the same number of dimensions "
                                         "as src tensor")
        if src._data.dtype != input._data.dtype:
            raise RuntimeError(f"{fn}(): Expected self.dtype to be equal to src.dtype")
    for a in range(idx.ndim):
        too_big = a != d and idx.shape[a] > shape[a]
        if too_big or src_shape is not None and idx.shape[a] > src_shape[a]:
            message = (f"Expected index {list(idx.shape)} to be no larger than self {list(shape)} "
                       f"apart from dimension {d}")
            if src_shape is not None:
                message += f" and to be no larger size than src {list(src_shape)}"
            raise RuntimeError(message)
    n = shape[d] if shape else 1
    _check_range(idx, n, lambda bad: RuntimeError(
        f"index {bad} is out of bounds for dimension {d} with size {n}"), negative=False)
    if isinstance(src, Tensor) and src_shape != idx.shape and idx.ndim:
        src = getitem(src, tuple(slice(0, k) for k in idx.shape))  # only index's region is read
    return _along_key(idx, d, shape, backend.xp_of(input._data)), src


def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, *, reduce=None) -> Tensor:
    """A copy of ``input`` with ``out[index[i][j]][j] = src[i][j]`` (dim 0); src may be a number.

    >>> import nbtorch as torch
    >>> torch.zeros(2, 3).scatter(1, torch.tensor([[2], [0]]), 1.0)
    tensor([[0., 0., 1.],
            [1., 0., 0.]])
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing 1 required positional argument: 'src' or 'value'")
    if not isinstance(src, Tensor):
        src = _as_value(src, "scatter")
    key, src = _scatter_key(input, dim, index, src, "scatter")
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")
        return ScatterReduce.apply(input, src, key=key, reduce=reduce)
    op = Scatter if isinstance(src, Tensor) else ScatterValue
    return op.apply(input, src, key=(None, key))


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``out[index[i][j]][j] += src[i][j]`` (dim 0); repeats add up.

    >>> import nbtorch as torch
    >>> torch.zeros(3).scatter_add(0, torch.tensor([0, 2, 0]), torch.tensor([1.0, 2.0, 3.0]))
    tensor([4., 0., 2.])
    """
    if not isinstance(src, Tensor):
        raise TypeError(
            f"scatter_add(): argument 'src' (position 4) must be Tensor, not {type(src).__name__}"
        )
    key, src = _scatter_key(input, dim, index, src, "scatter_add")
    return ScatterAdd.apply(input, src, key=(None, key), accumulate=True)


# --- index_* --------------------------------------------------------------------------------------


def _vector_index(index: Tensor, input: Tensor, dim: int, fn: str, dtype_error: str,
                  vector_error) -> tuple:
    idx = _index_array(index, input, dtype_error)
    if idx.ndim > 1:
        raise vector_error(idx)
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    return idx, d, (shape[d] if shape else 1)


def index_select(input: Tensor, dim: int, index: Tensor, *, out=None) -> Tensor:
    """The entries of ``input`` at the positions ``index`` (a vector) along ``dim``.

    >>> import nbtorch as torch
    >>> torch.index_select(torch.tensor([[1, 2, 3], [4, 5, 6]]), 1, torch.tensor([2, 0]))
    tensor([[3, 1],
            [6, 4]])
    """
    idx, d, n = _vector_index(
        index, input, dim, "index_select",
        "index_select(): Expected dtype int32 or int64 for index",
        lambda i: IndexError("index_select(): Index is supposed to be a vector"))
    _check_range(idx, n, lambda bad: RuntimeError(
        f"INDICES element is out of DATA bounds, id={bad} axis_dim={n}"), negative=False)
    return IndexSelect.apply(input, key=_dim_key(idx, d, input._data.ndim))


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added at the positions ``index`` along ``dim``.

    >>> import nbtorch as torch
    >>> torch.zeros(3, 2).index_add(0, torch.tensor([0, 0, 2]), torch.ones(3, 2))
    tensor([[2., 2.],
            [0., 0.],
            [1., 1.]])
    """
    idx, d, n = _vector_index(
        index, input, dim, "index_add", "index_add_(): Expected dtype int32/int64 for index but "
                                        "got: {dtype}",
        lambda i: IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: "
                             f"{i.ndim} with type: {_type_name(i.dtype)} and size: "
                             f"{list(i.shape)}"))
    shape, sshape = input._data.shape, source._data.shape
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"index_add_(): self ({_type_name(input._data.dtype)}) and source "
            f"({_type_name(source._data.dtype)}) must have the same scalar type"
        )
    if len(sshape) != len(shape) or any(a != b for i, (a, b) in enumerate(zip(shape, sshape))
                                        if i != d):
        raise RuntimeError(
            "source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(shape)} source.shape = {list(sshape)}"
        )
    if shape and idx.size != sshape[d]:
        raise RuntimeError(
            f"index_add_(): Number of indices ({idx.size}) should be equal to source.size(dim): "
            f"({sshape[d]}), for dim: {d}"
        )
    _check_range(idx, n, lambda bad: RuntimeError(
        f"index {bad} is out of bounds for dimension {d} with size {n}"), negative=False)
    key = (None, _dim_key(idx, d, len(shape)))
    if alpha != 1:
        return IndexAdd.apply(input, source, key=key, accumulate=True, alpha=alpha)
    return IndexAdd.apply(input, source, key=key, accumulate=True)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of ``input`` with ``value`` at the positions ``index`` along ``dim``.

    >>> import nbtorch as torch
    >>> torch.ones(2, 3).index_fill(1, torch.tensor([0, 2]), -1.0)
    tensor([[-1.,  1., -1.],
            [-1.,  1., -1.]])
    """
    idx, d, n = _vector_index(
        index, input, dim, "index_fill", "index_fill_(): Expected dtype int64 for index.",
        lambda i: RuntimeError("Index has to be a vector/scalar"))
    value = _as_value(value, "index_fill_")
    _check_range(idx, n, lambda bad: IndexError(
        f"index {bad} is out of bounds for dimension {d} with size {n}"))
    idx = backend.xp_of(idx).unique(idx % n)  # a value filled twice still counts once in d/dvalue
    op = IndexFillTensor if isinstance(value, Tensor) else IndexFill
    return op.apply(input, value, key=(None, _dim_key(idx, d, input._data.ndim)))


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``out[indices] = values`` (``+=`` with ``accumulate``, where
    repeated indices add up).

    >>> import nbtorch as torch
    >>> i = torch.tensor([0, 0, 2])
    >>> torch.zeros(3).index_put((i,), torch.tensor(1.0), accumulate=True)
    tensor([2., 0., 1.])
    """
    if not isinstance(values, Tensor):
        raise TypeError(
            "index_put(): argument 'values' (position 3) must be Tensor, not "
            f"{type(values).__name__}"
        )
    if values._data.dtype != input._data.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{_type_name(input._data.dtype)} for the destination and "
            f"{_type_name(values._data.dtype)} for the source."
        )
    indices = tuple(indices)
    for k, index in enumerate(indices):
        if not isinstance(index, Tensor):
            raise TypeError(f"expected Tensor as element {k} in argument 1, but got "
                            f"{type(index).__name__}")
    parsed = _parse(input, indices)
    target = _region(input._data, parsed.key).shape
    try:
        np.broadcast_shapes(values._data.shape, target)
        if values._data.ndim > len(target):
            raise ValueError
    except ValueError:
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(values._data.shape)} cannot be "
            f"broadcast to indexing result of shape {list(target)}"
        ) from None
    if accumulate:
        return IndexPut.apply(input, values, key=parsed.key, accumulate=True)
    return IndexPut.apply(input, values, key=parsed.key)


# --- take, take_along_dim -------------------------------------------------------------------------


def take(input: Tensor, index: Tensor) -> Tensor:
    """The elements of ``input`` read as a flat vector, at ``index`` (any shape).

    >>> import nbtorch as torch
    >>> torch.take(torch.tensor([[4, 3], [5, 7]]), torch.tensor([0, 3, -1]))
    tensor([4, 7, 7])
    """
    idx = _index_array(index, input, "take(): Expected a long tensor for index, but got {dtype}")
    shape = input._data.shape
    size = int(input._data.size)
    _check_range(idx, size, lambda bad: IndexError(
        f"out of range: tried to access index {bad} on a tensor of {size} elements."))
    xp = backend.xp_of(input._data)
    if not shape:
        key = (None, idx * 0)
    else:
        key = tuple(xp.unravel_index(idx % size, shape)) if size else (idx,) * len(shape)
    return Take.apply(input, key=key)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` with broadcasting: picks along ``dim`` the entries that ``indices`` (for example
    from ``argsort`` or ``argmax(keepdim=True)``) name; with ``dim=None``, from the flat input.

    >>> import nbtorch as torch
    >>> x = torch.tensor([[10, 30, 20], [60, 40, 50]])
    >>> torch.take_along_dim(x, x.argmax(dim=1, keepdim=True), dim=1)
    tensor([[30],
            [60]])
    """
    idx = _index_array(indices, input, "torch.take_along_dim(): dtype of indices should be Long "
                                       "but got {dtype}")
    shape = input._data.shape
    xp = backend.xp_of(input._data)
    if dim is None:
        flat = idx.reshape(-1)
        size = int(input._data.size)
        _check_range(flat, size, lambda bad: RuntimeError(
            f"index {bad} is out of bounds for dimension 0 with size {size}"))
        key = (None, flat * 0) if not shape else tuple(xp.unravel_index(flat % size, shape))
        return Gather.apply(input, key=key)
    if idx.ndim != len(shape):
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {len(shape)} dimensions for input, and {idx.ndim} dimensions "
            "for indices"
        )
    d = _wrap_dim(dim, len(shape))
    for a in range(len(shape)):
        if a != d and idx.shape[a] != shape[a] and 1 not in (idx.shape[a], shape[a]):
            check_broadcast(tuple(shape[:d]) + tuple(shape[d + 1:]),
                            tuple(idx.shape[:d]) + tuple(idx.shape[d + 1:]))
    n = shape[d] if shape else 1
    _check_range(idx, n, lambda bad: RuntimeError(
        f"index {bad} is out of bounds for dimension {d} with size {n}"))
    return Gather.apply(input, key=_along_key(idx, d, shape, xp, broadcast=True))


# --- masks ----------------------------------------------------------------------------------------

_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
            "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _mask(mask, fn: str, c_names: bool = True):
    if not isinstance(mask, Tensor):
        raise TypeError(f"{fn}(): argument 'mask' (position 2) must be Tensor, not "
                        f"{type(mask).__name__}")
    if mask._data.dtype != np.bool_:
        name = mask._data.dtype.name
        shown = _C_NAMES.get(name, name) if c_names else _type_name(mask._data.dtype)
        raise RuntimeError(
            f"{fn} only supports boolean masks, but got mask with dtype {shown}"
        )
    return mask


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """A copy of ``input`` with ``value`` (a number or a 0-d tensor) where ``mask`` is True.

    >>> import nbtorch as torch
    >>> x = torch.tensor([1.0, -2.0, 3.0])
    >>> x.masked_fill(x < 0, 0.0)
    tensor([1., 0., 3.])
    """
    _mask(mask, "masked_fill_")
    value = _as_value(value, "masked_fill_")
    check_broadcast(mask._data.shape, input._data.shape)
    if isinstance(value, Tensor):
        return MaskedFillTensor.apply(input, mask, value)
    return MaskedFill.apply(input, mask, value)


def _broadcast_key(x_shape: tuple, mask) -> tuple:
    """The advanced key reading ``x`` (broadcast to the mask's shape) where ``mask`` is True."""
    xp = backend.xp_of(mask)
    shape = np.broadcast_shapes(tuple(x_shape), mask.shape)
    coords = xp.nonzero(xp.broadcast_to(mask, shape))
    lead = len(shape) - len(x_shape)
    if not x_shape:
        return (None, xp.zeros(coords[0].size if coords else int(bool(mask)), dtype=np.int64))
    return tuple(c if x_shape[a] == shape[lead + a] else c * 0
                 for a, c in enumerate(coords[lead:]))


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` is True, as a 1-D tensor (both broadcast).

    >>> import nbtorch as torch
    >>> x = torch.tensor([[1, 2], [3, 4]])
    >>> torch.masked_select(x, x % 2 == 0)
    tensor([2, 4])
    """
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    check_broadcast(mask._data.shape, input._data.shape)
    m = backend.to_device(mask._data, backend.device_of(input._data))
    if not m.ndim:
        m = m.reshape(1)
    return MaskedSelect.apply(input, key=_broadcast_key(input._data.shape, m))


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` whose masked positions take ``source``'s elements, in order.

    >>> import nbtorch as torch
    >>> torch.zeros(4).masked_scatter(torch.tensor([True, False, True, False]),
    ...                               torch.tensor([1.0, 2.0, 3.0]))
    tensor([1., 0., 2., 0.])
    """
    _mask(mask, "masked_scatter_", c_names=False)
    check_broadcast(mask._data.shape, input._data.shape)
    xp = backend.xp_of(input._data)
    shape = np.broadcast_shapes(input._data.shape, mask._data.shape)
    key = tuple(xp.nonzero(xp.broadcast_to(mask._data, shape))) if shape else ()
    count = key[0].size if key else int(bool(mask._data))
    if count > source._data.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    if not shape:  # 0-d: nothing to index; a where does it
        return _where_0d(input, mask, source)
    if source._data.dtype != input._data.dtype:
        source = source.to(dtype=input.dtype)
    return MaskedScatter.apply(input, mask, source, key=key)


def _where_0d(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    from .elementwise import where

    first = getitem(source.reshape(-1), 0) if source._data.ndim else source
    return where(mask, first.to(dtype=input.dtype), input)


# --- nonzero, tril, triu --------------------------------------------------------------------------


def nonzero(input: Tensor, *, out=None, as_tuple: bool = False):
    """The indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or with ``as_tuple``
    one 1-D tensor per dim (usable as an index: ``x[x.nonzero(as_tuple=True)]``).

    >>> import nbtorch as torch
    >>> torch.nonzero(torch.tensor([[0, 1], [2, 0]]))
    tensor([[0, 1],
            [1, 0]])
    >>> torch.nonzero(torch.tensor([0, 3, 4]), as_tuple=True)
    (tensor([1, 2]),)
    """
    data = input._data
    xp = backend.xp_of(data)
    if as_tuple:
        flat = data.reshape(1) if data.ndim == 0 else data
        return tuple(Tensor._wrap(c.astype(np.int64, copy=False)) for c in xp.nonzero(flat))
    return Tensor._wrap(xp.argwhere(data).astype(np.int64, copy=False))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: the ``(n, ndim)`` indices of the non-zero elements.

    >>> import nbtorch as torch
    >>> torch.argwhere(torch.tensor([0.0, 1.5, 2.0]))
    tensor([[1],
            [2]])
    """
    return nonzero(input)


def _triangle(op, name: str, input: Tensor, diagonal: int) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    return op.apply(input, diagonal=diagonal) if diagonal else op.apply(input)


def tril(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The lower triangle of the last two dims (``diagonal`` > 0 keeps more, < 0 fewer).

    >>> import nbtorch as torch
    >>> torch.tril(torch.ones(3, 3))
    tensor([[1., 0., 0.],
            [1., 1., 0.],
            [1., 1., 1.]])
    """
    return _triangle(Tril, "tril", input, diagonal)


def triu(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The upper triangle of the last two dims (``diagonal`` > 0 keeps fewer, < 0 more).

    >>> import nbtorch as torch
    >>> torch.triu(torch.ones(2, 3), diagonal=1)
    tensor([[0., 1., 1.],
            [0., 0., 1.]])
    """
    return _triangle(Triu, "triu", input, diagonal)


def _triangle_indices(fn, name: str, row: int, col: int, offset: int, dtype, device) -> Tensor:
    d = _dtype.int64 if dtype is None else _dtype.to_dtype(dtype)
    if d.category != 1:
        raise NotImplementedError(f"\"{name}\" not implemented for '{_type_name(d.np)}'")
    rows, cols = fn(row, offset, col)
    data = np.stack([rows, cols]).astype(d.np)
    return Tensor._wrap(backend.to_device(data, backend.canonical_device(device)))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """The ``(2, n)`` row and column indices of the lower triangle of a ``row x col`` matrix.

    >>> import nbtorch as torch
    >>> torch.tril_indices(3, 3)
    tensor([[0, 1, 1, 2, 2, 2],
            [0, 0, 1, 0, 1, 2]])
    """
    return _triangle_indices(np.tril_indices, "tril_indices", row, col, offset, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """The ``(2, n)`` row and column indices of the upper triangle of a ``row x col`` matrix.

    >>> import nbtorch as torch
    >>> torch.triu_indices(2, 3, 1)
    tensor([[0, 0, 1],
            [1, 2, 2]])
    """
    return _triangle_indices(np.triu_indices, "triu_indices", row, col, offset, dtype, device)


METHODS = {
    "__getitem__": getitem, "__setitem__": setitem, "gather": gather, "scatter": scatter,
    "scatter_add": scatter_add, "index_select": index_select, "index_add": index_add,
    "index_fill": index_fill, "index_put": index_put, "take": take,
    "take_along_dim": take_along_dim, "masked_fill": masked_fill, "masked_select": masked_select,
    "masked_scatter": masked_scatter, "nonzero": nonzero, "argwhere": argwhere, "tril": tril,
    "triu": triu,
}
INPLACE = ("masked_fill", "masked_scatter", "scatter", "scatter_add", "index_add", "index_fill",
           "index_put", "tril", "triu")

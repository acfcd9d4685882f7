"""Shape and movement ops: views (view, reshape, permute, transpose, squeeze, expand, narrow,
select, diagonal), joins (cat, stack), splits, flips, rolls and repeats.

A view op returns a view of its input's memory (``_is_view = True``), as PyTorch does: an in-place
change of the view shows in its base, and ``ops/inplace.py`` replays the view from its keyword
parameters to route gradients.  ``split``, ``chunk`` and ``unbind`` give one single-output view op
per piece.  The gradient of a view that drops elements (slice, select, diagonal) is the incoming
gradient written into zeros shaped like the input.
"""

from __future__ import annotations

import itertools
import numbers
import warnings

import numpy as np

from .. import _dtype
from .._tensor import Size, Tensor, _wrap_dim
from ..autograd.function import Node, Op, _type_string
from ..autograd.grad_mode import GRAD
from ..autograd.tensor_xp import adapter
from .inplace import _name as _type_name

# --- view ops -------------------------------------------------------------------------------------


class View(Op):
    """View: y = x with a new shape on the same memory; dy/dx = the gradient reshaped back"""

    _is_view = True

    @staticmethod
    def forward(ctx, x, shape=()):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class UnsafeView(View):
    """UnsafeView: reshape of a fresh copy (what ``reshape`` does when no view is possible)"""

    _is_view = False  # its input is a private copy, so the result is nobody's view


class Clone(Op):
    """Clone: y = a contiguous copy of x; dy/dx = 1"""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class Permute(Op):
    """Permute: y = x with its dims reordered; dy/dx = the gradient with the inverse order"""

    _is_view = True

    @staticmethod
    def forward(ctx, x, dims=()):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        dims = ctx.dims
        inverse = sorted(range(len(dims)), key=dims.__getitem__)
        return ctx.xp.transpose(g, inverse)


class _TransposeT(Permute):
    """T: y = x with its (at most two) dims swapped; dy/dx = the gradient swapped back"""

    @staticmethod
    def forward(ctx, x):
        # no parameters: the graph (and the stepper's finite-difference check) can replay it
        return Permute.forward(ctx, x, dims=tuple(reversed(range(x.ndim))))

    @staticmethod
    def backward(ctx, g):
        base = g.base if type(g) is np.ndarray else None
        if base is not None and g.ndim == 2 and base.shape == g.shape[::-1] \
                and base.strides == g.strides[::-1] and base.ctypes.data == g.ctypes.data:
            # g is exactly base.T (as F.linear's backward makes it): hand on base itself, a
            # contiguous array that a leaf's .grad may adopt without a copy; views are copied.
            return base
        return Permute.backward(ctx, g)


_TransposeT._backward_name = "TBackward0"  # PyTorch's name for Tensor.t()


class Transpose(Op):
    """Transpose: y = x with dims dim0 and dim1 swapped; dy/dx = the gradient swapped back"""

    _is_view = True

    @staticmethod
    def forward(ctx, x, dim0=0, dim1=1):
        ctx.dims = (dim0, dim1)
        return x.swapaxes(dim0, dim1) if x.ndim else x[...]

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.swapaxes(g, *ctx.dims) if g.ndim else g


class Squeeze(Op):
    """Squeeze: y = x without some of its size-1 dims; dy/dx = the gradient reshaped back"""

    _is_view = True

    @staticmethod
    def forward(ctx, x, dims=()):
        ctx.in_shape = x.shape
        return x.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims))

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class _SqueezeDim(Squeeze):
    """Squeeze of one given dim"""


class _SqueezeDims(Squeeze):
    """Squeeze of a tuple of dims"""


# PyTorch numbers its three squeeze overloads (all dims, one dim, a tuple of dims).
_SqueezeDim._backward_name, _SqueezeDims._backward_name = "SqueezeBackward1", "SqueezeBackward2"


class Unsqueeze(Op):
    """Unsqueeze: y = x with a new size-1 dim at dim; dy/dx = the gradient without it"""

    _is_view = True

    @staticmethod
    def forward(ctx, x, dim=0):
        ctx.in_shape = x.shape
        return x.reshape(x.shape[:dim] + (1,) + x.shape[dim:])

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class Expand(Op):
    """Expand: y = x broadcast to a larger shape without copying; dy/dx = the gradient summed over
    the broadcast dims (done by the engine, which reduces every broadcast gradient)"""

    _is_view = True

    @staticmethod
    def forward(ctx, x, shape=()):
        lead = len(shape) - x.ndim
        if all(n == shape[lead + i] for i, n in enumerate(x.shape)) and \
                all(n == 1 for n in shape[:lead]):
            return x.reshape(shape)  # nothing repeats: an ordinary (writable) view
        return ctx.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g


class Slice(Op):
    """Slice: y = x[start:end] along dim (a view); dy/dx = the gradient in that range, else 0"""

    _is_view = True

    @staticmethod
    def forward(ctx, x, dim=0, start=0, end=0, piece=0):
        # `piece` only numbers the pieces of a split, for PyTorch's error message when one of
        # them is modified in place (see ops/inplace.py).
        ctx.in_shape, ctx.params = x.shape, {"dim": dim, "start": start, "end": end}
        return x[(slice(None),) * dim + (slice(start, end),)]

    @staticmethod
    def backward(ctx, g):
        return _embed(ctx, g, Slice)


class Split(Slice):
    """Split: one equal-size piece of ``split``/``chunk``"""

    _multi_output = True  # PyTorch returns all pieces from one node: no in-place on them


class SplitWithSizes(Slice):
    """SplitWithSizes: one piece of ``split`` with a list of sizes"""

    _multi_output = True


class Select(Op):
    """Select: y = x[index] along dim (a view with one dim fewer); dy/dx = the gradient at index,
    0 elsewhere"""

    _is_view = True

    @staticmethod
    def forward(ctx, x, dim=0, index=0):
        ctx.in_shape, ctx.params = x.shape, {"dim": dim, "index": index}
        # The Ellipsis keeps a 0-d result a view (numpy returns a scalar copy without it).
        return x[(slice(None),) * dim + (index, Ellipsis)]

    @staticmethod
    def backward(ctx, g):
        return _embed(ctx, g, Select)


class Unbind(Select):
    """Unbind: one piece of ``unbind``"""

    _multi_output = True


class Diagonal(Op):
    """Diagonal: y = the diagonal of x over dims dim1, dim2, as its last dim (a view);
    dy/dx = the gradient on that diagonal, 0 elsewhere"""

    _is_view = True

    @staticmethod
    def forward(ctx, x, offset=0, dim1=0, dim2=1):
        ctx.in_shape, ctx.params = x.shape, {"offset": offset, "dim1": dim1, "dim2": dim2}
        d = x.diagonal(offset, dim1, dim2)
        # numpy's diagonal is read-only; PyTorch's is writable (in-place ops on it work).
        if not getattr(d.flags, "writeable", True) and getattr(x.flags, "writeable", True):
            d.flags.writeable = True
        return d

    @staticmethod
    def backward(ctx, g):
        return _embed(ctx, g, Diagonal)


def _embed(ctx, g, op):
    """Zeros shaped like the view's input, with ``g`` written into the view's region."""
    if isinstance(g, Tensor):  # double backward: a recorded op, so it is differentiable too
        from .inplace import CopySlices

        return CopySlices.apply(g.new_zeros(ctx.in_shape), g, chain=((op, ctx.params),))
    out = ctx.xp.zeros(ctx.in_shape, dtype=g.dtype)
    op.forward(Node(op), out, **ctx.params)[...] = g
    return out


# --- copying ops ----------------------------------------------------------------------------------


class Repeat(Op):
    """Repeat: y = x tiled repeats[i] times along dim i; dy/dx = the sum of the gradient over the
    copies"""

    @staticmethod
    def forward(ctx, x, repeats=()):
        ctx.in_shape, ctx.repeats = x.shape, repeats
        return ctx.xp.tile(x, repeats)

    @staticmethod
    def backward(ctx, g):
        repeats, shape = ctx.repeats, ctx.in_shape
        padded = (1,) * (len(repeats) - len(shape)) + tuple(shape)
        # Give each copy its own axis, (r0, n0, r1, n1, ...), and sum those axes away.
        split = tuple(itertools.chain.from_iterable(zip(repeats, padded)))
        copies = tuple(range(0, 2 * len(repeats), 2))
        g = g.reshape(split)
        if copies:
            g = ctx.xp.sum(g, axis=copies)
        return g.reshape(shape)


class Cat(Op):
    """Cat: y = the inputs joined along dim; dy/dx_i = the i-th block of the gradient along dim"""

    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim, ctx.sizes = dim, [x.shape[dim] for x in xs]
        return ctx.xp.concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        bounds = list(itertools.accumulate(ctx.sizes))[:-1]
        return tuple(ctx.xp.split(g, bounds, axis=ctx.dim))


class Stack(Op):
    """Stack: y = the inputs joined along a new dim; dy/dx_i = the i-th slice of the gradient"""

    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim, ctx.in_shape = dim, xs[0].shape
        return ctx.xp.stack(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        pieces = ctx.xp.split(g, g.shape[ctx.dim], axis=ctx.dim)
        return tuple(p.reshape(ctx.in_shape) for p in pieces)


class Flip(Op):
    """Flip: y = x reversed along dims; dy/dx = the gradient reversed along the same dims"""

    @staticmethod
    def forward(ctx, x, dims=()):
        ctx.dims = dims
        # numpy's flip is a view; PyTorch's is a copy (writing to it must not change x).
        return ctx.xp.flip(x, axis=dims).copy()

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.flip(g, axis=ctx.dims)


class Roll(Op):
    """Roll: y = x shifted cyclically along dims (the flattened x when dims is None);
    dy/dx = the gradient shifted back"""

    @staticmethod
    def forward(ctx, x, shifts=0, dims=None):
        ctx.shifts, ctx.dims = shifts, dims
        return ctx.xp.roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx, g):
        shifts = ctx.shifts
        back = -shifts if isinstance(shifts, int) else tuple(-s for s in shifts)
        return ctx.xp.roll(g, back, axis=ctx.dims)


# --- TENSOR_XP adapters: numpy's signatures over Tensors, used by the backward formulas above -----


def _numpy_name(name):
    def register(func):
        func.__name__ = name
        return adapter(func)

    return register


@_numpy_name("split")
def _xp_split(x, indices_or_sections, axis=0):
    n = x.shape[axis]
    if isinstance(indices_or_sections, numbers.Integral):
        step = n // indices_or_sections
        bounds = [step * i for i in range(1, indices_or_sections)]
    else:
        bounds = list(indices_or_sections)
    edges = [0] + bounds + [n]
    return [narrow(x, axis, a, b - a) for a, b in zip(edges, edges[1:])]


@_numpy_name("roll")
def _xp_roll(x, shift, axis=None):
    return roll(x, shift, axis)


@_numpy_name("squeeze")
def _xp_squeeze(x, axis=None):
    return squeeze(x, axis)


@_numpy_name("tile")
def _xp_tile(x, reps):
    return tile(x, (reps,) if isinstance(reps, numbers.Integral) else reps)


# --- argument helpers -----------------------------------------------------------------------------


def _size_args(args, fn: str, arg: str = "size") -> tuple:
    """``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` and ``f(torch.Size(...))`` all give ``(2, 3)``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    out = []
    for i, s in enumerate(args):
        if isinstance(s, (Tensor, np.integer)) and not isinstance(s, bool):
            s = s.__index__()
        if not isinstance(s, int) or isinstance(s, bool):
            raise TypeError(f"{fn}(): argument '{arg}' must be tuple of ints, but found element of "
                            f"type {type(s).__name__} at pos {i}")
        out.append(s)
    return tuple(out)


def _dims_args(args, fn: str) -> tuple:
    """Dims given as ``f(0, 1)``, ``f((0, 1))`` or ``f([0, 1])``."""
    return _size_args(args, fn, "dims")


def _infer_shape(shape: tuple, numel: int) -> tuple:
    """``shape`` with its one ``-1`` filled in, or PyTorch's error when it cannot hold ``numel``."""
    infer, known = None, 1
    for i, n in enumerate(shape):
        if n == -1:
            if infer is not None:
                raise RuntimeError("only one dimension can be inferred")
            infer = i
        elif n < 0:
            raise RuntimeError(f"invalid shape dimension {n} at index {i} of shape {list(shape)}")
        else:
            known *= n
    if infer is None:
        if known == numel:
            return shape
    elif known == 0:
        if numel == 0:
            raise RuntimeError(
                f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                "unspecified dimension size -1 can be any value and is ambiguous"
            )
    elif numel % known == 0:
        return shape[:infer] + (numel // known,) + shape[infer + 1:]
    raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")


def _viewable(array, shape: tuple) -> bool:
    """Whether ``array`` can take ``shape`` without a copy (PyTorch's ``computeStride``): every run
    of dims that is contiguous in memory must map onto whole dims of the new shape."""
    old, strides = array.shape, array.strides
    if array.size == 0 or not old:
        return True
    view_d = len(shape) - 1
    base = strides[-1]
    tensor_numel = view_numel = 1
    for d in range(len(old) - 1, -1, -1):
        tensor_numel *= old[d]
        if d == 0 or (old[d - 1] != 1 and strides[d - 1] != tensor_numel * base):
            while view_d >= 0 and (view_numel < tensor_numel or shape[view_d] == 1):
                view_numel *= shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return False
            if d > 0:
                base, tensor_numel, view_numel = strides[d - 1], 1, 1
    return view_d == -1


def _index(value) -> int:
    """An int from an int or a one-element integer tensor."""
    return value.__index__() if isinstance(value, (Tensor, np.integer)) else value


# --- view, reshape, flatten -----------------------------------------------------------------------


def view(input, *shape):
    """A tensor with the same data and a new shape (a view: no copy); one size may be -1.

    >>> import nbtorch as torch
    >>> torch.arange(6).view(2, -1)
    tensor([[0, 1, 2],
            [3, 4, 5]])
    """
    if len(shape) == 1 and (isinstance(shape[0], _dtype.dtype) or
                            isinstance(shape[0], type) and shape[0] in (float, int, bool)):
        return _view_dtype(input, _dtype.to_dtype(shape[0]))
    try:
        shape = _size_args(shape, "view")
    except TypeError:
        raise TypeError(
            f"view() received an invalid combination of arguments - got "
            f"({', '.join(type(s).__name__ for s in shape)}), but expected one of:\n"
            " * (torch.dtype dtype)\n * (tuple of ints size)\n"
        ) from None
    data = input._data
    shape = _infer_shape(shape, data.size)
    if not _viewable(data, shape):
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        )
    return View.apply(input, shape=shape)


def _view_dtype(input, dtype: _dtype.dtype):
    """``view(dtype)``: the same bytes read as another dtype (not differentiable)."""
    data = input._data
    ratio = dtype.itemsize // data.itemsize
    if ratio > 1 and (not data.ndim or data.shape[-1] % ratio):
        raise RuntimeError(
            f"self.size(-1) must be divisible by {ratio} to view {_type_name(data.dtype)} as "
            f"{_type_name(dtype.np)} (different element sizes), but got "
            f"{data.shape[-1] if data.ndim else 0}"
        )
    out = Tensor._wrap(data.view(dtype.np))
    out._vbox = input._vbox
    return out


def view_as(input, other):
    """``input.view(other.size())``."""
    return view(input, tuple(other.shape))


def reshape(input, *shape):
    """A tensor with ``input``'s elements in a new shape: a view when the memory layout allows,
    else a copy; one size may be -1.

    >>> import nbtorch as torch
    >>> torch.reshape(torch.arange(6), (3, 2)).shape
    torch.Size([3, 2])
    """
    shape = _infer_shape(_size_args(shape, "reshape", "shape"), input._data.size)
    if _viewable(input._data, shape):
        return View.apply(input, shape=shape)
    return UnsafeView.apply(Clone.apply(input), shape=shape)


def reshape_as(input, other):
    """``input.reshape(other.size())``."""
    return reshape(input, tuple(other.shape))


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dims ``start_dim..end_dim`` into one (a view when possible).

    >>> import nbtorch as torch
    >>> torch.flatten(torch.zeros(2, 3, 4), 1).shape
    torch.Size([2, 12])
    """
    shape = input._data.shape
    start, end = _wrap_dim(start_dim, len(shape)), _wrap_dim(end_dim, len(shape))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if not shape:
        return reshape(input, 1)
    if start == end:
        return input
    merged = 1
    for n in shape[start:end + 1]:
        merged *= n
    return reshape(input, shape[:start] + (merged,) + shape[end + 1:])


def ravel(input):
    """The elements as one dim, in row-major order (a view when ``input`` is contiguous).

    >>> import nbtorch as torch
    >>> torch.ravel(torch.zeros(2, 3)).shape
    torch.Size([6])
    """
    return View.apply(contiguous(input), shape=(input._data.size,))


def unflatten(input, dim: int, sizes):
    """Split dim ``dim`` into several dims of the given ``sizes`` (one may be -1).

    >>> import nbtorch as torch
    >>> torch.zeros(2, 6).unflatten(1, (3, -1)).shape
    torch.Size([2, 3, 2])
    """
    shape = input._data.shape
    if not shape:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = _wrap_dim(dim, len(shape))
    sizes = _size_args((sizes,) if isinstance(sizes, int) else tuple(sizes), "unflatten", "sizes")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        sizes = _infer_shape(sizes, shape[d])
    except RuntimeError as error:
        if "invalid for input" not in str(error):
            raise
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {d} "
            f"({shape[d]}) in the input tensor"
        ) from None
    return View.apply(input, shape=shape[:d] + sizes + shape[d + 1:])


def contiguous(input, memory_format=None):
    """``input`` itself when it is contiguous in row-major order, else a contiguous copy.

    >>> import nbtorch as torch
    >>> torch.zeros(2, 3).t().contiguous().is_contiguous()
    True
    """
    if input._data.flags.c_contiguous:
        return input
    return Clone.apply(input)


# --- permutations ---------------------------------------------------------------------------------


def permute(input, *dims):
    """The dims of ``input`` in the order ``dims`` (a view).

    >>> import nbtorch as torch
    >>> torch.zeros(2, 3, 4).permute(2, 0, 1).shape
    torch.Size([4, 2, 3])
    """
    dims = _dims_args(dims, "permute")
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the "
            "length of the desired ordering of dimensions i.e. input.dim() = "
            f"{n} is not equal to len(dims) = {len(dims)}"
        )
    dims = tuple(_wrap_dim(d, n) for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims=dims)


def transpose(input, dim0: int, dim1: int):
    """``input`` with dims ``dim0`` and ``dim1`` swapped (a view).

    >>> import nbtorch as torch
    >>> torch.transpose(torch.zeros(2, 3, 4), 0, 2).shape
    torch.Size([4, 3, 2])
    """
    n = input._data.ndim
    return Transpose.apply(input, dim0=_wrap_dim(dim0, n), dim1=_wrap_dim(dim1, n))


swapaxes = swapdims = transpose


def t(input):
    """The transpose of a matrix; 0-d and 1-d tensors come back as they are (as views).

    >>> import nbtorch as torch
    >>> torch.tensor([[1, 2, 3]]).t()
    tensor([[1],
            [2],
            [3]])
    """
    n = input._data.ndim
    if n > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {n}D")
    return _TransposeT.apply(input)


def _numpy_T(self):
    """``x.T``: the dims reversed (a view); PyTorch deprecates it for tensors that are not 2-d."""
    n = self._data.ndim
    if n == 0:
        warnings.warn("Tensor.T is deprecated on 0-D tensors. This function is the identity in "
                      "these cases.", UserWarning, stacklevel=2)
    elif n != 2:
        warnings.warn(
            "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
            "deprecated and it will throw an error in a future release. Consider `x.mT` to "
            "transpose batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to "
            "reverse the dimensions of a tensor.", UserWarning, stacklevel=2)
    return Permute.apply(self, dims=tuple(reversed(range(n))))


def _matrix_T(self):
    """``x.mT``: the last two dims swapped (a view)."""
    n = self._data.ndim
    if n == 0:
        warnings.warn("Tensor.mT is deprecated on 0-D tensors. This function is the identity in "
                      "these cases.", UserWarning, stacklevel=2)
        return Permute.apply(self, dims=())
    if n < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {n}-D tensor.")
    return Transpose.apply(self, dim0=n - 2, dim1=n - 1)


def _conj_if_complex(t):
    return t.conj() if t._data.dtype.kind == "c" else t


def _hermitian_H(self):
    """``x.H``: the conjugate transpose of a matrix."""
    if self._data.ndim != 2:
        raise RuntimeError("tensor.H is only supported on matrices (2-D tensors). Got "
                           f"{self._data.ndim}-D tensor.")
    return _conj_if_complex(Transpose.apply(self, dim0=0, dim1=1))


def _matrix_H(self):
    """``x.mH``: the conjugate of ``x.mT``."""
    if self._data.ndim < 2:
        raise RuntimeError("tensor.mH is only supported on matrices or batches of matrices. "
                           f"Got {self._data.ndim}-D tensor.")
    return _conj_if_complex(_matrix_T(self))


def _dim_list(value, n: int) -> tuple:
    dims = (value,) if isinstance(value, numbers.Integral) else tuple(value)
    return tuple(_wrap_dim(_index(d), n) for d in dims)


def movedim(input, source, destination):
    """Move dims ``source`` to positions ``destination``; the other dims keep their order.

    >>> import nbtorch as torch
    >>> torch.movedim(torch.zeros(2, 3, 4), 0, -1).shape
    torch.Size([3, 4, 2])
    """
    n = input._data.ndim
    src_given = [source] if isinstance(source, numbers.Integral) else list(source)
    dst_given = [destination] if isinstance(destination, numbers.Integral) else list(destination)
    if len(src_given) != len(dst_given):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({src_given} dims) should "
            f"contain the same number of dims as destination ({dst_given} dims)"
        )
    src, dst = _dim_list(source, n), _dim_list(destination, n)
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(dims)})")
    order = [d for d in range(n) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return Permute.apply(input, dims=tuple(order))


moveaxis = movedim


# --- squeeze, unsqueeze, expand -------------------------------------------------------------------


def squeeze(input, dim=None):
    """``input`` without its size-1 dims (all of them, or those among ``dim``), as a view.

    >>> import nbtorch as torch
    >>> torch.zeros(2, 1, 3, 1).squeeze().shape
    torch.Size([2, 3])
    >>> torch.zeros(2, 1, 3, 1).squeeze(1).shape
    torch.Size([2, 3, 1])
    """
    shape = input._data.shape
    n = len(shape)
    if dim is None:
        return Squeeze.apply(input, dims=tuple(i for i, s in enumerate(shape) if s == 1))
    if isinstance(dim, (tuple, list)):
        op, given = _SqueezeDims, tuple(_wrap_dim(_index(d), n) for d in dim)
        seen = set()
        for d in given:
            if d in seen:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
            seen.add(d)
    else:
        op, given = _SqueezeDim, (_wrap_dim(_index(dim), n),)
    return op.apply(input, dims=tuple(d for d in given if n and shape[d] == 1))


def unsqueeze(input, dim: int):
    """``input`` with a new dim of size 1 inserted at ``dim`` (a view).

    >>> import nbtorch as torch
    >>> torch.zeros(2, 3).unsqueeze(-1).shape
    torch.Size([2, 3, 1])
    """
    return Unsqueeze.apply(input, dim=_wrap_dim(dim, input._data.ndim + 1))


def expand(input, *sizes):
    """``input`` broadcast to ``sizes`` without copying (-1 keeps a dim's size); size-1 dims
    repeat and new dims may be added in front.

    >>> import nbtorch as torch
    >>> torch.tensor([[1], [2]]).expand(2, 3)
    tensor([[1, 1, 1],
            [2, 2, 2]])
    """
    sizes = _size_args(sizes, "expand")
    shape = input._data.shape
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise RuntimeError(
            f"expand({_type_string(input._data)}{{{list(shape)}}}, size={list(sizes)}): the "
            f"number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
            f"dimensions in the tensor ({len(shape)})"
        )
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
        else:
            have = shape[i - lead]
            if s == -1:
                s = have
            elif s != have and (have != 1 or s < 0):
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) must match the existing size ({have}) "
                    f"at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                    f"{list(shape)}"
                )
        out.append(s)
    return Expand.apply(input, shape=tuple(out))


def expand_as(input, other):
    """``input.expand(other.size())``."""
    return expand(input, tuple(other.shape))


def broadcast_to(input, size):
    """``input`` broadcast to ``size`` (a view, as ``expand``).

    >>> import nbtorch as torch
    >>> torch.broadcast_to(torch.tensor([1, 2]), (2, 2))
    tensor([[1, 2],
            [1, 2]])
    """
    return expand(input, tuple(size))


def broadcast_shapes(*shapes) -> Size:
    """The shape that tensors of the given shapes broadcast to.

    >>> import nbtorch as torch
    >>> torch.broadcast_shapes((2, 1), (3,))
    torch.Size([2, 3])
    """
    shapes = [(s,) if isinstance(s, numbers.Integral) else tuple(s) for s in shapes]
    result: list = []
    for index, shape in enumerate(shapes):
        if len(shape) > len(result):
            result = [1] * (len(shape) - len(result)) + result
        for i in range(1, len(shape) + 1):
            have, n = result[-i], shape[-i]
            if n == have or n == 1:
                continue
            if have != 1:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {n} at {-i}! Mismatching "
                    f"argument at index {index} had {shape}; but expected shape should be "
                    f"broadcastable to {result}"
                )
            result[-i] = n
    return Size(result)


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (views).

    >>> import nbtorch as torch
    >>> a, b = torch.broadcast_tensors(torch.zeros(2, 1), torch.zeros(3))
    >>> a.shape, b.shape
    (torch.Size([2, 3]), torch.Size([2, 3]))
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    from ._promote import check_broadcast

    shape: tuple = ()
    for t in tensors:
        check_broadcast(shape, t._data.shape)
        shape = tuple(broadcast_shapes(shape, t._data.shape))
    return tuple(t if t._data.shape == shape else expand(t, shape) for t in tensors)


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids from 0-D or 1-D tensors, as expanded views: with ``indexing="ij"`` output
    k varies along dim k; ``"xy"`` (numpy's and matplotlib's convention) swaps the first two dims.

    >>> import nbtorch as torch
    >>> gx, gy = torch.meshgrid(torch.tensor([1, 2, 3]), torch.tensor([4, 5]), indexing="xy")
    >>> gx.shape, gy.tolist()
    (torch.Size([2, 3]), [[4, 4, 4], [5, 5, 5]])
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: '
                           f"{indexing}")
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if any(t.dtype is not tensors[0].dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got a tensor of shape {list(t.shape)}")
    sizes = [t.numel() for t in tensors]
    if indexing == "xy" and len(tensors) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for k, t in enumerate(tensors):
        dim = 1 - k if indexing == "xy" and k < 2 and len(tensors) >= 2 else k
        shape = [1] * len(tensors)
        shape[dim] = -1
        grids.append(expand(reshape(t, shape), sizes))
    return tuple(grids)


def repeat(input, *repeats):
    """``input`` tiled ``repeats[i]`` times along dim i (a copy); extra leading counts add dims.

    >>> import nbtorch as torch
    >>> torch.tensor([1, 2]).repeat(2, 2)
    tensor([[1, 2, 1, 2],
            [1, 2, 1, 2]])
    """
    repeats = _size_args(repeats, "repeat", "repeats")
    shape = input._data.shape
    if len(repeats) < len(shape):
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    padded = (1,) * (len(repeats) - len(shape)) + shape
    out = [r * n for r, n in zip(repeats, padded)]
    if any(r < 0 for r in repeats):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(out)}: {out}")
    return Repeat.apply(input, repeats=repeats)


def tile(input, *dims):
    """``repeat``, with missing leading counts taken as 1 (numpy's ``tile``).

    >>> import nbtorch as torch
    >>> torch.tile(torch.zeros(2, 3), (2,)).shape
    torch.Size([2, 6])
    """
    dims = _size_args(dims, "tile", "dims")
    dims = (1,) * (input._data.ndim - len(dims)) + dims
    return repeat(input, dims)


# --- slicing views --------------------------------------------------------------------------------


def narrow(input, dim: int, start, length: int):
    """The elements ``start .. start + length - 1`` along ``dim`` (a view).

    >>> import nbtorch as torch
    >>> torch.arange(6).narrow(0, 2, 3)
    tensor([2, 3, 4])
    """
    shape = input._data.shape
    if not shape:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, len(shape))
    start, length, n = _index(start), _index(length), shape[d]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got "
                         f"{start})")
    if start < 0:
        start += n
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return Slice.apply(input, dim=d, start=start, end=start + length)


def select(input, dim: int, index):
    """The slice at ``index`` along ``dim``, without that dim (a view); ``x.select(0, i)`` is
    ``x[i]``.

    >>> import nbtorch as torch
    >>> torch.tensor([[1, 2], [3, 4]]).select(1, 0)
    tensor([1, 3])
    """
    shape = input._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, len(shape))
    index = _index(index)
    if not -shape[d] <= index < shape[d]:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(shape)} "
                         f"at dimension {d}")
    return Select.apply(input, dim=d, index=index % shape[d])


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The diagonal over dims ``dim1`` and ``dim2`` (above it for ``offset > 0``), as the last dim
    of a view.

    >>> import nbtorch as torch
    >>> torch.arange(9).view(3, 3).diagonal()
    tensor([0, 4, 8])
    """
    n = input._data.ndim
    d1, d2 = _wrap_dim(dim1, n), _wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, offset=offset, dim1=d1, dim2=d2)


def _split_dim(input, dim: int, fn: str) -> int:
    if not input._data.ndim:
        raise RuntimeError(f"{fn} expects at least a 1-dimensional tensor")
    return _wrap_dim(dim, input._data.ndim)


def split(tensor, split_size_or_sections, dim: int = 0):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or pieces of the listed
    sizes; each piece is a view.

    >>> import nbtorch as torch
    >>> [p.tolist() for p in torch.arange(5).split(2)]
    [[0, 1], [2, 3], [4]]
    >>> [p.tolist() for p in torch.arange(5).split([1, 4])]
    [[0], [1, 2, 3, 4]]
    """
    d = _split_dim(tensor, dim, "split")
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (numbers.Integral, Tensor)) and not (
            isinstance(split_size_or_sections, Tensor) and split_size_or_sections.ndim):
        size = _index(split_size_or_sections)
        if size < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={size}")
        if size == 0 and n != 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        count = max(-(-n // size), 1) if size else 1
        return tuple(Split.apply(tensor, dim=d, start=i * size, end=min((i + 1) * size, n),
                                 piece=i) for i in range(count))
    return _split_sizes(tensor, _size_args((split_size_or_sections,), "split_with_sizes",
                                           "split_sizes"), d)


def _split_sizes(tensor, sizes: tuple, d: int):
    n = tensor._data.shape[d]
    if any(s < 0 for s in sizes):
        raise RuntimeError("split_with_sizes expects split_sizes have only non-negative entries, "
                           f"but got split_sizes={list(sizes)}")
    if sum(sizes) != n:
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
            f"dimension {d}), but got split_sizes={list(sizes)}"
        )
    edges = [0, *itertools.accumulate(sizes)]
    return tuple(SplitWithSizes.apply(tensor, dim=d, start=a, end=b, piece=i)
                 for i, (a, b) in enumerate(zip(edges, edges[1:])))


def chunk(input, chunks: int, dim: int = 0):
    """At most ``chunks`` pieces of equal size along ``dim`` (the last may be smaller); views.

    >>> import nbtorch as torch
    >>> [p.tolist() for p in torch.arange(5).chunk(3)]
    [[0, 1], [2, 3], [4]]
    """
    d = _split_dim(input, dim, "chunk")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = input._data.shape[d]
    size = -(-n // chunks)
    if size == 0:  # an empty dim gives `chunks` empty pieces
        return _split_sizes(input, (0,) * chunks, d)
    return split(input, size, d)


def tensor_split(input, indices_or_sections, dim: int = 0):
    """``sections`` pieces of nearly equal size (the first ones one larger), or the pieces between
    the given indices, along ``dim``; views.

    >>> import nbtorch as torch
    >>> [p.tolist() for p in torch.arange(7).tensor_split(3)]
    [[0, 1, 2], [3, 4], [5, 6]]
    >>> [p.tolist() for p in torch.arange(5).tensor_split([1, 3])]
    [[0], [1, 2], [3, 4]]
    """
    d = _split_dim(input, dim, "tensor_split")
    n = input._data.shape[d]
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        spec = spec.item() if spec.ndim == 0 else spec.tolist()
    if isinstance(spec, numbers.Integral):
        if spec <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {spec}")
        small, extra = divmod(n, spec)
        sizes = [small + 1] * extra + [small] * (spec - extra)
        edges = [0, *itertools.accumulate(sizes)]
    else:
        edges = [0, *(_index(i) for i in spec), n]
    pieces = []
    for a, b in zip(edges, edges[1:]):
        a, b = min(max(a, 0), n), min(max(b, 0), n)
        pieces.append(Slice.apply(input, dim=d, start=a, end=max(a, b)))
    return tuple(pieces)


def unbind(input, dim: int = 0):
    """The slices along ``dim``, without that dim (views); iterating a tensor uses it.

    >>> import nbtorch as torch
    >>> [r.tolist() for r in torch.tensor([[1, 2], [3, 4]]).unbind(1)]
    [[1, 3], [2, 4]]
    """
    shape = input._data.shape
    if not shape:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = _wrap_dim(dim, len(shape))
    return tuple(Unbind.apply(input, dim=d, index=i) for i in range(shape[d]))


# --- joining --------------------------------------------------------------------------------------


def _tensor_list(tensors, fn: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{fn}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    return list(tensors)


def _common_dtype(tensors: list) -> _dtype.dtype:
    """The dtype cat/stack give their inputs: PyTorch promotes across all of them."""
    result = tensors[0].dtype
    for t in tensors[1:]:
        result = _dtype.promote_types(result, t.dtype)
    return result


def _write_out(out, result):
    """``out=``: the result's values written into ``out`` (resized when its shape differs); as in
    PyTorch, ``out=`` is not recorded by autograd."""
    if out is None:
        return result
    if out._data.shape != result._data.shape:
        out._data = result._data.astype(out._data.dtype)
    else:
        out._data[...] = result._data
    out._vbox[0] += 1
    return out


def cat(tensors, dim: int = 0, *, out=None):
    """The tensors joined along an existing dim ``dim``; dtypes are promoted to a common one.

    >>> import nbtorch as torch
    >>> torch.cat([torch.zeros(2, 3), torch.ones(1, 3)]).shape
    torch.Size([3, 3])
    >>> torch.cat([torch.tensor([1, 2]), torch.tensor([3.5])])
    tensor([1.0000, 2.0000, 3.5000])
    """
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not t._data.ndim:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    # PyTorch still skips 1-d empty tensors whatever the other shapes are (legacy behaviour).
    kept = [(i, t) for i, t in enumerate(tensors) if t._data.shape != (0,)] or list(
        enumerate(tensors))
    ref = kept[0][1]._data.shape
    d = _wrap_dim(dim, len(ref))
    for i, t in kept[1:]:
        shape = t._data.shape
        if len(shape) != len(ref):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(ref)} and "
                               f"{len(shape)}")
        for k, (want, got) in enumerate(zip(ref, shape)):
            if k != d and want != got:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {want} "
                    f"but got size {got} for tensor number {i} in the list."
                )
    dtype = _common_dtype(tensors)
    parts = [t if t.dtype is dtype else t.to(dtype=dtype) for _, t in kept]
    return _write_out(out, Cat.apply(*parts, dim=d))


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, out=None):
    """The tensors (all of one shape) joined along a new dim ``dim``.

    >>> import nbtorch as torch
    >>> torch.stack([torch.tensor([1, 2]), torch.tensor([3, 4])], dim=1)
    tensor([[1, 3],
            [2, 4]])
    """
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    first = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], 1):
        if t._data.shape != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first)} "
                               f"at entry 0 and {list(t._data.shape)} at entry {i}")
    d = _wrap_dim(dim, len(first) + 1)
    dtype = _common_dtype(tensors)
    tensors = [t if t.dtype is dtype else t.to(dtype=dtype) for t in tensors]
    return _write_out(out, Stack.apply(*tensors, dim=d))


def atleast_1d(*tensors):
    """Each tensor with at least one dim (0-d tensors become shape ``[1]``).

    >>> import nbtorch as torch
    >>> torch.atleast_1d(torch.tensor(5)).shape
    torch.Size([1])
    """
    return _at_least(tensors, lambda t: reshape(t, 1) if t.ndim == 0 else t)


def atleast_2d(*tensors):
    """Each tensor with at least two dims (new dims go in front).

    >>> import nbtorch as torch
    >>> torch.atleast_2d(torch.zeros(3)).shape
    torch.Size([1, 3])
    """
    return _at_least(tensors, lambda t: reshape(t, 1, 1) if t.ndim == 0 else (
        unsqueeze(t, 0) if t.ndim == 1 else t))


def atleast_3d(*tensors):
    """Each tensor with at least three dims (shape ``[n]`` becomes ``[1, n, 1]``, ``[m, n]``
    becomes ``[m, n, 1]``).

    >>> import nbtorch as torch
    >>> torch.atleast_3d(torch.zeros(2, 3)).shape
    torch.Size([2, 3, 1])
    """
    def three(t):
        if t.ndim == 0:
            return reshape(t, 1, 1, 1)
        if t.ndim == 1:
            return unsqueeze(unsqueeze(t, 0), -1)
        return unsqueeze(t, -1) if t.ndim == 2 else t

    return _at_least(tensors, three)


def _at_least(tensors, fn):
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return fn(tensors[0])
    if len(tensors) == 1:
        tensors = tensors[0]
    return tuple(fn(t) for t in tensors)


def _non_empty(tensors, fn: str) -> list:
    tensors = _tensor_list(tensors, fn)
    if not tensors:
        raise RuntimeError(f"{fn} expects a non-empty TensorList")
    return tensors


def hstack(tensors, *, out=None):
    """The tensors joined column-wise: along dim 0 for 1-d tensors, dim 1 otherwise.

    >>> import nbtorch as torch
    >>> torch.hstack([torch.tensor([1, 2]), torch.tensor([3])])
    tensor([1, 2, 3])
    """
    tensors = atleast_1d(_non_empty(tensors, "hstack"))
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    """The tensors (made at least 2-d) joined row-wise, along dim 0.

    >>> import nbtorch as torch
    >>> torch.vstack([torch.tensor([1, 2]), torch.tensor([3, 4])])
    tensor([[1, 2],
            [3, 4]])
    """
    return cat(atleast_2d(_non_empty(tensors, "vstack")), 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None):
    """The tensors (made at least 3-d) joined depth-wise, along dim 2.

    >>> import nbtorch as torch
    >>> torch.dstack([torch.zeros(2, 3), torch.zeros(2, 3)]).shape
    torch.Size([2, 3, 2])
    """
    return cat(atleast_3d(_non_empty(tensors, "dstack")), 2, out=out)


def column_stack(tensors, *, out=None):
    """The tensors as columns: 0-d and 1-d tensors become columns, then ``hstack``.

    >>> import nbtorch as torch
    >>> torch.column_stack([torch.tensor([1, 2]), torch.tensor([3, 4])])
    tensor([[1, 3],
            [2, 4]])
    """
    tensors = _non_empty(tensors, "column_stack")
    columns = [reshape(t, t._data.size, 1) if t.ndim <= 1 else t for t in tensors]
    return cat(columns, 1, out=out)


# --- flips and rolls ------------------------------------------------------------------------------


def flip(input, *dims):
    """``input`` reversed along ``dims`` (a copy, as in PyTorch).

    >>> import nbtorch as torch
    >>> torch.flip(torch.tensor([[1, 2], [3, 4]]), [0])
    tensor([[3, 4],
            [1, 2]])
    """
    n = input._data.ndim
    wrapped = tuple(_wrap_dim(d, n) for d in _dims_args(dims, "flip"))
    seen = set()
    for d in wrapped:
        if d in seen:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen.add(d)
    return Flip.apply(input, dims=wrapped if n else ())


def fliplr(input):
    """``input`` reversed left to right (along dim 1).

    >>> import nbtorch as torch
    >>> torch.fliplr(torch.tensor([[1, 2], [3, 4]]))
    tensor([[2, 1],
            [4, 3]])
    """
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return Flip.apply(input, dims=(1,))


def flipud(input):
    """``input`` reversed upside down (along dim 0).

    >>> import nbtorch as torch
    >>> torch.flipud(torch.tensor([1, 2, 3]))
    tensor([3, 2, 1])
    """
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return Flip.apply(input, dims=(0,))


def roll(input, shifts, dims=None):
    """``input`` shifted cyclically by ``shifts`` along ``dims`` (the flattened tensor when
    ``dims`` is None), a copy.

    >>> import nbtorch as torch
    >>> torch.roll(torch.tensor([1, 2, 3, 4]), 1)
    tensor([4, 1, 2, 3])
    """
    shifts_t = (shifts,) if isinstance(shifts, (numbers.Integral, Tensor)) else tuple(shifts)
    shifts_t = tuple(_index(s) for s in shifts_t)
    n = input._data.ndim
    if dims is None:
        if len(shifts_t) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts_t)}, dims:0")
        return Roll.apply(input, shifts=shifts_t[0], dims=None)
    dims_t = _dim_list(dims, n)
    if len(shifts_t) != len(dims_t):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts_t)}, "
                           f"dims:{len(dims_t)}")
    return Roll.apply(input, shifts=shifts_t, dims=dims_t)


# --- in-place shape changes (metadata only) -------------------------------------------------------


def _metadata_inplace(function):
    """``squeeze_``-style methods: ``self`` takes the shape (and history) of ``function(self)``."""

    def method(self, *args, **kwargs):
        if GRAD.enabled and self._requires_grad and self.grad_fn is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        result = function(self, *args, **kwargs)
        self._data = result._data
        if result.grad_fn is not None:
            self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
        if self._base is not None:  # still a view of the same base, one step further
            self._view_chain = result._view_chain
        self._vbox[0] += 1  # values saved for backward no longer have this shape
        return self

    method.__name__ = function.__name__ + "_"
    method.__doc__ = f"In-place version of ``{function.__name__}`` (changes the shape only)."
    return method


__all__ = [
    "reshape", "flatten", "ravel", "unflatten", "permute", "transpose", "swapaxes", "swapdims",
    "t", "movedim", "moveaxis", "squeeze", "unsqueeze", "broadcast_to", "broadcast_shapes",
    "broadcast_tensors", "meshgrid", "tile", "narrow", "select", "diagonal", "split", "chunk",
    "tensor_split", "unbind", "cat", "concat", "concatenate", "stack", "atleast_1d", "atleast_2d",
    "atleast_3d", "hstack", "vstack", "row_stack", "dstack", "column_stack", "flip", "fliplr",
    "flipud", "roll",
]

METHODS = {
    "view": view, "view_as": view_as, "reshape": reshape, "reshape_as": reshape_as,
    "flatten": flatten, "ravel": ravel, "unflatten": unflatten, "contiguous": contiguous,
    "permute": permute, "transpose": transpose, "swapaxes": transpose, "swapdims": transpose,
    "t": t, "movedim": movedim, "moveaxis": movedim, "squeeze": squeeze, "unsqueeze": unsqueeze,
    "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to, "repeat": repeat,
    "tile": tile, "narrow": narrow, "select": select, "diagonal": diagonal, "split": split,
    "chunk": chunk, "tensor_split": tensor_split, "unbind": unbind, "flip": flip,
    "fliplr": fliplr, "flipud": flipud, "roll": roll,
    "T": property(_numpy_T), "mT": property(_matrix_T), "H": property(_hermitian_H),
    "mH": property(_matrix_H),
    "squeeze_": _metadata_inplace(squeeze), "unsqueeze_": _metadata_inplace(unsqueeze),
    "t_": _metadata_inplace(t), "transpose_": _metadata_inplace(transpose),
    "swapaxes_": _metadata_inplace(transpose), "swapdims_": _metadata_inplace(transpose),
}
INPLACE = ()

"""``torch.linalg``: the norms, composed from the reductions in ``ops/reduce.py``.

Matrix norms that need singular values (``ord=2``, ``-2``, ``'nuc'``) are not available yet.
"""

from __future__ import annotations

import math
import numbers

from .ops import elementwise as _E
from .ops import reduce as _R


def _name(t) -> str:
    from .ops.linalg import _scalar

    return _scalar(t)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """The vector ``ord``-norm over ``dim`` (all dimensions by default).

    >>> import nbtorch as torch
    >>> import nbtorch.linalg
    >>> torch.linalg.vector_norm(torch.tensor([3.0, -4.0]))
    tensor(5.)
    """
    if not isinstance(ord, numbers.Number):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not "
                        f"{type(ord).__name__}")
    return _R.norm(x, p=ord, dim=dim, keepdim=keepdim, dtype=dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """The matrix norm over the two dimensions ``dim``: ``'fro'`` (default), 1, -1, inf, -inf.

    >>> import nbtorch as torch
    >>> import nbtorch.linalg
    >>> torch.linalg.matrix_norm(torch.tensor([[1.0, -2.0], [3.0, 4.0]]), ord=1)
    tensor(6.)
    """
    if A._data.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if A._data.dtype.kind not in "fc":
        raise RuntimeError("linalg.matrix_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_name(A)}")
    d0, d1 = (d % A._data.ndim for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got {tuple(dim)}")
    if ord == "fro":
        return _R.norm(A, p=2, dim=(d0, d1), keepdim=keepdim, dtype=dtype)
    if ord in (2, -2, "nuc"):
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} needs singular values, which "
                                  "nbtorch does not compute yet")
    if ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if dtype is not None:
        A = A.to(dtype)
    # ord ±1: the largest / smallest column sum; ord ±inf: the same over rows.
    summed, over = (d0, d1) if abs(ord) == 1 else (d1, d0)
    sums = _R.sum(_E.abs(A), dim=summed, keepdim=True)
    pick = _R.amax if ord > 0 else _R.amin
    result = pick(sums, dim=over, keepdim=True)
    if not keepdim:
        shape = [n for i, n in enumerate(A._data.shape) if i not in (d0, d1)]
        result = result.reshape(shape)
    return result


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """A vector norm (1-D input or one ``dim``) or a matrix norm (2-D input or two ``dim``);
    with neither ``ord`` nor ``dim``, the 2-norm of all elements.

    >>> import nbtorch as torch
    >>> import nbtorch.linalg
    >>> torch.linalg.norm(torch.tensor([[3.0, 0.0], [0.0, 4.0]]))
    tensor(5.)
    """
    dims = None if dim is None else ((dim,) if isinstance(dim, numbers.Integral) else tuple(dim))
    if dims is not None and len(dims) not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got "
                           f"{list(dims)}")
    if ord is None:
        if dims is not None and len(dims) == 2:
            return matrix_norm(A, "fro", dims, keepdim, dtype=dtype)
        return vector_norm(A, 2, dims, keepdim, dtype=dtype)
    if dims is None:
        if A._data.ndim not in (1, 2):
            raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must "
                               f"be 1D or 2D. Got {A._data.ndim}D.")
        dims = tuple(range(A._data.ndim))
    if len(dims) == 2 or isinstance(ord, str):
        return matrix_norm(A, ord, dims if len(dims) == 2 else (-2, -1), keepdim, dtype=dtype)
    return vector_norm(A, ord, dims, keepdim, dtype=dtype)

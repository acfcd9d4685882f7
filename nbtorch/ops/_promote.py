"""Operands of elementwise ops: PyTorch's type promotion and broadcasting checks, done once here."""

from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype
from .._tensor import Tensor

_INT_BOUNDS = {np.dtype(t): (np.iinfo(t).min, np.iinfo(t).max)
               for t in (np.int8, np.int16, np.int32, np.uint8)}


def check_broadcast(a_shape: tuple, b_shape: tuple) -> None:
    """Raise PyTorch's error when two shapes cannot broadcast."""
    for i in range(1, min(len(a_shape), len(b_shape)) + 1):
        x, y = a_shape[-i], b_shape[-i]
        if x != y and x != 1 and y != 1:
            dim = max(len(a_shape), len(b_shape)) - i
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {dim}"
            )


def as_number(value):
    """Python numbers stay; numpy scalars become Python numbers (PyTorch treats them alike)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def promoted(a, b):
    """``(a, b, dtype)`` with tensor operands cast to PyTorch's result dtype.

    Python numbers are left as numbers: numpy (NEP 50) then keeps the tensor's dtype, which is what
    PyTorch does once the tensor has the result dtype.
    """
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        da, db = a._data.dtype, b._data.dtype
        if da == db:
            if a._data.shape != b._data.shape:
                check_broadcast(a._data.shape, b._data.shape)
            return a, b, da
        dims = [t.dtype for t in (a, b) if t._data.ndim]
        zero = [t.dtype for t in (a, b) if not t._data.ndim]
        result = _dtype.result_type_of(dims, zero, ())
        if a._data.shape != b._data.shape:
            check_broadcast(a._data.shape, b._data.shape)
        return _cast(a, result), _cast(b, result), result.np
    if ta:
        tensor, number = a, b
    elif tb:
        tensor, number = b, a
    else:
        raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")
    dt = tensor._data.dtype
    kind = dt.kind
    t_number = type(number)
    if (t_number is float or t_number is int) and kind == "f" and type(tensor._data) is np.ndarray:
        number = scalar_array(number, dt)
        return (tensor, number, dt) if ta else (number, tensor, dt)
    if t_number is float and kind == "c" or t_number is int and kind == "c":
        return a, b, dt
    number = as_number(number)
    if not isinstance(number, numbers.Number):
        raise TypeError(f"unsupported operand type: '{type(number).__name__}'")
    result = _dtype.result_type_of([tensor.dtype] if tensor._data.ndim else [],
                                   [] if tensor._data.ndim else [tensor.dtype], (number,))
    tensor = _cast(tensor, result)
    if isinstance(number, int) and not isinstance(number, bool) and result.np in _INT_BOUNDS:
        low, high = _INT_BOUNDS[result.np]
        if not low <= number <= high:  # wrap around, as PyTorch's integer arithmetic does
            number = np.array(number).astype(result.np)[()]
    if ta:
        return tensor, number, result.np
    return number, tensor, result.np


_SCALARS: dict = {}  # dtype -> {number: read-only 0-d array}


def scalar_array(value, dtype):
    """A Python number as a cached 0-d array of ``dtype``: numpy handles array operands about twice
    as fast as Python scalars, which matters for small tensors (see bench/bench_overhead.py)."""
    cache = _SCALARS.get(dtype)
    if cache is None:
        cache = _SCALARS[dtype] = {}
    array = cache.get(value)
    if array is None:
        array = np.array(value, dtype=dtype)
        array.flags.writeable = False
        if value == 0:  # not cached: -0.0 == 0.0 as keys, but x * -0.0 is -0.0 for positive x
            return array
        if len(cache) > 4096:  # e.g. a learning rate that changes every step
            cache.clear()
        cache[value] = array
    return array


def _cast(t: Tensor, d: _dtype.dtype) -> Tensor:
    return t if t._data.dtype == d.np else t.to(dtype=d)


def floating(t: Tensor) -> Tensor:
    """Integer and bool tensors become the default float dtype, as PyTorch's float ops do."""
    if t._data.dtype.kind in "fc":
        return t
    return t.to(dtype=_dtype.get_default_dtype())


def ensure_tensor(x, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from .creation import tensor

    if like is not None and isinstance(x, numbers.Number):
        return tensor(x, dtype=_dtype.result_type_of([like.dtype], [], (x,)), device=like.device)
    return tensor(x)

"""dtypes with PyTorch's names, and PyTorch's type promotion.

Promotion follows PyTorch, not numpy: operands are ranked as dimensioned tensors, then zero-dim
tensors,
then Python numbers; a lower-ranked operand changes the result only when its category (bool <
integer <
floating < complex) is higher.  So a Python float never upcasts a float32 tensor, ``int_tensor *
2.5``
is float32 (the default dtype), and ``float16 + int64`` is float16.
"""

from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type, printed as PyTorch prints it.

    >>> float32
    torch.float32
    >>> float32.is_floating_point, int64.itemsize
    (True, 8)
    """

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_complex", "is_signed",
    "category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.category = category  # 0 bool, 1 integer, 2 floating, 3 complex
        self.is_floating_point = category == 2
        self.is_complex = category == 3
        self.is_signed = name not in ("bool", "uint8")

    def __repr__(self) -> str:
        return "torch." + self.name

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_real(self) -> dtype:
        return {complex64: float32, complex128: float64}.get(self, self)


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)
complex64 = dtype("complex64", np.complex64, 3)
complex128 = dtype("complex128", np.complex128, 3)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64, complex64, complex128)
FROM_NUMPY = {d.np: d for d in ALL}
ALIASES = {
    "float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
    "short": int16, "cfloat": complex64, "cdouble": complex128, "bool": bool_,
}


def _by_name(name: str) -> dtype:
    return next(d for d in ALL if d.name == name)


_default_float = float32


def get_default_dtype() -> dtype:
    """The dtype of floating tensors made from Python floats (float32 unless changed).

    >>> get_default_dtype()
    torch.float32
    """
    return _default_float


def set_default_dtype(d: dtype) -> None:
    global _default_float
    if d not in (float16, float32, float64):
        raise TypeError("only floating-point types are supported as the default type")
    _default_float = d


def from_numpy_dtype(np_dtype) -> dtype:
    try:
        return FROM_NUMPY[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).type.__name__}. The only "
            "supported types are: float64, float32, float16, complex64, complex128, int64, int32, "
            "int16, int8, uint8, and bool."
        ) from None


def to_dtype(d) -> dtype:
    """Accept an nbtorch dtype, a numpy dtype or a Python type (``float`` -> float64, as in
    numpy)."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if d is complex:
        return complex128
    return from_numpy_dtype(d)


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to, as ``torch.promote_types``.

    >>> promote_types(uint8, int8), promote_types(int64, float16)
    (torch.int16, torch.float16)
    """
    if a is b:
        return a
    if a.category != b.category:
        hi, lo = (a, b) if a.category > b.category else (b, a)
        if hi.category == 3 and lo is float64:
            return complex128
        return hi
    return FROM_NUMPY[np.promote_types(a.np, b.np)]


def scalar_dtype(value) -> dtype:
    """The dtype PyTorch gives a Python number."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    if isinstance(value, complex):
        return complex64 if _default_float is float32 else complex128
    return _default_float


def result_type_of(dim_dtypes, zero_dim_dtypes, scalar_values) -> dtype:
    """PyTorch's three-tier promotion (see the module docstring)."""
    result = None
    for group in (dim_dtypes, zero_dim_dtypes):
        if not group:
            continue
        g = group[0]
        for d in group[1:]:
            g = promote_types(g, d)
        if result is None:
            result = g
        elif g.category > result.category:
            result = _widen_to_category(result, g)
    for value in scalar_values:
        s = scalar_dtype(value)
        if result is None:
            result = s
        elif s.category > result.category:
            result = _widen_to_category(result, s)
    return result


def _widen_to_category(current: dtype, higher: dtype) -> dtype:
    """The result when a lower-priority operand of a higher category joins: a complex one keeps a
    floating result's precision (float32 tensor + complex128 0-dim tensor is complex64)."""
    if higher.category == 3 and current.category == 2:
        return complex128 if current is float64 else complex64  # no complex32: float16 -> complex64
    return higher

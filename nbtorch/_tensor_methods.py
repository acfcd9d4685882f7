"""Tensor methods and operators: thin calls into the ops.

Each op family module ends with ``METHODS`` (name -> function taking the tensor first) and, where
PyTorch has in-place variants, ``INPLACE`` (the out-of-place names that get a ``name_`` method).
This module installs them, plus Python's operators and conversions.
"""

from __future__ import annotations

import importlib
import numbers

import numpy as np

from . import _dtype, backend
from ._tensor import Tensor
from .ops import elementwise as E
from .ops._promote import scalar_array
from .ops.inplace import commit

_ndarray = np.ndarray

FAMILIES = ("elementwise", "reduce", "shape", "indexing", "linalg", "sorting", "random",
            "activation", "conv", "pooling")


def _make_inplace(function):
    def method(self, *args, **kwargs):
        return commit(self, function(self, *args, **kwargs))

    method.__name__ = function.__name__ + "_"
    method.__doc__ = f"In-place version of ``{function.__name__}``."
    return method


def _operator(op, function):
    """``tensor <op> other`` with ``function``'s meaning, and a shortcut for the common case.

    A float tensor on the CPU with a Python number, or with a tensor of its own dtype and shape,
    needs no promotion and no check: it goes straight to ``op``.  Everything else takes
    ``function``'s full path (PyTorch's promotion, checks and error messages).  This is the hot
    path of every small-tensor loop (see bench/bench_overhead.py).
    """
    def method(self, other):
        data = self._data
        kind = type(other)
        if kind is float or kind is int:
            if type(data) is _ndarray and data.dtype.kind == "f":
                return op.apply(self, scalar_array(other, data.dtype))
        elif kind is Tensor:
            theirs = other._data
            if theirs.dtype == data.dtype and data.dtype.kind == "f" and theirs.shape == data.shape:
                return op.apply(self, other)
        return function(self, other)

    method.__name__ = function.__name__
    return method


def _reflected(function):
    def method(self, other):
        return function(other, self)

    return method


def _operator_inplace(function):
    def method(self, other):
        return commit(self, function(self, other))

    return method


def _equality(function):
    def method(self, other):
        # ``t == None`` or ``t == "a"`` is False in PyTorch, not an error: let Python decide.
        if not isinstance(other, (Tensor, numbers.Number, np.generic)):
            return NotImplemented
        return function(self, other)

    return method


def _invert(self):
    if self._data.dtype.kind not in "iub":
        raise TypeError(
            "~ (operator.invert) is only implemented on integer and Boolean-type tensors"
        )
    return E.bitwise_not(self)


# --- conversions ----------------------------------------------------------------------------------


def _parse_to(args, kwargs):
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() received an invalid combination of arguments - got {sorted(kwargs)}")
    flags = [a for a in args if isinstance(a, bool)]  # positional non_blocking, copy
    if len(flags) > 1:
        copy = flags[1]
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, _dtype.dtype) or a in (float, int, bool):
            dtype = a
        elif isinstance(a, (str, backend.device, int)) and not isinstance(a, bool):
            device = a
        elif a is not None and not isinstance(a, bool):
            raise TypeError(
                f"to() received an invalid combination of arguments - got ({type(a).__name__})"
            )
    return dtype, device, copy


def to(self, *args, **kwargs) -> Tensor:
    """Convert to another dtype and/or device; returns ``self`` when nothing changes.

    >>> import nbtorch as torch
    >>> torch.tensor([1.5]).to(torch.float64)
    tensor([1.5000], dtype=torch.float64)
    """
    dtype, device, copy = _parse_to(list(args), dict(kwargs))
    np_dtype = _dtype.to_dtype(dtype).np if dtype is not None else None
    dev = backend.canonical_device(device) if device is not None else None
    same_dtype = np_dtype is None or np_dtype == self._data.dtype
    same_device = dev is None or dev == backend.device_of(self._data)
    if same_dtype and same_device:
        return E.ToCopy.apply(self) if copy else self
    params = {}
    if not same_dtype:
        params["dtype"] = np_dtype
    if not same_device:
        params["device"] = dev
    return E.ToCopy.apply(self, **params)


def cuda(self, device=None, non_blocking=False) -> Tensor:
    if isinstance(device, int):
        device = backend.device("cuda", device)
    return to(self, device=device or "cuda")


def cpu(self) -> Tensor:
    return to(self, device="cpu")


def _as(dtype):
    def convert(self, memory_format=None) -> Tensor:
        return to(self, dtype=dtype)

    convert.__name__ = dtype.name
    return convert


def type_(self, dtype=None, non_blocking=False):
    names = {"torch.FloatTensor": _dtype.float32, "torch.DoubleTensor": _dtype.float64,
             "torch.LongTensor": _dtype.int64, "torch.IntTensor": _dtype.int32,
             "torch.BoolTensor": _dtype.bool_, "torch.HalfTensor": _dtype.float16,
             "torch.ByteTensor": _dtype.uint8}
    if dtype is None:
        from .autograd.function import _type_string

        return _type_string(self._data)
    return to(self, dtype=names.get(dtype, dtype))


def type_as(self, other) -> Tensor:
    return to(self, dtype=other.dtype)


def clone(self, memory_format=None) -> Tensor:
    """A copy that stays in the graph (its gradient flows back to ``self``)."""
    return E.Clone.apply(self)


def _new(factory):
    def method(self, *size, dtype=None, device=None, requires_grad=False, **_):
        return factory(*size, dtype=dtype or self.dtype, device=device or self.device,
                       requires_grad=requires_grad)

    return method


def new_tensor(self, data, dtype=None, device=None, requires_grad=False) -> Tensor:
    from .ops.creation import tensor

    return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)


def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    from .ops.creation import full

    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def zero_(self) -> Tensor:
    """Fill with zeros in place."""
    return fill_(self, 0)


def fill_(self, value) -> Tensor:
    """Fill with ``value`` in place (the gradient to the old values is 0)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError("fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        value = value.item()
    from .autograd.grad_mode import GRAD

    if not (GRAD.enabled and self._requires_grad):
        self._data[...] = value
        self._vbox[0] += 1
        return self
    return _overwrite(self, value)


def _overwrite(self, value) -> Tensor:
    """Write ``value`` over all of ``self`` in the graph: the old values get a zero gradient (a
    ``where``, not ``self * 0 + value``, which would turn inf in the old values into NaN)."""
    from .ops.creation import ones

    everywhere = ones(self._data.shape, dtype=_dtype.bool_, device=self.device)
    return commit(self, E.where(everywhere, value, self))


def copy_(self, src, non_blocking=False) -> Tensor:
    """Copy ``src`` (broadcast and cast) into ``self`` in place."""
    if not isinstance(src, Tensor):
        from .ops.creation import tensor

        src = tensor(src)
    if backend.device_of(src._data) != backend.device_of(self._data):
        src = to(src, device=self.device)
    if src._data.dtype != self._data.dtype:  # copy_ casts any dtype, unlike other in-place ops
        src = to(src, dtype=self.dtype)
    from .autograd.grad_mode import GRAD

    if GRAD.enabled and self._requires_grad:
        return _overwrite(self, src)
    return commit(self, src)


def install() -> None:
    from .ops import creation

    for family in FAMILIES:
        try:
            module = importlib.import_module(f".ops.{family}", __package__)
        except ModuleNotFoundError as missing:
            if missing.name != f"{__package__}.ops.{family}":
                raise
            continue
        for name, function in getattr(module, "METHODS", {}).items():
            setattr(Tensor, name, function)
        for name in getattr(module, "INPLACE", ()):
            setattr(Tensor, name + "_", _make_inplace(getattr(module, name)))

    operators = {
        "add": E.add, "sub": E.sub, "mul": E.mul, "truediv": E.div, "floordiv": E.floor_divide,
        "mod": E.remainder, "pow": E.pow, "and": E.bitwise_and, "or": E.bitwise_or,
        "xor": E.bitwise_xor,
    }
    # ``2 - x`` and ``2 / x`` take PyTorch's own routes (RsubBackward1; reciprocal, then mul).
    reflected = {"sub": E.rsub, "truediv": E._rtruediv}
    shortcuts = {"add": E.Add, "sub": E.Sub, "mul": E.Mul, "truediv": E.Div}
    for name, function in operators.items():
        forward = _operator(shortcuts[name], function) if name in shortcuts else function
        setattr(Tensor, f"__{name}__", forward)
        # As in PyTorch, ``2 * x`` is ``mul(x, 2)`` for commutative ops (the tensor's edge first).
        commutative = name in ("add", "mul", "and", "or", "xor")
        setattr(Tensor, f"__r{name}__", reflected.get(name) or (
            forward if commutative else _reflected(function)))
        setattr(Tensor, f"__i{name}__", _operator_inplace(function))
    for name, function in {"lt": E.lt, "le": E.le, "gt": E.gt, "ge": E.ge}.items():
        setattr(Tensor, f"__{name}__", function)
    Tensor.__eq__, Tensor.__ne__ = _equality(E.eq), _equality(E.ne)
    Tensor.__neg__ = E.neg
    Tensor.__pos__ = lambda self: self
    Tensor.__abs__ = E.abs
    Tensor.__invert__ = _invert
    Tensor.to, Tensor.cuda, Tensor.cpu, Tensor.type, Tensor.type_as = to, cuda, cpu, type_, type_as
    Tensor.clone = clone
    for name, d in (("float", _dtype.float32), ("double", _dtype.float64), ("half", _dtype.float16),
                    ("long", _dtype.int64), ("int", _dtype.int32), ("short", _dtype.int16),
                    ("char", _dtype.int8), ("byte", _dtype.uint8), ("bool", _dtype.bool_)):
        setattr(Tensor, name, _as(d))
    Tensor.new_zeros = _new(creation.zeros)
    Tensor.new_ones = _new(creation.ones)
    Tensor.new_empty = _new(creation.empty)
    Tensor.new_tensor, Tensor.new_full = new_tensor, new_full
    Tensor.zero_, Tensor.fill_, Tensor.copy_ = zero_, fill_, copy_

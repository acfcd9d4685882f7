"""Making tensors: tensor, as_tensor, from_numpy, zeros/ones/full/empty (and ``*_like``), arange,
linspace, eye.  Random creation is in ``ops/random.py``."""

from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype, backend
from .._tensor import Tensor


def _size(size) -> tuple:
    """Accept ``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros([2, 3])`` and
    ``zeros(torch.Size(...))``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = int(s)
        if not isinstance(s, numbers.Integral):
            raise TypeError(
                f"zeros(): argument 'size' (position 1) must be tuple of ints, but found element "
                f"of type {type(s).__name__} at pos {len(out)}"
            )
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


def _finish(data, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(data)
    if requires_grad:
        if data.dtype.kind not in "fc":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t.requires_grad = True
    return t


def _place(array: np.ndarray, dev) -> object:
    dev = backend.canonical_device(dev)
    return array if dev.type == "cpu" else backend.to_device(array, dev)


def _infer_dtype(data) -> _dtype.dtype:
    """PyTorch's dtype for nested Python data: bool, int64, default float or complex."""
    kinds = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            kinds.add(item.dtype)
        elif isinstance(item, np.ndarray):
            kinds.add(_dtype.from_numpy_dtype(item.dtype))
        elif isinstance(item, (list, tuple, range)):
            stack.extend(item)
        elif isinstance(item, np.generic):  # numpy scalars keep their dtype, as in PyTorch
            kinds.add(_dtype.from_numpy_dtype(item.dtype))
        elif isinstance(item, bool):
            kinds.add(_dtype.bool_)
        elif isinstance(item, numbers.Integral):
            if not -(2**63) <= item < 2**63:
                raise ValueError("Overflow when unpacking long long")
            kinds.add(_dtype.int64)
        elif isinstance(item, numbers.Real):
            kinds.add(_dtype.get_default_dtype())
        elif isinstance(item, str):
            raise TypeError("new(): invalid data type 'str'")
        elif isinstance(item, numbers.Complex):
            kinds.add(_dtype.scalar_dtype(complex(item)))
        else:
            raise RuntimeError(f"Could not infer dtype of {type(item).__name__}")
    if not kinds:
        return _dtype.get_default_dtype()
    result = kinds.pop()
    for k in kinds:
        result = _dtype.promote_types(result, k)
    return result


def _to_numpy(data):
    """Nested lists that may hold tensors, as one numpy array."""
    if isinstance(data, Tensor):
        return data._data if type(data._data) is np.ndarray else data._data.get()
    if isinstance(data, (list, tuple)):
        if any(isinstance(x, (Tensor, list, tuple, np.ndarray)) for x in data):
            parts = [_to_numpy(x) for x in data]
            shapes = {np.shape(p) for p in parts}
            if len(shapes) > 1:
                raise _Ragged
            return np.array(parts) if parts else np.array([])
    return np.array(data)


class _Ragged(ValueError):
    """Nested sequences of uneven lengths (``tensor`` words the error as PyTorch does)."""


def _ragged_message(data) -> str:
    """PyTorch's error: the expected sizes come from the first element at every depth."""
    sizes, item = [], data
    while isinstance(item, (list, tuple)) and item:
        sizes.append(len(item))
        item = item[0]
    if isinstance(item, (Tensor, np.ndarray)):
        sizes.extend(item.shape)

    def first_mismatch(seq, dim):
        if isinstance(seq, (Tensor, np.ndarray)):
            lengths = tuple(seq.shape)
        elif isinstance(seq, (list, tuple)):
            lengths = (len(seq),)
        else:
            return None
        for d, n in enumerate(lengths, dim):
            if d < len(sizes) and n != sizes[d]:
                return f"expected sequence of length {sizes[d]} at dim {d} (got {n})"
        if isinstance(seq, (list, tuple)):
            return next(filter(None, (first_mismatch(s, dim + 1) for s in seq)), None)
        return None

    return first_mismatch(data, 0) or "expected sequences of equal lengths"


def tensor(data, dtype=None, device=None, requires_grad: bool = False, pin_memory=False) -> Tensor:
    """Copy ``data`` (nested lists, numbers, numpy arrays, tensors) into a new tensor.

    >>> tensor([5.5, 3])
    tensor([5.5000, 3.0000])
    >>> tensor([[1, 2], [3, 4]]).dtype
    torch.int64
    """
    if isinstance(data, Tensor):
        source = data._data
        d = _dtype.to_dtype(dtype) if dtype is not None else data.dtype
        dev = backend.canonical_device(device) if device is not None else data.device
        array = backend.to_device(source, dev).astype(d.np, copy=True)
        return _finish(array, requires_grad)
    if isinstance(data, np.ndarray):
        d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.from_numpy_dtype(data.dtype)
        array = np.array(data, dtype=d.np, copy=True)
    elif backend.cupy_module() is not None and type(data).__module__.startswith("cupy"):
        d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.from_numpy_dtype(data.dtype)
        return _finish(data.astype(d.np, copy=True), requires_grad)
    else:
        d = _dtype.to_dtype(dtype) if dtype is not None else _infer_dtype(data)
        try:
            raw = _to_numpy(data)
        except _Ragged:
            raise ValueError(_ragged_message(data)) from None
        if raw.dtype == object:
            raise TypeError(f"Could not infer dtype of {type(data).__name__}")
        array = raw.astype(d.np, copy=False)
        if array is raw and isinstance(data, Tensor):
            array = array.copy()
    return _finish(_place(np.asarray(array, order="C"), device), requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor``, but shares memory with ``data`` when dtype and device already match.

    >>> a = np.array([1.0, 2.0]); t = as_tensor(a); a[0] = 9; t
    tensor([9., 2.], dtype=torch.float64)
    """
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (dtype or device) else data
    if isinstance(data, np.ndarray) and device in (None, "cpu") and (
        dtype is None or _dtype.to_dtype(dtype).np == data.dtype
    ):
        _dtype.from_numpy_dtype(data.dtype)
        return Tensor._wrap(data)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, dtype=None, device=None, copy=None, requires_grad=False) -> Tensor:
    t = tensor(obj, dtype=dtype, device=device) if copy else as_tensor(obj, dtype, device)
    if requires_grad:
        t.requires_grad_()
    return t


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a numpy array.

    >>> a = np.zeros(2, dtype=np.float32); t = from_numpy(a); t[0] = 1; a
    array([1., 0.], dtype=float32)
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dtype.from_numpy_dtype(array.dtype)
    return Tensor._wrap(array)


def _filled(fill, size, dtype, device, requires_grad, name: str):
    shape = _size(size)
    d = _dtype.to_dtype(dtype) if dtype is not None else None
    if d is None:
        d = _dtype.scalar_dtype(fill) if name == "full" else _dtype.get_default_dtype()
    dev = backend.canonical_device(device)
    xp = backend.xp_for(dev)
    with backend.on_device(dev):
        if fill is None:
            data = xp.empty(shape, dtype=d.np)
        elif fill == 0:
            data = xp.zeros(shape, dtype=d.np)
        else:
            data = xp.full(shape, fill, dtype=d.np)
    return _finish(data, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None) -> Tensor:
    """A tensor of zeros (float32 unless ``dtype`` says otherwise).

    >>> zeros(2, 3).shape
    torch.Size([2, 3])
    """
    return _filled(0, size, dtype, device, requires_grad, "zeros")


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None) -> Tensor:
    """A tensor of ones.

    >>> ones(2)
    tensor([1., 1.])
    """
    return _filled(1, size, dtype, device, requires_grad, "ones")


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None,
          memory_format=None, pin_memory=False) -> Tensor:
    """An uninitialized tensor (nbtorch fills it with zeros, so results never depend on garbage).

    >>> empty(2, 2).shape
    torch.Size([2, 2])
    """
    return _filled(0, size, dtype, device, requires_grad, "empty")


def full(size, fill_value, dtype=None, device=None, requires_grad=False, out=None,
         layout=None) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype follows the value, as in PyTorch.

    >>> full((2,), 7)
    tensor([7, 7])
    """
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _filled(fill_value, (size,) if not isinstance(size, int) else (size,), dtype, device,
                   requires_grad, "full")


def _like(t: Tensor, dtype, device):
    return (t.dtype if dtype is None else dtype), (t.device if device is None else device)


def zeros_like(input, dtype=None, device=None, requires_grad=False, layout=None,
               memory_format=None) -> Tensor:
    """Zeros with ``input``'s shape, dtype and device.

    >>> zeros_like(ones(2, dtype=_dtype.int64))
    tensor([0, 0])
    """
    d, dev = _like(input, dtype, device)
    return zeros(input.shape, dtype=d, device=dev, requires_grad=requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False, layout=None,
              memory_format=None) -> Tensor:
    d, dev = _like(input, dtype, device)
    return ones(input.shape, dtype=d, device=dev, requires_grad=requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False, layout=None,
               memory_format=None) -> Tensor:
    d, dev = _like(input, dtype, device)
    return empty(input.shape, dtype=d, device=dev, requires_grad=requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False, layout=None,
              memory_format=None) -> Tensor:
    d, dev = _like(input, dtype, device)
    return full(tuple(input.shape), fill_value, dtype=d, device=dev, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False, out=None,
           layout=None) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive); int64 unless an argument is a float.

    >>> arange(5)
    tensor([0, 1, 2, 3, 4])
    >>> arange(0, 1, 0.25)
    tensor([0.0000, 0.2500, 0.5000, 0.7500])
    """
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    start, end, step = values
    if dtype is None:
        floating = any(isinstance(v, float) for v in values)
        d = _dtype.get_default_dtype() if floating else _dtype.int64
    else:
        d = _dtype.to_dtype(dtype)
    if not (np.isfinite(start) and np.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if d is _dtype.int64:  # PyTorch truncates the bounds to int64 first (arange(0, 5.5) has 5)
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
    # PyTorch computes the length in double precision (exactly for ints), then fills
    # start + i * step; for integer dtypes with start and step truncated to integers.
    if all(isinstance(v, int) for v in (start, end, step)):
        n = -((start - end) // step)
    else:
        n = int(np.ceil((end - start) / step))
    if d.category < 2:
        data = int(start) + np.arange(n, dtype=np.int64) * int(step)
    else:
        data = start + np.arange(n, dtype=np.float64) * step
    return _finish(_place(data.astype(d.np), device), requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad=False, out=None,
             layout=None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    >>> linspace(0, 1, 5)
    tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    data = np.linspace(float(start), float(end), int(steps), dtype=np.float64)
    return _finish(_place(data.astype(d.np), device), requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    data = np.logspace(float(start), float(end), int(steps), base=base, dtype=np.float64)
    return _finish(_place(data.astype(d.np), device), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad=False, out=None,
        layout=None) -> Tensor:
    """The identity matrix.

    >>> eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    for name, size in (("n", n), ("m", m)):
        if size is not None and size < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {size}")
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    return _finish(_place(np.eye(n, m, dtype=d.np), device), requires_grad)


def scalar_tensor(value, dtype=None, device=None, requires_grad=False) -> Tensor:
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    return _finish(_place(np.array(value, dtype=d.np), device), requires_grad)


def is_tensor(obj) -> bool:
    """True for tensors (and Parameters).

    >>> is_tensor(zeros(1)), is_tensor([1])
    (True, False)
    """
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()

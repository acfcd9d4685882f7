"""Devices and array modules: the only module that touches CuPy, and only lazily.

Every op body works with ``xp``, the array module of its inputs (numpy on ``cpu``, cupy on
``cuda:N``),
so there is one code path for both.  Where numpy and cupy differ, a named shim lives here.
"""

from __future__ import annotations

import numpy as np

_cupy = None
_cupy_checked = False


def cupy_module():
    """Return the cupy module if it imports and a GPU answers, else None (checked once)."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy

            if cupy.cuda.runtime.getDeviceCount() > 0:
                _cupy = cupy
        except Exception:  # no cupy, no driver or no GPU: CPU only
            _cupy = None
    return _cupy


class device:
    """A device, as in ``torch.device('cuda:0')``.

    >>> device('cuda:1')
    device(type='cuda', index=1)
    >>> str(device('cpu'))
    'cpu'
    """

    __slots__ = ("type", "index")

    def __init__(self, type: str | device | int, index: int | None = None):
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError("device() received an invalid combination of arguments - got "
                            f"({type.__class__.__name__})")
        if ":" in type:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {type}")
            type, _, idx = type.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'")
            index = int(idx)
        if type not in ("cpu", "cuda"):
            raise RuntimeError(
                "Expected one of cpu, cuda device type at start of device string: " + type
            )
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type, self.index = type, index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")
_cuda_devices: dict[int, device] = {}


def canonical_device(dev) -> device:
    """The concrete device a tensor lives on: ``'cuda'`` means the current GPU, ``cuda:0``."""
    if dev is None:
        return CPU
    if not isinstance(dev, device):
        dev = device(dev)
    if dev.type == "cpu":
        return CPU
    index = 0 if dev.index is None else dev.index
    cp = cupy_module()
    if cp is None:
        raise AssertionError("Torch not compiled with CUDA enabled")
    count = cp.cuda.runtime.getDeviceCount()
    if index >= count:
        raise RuntimeError(
            f"CUDA error: invalid device ordinal (device {index} requested, {count} available)"
        )
    return _cuda_devices.setdefault(index, device("cuda", index))


def device_of(array) -> device:
    """The device an array lives on."""
    if type(array) is np.ndarray or isinstance(array, np.generic):
        return CPU
    return _cuda_devices.setdefault(array.device.id, device("cuda", array.device.id))


def xp_of(array):
    """numpy or cupy, whichever owns ``array``."""
    if type(array) is np.ndarray or isinstance(array, (np.ndarray, np.generic)):
        return np
    return cupy_module()


def xp_for(dev: device):
    return np if dev.type == "cpu" else cupy_module()


def to_device(array, dev: device):
    """Copy ``array`` to ``dev`` (no copy when it is already there)."""
    src = device_of(array)
    if src == dev:
        return array
    if dev.type == "cpu":
        return array.get()
    cp = cupy_module()
    with cp.cuda.Device(dev.index):
        return cp.asarray(array)


def on_device(dev: device):
    """A context manager that makes ``dev`` current for allocations (a no-op on the CPU)."""
    if dev.type == "cpu":
        return _NULL_CONTEXT
    return cupy_module().cuda.Device(dev.index)


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NULL_CONTEXT = _NullContext()


def scatter_add(xp, target, index, values) -> None:
    """``target[index] += values`` with repeated indices summed (numpy ``add.at``)."""
    xp.add.at(target, index, values)  # cupy >= 13 has add.at too (cupyx.scatter_add is deprecated)


def strided_view(xp, base, shape: tuple, strides: tuple, offset: int = 0):
    """A view of the C-contiguous array ``base`` with the given shape, strides and offset (both in
    elements): numpy's ``as_strided`` without its Python overhead, and cupy's equivalent."""
    item = base.dtype.itemsize
    byte_strides = tuple(s * item for s in strides)
    if xp is np:
        return np.ndarray(shape, base.dtype, buffer=base, offset=offset * item,
                          strides=byte_strides)
    return xp.ndarray(shape, base.dtype, memptr=base.data + offset * item, strides=byte_strides)


def synchronize(dev: device | None = None) -> None:
    cp = cupy_module()
    if cp is not None:
        cp.cuda.Device(0 if dev is None or dev.index is None else dev.index).synchronize()


def cuda_device_count() -> int:
    cp = cupy_module()
    return 0 if cp is None else cp.cuda.runtime.getDeviceCount()


def erf(xp, x):
    """The error function: scipy's (or cupyx's) when present, else Python's ``math.erf`` per element
    (exact, slower: nbtorch's core needs numpy only)."""
    if xp is np:
        try:
            from scipy.special import erf as scipy_erf
        except ImportError:
            import math

            return np.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype)
        return scipy_erf(x).astype(x.dtype, copy=False)
    from cupyx.scipy.special import erf as cupy_erf

    return cupy_erf(x)


def argsort_stable(xp, x, axis: int = -1):
    """Stable argsort: numpy needs ``kind='stable'``; cupy's sort is always stable and older
    versions reject the ``kind`` argument."""
    if xp is np:
        return np.argsort(x, axis=axis, kind="stable")
    return xp.argsort(x, axis=axis)


def random_state(dev: device, seed: int):
    """A CuPy random stream on GPU ``dev`` seeded with ``seed`` (Philox: cheap to create, so a
    generator can make one per draw from its (seed, offset) state, as PyTorch's CUDA RNG does)."""
    cp = cupy_module()
    with cp.cuda.Device(dev.index or 0):
        return cp.random.RandomState(seed, method=cp.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10)

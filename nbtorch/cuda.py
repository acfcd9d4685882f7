"""``torch.cuda``: what the GPU side offers (False/0 without CuPy or a GPU)."""

from __future__ import annotations

from . import backend


def is_available() -> bool:
    """True when CuPy imports and a GPU answers.

    >>> isinstance(is_available(), bool)
    True
    """
    return backend.cupy_module() is not None


def device_count() -> int:
    return backend.cuda_device_count()


def current_device() -> int:
    _require()
    return backend.cupy_module().cuda.runtime.getDevice()


def set_device(device) -> None:
    _require()
    if isinstance(device, int):
        device = f"cuda:{device}"
    index = backend.canonical_device(device).index
    backend.cupy_module().cuda.runtime.setDevice(index)


def get_device_name(device=None) -> str:
    _require()
    cp = backend.cupy_module()
    index = 0 if device is None else backend.canonical_device(
        device if not isinstance(device, int) else f"cuda:{device}").index
    props = cp.cuda.runtime.getDeviceProperties(index)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else name


def synchronize(device=None) -> None:
    _require()
    backend.synchronize(backend.canonical_device(device) if device is not None else None)


def manual_seed(seed: int) -> None:
    from .ops import random

    random.manual_seed_device("cuda", seed)


manual_seed_all = manual_seed


def _require() -> None:
    if not is_available():
        raise AssertionError("Torch not compiled with CUDA enabled")

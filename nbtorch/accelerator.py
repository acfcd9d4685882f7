"""``torch.accelerator``: the GPU if there is one."""

from __future__ import annotations

from . import backend


def is_available() -> bool:
    """True when a CUDA device can be used.

    >>> isinstance(is_available(), bool)
    True
    """
    return backend.cupy_module() is not None


def current_accelerator():
    """``device('cuda')`` when a GPU is available, else None."""
    return backend.device("cuda") if is_available() else None


def device_count() -> int:
    return backend.cuda_device_count()

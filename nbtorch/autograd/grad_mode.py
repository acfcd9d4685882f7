"""Whether operations are recorded for autograd: no_grad, enable_grad, set_grad_enabled,
inference_mode.

Each is a context manager and also a decorator, as in PyTorch.
"""

from __future__ import annotations

import functools
import inspect


class _GradState:
    __slots__ = ("enabled",)

    def __init__(self):
        self.enabled = True


GRAD = _GradState()


def is_grad_enabled() -> bool:
    """True when operations are being recorded.

    >>> is_grad_enabled()
    True
    """
    return GRAD.enabled


class _GradModeContext:
    """Base of the grad-mode context managers: sets ``GRAD.enabled`` and restores it on exit."""

    _mode: bool

    def __enter__(self):
        self._previous = GRAD.enabled
        GRAD.enabled = self._mode
        return self

    def __exit__(self, *exc):
        GRAD.enabled = self._previous
        return False

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def generator(*args, **kwargs):
                gen = func(*args, **kwargs)
                response = None
                while True:
                    with self.clone():
                        try:
                            item = gen.send(response)
                        except StopIteration as stop:
                            return stop.value
                    response = yield item

            return generator

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_GradModeContext):
    """Do not record operations inside the block (or the decorated function).

    >>> import nbtorch as torch
    >>> x = torch.ones(2, requires_grad=True)
    >>> with torch.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Record operations again inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Turn recording on or off; works as a function call, a context manager and a decorator.

    >>> import nbtorch as torch
    >>> _ = torch.set_grad_enabled(False); torch.is_grad_enabled()
    False
    >>> _ = torch.set_grad_enabled(True)
    """

    def __init__(self, mode: bool):
        self._mode = bool(mode)
        self._previous = GRAD.enabled
        GRAD.enabled = self._mode

    def __enter__(self):
        return self

    def clone(self):
        return self.__class__(self._mode)


class inference_mode(_GradModeContext):
    """Like ``no_grad``: nothing is recorded (``inference_mode(False)`` changes nothing)."""

    def __init__(self, mode: bool = True):
        self._active = bool(mode)
        self._mode = False

    def __enter__(self):
        self._previous = GRAD.enabled
        if self._active:
            GRAD.enabled = False
        return self

    def clone(self):
        return self.__class__(self._active)

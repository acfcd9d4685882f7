"""Anomaly mode: find the op whose backward first produced NaN, and the user's line that ran it.

While on, every recorded node keeps the stack of its forward call.  The engine checks each node's
gradients and raises PyTorch's error, extended with the user's source line.  The first forward op
that turned finite inputs into NaN is also remembered (``ANOMALY.first_forward_nan``) so that the
graph widget can highlight it; forward NaNs never raise, as in PyTorch.
"""

from __future__ import annotations

import os

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _AnomalyState:
    __slots__ = ("enabled", "check_nan", "first_forward_nan")

    def __init__(self):
        self.enabled = False
        self.check_nan = True
        self.first_forward_nan = None

    def check_forward(self, node, outputs) -> None:
        if self.first_forward_nan is not None:
            return
        for out in outputs:
            data = out._data
            if data.dtype.kind in "fc" and bool(node.xp.isnan(data).any()):
                self.first_forward_nan = (node.name(), user_frame(node._trace))
                node.metadata["nan_origin"] = True  # for nbtorch.viz to highlight the node
                return

    def check_gradients(self, node, grads) -> None:
        if not self.check_nan:
            return
        for i, g in enumerate(grads):
            g = getattr(g, "_data", g)  # Tensors with create_graph, raw arrays without
            if g is not None and g.dtype.kind in "fc" and bool(node.xp.isnan(g).any()):
                where = user_frame(node._trace)
                hint = f"\nThe forward call that created it: {where}" if where else ""
                raise RuntimeError(
                    f"Function '{node.name()}' returned nan values in its {i}th output.{hint}"
                )


ANOMALY = _AnomalyState()


def user_frame(stack) -> str | None:
    """``file:line: code`` of the innermost frame outside nbtorch, or None."""
    if not stack:
        return None
    for frame in reversed(stack):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            code = (frame.line or "").strip()
            return f'File "{frame.filename}", line {frame.lineno}: {code}'
    return None


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly mode on.

    >>> import nbtorch as torch
    >>> x = torch.tensor([0.0], requires_grad=True)
    >>> with torch.autograd.detect_anomaly():
    ...     y = (x.sqrt() * 0).sum()
    ...     try:
    ...         y.backward()
    ...     except RuntimeError as e:
    ...         print(str(e).splitlines()[0])
    Function 'SqrtBackward0' returned nan values in its 0th output.
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self._previous = (ANOMALY.enabled, ANOMALY.check_nan)
        ANOMALY.enabled, ANOMALY.check_nan = True, self.check_nan
        ANOMALY.first_forward_nan = None
        return self

    def __exit__(self, *exc):
        ANOMALY.enabled, ANOMALY.check_nan = self._previous
        return False

    def __call__(self, func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return func(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """Turn anomaly mode on or off (a function call, or a context manager that restores it)."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self._previous = (ANOMALY.enabled, ANOMALY.check_nan)
        ANOMALY.enabled, ANOMALY.check_nan = bool(mode), check_nan
        if mode:
            ANOMALY.first_forward_nan = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        ANOMALY.enabled, ANOMALY.check_nan = self._previous
        return False


def is_anomaly_enabled() -> bool:
    return ANOMALY.enabled

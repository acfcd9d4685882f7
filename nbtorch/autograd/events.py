"""Events the core announces, for whoever listens (the widgets in ``nbtorch.viz``).

Records are small and frozen: ids, names, shapes, dtypes, never arrays.  Emitting costs one check of
``LISTENERS`` when nobody listens, so the hot paths test ``if LISTENERS:`` before building a record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

LISTENERS: list[Callable] = []


@dataclass(frozen=True)
class NodeRecorded:
    """An op ran with autograd on and recorded a backward node."""

    node_id: int
    name: str
    input_ids: tuple
    shape: tuple
    dtype: str
    device: str
    # A weak reference to the recorded node (``node_ref()`` is the node, or None once it is
    # freed), so that nbtorch.viz can tag it; weak, so that kept events never keep graphs alive.
    node_ref: Callable | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class BackwardStep:
    """The engine applied one node's backward."""

    node_id: int
    name: str
    step: int


@dataclass(frozen=True)
class GradAccumulated:
    """A gradient was added into a leaf tensor's ``.grad``."""

    tensor_id: int
    shape: tuple
    norm: float


@dataclass(frozen=True)
class ModuleCall:
    """A module's forward was entered (``entered=True``) or left."""

    module_id: int
    path: str
    type_name: str
    entered: bool
    # A weak reference to the module (nbtorch.viz names a model's submodules from it).
    module_ref: Callable | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class OptimizerStep:
    optimizer_id: int
    step: int


class ListenerHandle:
    """Returned by ``listen``: ``.remove()`` it, or use it as a context manager."""

    def __init__(self, callback: Callable):
        self.callback = callback

    def remove(self) -> None:
        if self.callback in LISTENERS:
            LISTENERS.remove(self.callback)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def listen(callback: Callable) -> ListenerHandle:
    """Call ``callback(event)`` for every event until the handle is removed.

    >>> seen = []
    >>> with listen(seen.append):
    ...     emit(OptimizerStep(optimizer_id=1, step=1))
    >>> seen
    [OptimizerStep(optimizer_id=1, step=1)]
    """
    LISTENERS.append(callback)
    return ListenerHandle(callback)


def emit(event) -> None:
    for callback in tuple(LISTENERS):
        callback(event)

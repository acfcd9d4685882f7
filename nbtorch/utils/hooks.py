"""Removable hook handles, as ``torch.utils.hooks.RemovableHandle``."""

from __future__ import annotations

import itertools

_ids = itertools.count()


class RemovableHandle:
    """Returned by every ``register_*hook``: ``.remove()`` takes the hook out; also a context
    manager."""

    def __init__(self, table: dict):
        self.id = next(_ids)
        self._table = table

    def remove(self) -> None:
        self._table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

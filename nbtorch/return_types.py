"""Named result tuples, as ``torch.return_types``: ``torch.sort(x)`` returns a ``sort`` whose items
are also attributes (``values``, ``indices``) and which prints as PyTorch prints it.

Shared by the op families that return several tensors (sorting, reductions such as max/min/median).
"""

from __future__ import annotations

import operator


class _ReturnType(tuple):
    """A tuple with named fields, like PyTorch's ``structseq`` results.

    >>> r = sort((1, 2))
    >>> r.values, r.indices
    (1, 2)
    >>> r
    torch.return_types.sort(
    values=1,
    indices=2)
    """

    __slots__ = ()
    _fields: tuple = ()

    def __new__(cls, sequence):
        items = tuple(sequence)
        if len(items) != len(cls._fields):
            raise TypeError(f"torch.return_types.{cls.__name__} takes a "
                            f"{len(cls._fields)}-sequence ({len(items)}-sequence given)")
        return tuple.__new__(cls, items)

    def __repr__(self) -> str:
        body = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
        return f"torch.return_types.{type(self).__name__}(\n{body})"

    def __reduce__(self):
        return (type(self), (tuple(self),))


def _make(name: str, fields: tuple = ("values", "indices")) -> type:
    namespace = {"__slots__": (), "_fields": fields, "n_fields": len(fields),
                 "n_sequence_fields": len(fields), "n_unnamed_fields": 0,
                 "__module__": __name__, "__qualname__": name}
    for i, field in enumerate(fields):
        namespace[field] = property(operator.itemgetter(i), doc=f"Alias for item {i}.")
    return type(name, (_ReturnType,), namespace)


sort = _make("sort")
topk = _make("topk")
kthvalue = _make("kthvalue")
max = _make("max")  # noqa: A001 - PyTorch's name
min = _make("min")  # noqa: A001
median = _make("median")
nanmedian = _make("nanmedian")
mode = _make("mode")
cummax = _make("cummax")
cummin = _make("cummin")
aminmax = _make("aminmax", ("min", "max"))

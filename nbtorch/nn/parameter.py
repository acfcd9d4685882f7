"""``nn.Parameter`` and ``nn.Buffer``: tensors that a Module registers when they are assigned to
one of its attributes."""

from __future__ import annotations

from .._tensor import Tensor

__all__ = ["Buffer", "Parameter"]


class Parameter(Tensor):
    """A tensor that is a module parameter: assigning it to a Module attribute registers it.
    It shares memory (and the version counter) with ``data``, and is always a leaf.

    >>> import nbtorch as torch
    >>> p = torch.nn.Parameter(torch.zeros(2))
    >>> p.requires_grad, p.is_leaf, isinstance(p, torch.Tensor)
    (True, True, True)
    >>> p
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..ops.creation import empty

            data = empty(0)
        if requires_grad and data._data.dtype.kind not in "fc":
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients"
            )
        param = object.__new__(cls)
        param._data = data._data  # shares memory with ``data``, as in PyTorch
        param._requires_grad = bool(requires_grad)
        param.grad = param.grad_fn = None
        param._output_nr = 0
        param._vbox = data._vbox
        return param

    def __init__(self, data=None, requires_grad: bool = True):
        pass  # everything happens in __new__

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        # As PyTorch: a fresh Parameter on a copy of the data; the gradient is not copied.
        if id(self) in memo:
            return memo[id(self)]
        copied = type(self)(Tensor._wrap(self._data.copy()), self._requires_grad)
        memo[id(self)] = copied
        return copied


class _BufferMeta(type):
    # nn.Buffer(t) returns a plain Tensor flagged ``_is_buffer``; isinstance sees the flag.
    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, Tensor) and instance.__dict__.get("_is_buffer", False)


class Buffer(metaclass=_BufferMeta):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute; a
    non-``persistent`` buffer stays out of the state_dict.  Returns a Tensor sharing ``data``'s
    memory, as PyTorch does.

    >>> import nbtorch as torch
    >>> m = torch.nn.Module()
    >>> m.count = torch.nn.Buffer(torch.zeros(1))
    >>> list(m.state_dict())
    ['count']
    """

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            from ..ops.creation import empty

            data = empty(0)
        buf = data.detach().requires_grad_(data.requires_grad)
        buf.persistent = persistent
        buf._is_buffer = True
        return buf

"""``nn.Parameter``: a leaf tensor that a Module registers as one of its parameters."""

from __future__ import annotations

from .._tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module parameter: assigning it to a Module attribute registers it.

    >>> import nbtorch as torch
    >>> p = torch.nn.Parameter(torch.zeros(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    >>> p
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..ops.creation import empty

            data = empty(0)
        param = object.__new__(cls)
        param._data = data._data  # shares memory with ``data``, as in PyTorch
        param._requires_grad = False
        param.grad = param.grad_fn = None
        param._output_nr = 0
        param._version = data._version
        if requires_grad:
            param.requires_grad = True
        return param

    def __init__(self, data=None, requires_grad: bool = True):
        pass  # everything happens in __new__

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        copied = Parameter(Tensor._wrap(self._data.copy()), self._requires_grad)
        if self.grad is not None:
            copied.grad = Tensor._wrap(self.grad._data.copy())
        memo[id(self)] = copied
        return copied


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute."""

    def __new__(cls, data: Tensor, persistent: bool = True):
        buf = Tensor._wrap(data._data)
        buf.__dict__["_persistent"] = persistent
        return buf

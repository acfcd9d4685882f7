"""One flat vector from many parameters, and back, as ``torch.nn.utils``."""

from __future__ import annotations

from collections.abc import Iterable

from ..._tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Concatenate the flattened ``parameters`` into one vector (differentiable).

    >>> import nbtorch as torch
    >>> parameters_to_vector(torch.nn.Linear(3, 2).parameters()).shape
    torch.Size([8])
    """
    from ... import cat

    device = None
    vec = []
    for param in parameters:
        device = _check_param_device(param, device)
        vec.append(param.view(-1))
    return cat(vec)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter's data the next slice of ``vec`` (shared memory, as PyTorch).

    >>> import nbtorch as torch
    >>> layer = torch.nn.Linear(2, 1)
    >>> vector_to_parameters(torch.arange(3.0), layer.parameters())
    >>> layer.weight, layer.bias
    (Parameter containing:
    tensor([[0., 1.]], requires_grad=True), Parameter containing:
    tensor([2.], requires_grad=True))
    """
    if not isinstance(vec, Tensor):
        from ..modules.module import typename

        raise TypeError(f"expected torch.Tensor, but got: {typename(vec)}")
    device = None
    pointer = 0
    for param in parameters:
        device = _check_param_device(param, device)
        n = param.numel()
        param.data = vec[pointer:pointer + n].view_as(param).data
        pointer += n


def _check_param_device(param: Tensor, device):
    if device is None:
        return param.device
    if param.device != device:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
    return device

"""Activation functions of ``torch.nn.functional``.

The primitives (softmax, log-softmax and the pointwise activations that need their own node) live
in ``nbtorch/ops/activation.py``; relu, tanh and sigmoid are the elementwise ops.  Here are
PyTorch's signatures: ``inplace=`` (the result is written back into the input, as ``relu_`` does),
the argument checks, and the compositions (softsign, softmin, tanhshrink).
"""

from __future__ import annotations

import warnings

from ..._tensor import Tensor
from ...ops import activation as A
from ...ops import elementwise as E
from ...ops.inplace import commit

__all__ = [
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_", "celu",
    "celu_", "gelu", "silu", "mish", "softplus", "softsign", "tanh", "sigmoid", "hardtanh",
    "hardtanh_", "hardsigmoid", "hardswish", "logsigmoid", "softmax", "log_softmax", "softmin",
    "glu", "threshold", "threshold_", "tanhshrink", "prelu",
]


def _result(input: Tensor, result: Tensor, inplace: bool) -> Tensor:
    """``result``, or ``input`` overwritten with it (and taking over its history) when in place."""
    return commit(input, result) if inplace else result


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)`` elementwise.

    >>> import nbtorch as torch
    >>> torch.nn.functional.relu(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return _result(input, E.Relu.apply(input), inplace)


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``."""
    return relu(input, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)`` elementwise (PyTorch computes it as ``hardtanh(x, 0, 6)``).

    >>> import nbtorch as torch
    >>> torch.nn.functional.relu6(torch.tensor([-1.0, 3.0, 8.0]))
    tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    >>> import nbtorch as torch
    >>> torch.nn.functional.leaky_relu(torch.tensor([-2.0, 2.0]), 0.1)
    tensor([-0.2000,  2.0000])
    """
    A._float_only(input, "leaky_relu_cpu")
    return _result(input, A.LeakyRelu.apply(input, negative_slope=negative_slope), inplace)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu``."""
    return leaky_relu(input, negative_slope, inplace=True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    >>> import nbtorch as torch
    >>> torch.nn.functional.elu(torch.tensor([-1.0, 1.0]))
    tensor([-0.6321,  1.0000])
    """
    A._float_only(input, "elu_cpu")
    return _result(input, A.Elu.apply(input, alpha=alpha), inplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``elu``."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """SELU: ``scale * elu(x, alpha)`` with PyTorch's fixed ``alpha`` and ``scale``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.selu(torch.tensor([1.0]))
    tensor([1.0507])
    """
    return _result(input, A.selu(input), inplace)


def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """CELU: ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.celu(torch.tensor([-1.0, 1.0]))
    tensor([-0.6321,  1.0000])
    """
    return _result(input, A.celu(input, alpha), inplace)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``."""
    return celu(input, alpha, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU: ``x * Φ(x)`` with Φ the standard normal CDF (by ``erf``), or its ``'tanh'``
    approximation.

    >>> import nbtorch as torch
    >>> torch.nn.functional.gelu(torch.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.1587,  0.0000,  0.8413])
    """
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    A._float_only(input, "GeluKernelImpl")
    return A.Gelu.apply(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """SiLU (swish): ``x * sigmoid(x)``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.silu(torch.tensor([-1.0, 1.0]))
    tensor([-0.2689,  0.7311])
    """
    A._float_only(input, "silu_cpu")
    return _result(input, A.Silu.apply(input), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Mish: ``x * tanh(softplus(x))``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.mish(torch.tensor([-1.0, 1.0]))
    tensor([-0.3034,  0.8651])
    """
    A._float_only(input, "mish_cpu")
    return _result(input, A.Mish.apply(input), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.softplus(torch.tensor([0.0, 30.0]))
    tensor([ 0.6931, 30.0000])
    """
    A._float_only(input, "softplus_cpu")
    return A.Softplus.apply(input, beta=beta, threshold=threshold)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)`` (a composition, as in PyTorch).

    >>> import nbtorch as torch
    >>> torch.nn.functional.softsign(torch.tensor([-3.0, 1.0]))
    tensor([-0.7500,  0.5000])
    """
    return input / (input.abs() + 1)


def tanh(input: Tensor) -> Tensor:
    """``tanh(x)`` elementwise.

    >>> import nbtorch as torch
    >>> torch.nn.functional.tanh(torch.tensor([0.0]))
    tensor([0.])
    """
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))`` elementwise.

    >>> import nbtorch as torch
    >>> torch.nn.functional.sigmoid(torch.tensor([0.0]))
    tensor([0.5000])
    """
    return input.sigmoid()


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``x`` clipped to ``[min_val, max_val]`` (gradient 0 outside and at the bounds).

    >>> import nbtorch as torch
    >>> torch.nn.functional.hardtanh(torch.tensor([-2.0, 0.5, 2.0]))
    tensor([-1.0000,  0.5000,  1.0000])
    """
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _result(input, A.Hardtanh.apply(input, min_val=min_val, max_val=max_val), inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place ``hardtanh``."""
    return hardtanh(input, min_val, max_val, inplace=True)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``0`` below -3, ``1`` above 3, ``x / 6 + 1/2`` between.

    >>> import nbtorch as torch
    >>> torch.nn.functional.hardsigmoid(torch.tensor([-4.0, 0.0, 4.0]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    A._float_only(input, "hardsigmoid_cpu")
    return _result(input, A.Hardsigmoid.apply(input), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * hardsigmoid(x)``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.hardswish(torch.tensor([-4.0, 1.0, 4.0]))
    tensor([-0.0000,  0.6667,  4.0000])
    """
    A._float_only(input, "hardswish_cpu")
    return _result(input, A.Hardswish.apply(input), inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, computed without overflow for large ``|x|``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.logsigmoid(torch.tensor([-200.0, 0.0]))
    tensor([-200.0000,   -0.6931])
    """
    A._float_only(input, "log_sigmoid_cpu")
    return A.LogSigmoid.apply(input)


def _get_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """PyTorch's deprecated implicit dim: 0 for 0-, 1- and 3-d inputs, else 1 (with a warning)."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Softmax along ``dim``: ``exp(x) / sum(exp(x))`` over each slice, computed stably.

    >>> import nbtorch as torch
    >>> torch.nn.functional.softmax(torch.tensor([[0.0, 0.0]]), dim=1)
    tensor([[0.5000, 0.5000]])
    """
    if dim is None:
        dim = _get_softmax_dim("softmax", input.dim(), _stacklevel)
    return A.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed in one stable step.

    >>> import nbtorch as torch
    >>> torch.nn.functional.log_softmax(torch.tensor([0.0, 0.0]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.dim(), _stacklevel)
    return A.log_softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x)`` along ``dim``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.softmin(torch.tensor([0.0, 1.0]), dim=0)
    tensor([0.7311, 0.2689])
    """
    if dim is None:
        dim = _get_softmax_dim("softmin", input.dim(), _stacklevel)
    return A.softmax(-input, dim, dtype=dtype)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` where ``a`` and ``b`` are the halves of ``input`` along
    ``dim``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.glu(torch.tensor([2.0, 0.0]))
    tensor([1.])
    """
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    from ..._tensor import _wrap_dim

    dim = _wrap_dim(dim, input.dim())
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size "
                           f"{input.shape[dim]}")
    A._float_only(input, "glu_cpu")
    return A.Glu.apply(input, dim=dim)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.threshold(torch.tensor([0.5, 2.0]), 1.0, 0.0)
    tensor([0., 2.])
    """
    return _result(input, A.threshold(input, threshold, value), inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place ``threshold``."""
    return _result(input, A.threshold(input, threshold, value), True)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.tanhshrink(torch.tensor([0.0]))
    tensor([0.])
    """
    return input - input.tanh()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where positive, ``weight * x`` elsewhere; a 1-d ``weight`` applies per channel
    (dim 1).

    >>> import nbtorch as torch
    >>> torch.nn.functional.prelu(torch.tensor([-2.0, 2.0]), torch.tensor([0.25]))
    tensor([-0.5000,  2.0000])
    """
    if weight.dim() == 1 and weight.numel() > 1:
        channels = input.shape[1] if input.dim() >= 2 else 1
        if weight.numel() != channels:
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                f"{weight.numel()} and channel size = {channels}.")
        weight = weight.reshape((channels,) + (1,) * (input.dim() - 2))
    return E.where(input > 0, input, weight * input)

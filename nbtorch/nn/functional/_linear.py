"""``linear`` and ``bilinear``: the affine maps behind ``nn.Linear`` and ``nn.Bilinear``."""

from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.function import Op
from ...ops.linalg import _need_tensor

__all__ = ["bilinear", "linear"]


# NOTE: a fused primitive for speed: ``x @ Wᵀ + b`` as one node, one GEMM forward and two GEMMs
# plus a column sum backward.  Composed from matmul, t and add it records three nodes and
# materialises the broadcast bias gradient before reducing it; the MLP training step is about 10%
# faster fused.  PyTorch's CPU kernel is addmm too, whose node name it shows.
def _linear_forward(ctx, x, w, b):
    needs = ctx.needs_input_grad
    if needs:
        ctx.save_for_backward(x if needs[1] else None, w if needs[0] else None)
        ctx.x_shape = x.shape
    x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])  # fold batch dims into one GEMM
    y = ctx.xp.matmul(x2, w.T)
    if b is not None:
        y += b  # y is fresh: add in place
    return y if x.ndim == 2 else y.reshape(x.shape[:-1] + (w.shape[0],))


def _linear_backward(ctx, g):
    x, w = ctx.saved_tensors
    needs = ctx.needs_input_grad
    xp = ctx.xp
    g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
    gx = gw = gb = None
    if needs[0]:
        gx = xp.matmul(g2, w)
        if len(ctx.x_shape) != 2:
            gx = gx.reshape(ctx.x_shape)
    if needs[1]:
        gw = xp.matmul(g2.T, x if x.ndim == 2 else x.reshape(-1, x.shape[-1]))
    if len(needs) > 2 and needs[2]:
        gb = xp.sum(g2, axis=0)
    return gx, gw, gb


class Linear(Op):
    """Linear: y = x Wᵀ + b; dL/dx = g W, dL/dW = gᵀ x, dL/db = Σ_rows g"""

    _backward_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, x, w, b):
        return _linear_forward(ctx, x, w, b)

    @staticmethod
    def backward(ctx, g):
        return _linear_backward(ctx, g)


class LinearNoBias(Op):
    """LinearNoBias: y = x Wᵀ; dL/dx = g W, dL/dW = gᵀ x"""

    _backward_name = "MmBackward0"

    @staticmethod
    def forward(ctx, x, w):
        return _linear_forward(ctx, x, w, None)

    @staticmethod
    def backward(ctx, g):
        return _linear_backward(ctx, g)[:2]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``: the affine map of ``nn.Linear`` (weight is out x in).

    >>> import nbtorch as torch
    >>> x, w = torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    >>> torch.nn.functional.linear(x, w, torch.tensor([0.5, 0.0]))
    tensor([[3.5000, 2.0000]])
    """
    _need_tensor("linear", "input", 1, input)
    _need_tensor("linear", "weight", 2, weight)
    if bias is not None:
        _need_tensor("linear", "bias", 3, bias)
    x, w = input._data, weight._data
    if w.ndim == 2 and x.ndim >= 1 and x.dtype == w.dtype and x.dtype.kind == "f" and (
            bias is None or (bias._data.shape == w.shape[:1] and bias._data.dtype == w.dtype)):
        if x.shape[-1] != w.shape[1]:
            rows = x.size // x.shape[-1] if x.shape[-1] else _prod(x.shape[:-1])
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} "
                               f"and {w.shape[1]}x{w.shape[0]})")
        if bias is None:
            return LinearNoBias.apply(input, weight)
        return Linear.apply(input, weight, bias)
    return _linear_composed(input, weight, bias)


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _linear_composed(input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """The general case (broadcast biases, integer or mixed dtypes), with PyTorch's errors."""
    from ...ops.linalg import addmm, matmul

    if input.dim() == 0 or weight.dim() == 0:
        raise RuntimeError("both arguments to linear need to be at least 1D, but they are "
                           f"{input.dim()}D and {weight.dim()}D")
    weight_t = weight.t()
    if bias is not None and input.dim() == 2:
        return addmm(bias, input, weight_t)
    if bias is not None and input.dim() == 3 and bias.dim() <= 2 and weight.dim() == 2:
        out = addmm(bias, input.reshape(-1, input.shape[-1]), weight_t)
        return out.reshape(*input.shape[:-1], out.shape[-1])
    out = matmul(input, weight_t)
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_k = x1ᵀ W_k x2 + b_k`` for each output feature k (weight is out x in1 x in2).

    >>> import nbtorch as torch
    >>> w = torch.ones(1, 2, 3)
    >>> torch.nn.functional.bilinear(torch.ones(4, 2), torch.ones(4, 3), w).shape
    torch.Size([4, 1])
    """
    from ...ops.linalg import einsum

    _need_tensor("bilinear", "input1", 1, input1)
    _need_tensor("bilinear", "input2", 2, input2)
    _need_tensor("bilinear", "weight", 3, weight)
    if input1.dim() != input2.dim():
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.dim()} and "
                           f"{input2.dim()}")
    for dim in range(input1.dim() - 1):
        if input1.shape[dim] != input2.shape[dim]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {dim}: "
                               f"got {input1.shape[dim]} and {input2.shape[dim]}")
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {weight.shape[1]}")
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {weight.shape[2]}")
    out = einsum("...i,kij,...j->...k", input1, weight, input2)
    return out if bias is None else out + bias

"""``linear`` and ``bilinear``: the affine maps behind ``nn.Linear`` and ``nn.Bilinear``."""

from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.function import Op
from ...ops.linalg import _need_tensor
from ...ops.shape import t

__all__ = ["bilinear", "linear"]


# NOTE: a fused primitive for speed: ``x @ Wᵀ + b`` as one node, one GEMM forward and two GEMMs
# plus a column sum backward (composed from matmul and add it materialises the broadcast bias
# gradient before reducing it; the MLP training step is about 10% faster fused).  Its operands are
# PyTorch's, in PyTorch's order: addmm(b, x, Wᵀ) with Wᵀ a real ``t()`` node, so the graph shows
# AddmmBackward0 -> (bias, input, TBackward0 -> weight), as PyTorch's does.
def _affine(ctx, b, x, wt):
    needs = ctx.needs_input_grad
    if needs:
        ctx.save_for_backward(x if needs[-1] else None, wt if needs[-2] else None)
    y = ctx.xp.matmul(x, wt)
    if b is not None:
        y += b  # y is fresh: add in place
    return y


def _affine_backward(ctx, g):
    """(gx, gWᵀ, gb) for the operands that need them."""
    x, wt = ctx.saved_tensors
    needs = ctx.needs_input_grad
    xp = ctx.xp
    gx = xp.matmul(g, wt.T) if needs[-2] else None
    # (gᵀ x)ᵀ: the weight's gradient is made in the weight's own layout, and the t() node hands
    # that contiguous array on (see shape._TransposeT.backward), so no copy is needed.
    gwt = xp.matmul(g.T, x).T if needs[-1] else None
    gb = xp.sum(g, axis=0) if len(needs) == 3 and needs[0] else None
    return gx, gwt, gb


class Linear(Op):
    """Linear: y = b + x Wᵀ (addmm); dL/db = Σ_rows g, dL/dx = g W, dL/dWᵀ = xᵀ g"""

    _backward_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, b, x, wt):
        return _affine(ctx, b, x, wt)

    @staticmethod
    def backward(ctx, g):
        gx, gwt, gb = _affine_backward(ctx, g)
        return gb, gx, gwt


class LinearNoBias(Op):
    """LinearNoBias: y = x Wᵀ (mm); dL/dx = g W, dL/dWᵀ = xᵀ g"""

    _backward_name = "MmBackward0"

    @staticmethod
    def forward(ctx, x, wt):
        return _affine(ctx, None, x, wt)

    @staticmethod
    def backward(ctx, g):
        return _affine_backward(ctx, g)[:2]


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
        wt = t(weight)
        x2 = input if x.ndim == 2 else input.reshape(-1, x.shape[-1])  # batch dims into one GEMM
        out = LinearNoBias.apply(x2, wt) if bias is None else Linear.apply(bias, x2, wt)
        return out if x.ndim == 2 else out.view(*x.shape[:-1], w.shape[0])
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

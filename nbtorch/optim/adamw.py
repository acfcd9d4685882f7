"""AdamW, as ``torch.optim.AdamW``: Adam with decoupled weight decay."""

from __future__ import annotations

from .._tensor import Tensor
from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""AdamW, as ``torch.optim.AdamW``: the weight decay shrinks θ directly instead of being
    added to the gradient, so it never enters the moment estimates.

    At step t, for every parameter θ whose gradient g = ∇f(θ) is set (lr γ, betas β₁ β₂,
    weight decay λ, eps ε)::

        g ← -g                                  if maximize
        θ ← θ(1 - γλ)
        m ← lerp(m, g, 1 - β₁)     = β₁m + (1 - β₁)g
        v ← β₂v + (1 - β₂)g²
        v̂ ← max(v̂, v)                          if amsgrad (then v̂ replaces v below)
        denom ← √v / √(1 - β₂ᵗ) + ε
        θ ← θ - γ/(1 - β₁ᵗ) · m / denom

    State: ``step``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq``), as Adam's.

    >>> import nbtorch as torch
    >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    >>> opt = torch.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w ** 2).sum().backward(); opt.step()
    >>> w   # θ(1 - 0.05), then the Adam step of ±0.1
    Parameter containing:
    tensor([ 0.8500, -1.8000], requires_grad=True)
    """

    def __init__(self, params, lr: float | Tensor = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True

"""Adam, as ``torch.optim.Adam`` (AdamW is Adam with ``decoupled_weight_decay=True``)."""

from __future__ import annotations

from .. import backend
from .._tensor import Tensor
from .optimizer import Optimizer, array_of, step_counter, zeros_like

__all__ = ["Adam"]


class Adam(Optimizer):
    r"""Adam, as ``torch.optim.Adam``.

    At step t, for every parameter θ whose gradient g = ∇f(θ) is set (lr γ, betas β₁ β₂,
    weight decay λ, eps ε)::

        g ← -g                                  if maximize
        θ ← θ(1 - γλ)                           if λ ≠ 0 and decoupled_weight_decay (AdamW)
        g ← g + λθ                              if λ ≠ 0 otherwise
        m ← lerp(m, g, 1 - β₁)     = β₁m + (1 - β₁)g
        v ← β₂v + (1 - β₂)g²
        v̂ ← max(v̂, v)                          if amsgrad (then v̂ replaces v below)
        denom ← √v / √(1 - β₂ᵗ) + ε
        θ ← θ - γ/(1 - β₁ᵗ) · m / denom

    State: ``step`` (t, a 0-d float tensor), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with
    amsgrad, ``max_exp_avg_sq`` (v̂).  The arithmetic is PyTorch's single-tensor implementation,
    operation for operation, so float32 results agree with PyTorch's to rounding.

    >>> import nbtorch as torch
    >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    >>> opt = torch.optim.Adam([w], lr=0.1)
    >>> (w ** 2).sum().backward(); opt.step()
    >>> w   # the first Adam step moves each weight by lr against its gradient's sign
    Parameter containing:
    tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    def __init__(self, params, lr: float | Tensor = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not (isinstance(betas[0], float) and isinstance(betas[1], float)
                or isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor)):
            raise ValueError("betas must be either both floats or both Tensors")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._upgrade_state((("amsgrad", False), ("maximize", False), ("foreach", None),
                             ("capturable", False), ("differentiable", False),
                             ("decoupled_weight_decay", False), ("fused", None)))

    def step(self, closure=None):
        """Update every parameter that has a gradient once; returns ``closure()``'s loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            # Python floats (also for tensor or numpy hyperparameters): float32 stays float32
            lr, eps = float(group["lr"]), float(group["eps"])
            beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
            weight_decay, amsgrad = float(group["weight_decay"]), group["amsgrad"]
            decoupled, maximize = group["decoupled_weight_decay"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = step_counter()
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = zeros_like(p)
                param, grad = array_of(p), array_of(p.grad)
                m, v = array_of(state["exp_avg"]), array_of(state["exp_avg_sq"])
                xp = backend.xp_of(param)
                if maximize:
                    grad = xp.negative(grad)
                step_t = state["step"]._data
                step_t += 1
                step = float(step_t)
                if weight_decay != 0:
                    if decoupled:
                        xp.multiply(param, 1 - lr * weight_decay, out=param)
                    else:
                        grad = grad + param * weight_decay
                tmp = xp.empty_like(param)
                lerp_(xp, m, grad, 1 - beta1, tmp)
                # v.mul_(β₂).addcmul_(g, g, value=1 - β₂): v + ((1 - β₂)·g)·g
                xp.multiply(v, beta2, out=v)
                xp.multiply(grad, 1 - beta2, out=tmp)
                xp.multiply(tmp, grad, out=tmp)
                xp.add(v, tmp, out=v)
                if amsgrad:
                    v_max = array_of(state["max_exp_avg_sq"])
                    xp.maximum(v_max, v, out=v_max)
                    v = v_max
                step_size = lr / (1 - beta1 ** step)
                denom = xp.sqrt(v)
                xp.divide(denom, (1 - beta2 ** step) ** 0.5, out=denom)
                xp.add(denom, eps, out=denom)
                # θ.addcdiv_(m, denom, value=-step_size): θ + (-step_size·m) / denom
                xp.multiply(m, -step_size, out=tmp)
                xp.divide(tmp, denom, out=tmp)
                xp.add(param, tmp, out=param)
                p._vbox[0] += 1
        return loss


def lerp_(xp, start, end, weight: float, tmp) -> None:
    """``start.lerp_(end, weight)`` in PyTorch's two forms: ``start + w(end - start)`` for small
    weights, ``end - (end - start)(1 - w)`` otherwise (exact at w = 1).  ``tmp`` is scratch."""
    xp.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        xp.multiply(tmp, weight, out=tmp)
        xp.add(start, tmp, out=start)
    else:
        # PyTorch rounds the weight to the tensor's dtype before taking 1 - w.
        xp.multiply(tmp, float(1 - start.dtype.type(weight)), out=tmp)
        xp.subtract(end, tmp, out=start)

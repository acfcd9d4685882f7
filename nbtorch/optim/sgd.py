"""Stochastic gradient descent, with optional momentum, as ``torch.optim.SGD``."""

from __future__ import annotations

from .. import backend
from .._tensor import Tensor
from .optimizer import Optimizer, array_of

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    At each step, for every parameter θ whose gradient g = ∇f(θ) is set (lr γ, momentum μ,
    dampening τ, weight decay λ)::

        g ← -g                        if maximize
        g ← g + λθ                    if λ ≠ 0
        if μ ≠ 0:
            b ← g                     at the parameter's first step
            b ← μb + (1 - τ)g         afterwards
            g ← g + μb                if nesterov, else g ← b
        θ ← θ - γg

    State: ``momentum_buffer`` (b), only when μ ≠ 0.

    >>> import nbtorch as torch
    >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    >>> opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w ** 2).sum().backward()   # g = 2w
    ...     opt.step()
    >>> w
    Parameter containing:
    tensor([ 0.4600, -0.9200], requires_grad=True)
    """

    def __init__(self, params, lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def step(self, closure=None):
        """Update every parameter that has a gradient once; returns ``closure()``'s loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            # Python floats (also for tensor or numpy hyperparameters): float32 stays float32
            lr, weight_decay = float(group["lr"]), float(group["weight_decay"])
            momentum, dampening = float(group["momentum"]), float(group["dampening"])
            nesterov, maximize = group["nesterov"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                param, grad = array_of(p), array_of(p.grad)
                xp = backend.xp_of(param)
                if maximize:
                    grad = xp.negative(grad)
                if weight_decay != 0:
                    grad = grad + param * weight_decay
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        b = grad.copy()
                        state["momentum_buffer"] = Tensor._wrap(b.reshape(p._data.shape))
                    else:
                        b = array_of(buf)
                        xp.multiply(b, momentum, out=b)
                        if dampening != 0:
                            xp.add(b, grad * (1 - dampening), out=b)
                        else:
                            xp.add(b, grad, out=b)
                    grad = grad + b * momentum if nesterov else b
                xp.subtract(param, grad * lr, out=param)
                p._vbox[0] += 1
        return loss

"""RMSprop, as ``torch.optim.RMSprop``."""

from __future__ import annotations

from .. import backend
from .._tensor import Tensor
from .adam import lerp_
from .optimizer import Optimizer, array_of, step_counter, zeros_like

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, as ``torch.optim.RMSprop``.

    At each step, for every parameter θ whose gradient g = ∇f(θ) is set (lr γ, smoothing α,
    eps ε, weight decay λ, momentum μ)::

        g ← -g                                  if maximize
        g ← g + λθ                              if λ ≠ 0
        v ← αv + (1 - α)g²
        if centered:
            ḡ ← lerp(ḡ, g, 1 - α)    = αḡ + (1 - α)g
            avg ← √(v - ḡ²) + ε
        else:
            avg ← √v + ε
        if μ > 0:
            b ← μb + g / avg
            θ ← θ - γb
        else:
            θ ← θ - γ g / avg

    State: ``step``, ``square_avg`` (v), ``momentum_buffer`` (b, when μ > 0) and ``grad_avg``
    (ḡ, when centered).

    >>> import nbtorch as torch
    >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    >>> opt = torch.optim.RMSprop([w], lr=0.01)
    >>> (w ** 2).sum().backward(); opt.step()
    >>> w   # the first step is γ·g/√((1-α)g²) = γ/√0.01 = 0.1 against the gradient's sign
    Parameter containing:
    tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    def __init__(self, params, lr: float | Tensor = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "capturable": capturable,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._upgrade_state((("momentum", 0), ("centered", False), ("foreach", None),
                             ("maximize", False), ("differentiable", False),
                             ("capturable", False)))

    def step(self, closure=None):
        """Update every parameter that has a gradient once; returns ``closure()``'s loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            # Python floats (also for tensor or numpy hyperparameters): float32 stays float32
            lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
            weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
            centered, maximize = group["centered"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = step_counter()
                    state["square_avg"] = zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = zeros_like(p)
                    if centered:
                        state["grad_avg"] = zeros_like(p)
                param, grad = array_of(p), array_of(p.grad)
                v = array_of(state["square_avg"])
                xp = backend.xp_of(param)
                if maximize:
                    grad = xp.negative(grad)
                state["step"]._data += 1
                if weight_decay != 0:
                    grad = grad + param * weight_decay
                # v.mul_(α).addcmul_(g, g, value=1 - α): v + ((1 - α)·g)·g
                tmp = grad * (1 - alpha)
                xp.multiply(tmp, grad, out=tmp)
                xp.multiply(v, alpha, out=v)
                xp.add(v, tmp, out=v)
                if centered:
                    g_avg = array_of(state["grad_avg"])
                    lerp_(xp, g_avg, grad, 1 - alpha, tmp)
                    avg = g_avg * g_avg
                    xp.subtract(v, avg, out=avg)
                    xp.sqrt(avg, out=avg)
                else:
                    avg = xp.sqrt(v)
                xp.add(avg, eps, out=avg)
                if momentum > 0:
                    buf = array_of(state["momentum_buffer"])
                    xp.multiply(buf, momentum, out=buf)
                    xp.divide(grad, avg, out=tmp)
                    xp.add(buf, tmp, out=buf)
                    xp.multiply(buf, lr, out=tmp)
                    xp.subtract(param, tmp, out=param)
                else:
                    # θ.addcdiv_(g, avg, value=-γ): θ + (-γ·g) / avg
                    xp.multiply(grad, -lr, out=tmp)
                    xp.divide(tmp, avg, out=tmp)
                    xp.add(param, tmp, out=param)
                p._vbox[0] += 1
        return loss

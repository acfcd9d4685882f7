"""Adagrad, as ``torch.optim.Adagrad``."""

from __future__ import annotations

from .. import backend
from .._tensor import Tensor
from .optimizer import Optimizer, array_of, step_counter, zeros_like

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad, as ``torch.optim.Adagrad``.

    At step t, for every parameter θ whose gradient g = ∇f(θ) is set (lr γ, lr decay η,
    weight decay λ, eps ε; the sum s starts at ``initial_accumulator_value``)::

        g ← -g                                  if maximize
        g ← g + λθ                              if λ ≠ 0
        γ̃ ← γ / (1 + (t - 1)η)
        s ← s + g²
        θ ← θ - γ̃ g / (√s + ε)

    State: ``step`` (t) and ``sum`` (s), made for every parameter when the optimizer is built
    (PyTorch does the same), and lazily for groups added later.

    >>> import nbtorch as torch
    >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    >>> opt = torch.optim.Adagrad([w], lr=0.1)
    >>> (w ** 2).sum().backward(); opt.step()
    >>> w   # the first step is γ·g/√(g²) = γ against the gradient's sign
    Parameter containing:
    tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    def __init__(self, params, lr: float | Tensor = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, initial_accumulator_value)

    def _init_state(self, p: Tensor, initial_accumulator_value: float) -> None:
        state = self.state[p]
        state["step"] = step_counter()
        state["sum"] = zeros_like(p, fill=initial_accumulator_value)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._upgrade_state((("foreach", None), ("maximize", False), ("differentiable", False),
                             ("fused", None)))

    def step(self, closure=None):
        """Update every parameter that has a gradient once; returns ``closure()``'s loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            # Python floats (also for tensor or numpy hyperparameters): float32 stays float32
            lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
            weight_decay, maximize = float(group["weight_decay"]), group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:  # a group added after construction
                    self._init_state(p, self.defaults["initial_accumulator_value"])
                param, grad = array_of(p), array_of(p.grad)
                s = array_of(state["sum"])
                xp = backend.xp_of(param)
                step_t = state["step"]._data
                step_t += 1
                step = float(step_t)
                if maximize:
                    grad = xp.negative(grad)
                if weight_decay != 0:
                    grad = grad + param * weight_decay
                clr = lr / (1 + (step - 1) * lr_decay)
                tmp = grad * grad
                xp.add(s, tmp, out=s)
                std = xp.sqrt(s)
                xp.add(std, eps, out=std)
                # θ.addcdiv_(g, std, value=-clr): θ + (-clr·g) / std
                xp.multiply(grad, -clr, out=tmp)
                xp.divide(tmp, std, out=tmp)
                xp.add(param, tmp, out=param)
                p._vbox[0] += 1
        return loss

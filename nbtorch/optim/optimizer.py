"""The base class of every optimizer, as ``torch.optim.Optimizer``.

An optimizer holds ``param_groups`` (a list of dicts: the tensors under ``"params"`` and that
group's hyperparameters) and ``state`` (a dict from each parameter to its own buffers, created
lazily at its first step).  Subclasses implement ``step()``; this class does the bookkeeping:
groups and their defaults, ``zero_grad``, ``state_dict``/``load_state_dict`` in PyTorch's format,
hooks, and the ``OptimizerStep`` event for whoever listens (``nbtorch.autograd.events``).

The update rules work on the raw arrays (``p._data``, ``p.grad._data``) with in-place numpy/cupy
operations, so autograd never records them: that is PyTorch's ``no_grad`` for free.
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from itertools import chain
from typing import Any

import numpy as np

from .. import _dtype, backend
from .._tensor import Tensor
from ..autograd import events
from ..autograd.grad_mode import enable_grad
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]


class _RequiredParameter:
    """Marks a hyperparameter that every parameter group must give (no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

_global_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
_global_post_hooks: OrderedDict[int, Callable] = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` before every optimizer's ``step``."""
    handle = RemovableHandle(_global_pre_hooks)
    _global_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` after every optimizer's ``step``."""
    handle = RemovableHandle(_global_post_hooks)
    _global_post_hooks[handle.id] = hook
    return handle


def _hooked(step: Callable) -> Callable:
    """Wrap a subclass's ``step``: hooks before and after, then the ``OptimizerStep`` event."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if self._in_step:  # a subclass's step calling super().step(): hooks and events run once
            return step(self, *args, **kwargs)
        if _global_pre_hooks or self._optimizer_step_pre_hooks:
            for hook in (*_global_pre_hooks.values(), *self._optimizer_step_pre_hooks.values()):
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(f"{step} must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
                    args, kwargs = result
        self._in_step = True
        try:
            out = step(self, *args, **kwargs)
        finally:
            self._in_step = False
        self._opt_called = True  # read by the LR schedulers' call-order warning
        self._steps_taken += 1
        if self._optimizer_step_post_hooks or _global_post_hooks:
            for hook in (*self._optimizer_step_post_hooks.values(), *_global_post_hooks.values()):
                hook(self, args, kwargs)
        if events.LISTENERS:
            events.emit(events.OptimizerStep(optimizer_id=id(self), step=self._steps_taken))
        return out

    wrapper.hooked = True
    return wrapper


def _typename(obj) -> str:
    """``torch.typename``: ``torch.FloatTensor`` for tensors, the qualified type name otherwise."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    module = cls.__module__
    return cls.__qualname__ if module in ("", "builtins") else f"{module}.{cls.__qualname__}"


def _scalar_dtype():
    """The dtype of a ``step`` counter: float64 if that is the default dtype, else float32."""
    return np.float64 if _dtype.get_default_dtype() is _dtype.float64 else np.float32


def step_counter(value: float = 0.0) -> Tensor:
    """A fresh ``state['step']``: a 0-d float tensor on the CPU, as PyTorch keeps it."""
    return Tensor._wrap(np.array(value, dtype=_scalar_dtype()))


def zeros_like(param: Tensor, fill: float = 0.0) -> Tensor:
    """A state buffer shaped like ``param``: same dtype, device and layout."""
    data = param._data
    xp = backend.xp_of(data)
    with backend.on_device(param.device):
        return Tensor._wrap(xp.full_like(data, fill) if fill else xp.zeros_like(data))


def array_of(t: Tensor):
    """``t``'s array for in-place updates: a 1-element view when ``t`` is 0-d, because numpy
    turns 0-d results into scalars, which cannot be written in place."""
    data = t._data
    return data if data.ndim else data.reshape(1)


def to_scalar(x):
    """A hyperparameter as a Python number (a one-element tensor lr is allowed, as in PyTorch)."""
    return x.item() if isinstance(x, Tensor) else x


class Optimizer:
    r"""Base class of all optimizers, as ``torch.optim.Optimizer``.

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (parameter
    groups: ``{"params": [...], "lr": 0.1, ...}``); ``defaults`` fills every option a group does
    not set.  Parameters whose ``.grad`` is None are skipped by ``step()``.

    >>> import nbtorch as torch
    >>> w = torch.nn.Parameter(torch.ones(2))
    >>> opt = torch.optim.SGD([{"params": [w], "lr": 0.5}], lr=0.1)
    >>> opt.param_groups[0]["lr"], opt.defaults["lr"]
    (0.5, 0.1)
    >>> (w * w).sum().backward(); opt.step(); w
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    _in_step = False
    _steps_taken = 0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "hooked", False):
            cls.step = _hooked(step)

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state: defaultdict[Tensor, dict] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            self.__dict__.setdefault(name, OrderedDict())
        self.defaults.setdefault("differentiable", False)

    def _upgrade_state(self, group_defaults: tuple) -> None:
        """After ``__setstate__``: fill options that older state dicts lack, and turn an old
        plain-number ``step`` into the float tensor PyTorch keeps."""
        from .._tensor import Tensor

        for group in self.param_groups:
            for key, default in group_defaults:
                group.setdefault(key, default)
        for p_state in self.state.values():
            if p_state and "step" in p_state and not isinstance(p_state["step"], Tensor):
                p_state["step"] = step_counter(float(p_state["step"]))

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # --- parameter groups ------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own options) to ``param_groups``.

        >>> import nbtorch as torch
        >>> a, b = torch.nn.Parameter(torch.ones(1)), torch.nn.Parameter(torch.ones(1))
        >>> opt = torch.optim.SGD([a], lr=0.1)
        >>> opt.add_param_group({"params": b, "lr": 0.01})
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.01]
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        tensors, names = [], []
        for param in params:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = names

        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not self.defaults.get("differentiable", None) and not (
                    param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        if len(tensors) != len(set(tensors)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen: set = set()
        for group in self.param_groups:
            seen.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # --- stepping ---------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (set ``.grad`` to None, or fill it with zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if grad.grad_fn is not None:
                        grad.detach_()
                    else:
                        grad.requires_grad_(False)
                    grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None):
        """Update the parameters once (subclasses implement it); returns ``closure()``'s loss."""
        raise NotImplementedError

    @staticmethod
    def _evaluate(closure):
        """Run the closure (which re-computes the loss and its gradients) with grad enabled."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # --- state dicts ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's format: ``{"state": {index: {...}}, "param_groups":
        [{..., "params": [indices]}]}``, parameters numbered in order across the groups.

        >>> import nbtorch as torch
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> w.sum().backward(); opt.step()
        >>> opt.state_dict()["state"]
        {0: {'momentum_buffer': tensor([1., 1.])}}
        """
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        index: dict[int, int] = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            index.update({id(p): i for i, p in enumerate(group["params"], start)
                          if id(p) not in index})
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        state_dict = {"state": state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()``: groups' options, and each parameter's state (tensors are
        copied to the parameter's device, floating ones cast to its dtype; ``step`` is kept)."""
        state_dict = state_dict.copy()
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group "
                             "that doesn't match the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        saved_param_groups = state_dict["param_groups"]

        def cast(param, value, param_id=None, key=None):
            if isinstance(value, Tensor):
                return _copy_for(param, value, param_id, saved_param_groups, key)
            if isinstance(value, dict):
                return {k: cast(param, v, param_id, k) for k, v in value.items()}
            if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
                return type(value)(cast(param, v, param_id) for v in value)
            return value

        state: defaultdict[Any, dict] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v, param_id=k)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        self.__setstate__({"state": state,
                           "param_groups": [update_group(g, s) for g, s in zip(groups,
                                                                                saved_groups)]})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    # --- hooks ------------------------------------------------------------------------------------
    @staticmethod
    def _register(table: OrderedDict, hook: Callable, prepend: bool = False) -> RemovableHandle:
        handle = RemovableHandle(table)
        table[handle.id] = hook
        if prepend:
            table.move_to_end(handle.id, last=False)
        return handle

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each ``step``; it may return new
        ``(args, kwargs)``."""
        return self._register(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``."""
        return self._register(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)


def _copy_for(param: Tensor, value: Tensor, param_id, param_groups, key) -> Tensor:
    """A loaded state tensor, as the optimizer will own it: a copy on ``param``'s device, cast to
    ``param``'s dtype when both are floating.  ``step`` keeps its dtype and stays where it is,
    except for fused/capturable groups, which keep it as float32 next to the parameter."""
    # NOTE: PyTorch aliases the loaded tensor when nothing needs casting; copying means two
    # optimizers loaded from one state dict never update each other's buffers.
    group = next((g for g in param_groups if param_id in g["params"]), {})
    data = value._data
    if key == "step":
        if group.get("fused") or group.get("capturable"):
            return Tensor._wrap(backend.to_device(data, param.device).astype(np.float32))
        return Tensor._wrap(data.copy())
    data = backend.to_device(data, param.device)
    if param.is_floating_point():
        return Tensor._wrap(data.astype(param._data.dtype))  # astype always copies
    return Tensor._wrap(data.copy())

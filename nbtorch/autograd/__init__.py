"""Automatic differentiation, as ``torch.autograd``."""

from __future__ import annotations

from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import Step, backward_steps, run_backward
from .function import Function, Node
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck

__all__ = [
    "Function", "Node", "Step", "backward", "backward_steps", "detect_anomaly", "enable_grad",
    "grad", "gradcheck", "gradgradcheck", "inference_mode", "is_anomaly_enabled", "is_grad_enabled",
    "no_grad", "set_detect_anomaly", "set_grad_enabled",
]


def _as_tuple(x):
    if x is None:
        return None
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _make_grads(outputs, grad_outputs, is_grads_batched=False):
    from .._tensor import Tensor
    from ..ops.creation import ones_like

    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None else None
        if g is None:
            if not out._requires_grad:
                raise RuntimeError(
                    f"element {i} of tensors does not require grad and does not have a grad_fn"
                )
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if out._data.dtype.kind not in "fc":
                raise RuntimeError(
                    f"grad can be implicitly created only for real scalar outputs but got "
                    f"{out.dtype}"
                )
            g = ones_like(out)
        elif not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
        elif g.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                f"has a shape of {out.shape}."
            )
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the graph's leaves.

    >>> import nbtorch as torch
    >>> x = torch.tensor(3.0, requires_grad=True)
    >>> torch.autograd.backward(x * x); x.grad
    tensor(6.)
    """
    tensors = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors)
    if grad_tensors is not None and len(grad_tensors) != len(tensors):
        raise RuntimeError(
            f"got {len(grad_tensors)} tensors and {len(tensors)} gradients"
        )
    grads = _make_grads(tensors, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    run_backward(tensors, grads, retain_graph, create_graph, inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """Return the gradients of ``outputs`` with respect to ``inputs`` (nothing goes to ``.grad``).

    >>> import nbtorch as torch
    >>> x = torch.tensor(2.0, requires_grad=True)
    >>> (dy,) = torch.autograd.grad(x ** 3, x, create_graph=True)
    >>> dy, torch.autograd.grad(dy, x)[0]
    (tensor(12., grad_fn=<MulBackward0>), tensor(12.))
    """
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    grad_outputs = _as_tuple(grad_outputs)
    if grad_outputs is not None and len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"grad requires one grad_output per output ({len(grad_outputs)} given, "
            f"{len(outputs)} outputs)"
        )
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if allow_unused is None:
        allow_unused = materialize_grads
    grads = _make_grads(outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, grads, retain_graph, create_graph, inputs, accumulate=False)
    out = []
    for k, (t, g) in enumerate(zip(inputs, result)):
        if g is None:
            if materialize_grads:
                from ..ops.creation import zeros_like

                g = zeros_like(t)
            elif not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {k} appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
        elif not create_graph:
            g = g.detach()
        out.append(g)
    return tuple(out)


def __getattr__(name):
    if name == "graph":
        # import_module, not ``from . import graph``: that would look the name up here again.
        import importlib

        return importlib.import_module(f"{__name__}.graph")
    raise AttributeError(f"module 'nbtorch.autograd' has no attribute '{name}'")

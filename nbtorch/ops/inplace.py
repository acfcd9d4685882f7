"""In-place ops: the result is computed out of place (recorded by autograd), written into the
tensor's memory, and the tensor takes over the result's history.

The version counter goes up, so backward refuses to use a value that was saved before the change.
When the tensor is a view, its base gets a ``CopySlices`` node (the base with the view's region
replaced), and the view is re-derived from the base, as PyTorch does.
"""

from __future__ import annotations

from .._tensor import Tensor
from ..autograd.function import Op
from ..autograd.grad_mode import GRAD


class CopySlices(Op):
    """CopySlices: base with a view's region set to src; d/dbase = 1 outside the region,
    d/dsrc = the region of the gradient"""

    _backward_name = "CopySlices"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx, base, src, chain=(), written=False):
        ctx.chain = chain
        if written:  # commit() has already put the new values into base's memory
            return base
        out = base.copy()
        _replay_array(out, chain)[...] = src
        return out

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            region = _replay_tensor(g, ctx.chain)
            return CopySlices.apply(g, region * 0, chain=ctx.chain), region
        g_base = g.copy()
        _replay_array(g_base, ctx.chain)[...] = 0
        return g_base, _replay_array(g, ctx.chain)


def _replay_array(array, chain):
    from .. import backend
    from ..autograd.function import Node

    for op, params in chain:
        ctx = Node(op)
        ctx.xp = backend.xp_of(array)  # a view op may need cupy's functions on GPU arrays
        array = op.forward(ctx, array, **params)
    return array


def _replay_tensor(t, chain):
    for op, params in chain:
        t = op.apply(t, **params)
    return t


def commit(self: Tensor, result: Tensor) -> Tensor:
    """Write ``result`` into ``self`` in place and give ``self`` its history; return ``self``."""
    recording = GRAD.enabled and (result._requires_grad or self._requires_grad)
    if recording:
        if any(getattr(op, "_multi_output", False) for op, _ in self._view_chain):
            _refuse_multi_output_view(self)
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        base = self._base
        if base is not None and base.grad_fn is None and base._requires_grad:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation."
            )
    if any(st == 0 and n > 1 for st, n in zip(self._data.strides, self._data.shape)):
        raise RuntimeError(  # e.g. an expanded tensor: several elements share one memory cell
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation."
        )
    data = result._data
    if data.dtype != self._data.dtype:
        if not _can_cast(data.dtype, self._data.dtype):
            raise RuntimeError(
                f"result type {_name(data.dtype)} can't be cast to the desired output type "
                f"{_name(self._data.dtype)}"
            )
        data = data.astype(self._data.dtype)
    if data.shape != self._data.shape:
        try:
            data = _broadcast(data, self._data.shape)
        except ValueError:
            from ._promote import check_broadcast

            check_broadcast(self._data.shape, data.shape)  # PyTorch's message when it applies
            raise RuntimeError(
                f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                f"{list(data.shape)}"
            ) from None
    if recording:
        _keep_original(self, result)
    if data is not self._data:
        self._data[...] = data
    self._vbox[0] += 1
    if not recording:
        return self
    if result._data.dtype != self._data.dtype or result._data.shape != self._data.shape:
        result = result.to(dtype=self.dtype).expand(*self._data.shape)
    base = self._base
    if base is None:
        self.grad_fn, self._output_nr, self._requires_grad = result.grad_fn, result._output_nr, True
        return self
    rebased = CopySlices.apply(base, result, chain=self._view_chain, written=True)
    base.grad_fn, base._output_nr, base._requires_grad = rebased.grad_fn, 0, True
    view = _replay_tensor(base, self._view_chain)
    self.grad_fn, self._output_nr, self._requires_grad = view.grad_fn, view._output_nr, True
    return self


def _refuse_multi_output_view(self: Tensor):
    """PyTorch forbids in-place changes to pieces of split/chunk/unbind while recording."""
    op, params = self._view_chain[-1]
    if self._requires_grad:
        nr = params.get("piece", params.get("index", 0)) if getattr(op, "_multi_output", 0) else 0
        name = op._backward_name.rsplit("Backward", 1)[0]
        first = f"Output {nr} of {name} is a view and is being modified inplace."
    else:
        first = ("A view was created in no_grad mode and is being modified inplace with grad mode "
                 "enabled.")
    raise RuntimeError(
        f"{first} This view is the output of a function that returns multiple views. Such "
        "functions do not allow the output views to be modified inplace. You should replace the "
        "inplace operation by an out-of-place one."
    )


def _keep_original(self: Tensor, result: Tensor) -> None:
    """The op that computed ``result`` may have saved ``self`` (``x.mul_(w)`` saves x for w's
    gradient); x is about to be overwritten, so that op keeps a copy of the old values instead,
    as PyTorch's ``original_self``."""
    saved = getattr(result.grad_fn, "_saved", None)
    if type(saved) is not tuple or not any(e is not None and e[0] == 0 and e[1] is self
                                           for e in saved):
        return
    original = Tensor._wrap(self._data.copy())
    result.grad_fn._saved = tuple((2, original, 0) if e is not None and e[0] == 0 and e[1] is self
                                  else e for e in saved)


def _broadcast(data, shape):
    from .. import backend

    return backend.xp_of(data).broadcast_to(data, shape)


def _can_cast(src, dst) -> bool:
    """PyTorch's ``canCast``: never to a lower category (bool < integer < float < complex)."""
    rank = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
    return rank[src.kind] <= rank[dst.kind] and (dst.kind != "b" or src.kind == "b")


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
               "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _name(np_dtype) -> str:
    return _TYPE_NAMES[np_dtype.name]

"""``TENSOR_XP``: numpy's function names over nbtorch's differentiable ops.

An op's backward formula is written once against ``ctx.xp``.  In an ordinary backward pass
``ctx.xp`` is numpy (or cupy) and the formula runs on raw arrays, with no wrapping cost.  With
``create_graph=True`` it is ``TENSOR_XP`` and the same formula, run on Tensors, records a graph,
so higher-order gradients come for free.  Backward formulas therefore use ``xp.<name>`` with numpy's
signature, Python operators, ``.shape``, ``.ndim``, ``.reshape`` and ``.T`` only.

Functions whose numpy signature matches nbtorch's are found by name; the others are adapted here,
or registered next to their op with ``@adapter``.
"""

from __future__ import annotations


class _TensorXP:
    """Looks like numpy, computes with nbtorch ops."""

    def __getattr__(self, name):
        import nbtorch

        try:
            return getattr(nbtorch, name)
        except AttributeError:
            raise AttributeError(f"TENSOR_XP has no adapter for numpy's '{name}'") from None


TENSOR_XP = _TensorXP()


def adapter(func):
    """Register ``func`` as TENSOR_XP's version of the numpy function of the same name."""
    setattr(_TensorXP, func.__name__, staticmethod(func))
    return func


@adapter
def sum(x, axis=None, keepdims=False, dtype=None):
    return x.sum() if axis is None and not keepdims else x.sum(dim=axis, keepdim=keepdims)


@adapter
def mean(x, axis=None, keepdims=False):
    return x.mean() if axis is None and not keepdims else x.mean(dim=axis, keepdim=keepdims)


@adapter
def transpose(x, axes=None):
    return x.permute(*(reversed(range(x.ndim)) if axes is None else axes))


@adapter
def swapaxes(x, a, b):
    return x.transpose(a, b)


@adapter
def moveaxis(x, source, destination):
    return x.movedim(source, destination)


@adapter
def expand_dims(x, axis):
    axes = (axis,) if isinstance(axis, int) else axis
    for a in sorted(d % (x.ndim + len(axes)) for d in axes):
        x = x.unsqueeze(a)
    return x


@adapter
def broadcast_to(x, shape):
    return x.expand(*shape)


@adapter
def zeros_like(x, dtype=None):
    return x.new_zeros(x.shape) if dtype is None else x.new_zeros(x.shape, dtype=_dt(dtype))


@adapter
def ones_like(x, dtype=None):
    return x.new_ones(x.shape) if dtype is None else x.new_ones(x.shape, dtype=_dt(dtype))


@adapter
def concatenate(arrays, axis=0):
    import nbtorch

    return nbtorch.cat(list(arrays), dim=axis)


@adapter
def stack(arrays, axis=0):
    import nbtorch

    return nbtorch.stack(list(arrays), dim=axis)


@adapter
def flip(x, axis=None):
    return x.flip(tuple(range(x.ndim)) if axis is None else axis)


@adapter
def astype(x, dtype):
    return x.to(dtype=_dt(dtype))


@adapter
def conj(x):
    return x.conj()


def _dt(d):
    from .. import _dtype

    return _dtype.to_dtype(d)

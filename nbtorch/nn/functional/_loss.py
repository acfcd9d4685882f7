"""Loss functions of ``torch.nn.functional``, with PyTorch's options, checks and messages.

Cross-entropy with class indices is one fused primitive (log-softmax and the negative log
likelihood in one node, backward ``(softmax - onehot) * scale``); the regression and binary losses
are primitives that reduce inside the node; l1, kl_div and the smoothed or probability-target
cross-entropies are compositions, as they are in PyTorch (see the NOTE below).

Every backward is written once against ``ctx.xp`` and only from saved inputs (or, where it is fast,
from intermediates in an ordinary backward, recomputed from the inputs when a graph is recorded), so
double backward works.  Node names are PyTorch's (``NllLossBackward0``, ``MseLossBackward0``...).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ... import backend
from ..._tensor import Tensor
from ...autograd.function import Op
from ...autograd.grad_mode import GRAD, no_grad
from ...ops import activation as A
from ...ops import elementwise as E
from ...ops._promote import promoted
from ...ops.inplace import _name as _type_name

__all__ = [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "soft_margin_loss",
    "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "gaussian_nll_loss",
    "poisson_nll_loss",
]

# NOTE: the fused primitives exist for speed and stability: cross-entropy is in every classification
# training step (the fused node saves the exponentials of forward, so backward is one multiply and a
# scatter, and it never takes the log of a probability that underflowed); mse/smooth-l1/huber as one
# node are faster than sub-pow-mean (mse: 1.5x for forward + backward of a (64, 10) batch, where
# the Python cost per node dominates); binary cross-entropy needs PyTorch's clamped log (>= -100)
# in forward and its clamped denominator in backward; binary cross-entropy with logits uses the
# overflow-free log-sigmoid form.


# --- reductions ----------------------------------------------------------------------------------


def _reduction(size_average, reduce, reduction: str) -> str:
    """The reduction, from PyTorch's deprecated ``size_average``/``reduce`` flags when given."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", stacklevel=3)
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' "
                      "instead.", stacklevel=3)
        reduction = "mean"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction: str):
    """Apply a reduction to an array of elementwise losses (inside a forward)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean() if loss.size else loss.sum() * math.nan  # numpy would warn on an empty mean


def _scale(g, reduction: str, count: int):
    """The gradient each element of a reduced loss receives."""
    if reduction == "mean":
        return g * (1 / count if count else math.nan)
    return g


def _reduce_tensor(loss: Tensor, reduction: str) -> Tensor:
    """Apply a reduction to a Tensor of elementwise losses (in a composition)."""
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _size_warning(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.size()}) that is different to the input size "
            f"({input.size()}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", stacklevel=3)


def _pair(input: Tensor, target: Tensor, kernel: str | None):
    """Input and target promoted to one dtype and broadcast to one shape (PyTorch's
    ``broadcast_tensors``), for the pointwise losses."""
    a, b = input, target
    if a._data.dtype != b._data.dtype:
        a, b, _ = promoted(a, b)
    if kernel is not None and a._data.dtype.kind not in "fc":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_name(a._data.dtype)}'")
    if a.shape != b.shape:
        from ...ops.shape import broadcast_tensors

        a, b = broadcast_tensors(a, b)
    return a, b


# --- regression losses ---------------------------------------------------------------------------


class MseLoss(Op):
    """MseLoss: l = (a - b)², reduced; dl/da = 2 (a - b), dl/db = -2 (a - b)"""

    @staticmethod
    def forward(ctx, a, b, reduction="mean"):
        ctx.reduction = reduction
        ctx.save_for_backward(a, b)
        d = ctx.xp.asarray(a - b)
        d *= d
        return _reduce(d, reduction)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = _scale(g, ctx.reduction, _numel(a)) * ((a - b) * 2)
        return ga, (-ga if ctx.needs_input_grad[1] else None)


def _numel(a) -> int:
    """The element count of an array or a Tensor (``size`` means different things to them)."""
    return a.numel() if isinstance(a, Tensor) else a.size


class SmoothL1Loss(Op):
    """SmoothL1Loss: l = d² / (2β) where |d| < β, else |d| - β/2 (d = a - b), reduced;
    dl/da = clamp(d / β, -1, 1) = -dl/db"""

    @staticmethod
    def forward(ctx, a, b, reduction="mean", beta=1.0):
        xp = ctx.xp
        ctx.reduction, ctx.beta = reduction, beta
        ctx.save_for_backward(a, b)
        d = xp.abs(a - b)
        loss = xp.where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta).astype(d.dtype, copy=False)
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        d = a - b
        slope = xp.clip(d * (1 / ctx.beta), -1, 1)
        ga = _scale(g, ctx.reduction, _numel(a)) * slope
        return ga, (-ga if ctx.needs_input_grad[1] else None)


class HuberLoss(Op):
    """HuberLoss: l = d² / 2 where |d| < δ, else δ (|d| - δ/2) (d = a - b), reduced;
    dl/da = clamp(d, -δ, δ) = -dl/db"""

    @staticmethod
    def forward(ctx, a, b, reduction="mean", delta=1.0):
        xp = ctx.xp
        ctx.reduction, ctx.delta = reduction, delta
        ctx.save_for_backward(a, b)
        d = xp.abs(a - b)
        loss = xp.where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta)
        return _reduce(loss.astype(d.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = _scale(g, ctx.reduction, _numel(a)) * ctx.xp.clip(a - b, -ctx.delta, ctx.delta)
        return ga, (-ga if ctx.needs_input_grad[1] else None)


def _weighted(loss: Tensor, weight: Tensor, input: Tensor, reduction: str, by_weight: bool):
    """PyTorch's elementwise-weighted regression losses (a composition)."""
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / weight.sum() if by_weight else loss.mean()


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error: ``(input - target)²``, averaged (``reduction='mean'``), summed or kept.

    >>> import nbtorch as torch
    >>> torch.nn.functional.mse_loss(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0]))
    tensor(2.5000)
    """
    _size_warning(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    a, b = _pair(input, target, "mse_cpu")
    if weight is not None:
        return _weighted((a - b) ** 2, weight, input, reduction, True)
    return MseLoss.apply(a, b, reduction=reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error: ``|input - target|``, averaged, summed or kept (a composition, as in
    PyTorch).

    >>> import nbtorch as torch
    >>> torch.nn.functional.l1_loss(torch.tensor([1.0, -3.0]), torch.tensor([0.0, 0.0]))
    tensor(2.)
    """
    _size_warning(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    a, b = _pair(input, target, None)
    if weight is not None:
        return _weighted((a - b).abs(), weight, input, reduction, True)
    return _reduce_tensor((a - b).abs(), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Squared error below ``beta`` (divided by ``2 beta``), absolute error minus ``beta/2`` above.

    >>> import nbtorch as torch
    >>> torch.nn.functional.smooth_l1_loss(torch.tensor([0.5, 3.0]), torch.tensor([0.0, 0.0]))
    tensor(1.3125)
    """
    _size_warning(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    a, b = _pair(input, target, "smooth_l1_cpu")
    return SmoothL1Loss.apply(a, b, reduction=reduction, beta=beta)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Squared error / 2 below ``delta``, ``delta * (|error| - delta/2)`` above.

    >>> import nbtorch as torch
    >>> torch.nn.functional.huber_loss(torch.tensor([0.5, 3.0]), torch.tensor([0.0, 0.0]))
    tensor(1.3125)
    """
    _size_warning(input, target)
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    a, b = _pair(input, target, "huber_cpu")
    if weight is not None:
        loss = HuberLoss.apply(a, b, reduction="none", delta=delta)
        return _weighted(loss, weight, input, reduction, False)
    return HuberLoss.apply(a, b, reduction=reduction, delta=delta)


# --- classification with class indices: nll_loss and the fused cross-entropy ---------------------


def _rows(xp, x):
    """Scores as (M, C) rows: (C,) -> (1, C); (N, C, d1, ...) -> (N * d1 * ..., C)."""
    if x.ndim == 2:
        return x
    if x.ndim == 1:
        return x.reshape(1, -1)
    n, c = x.shape[:2]
    return xp.moveaxis(x.reshape(n, c, -1), 1, 2).reshape(-1, c)


def _unrows(xp, rows, shape):
    """The inverse of ``_rows`` (for a gradient: a fresh array, not a view, so that a leaf can
    adopt it as its ``.grad`` without a copy)."""
    if len(shape) == 2:
        return rows
    if len(shape) == 1:
        return rows[0].copy()
    n, c = shape[:2]
    out = xp.empty(shape, dtype=rows.dtype)
    out.reshape(n, c, -1)[...] = xp.moveaxis(rows.reshape(n, -1, c), 2, 1)
    return out


def _out_of_bounds(xp, t, bad):
    raise IndexError(f"Target {int(t[int(xp.argmax(bad))])} is out of bounds.")


def _prepare_targets(ctx, t, w, ignore_index: int, n_classes: int, reduction: str, dtype):
    """Check the class indices and put on ``ctx`` what both forward and backward need.

    ``ctx.t``: the flat targets, 0 where ignored (safe to index with); ``ctx.valid``: the mask of
    the targets that count (None when all do); ``ctx.factor``: per-row weight of the loss in the
    reduced result (w[t] / Σ w[t] for 'mean', PyTorch's weighted mean; 0 where ignored), a number
    when it is the same for all rows.  Returns the per-row weights (None when all are 1) and the
    mean's denominator.
    """
    xp = ctx.xp
    t = t.reshape(-1)
    valid = None
    # One comparison finds the targets that are out of range or ignored: negative ones wrap around
    # to huge unsigned values.
    unsigned = t.view(xp.uint64) if t.dtype.itemsize == 8 else t
    if 0 <= ignore_index < n_classes or (t.size and unsigned.max() >= n_classes):
        valid = t != ignore_index
        bad = valid & ((t < 0) | (t >= n_classes))
        if bad.any():
            _out_of_bounds(xp, t, bad)
        if valid.all():
            valid = None
        else:
            t = xp.where(valid, t, 0)
    wt = w[t] if w is not None else None
    if valid is not None:
        wt = xp.where(valid, wt, 0) if wt is not None else valid.astype(dtype)
    denom = wt.sum() if wt is not None else t.size
    if reduction == "mean":
        if wt is None:
            factor = 1 / denom if denom else math.nan
        else:
            factor = wt / denom
            if valid is not None:  # ignored rows get no gradient even when nothing counts (0/0)
                factor = xp.where(valid, factor, 0)
    else:
        factor = 1.0 if wt is None else wt
    ctx.t, ctx.valid, ctx.factor, ctx.reduction = t, valid, factor, reduction
    return wt, denom


def _reduce_rows(ctx, losses, wt, denom, target_shape):
    """Per-row losses (M,) -> the reduced result (ignored rows are exactly 0, as in PyTorch)."""
    xp = ctx.xp
    if wt is not None:
        losses = losses * wt
    if ctx.valid is not None:
        losses = xp.where(ctx.valid, losses, 0)
    if ctx.reduction == "none":
        return losses.reshape(target_shape)
    total = losses.sum()
    if ctx.reduction == "sum":
        return total
    return total / denom if denom else total * math.nan


def _coefficient(ctx, g):
    """How much of the upstream gradient each row gets: g (per row for 'none') times the factor."""
    if ctx.reduction == "none":
        g = g.reshape(-1) if not isinstance(g, Tensor) else g
    factor = ctx.factor
    if isinstance(g, Tensor):
        if not isinstance(factor, float):
            factor = Tensor._wrap(factor.reshape(ctx.target_shape))
        return g * factor
    return g * factor


def _onehot(ctx, dtype):
    """The one-hot of the targets in the layout of the input (classes along dim 1, or 0 for 1-d
    input), as a constant Tensor: used when backward records a graph."""
    xp = backend.xp_of(ctx.t)
    shape = ctx.input_shape
    cdim = 0 if len(shape) == 1 else 1
    classes = xp.arange(shape[cdim]).reshape((-1,) + (1,) * (len(shape) - cdim - 1))
    t = ctx.t.reshape(ctx.target_shape)
    hot = (xp.expand_dims(t, cdim) == classes).astype(dtype)
    return Tensor._wrap(hot), cdim


def _spread(coef: Tensor, cdim: int, ctx) -> Tensor:
    """A per-target coefficient broadcast along the class dim of the input."""
    return coef.unsqueeze(cdim) if coef.dim() and len(ctx.input_shape) > 1 else coef


class NllLoss(Op):
    """NllLoss: l = -w[t] x[t] per row (x: log-probabilities), reduced (weighted mean for 'mean');
    dl/dx = -w[t] at the target, 0 elsewhere"""

    _edge_args = (0,)  # as PyTorch's node lists them

    @staticmethod
    def forward(ctx, x, t, w, ignore_index=-100, reduction="mean"):
        xp = ctx.xp
        ctx.input_shape, ctx.target_shape = x.shape, t.shape
        rows = _rows(xp, x)
        wt, denom = _prepare_targets(ctx, t, w, ignore_index, rows.shape[1], reduction, x.dtype)
        picked = rows[xp.arange(rows.shape[0]), ctx.t]
        return _reduce_rows(ctx, -picked, wt, denom, t.shape)

    @staticmethod
    def backward(ctx, g):
        coef = _coefficient(ctx, g)
        if isinstance(g, Tensor):
            hot, cdim = _onehot(ctx, g._data.dtype)
            return -(hot * _spread(coef, cdim, ctx)), None, None
        xp = ctx.xp
        shape = ctx.input_shape
        n_classes = shape[0] if len(shape) == 1 else shape[1]
        grad = xp.zeros((ctx.t.size, n_classes), dtype=g.dtype)
        grad[xp.arange(ctx.t.size), ctx.t] = -coef
        return _unrows(xp, grad, shape), None, None


class NllLoss2d(NllLoss):
    """NllLoss2d: NllLoss over (N, C, d1, ...) inputs (PyTorch's node name for them)"""

    _backward_name = "NllLoss2DBackward0"


_INT64 = np.dtype(np.int64)
_INDEX_DTYPES = (_INT64, np.dtype(np.uint8))
_REDUCTIONS = ("mean", "sum", "none")


def _check_class_targets(input: Tensor, target: Tensor, weight, kernel: str) -> None:
    """PyTorch's checks of ``nll_loss_nd``, in its order, with its messages."""
    ndim, tdim = input.dim(), target.dim()
    ishape, tshape = list(input.shape), list(target.shape)
    if ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {ndim})")
    if ndim != 1 and ishape[0] != (tshape[0] if tdim else 0):
        raise ValueError(f"Expected input batch_size ({ishape[0]}) to match target batch_size "
                         f"({tshape[0] if tdim else 0}).")
    if ndim == 1 and tdim == 1 and tshape[0] != 1:
        raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                         f"{tshape[0]}")
    if ndim <= 2 and tdim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if ndim == 4:
        if tdim != 3:
            raise RuntimeError("only batches of spatial targets supported (3D tensors) but got "
                               f"targets of dimension: {tdim}")
        if ishape[2:] != tshape[1:]:
            raise RuntimeError(f"size mismatch (got input: {ishape} , target: {tshape}")
    elif ndim > 2 and tshape[1:] != ishape[2:]:
        raise RuntimeError(f"Expected target size {[ishape[0]] + ishape[2:]}, got {tshape}")
    if target._data.dtype not in _INDEX_DTYPES:
        raise RuntimeError("expected target dtype to be Long or Byte, but got "
                           f"{_type_name(target._data.dtype)}")
    if weight is not None:
        n_classes = ishape[0 if ndim == 1 else 1]
        if weight.dim() != 1 or weight.numel() != n_classes:
            if ndim > 2:
                raise RuntimeError("weight tensor should be defined either for all or no classes")
            raise RuntimeError(f"weight tensor should be defined either for all {n_classes} "
                               f"classes or no classes but got weight tensor of shape: "
                               f"{list(weight.shape)}")
        if weight._data.dtype != input._data.dtype:
            raise RuntimeError(f"expected scalar type {_type_name(input._data.dtype)} but found "
                               f"{_type_name(weight._data.dtype)}")
        if weight.requires_grad and GRAD.enabled:
            raise RuntimeError("The function 'nll_loss_forward' is not differentiable with respect "
                               "to argument 'weight'. This input cannot have requires_grad True.")
    if input._data.dtype.kind not in "fc":
        raise NotImplementedError(f"\"{kernel}\" not implemented for "
                                  f"'{_type_name(input._data.dtype)}'")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log likelihood of class indices ``target`` under log-probabilities ``input``
    ((C,), (N, C) or (N, C, d1, ...)); ``weight`` rescales classes, ``ignore_index`` targets
    count for nothing, and 'mean' divides by the total weight of the counted targets.

    >>> import nbtorch as torch
    >>> logp = torch.log(torch.tensor([[0.5, 0.5], [0.25, 0.75]]))
    >>> torch.nn.functional.nll_loss(logp, torch.tensor([0, 1]))
    tensor(0.4904)
    """
    reduction = _reduction(size_average, reduce, reduction)
    kernel = "nll_loss_out_frame" if input.dim() <= 2 else "nll_loss2d_forward_out_frame"
    _check_class_targets(input, target, weight, kernel)
    return _apply_class_op(NllLoss, NllLoss2d, input, target, weight, ignore_index, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` and class indices (or, when ``target`` has the
    input's shape, class probabilities): ``nll_loss(log_softmax(input, 1), target)``, recorded
    as those two nodes, as PyTorch records it (NllLossBackward0, then LogSoftmaxBackward0).
    Options as in PyTorch: ``weight``, ``ignore_index``, ``label_smoothing``, ``reduction``.

    >>> import nbtorch as torch
    >>> logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> torch.nn.functional.cross_entropy(logits, torch.tensor([0, 2]))
    tensor(0.6691)
    """
    if (type(input) is Tensor and type(target) is Tensor and weight is None
            and size_average is None and reduce is None and label_smoothing == 0.0
            and reduction in _REDUCTIONS and input._data.ndim == 2 and target._data.ndim == 1
            and input._data.shape[0] == target._data.shape[0]
            and target._data.dtype == _INT64 and input._data.dtype.kind == "f"):
        # the common case, (N, C) logits and (N,) class indices, with none of the checks below
        return NllLoss.apply(A.log_softmax(input, 1), target, None, ignore_index=ignore_index,
                             reduction=reduction)
    reduction = _reduction(size_average, reduce, reduction)
    if input.shape == target.shape:
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction,
                                            label_smoothing)
    ndim = input.dim()
    if input._data.dtype.kind not in "fc":
        kernel = "log_softmax_lastdim_kernel_impl" if ndim <= 2 else "log_softmax_kernel_impl"
        raise NotImplementedError(f"\"{kernel}\" not implemented for "
                                  f"'{_type_name(input._data.dtype)}'")
    if label_smoothing > 0.0:
        return _cross_entropy_smoothed(input, target, weight, ignore_index, reduction,
                                       label_smoothing)
    _check_class_targets(input, target, weight, "")
    logp = A.log_softmax(input, 0 if ndim == 1 else 1)
    return _apply_class_op(NllLoss, NllLoss2d, logp, target, weight, ignore_index, reduction)


def _apply_class_op(op, op2d, input, target, weight, ignore_index, reduction):
    """Run the (N, C) or the spatial variant; unreduced losses of inputs that are not 4-d go
    through a 4-d view and come back by a view, as in PyTorch (so the node names match)."""
    ndim = input.dim()
    if ndim <= 2:
        return op.apply(input, target, weight, ignore_index=ignore_index, reduction=reduction)
    if ndim == 4 or reduction != "none":
        return op2d.apply(input, target, weight, ignore_index=ignore_index, reduction=reduction)
    n, c = input.shape[:2]
    out = op2d.apply(input.reshape(n, c, 1, -1), target.reshape(n, 1, -1), weight,
                     ignore_index=ignore_index, reduction=reduction)
    return out.view(target.shape)


def _class_view(weight: Tensor, ndim: int, cdim: int) -> Tensor:
    """A class weight shaped to broadcast along the class dim."""
    return weight.reshape([-1 if d == cdim else 1 for d in range(ndim)])


def _cross_entropy_smoothed(input, target, weight, ignore_index, reduction, smoothing):
    """PyTorch's label smoothing with class indices: (1 - ε) nll + ε / C Σ_c -w_c log p_c."""
    if smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {smoothing}")
    cdim = 0 if input.dim() == 1 else 1
    logp = A.log_softmax(input, cdim)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    n_classes = input.shape[cdim]
    ignored = target == ignore_index
    if weight is not None:
        smooth = -(logp * _class_view(weight, input.dim(), cdim)).sum(cdim)
    else:
        smooth = -logp.sum(cdim)
    smooth = E.where(ignored, 0.0, smooth)
    if reduction == "mean":
        kept = ~ignored
        if weight is not None:
            index = Tensor._wrap(target._data[kept._data])
            smooth = smooth.sum() / weight[index].sum()
        else:
            smooth = smooth.sum() / kept.sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - smoothing) * nll + smooth * (smoothing / n_classes)


def _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, smoothing):
    """PyTorch's cross-entropy with class probabilities: -Σ_c w_c target_c log softmax(input)_c."""
    if target._data.dtype.kind not in "fc":
        raise RuntimeError("Expected floating point type for target with class probabilities, "
                           f"got {_type_name(target._data.dtype)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    cdim = 0 if input.dim() == 1 else 1
    n_classes = input.shape[cdim] if input.dim() else 1
    if weight is not None and (weight.dim() != 1 or weight.numel() != n_classes):
        raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all "
                           f"{n_classes} classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    logp = A.log_softmax(input, cdim) if input.dim() else A.log_softmax(input, 0)
    if smoothing > 0.0:
        if smoothing > 1.0:
            raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {smoothing}")
        target = target * (1 - smoothing) + smoothing / n_classes
    terms = logp * target
    if weight is not None:
        terms = terms * (_class_view(weight, input.dim(), cdim) if input.dim() > 1 else weight)
    if reduction == "none":
        return -terms.sum(cdim) if input.dim() else -terms
    if reduction == "sum":
        return -terms.sum()
    rows = input.numel() // n_classes if n_classes else 0
    return -terms.sum() / rows if rows else -terms.sum() * math.nan


# --- binary classification -----------------------------------------------------------------------


class BinaryCrossEntropy(Op):
    """BinaryCrossEntropy: l = -w (t log x + (1 - t) log(1 - x)), each log clamped to >= -100,
    reduced; dl/dx = w (x - t) / max(x (1 - x), 1e-12), dl/dt = w (log(1 - x) - log x)"""

    _edge_args = (0, 1)  # as PyTorch's node lists them

    @staticmethod
    def forward(ctx, x, t, w, reduction="mean"):
        xp = ctx.xp
        ctx.reduction = reduction
        ctx.save_for_backward(x, t, w)
        log_x = xp.maximum(xp.log(x), -100)
        log_1mx = xp.maximum(xp.log1p(-x), -100)
        loss = (t - 1) * log_1mx - t * log_x
        if w is not None:
            loss = loss * w
        return _reduce(xp.asarray(loss), reduction)

    @staticmethod
    def backward(ctx, g):
        x, t, w = ctx.saved_tensors
        xp = ctx.xp
        need_x, need_t = ctx.needs_input_grad[:2]
        g = _scale(g, ctx.reduction, _numel(x))
        if w is not None:
            g = g * w
        gx = g * (x - t) / xp.maximum((1 - x) * x, 1e-12) if need_x else None
        gt = g * (xp.log1p(-x) - xp.log(x)) if need_t else None
        return gx, gt, None


class BinaryCrossEntropyWithLogits(Op):
    """BinaryCrossEntropyWithLogits: l = w ((1 - t) x + (1 + (p - 1) t) softplus(-x)) (p: the
    positive weight), reduced; dl/dx = w ((p t + 1 - t) σ(x) - p t),
    dl/dt = w ((p - 1) softplus(-x) - x)"""

    _edge_args = (0, 1)  # input and target, as PyTorch's node lists them

    @staticmethod
    def forward(ctx, x, t, w, pos_weight, reduction="mean"):
        xp = ctx.xp
        ctx.reduction = reduction
        ctx.save_for_backward(x, t, w, pos_weight)
        soft = A._softplus1(xp, -x)  # -log σ(x), without overflow
        if pos_weight is not None:
            soft = soft * ((pos_weight - 1) * t + 1)
        loss = (1 - t) * x + soft
        if w is not None:
            loss = loss * w
        return _reduce(xp.asarray(loss), reduction)

    @staticmethod
    def backward(ctx, g):
        x, t, w, p = ctx.saved_tensors
        xp = ctx.xp
        need_x, need_t = ctx.needs_input_grad[:2]
        g = _scale(g, ctx.reduction, _numel(x))
        if w is not None:
            g = g * w
        s = A._sigmoid(xp, x)
        gx = gt = None
        if need_x:
            gx = g * (s - t) if p is None else g * ((p * t + 1 - t) * s - p * t)
        if need_t:
            gt = -g * x if p is None else g * ((p - 1) * A._softplus1(xp, -x) - x)
        return gx, gt, None, None


def _same_dtype(input: Tensor, other: Tensor) -> None:
    if other._data.dtype != input._data.dtype:
        raise RuntimeError(f"Found dtype {_type_name(other._data.dtype)} but expected "
                           f"{_type_name(input._data.dtype)}")


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` against ``target`` in [0, 1]; each log is
    clamped to >= -100 as in PyTorch, so a probability of exactly 0 or 1 gives a finite loss.

    >>> import nbtorch as torch
    >>> torch.nn.functional.binary_cross_entropy(torch.tensor([0.5, 0.9]), torch.tensor([1.0, 1.0]))
    tensor(0.3993)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.size()}) that is different to the input size "
            f"({input.size()}) is deprecated. Please ensure they have the same size.")
    _same_dtype(input, target)
    if weight is not None:
        from ...ops.shape import broadcast_shapes

        weight = weight.expand(*broadcast_shapes(target.shape, weight.shape))
        if weight.dtype != input.dtype:
            weight = weight.to(input.dtype)
    x, t = input._data, target._data
    if bool(((x < 0) | (x > 1)).any()):
        raise RuntimeError("all elements of input should be between 0 and 1")
    if bool(((t < 0) | (t > 1)).any()):
        raise RuntimeError("all elements of target should be between 0 and 1")
    return BinaryCrossEntropy.apply(input, target, weight, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy of ``sigmoid(input)`` against ``target``, computed from the logits
    without overflow; ``pos_weight`` weighs the positive term (broadcast along the last dim).

    >>> import nbtorch as torch
    >>> f = torch.nn.functional.binary_cross_entropy_with_logits
    >>> f(torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0]))
    tensor(0.2201)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.size()}) must be the same as input size "
                         f"({input.size()})")
    _same_dtype(input, target)
    dtype = input.dtype  # weights of another dtype do not change the loss's (as in PyTorch)
    if weight is not None and weight.dtype != dtype:
        weight = weight.to(dtype)
    if pos_weight is not None and pos_weight.dtype != dtype:
        pos_weight = pos_weight.to(dtype)
    return BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight,
                                              reduction=reduction)


# --- divergences and margins (compositions) ------------------------------------------------------


def _xlogy_self(t: Tensor) -> Tensor:
    """t log t, with 0 where t = 0 (nan stays nan)."""
    zero = t == 0
    if not t.requires_grad:
        xp = backend.xp_of(t._data)
        data = t._data
        return Tensor._wrap(xp.where(zero._data, 0, data * xp.log(xp.where(zero._data, 1, data)))
                            .astype(data.dtype, copy=False))
    return E.where(zero, 0.0, t * E.where(zero, 1.0, t).log())


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence ``target * (log target - input)`` with ``input`` in log space
    (and ``target`` too when ``log_target``); ``reduction='batchmean'`` divides the sum by the
    batch size, which is the mathematical KL divergence.

    >>> import nbtorch as torch
    >>> p, q = torch.tensor([[0.5, 0.5]]), torch.tensor([[0.25, 0.75]])
    >>> torch.nn.functional.kl_div(q.log(), p, reduction='batchmean')
    tensor(0.1438)
    """
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, "mean")
    elif reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.", stacklevel=2)
    if reduction != "batchmean":
        _reduction(None, None, reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _xlogy_self(target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.dim() else total
    return _reduce_tensor(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """``log(1 + exp(-target * input))`` for targets ±1.

    >>> import nbtorch as torch
    >>> torch.nn.functional.soft_margin_loss(torch.tensor([0.0]), torch.tensor([1.0]))
    tensor(0.6931)
    """
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce_tensor(-A.LogSigmoid.apply(target * input), reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)``.

    >>> import nbtorch as torch
    >>> f = torch.nn.functional.margin_ranking_loss
    >>> f(torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([1.0]))
    tensor(1.)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if not (input1.dim() == input2.dim() == target.dim()):
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} ")
    return _reduce_tensor(E.relu(-target * (input1 - input2) + margin), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1.

    >>> import nbtorch as torch
    >>> f = torch.nn.functional.hinge_embedding_loss
    >>> f(torch.tensor([0.3, 0.4]), torch.tensor([1.0, -1.0]))
    tensor(0.4500)
    """
    reduction = _reduction(size_average, reduce, reduction)
    margin_part = E.where(target == 1, 0.0, E.relu(margin - input))
    output = margin_part + E.where(target == -1, 0.0, input)
    return _reduce_tensor(output, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """``1 - cos(x1, x2)`` where ``target`` is 1, ``max(0, cos(x1, x2) - margin)`` where it is -1.

    >>> import nbtorch as torch
    >>> f = torch.nn.functional.cosine_embedding_loss
    >>> f(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([1.0]))
    tensor(1.)
    """
    reduction = _reduction(size_average, reduce, reduction)
    eps = 1e-12  # PyTorch's EPSILON in cosine_embedding_loss
    dim = input1.dim() - 1
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / (mag1 * mag2).sqrt()
    pos = E.where(target == 1, 1 - cos, 0.0)
    neg = E.where(target == -1, E.relu(cos - margin), 0.0)
    return _reduce_tensor(pos + neg, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log likelihood ``(log var + (input - target)² / var) / 2`` (PyTorch's
    shape rules for ``var``; ``var`` is clamped to >= ``eps`` without affecting its gradient).

    >>> import nbtorch as torch
    >>> f = torch.nn.functional.gaussian_nll_loss
    >>> f(torch.tensor([1.0]), torch.tensor([1.0]), torch.tensor([1.0]))
    tensor(0.)
    """
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * input.new_ones(input.shape)
    elif bool((var._data < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim() and sum(
                y for x, y in zip(input.shape, var.shape) if x != y) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():  # the clamp does not change var's gradient, as in PyTorch
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce_tensor(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log likelihood: ``exp(input) - target * input`` (``log_input``), else
    ``input - target * log(input + eps)``; ``full`` adds Stirling's term where ``target > 1``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.poisson_nll_loss(torch.tensor([0.0]), torch.tensor([1.0]))
    tensor(1.)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + E.where(target > 1, stirling, 0.0)
    return _reduce_tensor(loss, reduction)

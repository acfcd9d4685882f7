"""Dropout, embedding, one_hot, pad, interpolate and the distance helpers of nn.functional.

Most of these are compositions of existing ops.  Three primitives live here, each with the name of
its PyTorch node: ``Embedding`` (the gradient must skip ``padding_idx`` while the forward still
reads that row), ``ConstantPadNd`` (its gradient is itself with the pads negated) and the
index-gathering pads (reflect, replicate, circular: the gradient is added back into the source
positions).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ... import backend
from ..._tensor import Tensor
from ...autograd.function import Op, _type_string
from ...autograd.grad_mode import no_grad

__all__ = [
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
    "embedding", "one_hot", "pad", "interpolate", "upsample", "normalize", "cosine_similarity",
    "pairwise_distance",
]

# --- dropout -------------------------------------------------------------------------------------

_SELU_ALPHA = 1.7580993408473766  # -SELU's negative saturation value, as in PyTorch's alpha dropout


def _check_p(p) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout(input: Tensor, p: float, training: bool, inplace: bool, feature: bool = False,
             alpha: bool = False) -> Tensor:
    """PyTorch's ``_dropout_impl``: the same draws in the same order, so seeded runs match.

    The noise is ``bernoulli(1 - p)`` from the global generator (one draw per element, or per
    channel for feature dropout), scaled so that the expected output equals the input.
    """
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        zero = input.new_zeros(())
        return input.mul_(zero) if inplace else input * zero
    if feature:
        if input.dim() < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        noise = input.new_empty(tuple(input.shape[:2]) + (1,) * (input.dim() - 2))
    else:
        noise = input.new_empty(tuple(input.shape))
    noise.bernoulli_(1 - p)
    if not alpha:
        noise.div_(1 - p)
        return input.mul_(noise) if inplace else input * noise
    a = 1.0 / math.sqrt((_SELU_ALPHA * _SELU_ALPHA * p + 1) * (1 - p))
    shift = noise.add(-1).mul_(_SELU_ALPHA * a).add_(_SELU_ALPHA * a * p)
    noise.mul_(a)
    return input.mul_(noise).add_(shift) if inplace else (input * noise).add_(shift)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the others by ``1 / (1 - p)`` (identity
    when not training).  The mask comes from the global generator, so ``manual_seed`` makes it
    reproducible (and equal to PyTorch's CPU mask for the same seed).

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0)
    >>> torch.nn.functional.dropout(torch.ones(6), p=0.5)
    tensor([0., 0., 2., 0., 0., 0.])
    """
    _check_p(p)
    return _dropout(input, p, training, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped values are set to SELU's negative saturation, then an
    affine map keeps the mean and variance (identity when not training).

    >>> import nbtorch as torch
    >>> x = torch.ones(3)
    >>> torch.nn.functional.alpha_dropout(x, 0.5, training=False) is x
    True
    """
    _check_p(p)
    return _dropout(input, p, training, inplace, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (dim 1).

    >>> import nbtorch as torch
    >>> torch.nn.functional.feature_alpha_dropout(torch.ones(2, 3), 0.5).shape
    torch.Size([2, 3])
    """
    _check_p(p)
    return _dropout(input, p, training, inplace, feature=True, alpha=True)


def _batched_feature_dropout(input, p, training, inplace, batched: bool):
    if not batched:
        input = input.unsqueeze_(0) if inplace else input.unsqueeze(0)
    result = _dropout(input, p, training, inplace, feature=True)
    if not batched:
        result = result.squeeze_(0) if inplace else result.squeeze(0)
    return result


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p``.

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0)
    >>> torch.nn.functional.dropout1d(torch.ones(1, 3, 2))
    tensor([[[0., 0.],
             [0., 0.],
             [2., 2.]]])
    """
    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, "
            "a channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _batched_feature_dropout(input, p, training, inplace, input.dim() == 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels (feature maps) of (N, C, H, W) inputs with probability ``p``.

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0)
    >>> torch.nn.functional.dropout2d(torch.ones(1, 4, 1, 1)).flatten()
    tensor([0., 0., 2., 0.])
    """
    _check_p(p)
    ndim = input.dim()
    if ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and an "
            "optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _dropout(input, p, training, inplace, feature=True)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability ``p``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.dropout3d(torch.ones(2, 1, 1, 1), training=False).shape
    torch.Size([2, 1, 1, 1])
    """
    _check_p(p)
    ndim = input.dim()
    if ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {ndim}-D input to dropout3d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout3d exists to provide "
            "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, and an "
            "optional batch dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    return _batched_feature_dropout(input, p, training, inplace, ndim == 5)


# --- embedding and one_hot -----------------------------------------------------------------------


class Embedding(Op):
    """Embedding: y = weight[indices]; dweight = rows of g added into the rows at indices (none
    into padding_idx; each divided by its index's count with scale_grad_by_freq)"""

    _edge_args = (0,)  # as PyTorch's node lists them

    @staticmethod
    def forward(ctx, weight, indices, padding_idx=-1, scale_grad_by_freq=False):
        ctx.params = (weight.shape, padding_idx, scale_grad_by_freq)
        if ctx.needs_input_grad:
            ctx.save_for_backward(indices)
        return weight[indices]

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        shape, padding_idx, by_freq = ctx.params
        index = (indices._data if isinstance(indices, Tensor) else indices).reshape(-1)
        xp = backend.xp_of(index)
        rows = g.reshape(-1, shape[1])
        scale = None  # a weight per looked-up row: 0 for padding_idx, 1 / count with by_freq
        if by_freq:
            scale = 1.0 / xp.bincount(index, minlength=shape[0])[index]
        if padding_idx >= 0:
            keep = index != padding_idx
            scale = keep if scale is None else scale * keep
        if isinstance(g, Tensor):  # create_graph: index_add is differentiable in its source
            if scale is not None:
                rows = rows * Tensor._wrap(scale.astype(g._data.dtype)).reshape(-1, 1)
            zeros = Tensor._wrap(xp.zeros(shape, dtype=g._data.dtype))
            return zeros.index_add(0, Tensor._wrap(index), rows), None
        if scale is not None:
            rows = rows * scale.astype(g.dtype)[:, None]
        out = xp.zeros(shape, dtype=g.dtype)
        backend.scatter_add(xp, out, index, rows)
        return out, None


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of ``weight`` at the integer positions ``input``: shape ``input.shape + (D,)``.

    The row ``padding_idx`` gets no gradient.  With ``max_norm``, the looked-up rows whose
    ``norm_type``-norm exceeds it are first rescaled in place to norm ``max_norm``.

    >>> import nbtorch as torch
    >>> w = torch.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    >>> torch.nn.functional.embedding(torch.tensor([[2, 1], [0, 2]]), w)
    tensor([[[3., 4.],
             [1., 2.]],
    <BLANKLINE>
            [[0., 0.],
             [3., 4.]]])
    """
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= weight.size(0) or \
                padding_idx < 0 and padding_idx < -weight.size(0):
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            padding_idx = weight.size(0) + padding_idx
    else:
        padding_idx = -1
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    index = input._data
    if index.dtype not in (np.int64, np.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
            f"Long, Int; but got {_type_string(index)} instead (while checking arguments for "
            "embedding)")
    if index.size and (bool((index < 0).any()) or bool((index >= weight.shape[0]).any())):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _embedding_renorm_(weight, index, max_norm, norm_type)
    if padding_idx == -1 and not scale_grad_by_freq:
        return Embedding.apply(weight, input)
    return Embedding.apply(weight, input, padding_idx=padding_idx,
                           scale_grad_by_freq=scale_grad_by_freq)


def _embedding_renorm_(weight: Tensor, index, max_norm: float, norm_type: float) -> None:
    """PyTorch's ``embedding_renorm_``: rows used by ``index`` with norm > max_norm are scaled in
    place by ``max_norm / (norm + 1e-7)`` (no gradient; the weight's version goes up)."""
    xp = backend.xp_of(weight._data)
    rows = xp.unique(index.reshape(-1))
    values = weight._data[rows]
    norms = xp.linalg.norm(values.astype(np.float64), ord=norm_type, axis=1)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    weight._data[rows] = (values * scale[:, None]).astype(weight._data.dtype)
    weight._vbox[0] += 1


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Int64 one-hot vectors: ``out[..., i] = 1`` where ``tensor == i``; ``num_classes=-1`` takes
    the largest value plus one.

    >>> import nbtorch as torch
    >>> torch.nn.functional.one_hot(torch.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    data = tensor._data
    if data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = backend.xp_of(data)
    if data.size == 0:
        if num_classes == -1:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        return Tensor._wrap(xp.zeros(data.shape + (num_classes,), dtype=np.int64))
    if int(data.min()) < 0:
        raise RuntimeError("Class values must be non-negative.")
    largest = int(data.max())
    if num_classes == -1:
        num_classes = largest + 1
    elif num_classes <= largest:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = xp.zeros((data.size, num_classes), dtype=np.int64)
    out[xp.arange(data.size), data.reshape(-1)] = 1
    return Tensor._wrap(out.reshape(data.shape + (num_classes,)))


# --- padding -------------------------------------------------------------------------------------


def _pairs(pad: tuple, ndim: int):
    """``(dim, left, right)`` for each padded dim: PyTorch lists the last dim's pads first."""
    return [(ndim - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]


def _constant_pad(xp, x, pad: tuple, value):
    out_shape = list(x.shape)
    src = [slice(None)] * x.ndim
    dst = [slice(None)] * x.ndim
    for d, left, right in _pairs(pad, x.ndim):
        n = x.shape[d]
        start, stop = max(-left, 0), n - max(-right, 0)  # negative pads crop
        out_shape[d] = n + left + right
        src[d] = slice(start, stop)
        dst[d] = slice(max(left, 0), max(left, 0) + stop - start)
    out = xp.full(out_shape, value, dtype=x.dtype)
    out[tuple(dst)] = x[tuple(src)]
    return out


class ConstantPadNd(Op):
    """ConstantPadNd: y = x framed by `value` (negative pads crop); dy/dx = g without the frame,
    i.e. g padded by the negated pads"""

    @staticmethod
    def forward(ctx, x, pad=(), value=0):
        ctx.pad = pad
        return _constant_pad(ctx.xp, x, pad, value)

    @staticmethod
    def backward(ctx, g):
        undo = tuple(-p for p in ctx.pad)
        if isinstance(g, Tensor):
            return ConstantPadNd.apply(g, pad=undo)
        return _constant_pad(ctx.xp, g, undo, 0)


class IndexPad(Op):
    """Pad: y = x gathered at per-dim source positions (reflected, clamped or wrapped);
    dy/dx = g added back into those positions"""

    @staticmethod
    def forward(ctx, x, index=()):
        ctx.shape, ctx.index = x.shape, index
        first = x.ndim - len(index)
        for i, idx in enumerate(index):
            x = ctx.xp.take(x, ctx.xp.asarray(idx), axis=first + i)
        return x

    @staticmethod
    def backward(ctx, g):
        shape, index = ctx.shape, ctx.index
        first = len(shape) - len(index)
        for i in reversed(range(len(index))):
            d = first + i
            size = tuple(g.shape[:d]) + (shape[d],) + tuple(g.shape[d + 1:])
            if isinstance(g, Tensor):  # create_graph: index_add is differentiable
                idx = Tensor._wrap(backend.xp_of(g._data).asarray(index[i]))
                g = g.new_zeros(size).index_add(d, idx, g)
            else:
                xp = ctx.xp
                out = xp.zeros(size, dtype=g.dtype)
                # With the padded dim moved to the front (views), a plain 1-D scatter-add.
                backend.scatter_add(xp, xp.moveaxis(out, d, 0), xp.asarray(index[i]),
                                    xp.moveaxis(g, d, 0))
                g = out
        return g


def _index_pad_op(name: str):
    return type(name, (IndexPad,), {"_backward_name": name + "Backward0", "__doc__": (
        f"{name}: y = x gathered at per-dim source positions; dy/dx = g added back into them")})


_INDEX_PADS = {(mode, k): _index_pad_op(f"{prefix}{k}D")
               for mode, prefix in (("reflect", "ReflectionPad"), ("replicate", "ReplicationPad"),
                                    ("circular", "CircularPad"))
               for k in (1, 2, 3)}
_DIM_NAMES = ("D", "H", "W")


def _source_positions(mode: str, n: int, left: int, right: int):
    """Where each output position along one dim reads from, for a non-constant pad mode."""
    if mode == "circular":  # negative pads crop first; the positive ones wrap the cropped part
        core = np.arange(max(-left, 0), n - max(-right, 0))
        return core[np.arange(-max(left, 0), core.size + max(right, 0)) % max(core.size, 1)]
    j = np.arange(-left, n + right)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    return (n - 1) - np.abs((n - 1) - np.abs(j))  # reflect, about the first and last elements


def _check_index_pad(input: Tensor, pad: tuple, mode: str) -> None:
    ndim, k = input.dim(), len(pad) // 2
    if ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    shape = list(input.shape)
    if mode == "circular":
        for d, left, right in _pairs(pad, ndim):
            if left > shape[d] or right > shape[d]:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if shape[d] + left + right < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
        return
    if any(n == 0 for n in shape[1:]):
        raise RuntimeError(
            f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and "
            f"other non-zero dimensions for input, but got: {shape}")
    names = _DIM_NAMES[3 - k:]
    if mode == "reflect":
        for i, (d, left, right) in enumerate(_pairs(pad, ndim)):
            if left >= shape[d] or right >= shape[d]:
                raise RuntimeError(
                    f"Argument #{4 + 2 * i}: Padding size should be less than the corresponding "
                    f"input dimension, but got: padding ({left}, {right}) at dimension {d} of "
                    f"input {shape}")
    outs = {d: shape[d] + left + right for d, left, right in _pairs(pad, ndim)}
    if any(n < 1 for n in outs.values()):
        dims = range(ndim - k, ndim)
        given = ", ".join(f"{name}: {shape[d]}" for name, d in zip(names, dims))
        got = " ".join(f"{name}: {outs[d]}" for name, d in zip(names, dims))
        raise RuntimeError(f"input ({given}) is too small. Calculated output {got}")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right)`` of the last dim, then of the
    one before, ...  Modes: ``'constant'`` (with ``value``; negative pads crop), ``'reflect'``,
    ``'replicate'``, ``'circular'``.

    >>> import nbtorch as torch
    >>> F = torch.nn.functional
    >>> F.pad(torch.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect")
    tensor([[3., 2., 1., 2., 3., 2.]])
    >>> F.pad(torch.tensor([1, 2]), (1, 0), value=9)
    tensor([9, 1, 2])
    """
    pads = tuple(pad)
    for i, p in enumerate(pads):
        if not isinstance(p, (numbers.Integral, np.integer)) or isinstance(p, bool):
            raise TypeError("pad(): argument 'pad' (position 2) must be tuple of ints, but found "
                            f"element of type {type(p).__name__} at pos {i}")
    pads = tuple(int(p) for p in pads)
    ndim = input.dim()
    if len(pads) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pads) > 2 * ndim:
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but "
            f"got padding length {len(pads)} and input of dimension {ndim}")
    if mode == "constant":
        shape = input.shape
        for d, left, right in _pairs(pads, ndim):
            if shape[d] + min(left, 0) + min(right, 0) < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
            if shape[d] + left + right < 0:
                raise RuntimeError(
                    f"The input size {shape[d]}, plus negative padding {left} and {right} "
                    f"resulted in a negative output size, which is invalid. Check dimension {d} "
                    "of your input.")
        return ConstantPadNd.apply(input, pad=pads, value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_index_pad(input, pads, mode)
    k = len(pads) // 2
    index = tuple(_source_positions(mode, input.shape[d], left, right)
                  for d, left, right in reversed(_pairs(pads, ndim)))
    return _INDEX_PADS[mode, k].apply(input, index=index)


# --- interpolate ---------------------------------------------------------------------------------

_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}
_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) bicubic convolution constant


def _is_integer(x) -> bool:
    return isinstance(x, (numbers.Integral, np.integer)) and not isinstance(x, bool)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims (all dims after the first two) to ``size``, or scale them by
    ``scale_factor``.  Modes ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-D input),
    ``'bilinear'`` and ``'bicubic'`` (4-D), ``'trilinear'`` (5-D) and ``'area'``, with PyTorch's
    source-index and weight formulas.

    >>> import nbtorch as torch
    >>> x = torch.tensor([[[1.0, 2.0]]])
    >>> torch.nn.functional.interpolate(x, scale_factor=2)
    tensor([[[1., 1., 2., 2.]]])
    >>> torch.nn.functional.interpolate(x, size=4, mode="linear", align_corners=True)
    tensor([[[1.0000, 1.3333, 1.6667, 2.0000]]])
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.dim() - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scale_factors = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {list(input.shape[2:])} and output size of "
                    f"{size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                    "output size in (o1, o2, ...,oK) format.")
            if not all(_is_integer(x) for x in size):
                raise TypeError(
                    "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                    f"Tuple[int, int, int], but got size with types {[type(x) for x in size]}")
            output_size = [int(n) for n in size]
        else:
            output_size = [int(size)] * dim
    elif scale_factor is not None:
        output_size = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {list(input.shape[2:])} and "
                    f"scale_factor of shape {scale_factor}. Please provide input tensor in (N, C, "
                    "d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scale_factors = [float(s) for s in scale_factor]
        else:
            scale_factors = [float(scale_factor)] * dim
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and output_size is None:
        recompute_scale_factor = True
    if recompute_scale_factor:
        output_size = [int(input.shape[i + 2] * scale_factors[i]) for i in range(dim)]
        scale_factors = None
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes "
                         "and requires a 4-D tensor as input")
    ndim = input.dim()
    supported = (mode in ("nearest", "nearest-exact", "area") and ndim in (3, 4, 5)
                 or _LINEAR.get(mode) == ndim)
    if not supported:
        if mode in _LINEAR and ndim in (3, 4, 5):
            raise NotImplementedError(
                f"Got {ndim}D input, but {mode} mode needs {_LINEAR[mode]}D input")
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {ndim}D) for the "
            f"modes: {_MODES} (got {mode})")
    if antialias:
        raise NotImplementedError("interpolate(): antialias=True is not supported by nbtorch")
    if mode == "area":
        from . import _pooling

        pool = getattr(_pooling, f"adaptive_avg_pool{dim}d", None)
        if pool is None:
            raise NotImplementedError(f"interpolate(mode='area') needs adaptive_avg_pool{dim}d")
        return pool(input, output_size)
    if output_size is None:
        output_size = [int(input.shape[i + 2] * scale_factors[i]) for i in range(dim)]
    _check_sizes(input, output_size)
    out = input
    # Separable: one spatial dim at a time, the last one first, which is also the order in
    # which PyTorch's kernels combine the taps.
    for i in reversed(range(dim)):
        scale = scale_factors[i] if scale_factors is not None else None
        taps = _taps(mode, input.shape[i + 2], output_size[i], scale, align_corners,
                     input._data.dtype)
        out = _resample(out, i + 2, taps)
    return out if out is not input else input.clone()


upsample = interpolate


def _check_sizes(input: Tensor, output_size) -> None:
    if all(n > 0 for n in list(input.shape[2:]) + list(output_size)):
        return
    names = _DIM_NAMES[3 - len(output_size):]
    given = ", ".join(f"{n}: {s}" for n, s in zip(names, input.shape[2:]))
    wanted = ", ".join(f"{n}: {s}" for n, s in zip(names, output_size))
    raise RuntimeError(
        f"Input and output sizes should be greater than 0, but got input ({given}) output "
        f"({wanted})")


def _taps(mode: str, n_in: int, n_out: int, scale, align_corners: bool, dtype):
    """``[(source index array, weight array or None), ...]`` for one dim, with PyTorch's index
    and weight formulas computed in the input's precision (float32 for float32 data)."""
    work = np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float32)
    j = np.arange(n_out)
    if mode in ("nearest", "nearest-exact"):
        ratio = work.type(1.0 / scale) if scale and scale > 0 else work.type(n_in) / n_out
        at = j.astype(work) + work.type(0.5) if mode == "nearest-exact" else j.astype(work)
        return [(np.minimum(np.floor(at * ratio).astype(np.int64), n_in - 1), None)]
    if mode != "bicubic" and n_out == n_in:
        return [(j, None)]
    if align_corners:
        ratio = work.type(n_in - 1) / (n_out - 1) if n_out > 1 else work.type(0)
        src = ratio * j.astype(work)
    else:
        ratio = work.type(1.0 / scale) if scale and scale > 0 else work.type(n_in) / n_out
        src = ratio * (j.astype(work) + work.type(0.5)) - work.type(0.5)
        if mode != "bicubic":
            src = np.maximum(src, work.type(0))
    if mode == "bicubic":
        i0 = np.floor(src).astype(np.int64)
        t = (src - i0.astype(work)).astype(work)
        weights = _cubic_weights(t, work)
        return [(np.clip(i0 - 1 + k, 0, n_in - 1), w) for k, w in enumerate(weights)]
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lambda1 = np.clip(src - i0.astype(work), 0, 1).astype(work)
    i1 = i0 + (i0 < n_in - 1)
    return [(i0, (1 - lambda1).astype(work)), (i1, lambda1)]


def _cubic_weights(t, work):
    """The four taps of cubic convolution (A = -0.75) at offsets -1, 0, 1, 2 from floor(src)."""
    a = work.type(_CUBIC_A)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = work.type(1)
    return [far(t + one), near(t), near(one - t), far(one - t + one)]


def _resample(x: Tensor, dim: int, taps) -> Tensor:
    """``sum_k x.index_select(dim, index_k) * weight_k`` (weights broadcast along ``dim``)."""
    shape = (-1,) + (1,) * (x.dim() - dim - 1)
    out = None
    for index, weight in taps:
        if weight is None and index.size == x.shape[dim] and (index == np.arange(index.size)).all():
            picked = x  # the identity map (same size): nothing to gather
        else:
            picked = x.index_select(dim, _device_index(index, x))
        if weight is not None:
            picked = picked * _like(weight.reshape(shape), x)
        out = picked if out is None else out + picked
    return out


def _device_index(index, like: Tensor) -> Tensor:
    return Tensor._wrap(backend.to_device(index, like.device))


def _like(array, like: Tensor) -> Tensor:
    return Tensor._wrap(backend.to_device(array.astype(like._data.dtype, copy=False),
                                          like.device))


# --- distances -----------------------------------------------------------------------------------


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """``input / max(‖input‖_p, eps)`` along ``dim``.

    >>> import nbtorch as torch
    >>> torch.nn.functional.normalize(torch.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    result = input / denom
    if out is not None:
        out._data = result._data
        out._vbox[0] += 1
        return out
    return result


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``<x1, x2> / (max(‖x1‖, eps) * max(‖x2‖, eps))`` along ``dim``, computed as PyTorch does:
    each input is divided by its clamped norm before the dot product (the clamp passes the
    gradient through, as PyTorch's in-place clamp under no_grad does).

    >>> import nbtorch as torch
    >>> a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]])
    >>> torch.nn.functional.cosine_similarity(a, b)
    tensor([0.7071])
    """
    from ... import result_type
    from ...ops.shape import broadcast_tensors

    common = result_type(x1, x2)
    if not common.is_floating_point:
        raise RuntimeError(
            f"expected common dtype to be floating point, yet common dtype is "
            f"{_dtype_name(common)}")
    x1 = x1 if x1.is_floating_point() else x1.to(common)
    x2 = x2 if x2.is_floating_point() else x2.to(common)
    x1, x2 = broadcast_tensors(x1, x2)
    n1 = x1.norm(2, dim, keepdim=True).clone()
    n2 = x2.norm(2, dim, keepdim=True).clone()
    with no_grad():
        n1.clamp_min_(eps)
        n2.clamp_min_(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def _dtype_name(dt) -> str:
    names = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
             "bool": "Bool"}
    return names.get(str(dt).replace("torch.", ""), str(dt))


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``‖x1 - x2 + eps‖_p`` along the last dim.

    >>> import nbtorch as torch
    >>> a, b = torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]])
    >>> torch.nn.functional.pairwise_distance(a, b)
    tensor([5.0000])
    """
    last = max(x1.dim(), x2.dim()) - 1
    return (x1 - x2 + eps).norm(p, last, keepdim=keepdim)

"""Activation primitives: softmax and log-softmax (fused, numerically stable), and the pointwise
activations of ``torch.nn.functional`` that need one.

Softmax and log-softmax subtract the row maximum before exponentiating, so no logit overflows, and
each is a single node whose backward is one formula of its output.  The pointwise activations
(leaky ReLU, ELU/SELU/CELU, GELU, SiLU, Mish, softplus, log-sigmoid, hardtanh, hardsigmoid,
hardswish, threshold, GLU) are primitives too (see the NOTE below).

Every backward is written once against ``ctx.xp`` from the saved input or output only (never from
a saved intermediate), so that with ``create_graph=True`` it records a graph: double backward works.
"""

from __future__ import annotations

import math

from .. import backend
from .._tensor import Tensor, _wrap_dim
from ..autograd.function import Op
from .inplace import _name as _type_name

__all__ = ["softmax", "log_softmax", "selu", "celu", "threshold"]

# NOTE: the pointwise activations are primitives, not compositions of elementwise ops: each would be
# 2 to 6 nodes as a composition, and one node is faster in both passes (measured 1.2-1.5x for
# forward + backward of SiLU, ELU and softplus on a (64, 128) batch: the Python cost per node
# dominates there), carries PyTorch's node name (``GeluBackward0``...), and uses the stable
# formulas PyTorch uses (softplus, log-sigmoid and Mish never overflow exp for large |x|).


def _sigmoid(xp, x):
    """1 / (1 + e^-x): exp overflows to inf for very negative x, and 1 / inf = 0 is the limit."""
    return 1 / (1 + xp.exp(-x))


def _erf(xp, x):
    return xp.erf(x) if isinstance(x, Tensor) else backend.erf(xp, x)


# --- softmax and log-softmax ----------------------------------------------------------------------


class Softmax(Op):
    """Softmax: y = e^(x - max x) / Σ e^(x - max x) along dim; dx = y (g - Σ g y)"""

    @staticmethod
    def forward(ctx, x, dim=-1):
        xp = ctx.xp
        ctx.dim = dim
        if x.size == 0:
            y = x.copy()
        elif x.ndim == 0:  # one element: 1 (nan stays nan)
            e = xp.exp(xp.asarray(x - x))
            y = xp.asarray(e / e)
        else:
            y = x - x.max(axis=dim, keepdims=True)
            xp.exp(y, out=y)
            y /= y.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if y.ndim == 0:  # the sum over the only element is that element
            return g * y * (1 - y)
        gy = g * y
        return gy - y * ctx.xp.sum(gy, axis=ctx.dim, keepdims=True)


class LogSoftmax(Op):
    """LogSoftmax: y = x - max x - log Σ e^(x - max x) along dim; dx = g - e^y Σ g"""

    @staticmethod
    def forward(ctx, x, dim=-1):
        xp = ctx.xp
        ctx.dim = dim
        if x.size == 0:
            y = x.copy()
        elif x.ndim == 0:  # one element: 0 (nan stays nan)
            y = xp.asarray(x - x)
        else:
            y = x - x.max(axis=dim, keepdims=True)
            y -= xp.log(xp.exp(y).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        xp = ctx.xp
        if y.ndim == 0:
            return g - xp.exp(y) * g
        return g - xp.exp(y) * xp.sum(g, axis=ctx.dim, keepdims=True)


def _softmax_input(input, dim, dtype, name: str):
    """The input cast to ``dtype`` (PyTorch casts before computing), and ``dim`` wrapped."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    ndim = input._data.ndim
    dim = _wrap_dim(int(dim), ndim)
    if dtype is not None:
        input = input.to(dtype=dtype)
    if input._data.dtype.kind not in "fc":
        kernel = f"{name}_lastdim_kernel_impl" if dim == max(ndim, 1) - 1 else f"{name}_kernel_impl"
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{_type_name(input._data.dtype)}'")
    return input, dim


def softmax(input, dim, dtype=None):
    """Softmax along ``dim``: every slice becomes positive and sums to 1.

    The input is first cast to ``dtype`` when one is given (as in PyTorch).

    >>> import nbtorch as torch
    >>> torch.softmax(torch.tensor([1.0, 2.0, 3.0]), dim=0)
    tensor([0.0900, 0.2447, 0.6652])
    """
    input, dim = _softmax_input(input, dim, dtype, "softmax")
    return Softmax.apply(input, dim=dim)


def log_softmax(input, dim, dtype=None):
    """The logarithm of softmax along ``dim``, computed without overflow or ``log(0)``.

    >>> import nbtorch as torch
    >>> torch.log_softmax(torch.tensor([1e4, 0.0]), dim=0)
    tensor([     0., -10000.])
    """
    input, dim = _softmax_input(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(input, dim=dim)


# --- pointwise activations ------------------------------------------------------------------------


def _float_only(input, kernel: str):
    """PyTorch has no integer kernel for these activations: its error names the kernel."""
    if input._data.dtype.kind not in "fc":
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{_type_name(input._data.dtype)}'")
    return input


class LeakyRelu(Op):
    """LeakyRelu: y = x if x > 0 else slope x; dy/dx = 1 if x > 0 else slope"""

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.slope = negative_slope
        ctx.save_for_backward(x)
        return ctx.xp.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ctx.xp.where(x > 0, g, g * ctx.slope)


class Elu(Op):
    """Elu: y = s x if x > 0 else s α (e^(c x) - 1); dy/dx = s if x > 0 else s α c e^(c x)
    (ELU: s = c = 1; SELU: PyTorch's fixed s and α; CELU: c = 1 / α)"""

    @staticmethod
    def forward(ctx, x, alpha=1.0, scale=1.0, input_scale=1.0):
        xp = ctx.xp
        ctx.params = (alpha, scale, input_scale)
        ctx.save_for_backward(x)
        # min(x, 0): the exponential of the positive side is never used; keep it finite.
        negative = xp.expm1(xp.minimum(x, 0) * input_scale) * (scale * alpha)
        return xp.where(x > 0, x * scale, negative).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        alpha, scale, input_scale = ctx.params
        slope = xp.exp(xp.minimum(x, 0) * input_scale) * (scale * alpha * input_scale)
        return xp.where(x > 0, g * scale, g * slope)


class Celu(Elu):
    """Celu: y = x if x > 0 else α (e^(x/α) - 1); dy/dx = 1 if x > 0 else e^(x/α)"""


class Gelu(Op):
    """Gelu: y = x Φ(x) with Φ the normal CDF ('none', by erf) or its tanh approximation ('tanh');
    dy/dx = Φ(x) + x φ(x)"""

    @staticmethod
    def forward(ctx, x, approximate="none"):
        xp = ctx.xp
        ctx.approximate = approximate
        ctx.save_for_backward(x)
        if approximate == "tanh":
            inner = (x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)
            return x * 0.5 * (1 + xp.tanh(inner))
        return x * 0.5 * (1 + _erf(xp, x * (1 / math.sqrt(2))))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        if ctx.approximate == "tanh":
            beta = math.sqrt(2 / math.pi)
            t = xp.tanh((x + x * x * x * 0.044715) * beta)
            inner_derivative = (1 + x * x * (3 * 0.044715)) * beta
            return g * (0.5 * (1 + t) + x * 0.5 * (1 - t * t) * inner_derivative)
        cdf = 0.5 * (1 + _erf(xp, x * (1 / math.sqrt(2))))
        pdf = xp.exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi))
        return g * (cdf + x * pdf)


class Silu(Op):
    """Silu: y = x σ(x); dy/dx = σ(x) (1 + x (1 - σ(x)))"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * _sigmoid(ctx.xp, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = _sigmoid(ctx.xp, x)
        return g * s * (1 + x * (1 - s))


def _softplus1(xp, x):
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|): never overflows."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class Mish(Op):
    """Mish: y = x tanh(softplus x); dy/dx = t + x σ(x) (1 - t²) with t = tanh(softplus x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * ctx.xp.tanh(_softplus1(ctx.xp, x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        t = xp.tanh(_softplus1(xp, x))
        return g * (t + x * _sigmoid(xp, x) * (1 - t * t))


class Softplus(Op):
    """Softplus: y = log(1 + e^(βx)) / β, and y = x where βx > threshold (PyTorch's linear region);
    dy/dx = σ(βx), 1 in the linear region"""

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        xp = ctx.xp
        ctx.params = (beta, threshold)
        ctx.save_for_backward(x)
        z = x * beta
        soft = _softplus1(xp, z) / beta if beta != 1 else _softplus1(xp, z)
        return xp.where(z > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        beta, threshold = ctx.params
        z = x * beta
        return xp.where(z > threshold, g, g * _sigmoid(xp, z))


class LogSigmoid(Op):
    """LogSigmoid: y = log σ(x) = min(x, 0) - log1p(e^-|x|); dy/dx = σ(-x)"""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        ctx.save_for_backward(x)
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _sigmoid(ctx.xp, -x)


class Hardtanh(Op):
    """Hardtanh: y = min(max(x, lo), hi); dy/dx = 1 where lo < x < hi, else 0 (0 at the bounds, as
    in PyTorch)"""

    @staticmethod
    def forward(ctx, x, min_val=-1.0, max_val=1.0):
        ctx.bounds = (min_val, max_val)
        ctx.save_for_backward(x)
        return ctx.xp.clip(x, min_val, max_val).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        return g * ((x > lo) & (x < hi))


class Hardsigmoid(Op):
    """Hardsigmoid: y = min(max(x / 6 + 1/2, 0), 1); dy/dx = 1/6 where -3 < x < 3, else 0"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.clip(x * (1 / 6) + 0.5, 0, 1).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ((x > -3) & (x < 3)) * (1 / 6)


class Hardswish(Op):
    """Hardswish: y = x min(max(x + 3, 0), 6) / 6; dy/dx = 0 (x <= -3), x/3 + 1/2 (x < 3), 1"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x * ctx.xp.clip(x + 3, 0, 6) * (1 / 6)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        middle = xp.where(x < 3, g * (x * (1 / 3) + 0.5), g)
        return xp.where(x <= -3, 0.0, middle)


class Threshold(Op):
    """Threshold: y = x where x > threshold, else value; dy/dx = 1 where x > threshold, else 0"""

    @staticmethod
    def forward(ctx, x, threshold=0.0, value=0.0):
        ctx.threshold = threshold
        ctx.save_for_backward(x)
        return ctx.xp.where(x > threshold, x, value).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x > ctx.threshold)


def _halves(x, dim: int):
    """The two halves of ``x`` along ``dim`` (differentiable pieces when ``x`` is a Tensor)."""
    if isinstance(x, Tensor):
        return x.chunk(2, dim)
    n = x.shape[dim] // 2
    lead = (slice(None),) * dim
    return x[lead + (slice(0, n),)], x[lead + (slice(n, None),)]


class Glu(Op):
    """Glu: y = a σ(b) with (a, b) the halves of x along dim; dy/da = σ(b), dy/db = a σ(b)
    (1 - σ(b))"""

    @staticmethod
    def forward(ctx, x, dim=-1):
        ctx.dim = dim
        ctx.save_for_backward(x)
        a, b = _halves(x, dim)
        return a * _sigmoid(ctx.xp, b)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        a, b = _halves(x, ctx.dim)
        s = _sigmoid(xp, b)
        gs = g * s
        return xp.concatenate([gs, gs * a * (1 - s)], axis=ctx.dim)


# --- the activations PyTorch also has at the top level (torch.selu, torch.celu, torch.threshold)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input):
    """SELU: ``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))`` with PyTorch's constants.

    >>> import nbtorch as torch
    >>> torch.selu(torch.tensor([-1.0, 0.0, 1.0]))
    tensor([-1.1113,  0.0000,  1.0507])
    """
    _float_only(input, "elu_cpu")
    return Elu.apply(input, alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def celu(input, alpha=1.0):
    """CELU: ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    >>> import nbtorch as torch
    >>> torch.celu(torch.tensor([-1.0, 1.0]), alpha=2.0)
    tensor([-0.7869,  1.0000])
    """
    _float_only(input, "elu_cpu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return Celu.apply(input, alpha=alpha, input_scale=1 / alpha)


def threshold(input, threshold, value):
    """``input`` where it is greater than ``threshold``, else ``value``.

    >>> import nbtorch as torch
    >>> torch.threshold(torch.tensor([0.5, 2.0]), 1.0, -1.0)
    tensor([-1.,  2.])
    """
    if input._data.dtype.kind not in "fc":  # integer tensors stay integer, as in PyTorch
        xp = backend.xp_of(input._data)
        data = input._data
        return Tensor._wrap(xp.where(data > threshold, data, value).astype(data.dtype))
    return Threshold.apply(input, threshold=threshold, value=value)


METHODS = {"softmax": softmax, "log_softmax": log_softmax}
INPLACE = ()

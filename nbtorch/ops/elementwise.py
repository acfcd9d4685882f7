"""Elementwise ops: arithmetic, math functions, comparisons and logic, and dtype/device copies.

Each primitive is an ``Op`` whose ``forward`` runs on arrays and whose ``backward`` is written once
against ``ctx.xp`` (see ``autograd/tensor_xp.py``).  Broadcasting is undone centrally by the engine.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .. import _dtype, backend
from .._tensor import Tensor
from ..autograd.function import Op
from ._promote import as_number, floating, promoted, scalar_array
from .inplace import _name as _type_name

_ndarray = np.ndarray
_ONES = {np.dtype(t): scalar_array(1, np.dtype(t)) for t in (np.float16, np.float32, np.float64)}


def _one(like):
    """1 as an operand for ``like``: for a numpy array, a 0-d array of its dtype, which numpy
    combines about twice as fast as a Python number (cupy arrays and Tensors take the number)."""
    return _ONES.get(like.dtype, 1) if type(like) is _ndarray else 1


# --- arithmetic ----------------------------------------------------------------------------------


class Add(Op):
    """Add: y = a + b; dy/da = 1, dy/db = 1"""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, (g if ctx.needs_input_grad[1] else None)


class AddScaled(Op):
    """Add: y = a + alpha * b; dy/da = 1, dy/db = alpha (a node of its own, so that the common
    alpha = 1 keeps nothing on its node)"""

    _backward_name = "AddBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha):
        ctx.alpha = alpha
        return a + alpha * b

    @staticmethod
    def backward(ctx, g):
        return g, (g * ctx.alpha if ctx.needs_input_grad[1] else None)


class Sub(Op):
    """Sub: y = a - b; dy/da = 1, dy/db = -1"""

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class SubScaled(Op):
    """Sub: y = a - alpha * b; dy/da = 1, dy/db = -alpha"""

    _backward_name = "SubBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha):
        ctx.alpha = alpha
        return a - alpha * b

    @staticmethod
    def backward(ctx, g):
        return g, (g * -ctx.alpha if ctx.needs_input_grad[1] else None)


class Rsub(Sub):
    """Rsub: y = a - x for a number a (``a - x``); dy/dx = -1"""

    _backward_name = "RsubBackward1"  # PyTorch's node for a number minus a tensor
    _edge_args = (1,)  # the number is no input of the node


class RsubScaled(SubScaled):
    """Rsub: y = a - alpha * x for a number a; dy/dx = -alpha"""

    _backward_name = "RsubBackward1"
    _edge_args = (1,)


class Mul(Op):
    """Mul: y = a * b; dy/da = b, dy/db = a"""

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g * b if b is not None else None), (g * a if a is not None else None)


class Div(Op):
    """Div: y = a / b; dy/da = 1 / b, dy/db = -a / b²"""

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(a if need_b else None, b if (need_a or need_b) else None)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (g / b if need_a else None), (-g * a / (b * b) if need_b else None)


class Neg(Op):
    """Neg: y = -x; dy/dx = -1"""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class PowScalar(Op):
    """Pow: y = x ** p for a number p; dy/dx = p * x^(p-1)"""

    _backward_name = "PowBackward0"

    @staticmethod
    def forward(ctx, x, exponent=1.0):
        ctx.exponent = exponent
        ctx.save_for_backward(x)
        return x ** exponent

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        p = ctx.exponent
        if p == 0:
            return g * 0
        return g * p * x ** (p - 1) if p != 2 else g * 2 * x


class Pow(Op):
    """Pow: y = a ** b; dy/da = b * a^(b-1), dy/db = y * log(a) (0 where a = 0 and b >= 0)"""

    _backward_name = "PowBackward1"

    @staticmethod
    def forward(ctx, a, b):
        y = a ** b
        ctx.save_for_backward(a, b, y if (ctx.needs_input_grad or (0, 0))[1] else None)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        xp = ctx.xp
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        if need_a:
            ga = xp.where(b == 0, 0.0, g * b * a ** (b - 1))
        if need_b:
            gb = xp.where((a == 0) & (b >= 0), 0.0, g * y * xp.log(a))
        return ga, gb


class RPow(Op):
    """Pow: y = c ** x for a number c; dy/dx = y * ln c (0 where c = 0 and x >= 0)"""

    _backward_name = "PowBackward2"

    @staticmethod
    def forward(ctx, x, base=1.0):
        ctx.base = base
        y = ctx.xp.power(base, x).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        c = ctx.base
        if c > 0:
            return g * y * math.log(c)
        if c == 0:
            return ctx.xp.where(x >= 0, 0.0, g * y * -math.inf)
        return g * y * math.nan


class Remainder(Op):
    """Remainder: y = a - floor(a / b) * b (sign of b); dy/da = 1, dy/db = -floor(a / b)"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.remainder(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g, -g * ctx.xp.floor(a / b)


class Fmod(Op):
    """Fmod: y = a - trunc(a / b) * b (sign of a); dy/da = 1, dy/db = -trunc(a / b)"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.fmod(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g, -g * ctx.xp.trunc(a / b)


# --- unary math --------------------------------------------------------------------------------


class Exp(Op):
    """Exp: y = e^x; dy/dx = y"""

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class Log(Op):
    """Log: y = ln x; dy/dx = 1 / x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Log2(Op):
    """Log2: y = log2 x; dy/dx = 1 / (x ln 2)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log2(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x * math.log(2.0))


class Log10(Op):
    """Log10: y = log10 x; dy/dx = 1 / (x ln 10)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log10(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x * math.log(10.0))


class Log1p(Op):
    """Log1p: y = ln(1 + x); dy/dx = 1 / (1 + x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log1p(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x + 1)


class Expm1(Op):
    """Expm1: y = e^x - 1; dy/dx = y + 1"""

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (y + 1)


class Sqrt(Op):
    """Sqrt: y = √x; dy/dx = 1 / (2y)"""

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g / (2 * y)


class Rsqrt(Op):
    """Rsqrt: y = 1 / √x; dy/dx = -y³ / 2"""

    @staticmethod
    def forward(ctx, x):
        y = 1 / ctx.xp.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (y * y * y) * -0.5


class Reciprocal(Op):
    """Reciprocal: y = 1 / x; dy/dx = -y²"""

    @staticmethod
    def forward(ctx, x):
        y = 1 / x
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return -g * y * y


class Abs(Op):
    """Abs: y = |x|; dy/dx = sign(x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.xp.sign(x)


class Sin(Op):
    """Sin: y = sin x; dy/dx = cos x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.xp.cos(x)


class Cos(Op):
    """Cos: y = cos x; dy/dx = -sin x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.cos(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -g * ctx.xp.sin(x)


class Tan(Op):
    """Tan: y = tan x; dy/dx = 1 + y²"""

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.tan(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 + y * y)


class Atan(Op):
    """Atan: y = atan x; dy/dx = 1 / (1 + x²)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arctan(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 + x * x)


class Tanh(Op):
    """Tanh: y = tanh x; dy/dx = 1 - y²"""

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (_one(y) - y * y)


class Sigmoid(Op):
    """Sigmoid: y = 1 / (1 + e^-x); dy/dx = y (1 - y)"""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        # exp(-x) overflows to inf for very negative x, and 1 / inf = 0 is the right limit.
        y = xp.exp(-x)
        if isinstance(y, np.generic):  # numpy gives a scalar for a 0-d input
            y = np.asarray(y)
        y += _one(y)
        xp.reciprocal(y, out=y)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (_one(y) - y) * y  # PyTorch's order of products, so the same rounding


class Relu(Op):
    """Relu: y = max(x, 0); dy/dx = 1 where y > 0, else 0"""

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (y > 0)


class Erf(Op):
    """Erf: y = erf x; dy/dx = 2/√π e^(-x²)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.erf(ctx.xp, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 / math.sqrt(math.pi)) * ctx.xp.exp(-(x * x))


class _ZeroGrad(Op):
    """Base of piecewise-constant ops (floor, ceil, round, trunc, sign): their gradient is 0."""

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.zeros_like(g)


class Floor(_ZeroGrad):
    """Floor: y = ⌊x⌋; dy/dx = 0"""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.floor(x)


class Ceil(_ZeroGrad):
    """Ceil: y = ⌈x⌉; dy/dx = 0"""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.ceil(x)


class Round(_ZeroGrad):
    """Round: y = x rounded half to even; dy/dx = 0"""

    @staticmethod
    def forward(ctx, x, decimals=0):
        return ctx.xp.round(x, decimals)


class Trunc(_ZeroGrad):
    """Trunc: y = x rounded toward zero; dy/dx = 0"""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.trunc(x)


class Sign(_ZeroGrad):
    """Sign: y = -1, 0 or 1; dy/dx = 0"""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.sign(x)


class Clamp(Op):
    """Clamp: y = min(max(x, lo), hi); dy/dx = 1 where lo <= x <= hi, else 0"""

    _backward_name = "ClampBackward1"  # PyTorch's node for number bounds (tensors: ClampBackward0)

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        xp = ctx.xp
        ctx.save_for_backward(x)
        ctx.bounds = (min, max)
        y = x
        if min is not None:
            y = xp.maximum(y, min)
        if max is not None:
            y = xp.minimum(y, max)
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        mask = None
        if lo is not None:
            mask = x >= lo
        if hi is not None:
            mask = (x <= hi) if mask is None else mask & (x <= hi)
        return g * mask


class _Extreme(Op):
    """Base of the elementwise max/min ops: forward picks with ``_pick`` (an xp function name);
    ``_beats(a, b)`` says where ``a`` is the one picked (and so gets the gradient)."""

    _pick: str
    _beats = staticmethod(operator.gt)

    @classmethod
    def _saving_forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return getattr(ctx.xp, cls._pick)(a, b)


class _TieSplitting(_Extreme):
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp, beats = ctx.xp, ctx._fn._beats
        share = xp.where(a == b, g * 0.5, g)
        return xp.where(beats(b, a), 0.0, share), xp.where(beats(a, b), 0.0, share)


class Maximum(_TieSplitting):
    """Maximum: y = max(a, b); the gradient goes to the larger input, split in half on ties"""

    _pick, _beats = "maximum", staticmethod(operator.gt)

    @staticmethod
    def forward(ctx, a, b):
        return Maximum._saving_forward(ctx, a, b)


class Minimum(_TieSplitting):
    """Minimum: y = min(a, b); the gradient goes to the smaller input, split in half on ties"""

    _pick, _beats = "minimum", staticmethod(operator.lt)

    @staticmethod
    def forward(ctx, a, b):
        return Minimum._saving_forward(ctx, a, b)


class _NanIgnoring(_Extreme):
    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        to_a = (ctx._fn._beats(a, b) | (a == b)) | xp.isnan(b)
        return xp.where(to_a, g, 0.0), xp.where(to_a, 0.0, g)


class Fmax(_NanIgnoring):
    """Fmax: y = max(a, b) ignoring NaN; the gradient goes to a where a >= b or b is NaN, else to
    b"""

    _pick, _beats = "fmax", staticmethod(operator.gt)

    @staticmethod
    def forward(ctx, a, b):
        return Fmax._saving_forward(ctx, a, b)


class Fmin(_NanIgnoring):
    """Fmin: y = min(a, b) ignoring NaN; the gradient goes to a where a <= b or b is NaN, else to
    b"""

    _pick, _beats = "fmin", staticmethod(operator.lt)

    @staticmethod
    def forward(ctx, a, b):
        return Fmin._saving_forward(ctx, a, b)


class Where(Op):
    """Where: y = a where cond, else b; dy/da = cond, dy/db = not cond"""

    _edge_args = (1, 2)  # as PyTorch's node lists them

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        out = ctx.xp.where(cond, a, b)
        return out

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        xp = ctx.xp
        return None, xp.where(cond, g, 0.0), xp.where(cond, 0.0, g)


class ToCopy(Op):
    """ToCopy: y = x converted to another dtype or device; dy/dx = the gradient converted back"""

    @staticmethod
    def forward(ctx, x, dtype=None, device=None):
        ctx.source = (x.dtype, backend.device_of(x))
        if device is None and dtype is None:  # clone() and to(copy=True)
            return x.copy()
        if device is not None:
            x = backend.to_device(x, device)
        if dtype is not None:
            x = x.astype(dtype, copy=False)
        return x

    @staticmethod
    def backward(ctx, g):
        dtype, dev = ctx.source
        if isinstance(g, Tensor):
            return g.to(device=dev, dtype=_dtype.from_numpy_dtype(dtype))
        if dtype.kind not in "fc":
            return None
        return backend.to_device(g, dev).astype(dtype, copy=False)


class Clone(ToCopy):
    """Clone: y = a copy of x; dy/dx = 1 (named ``CloneBackward0`` in the graph, as in PyTorch)"""


# --- functions and their wrappers --------------------------------------------------------------


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other``, with PyTorch's type promotion.

    >>> import nbtorch as torch
    >>> torch.add(torch.tensor([1, 2]), 2.5)
    tensor([3.5000, 4.5000])
    """
    a, b, dt = promoted(input, other)
    _check_alpha(alpha, dt)
    return AddScaled.apply(a, b, alpha=alpha) if alpha != 1 else Add.apply(a, b)


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other``.

    >>> import nbtorch as torch
    >>> torch.sub(torch.tensor([3.0]), 1)
    tensor([2.])
    """
    _check_sub(input, other)
    a, b, dt = promoted(input, other)
    _check_alpha(alpha, dt)
    return SubScaled.apply(a, b, alpha=alpha) if alpha != 1 else Sub.apply(a, b)


def _check_sub(input, other) -> None:
    """PyTorch refuses bool operands of ``-``, even when the other operand would promote them."""
    a_bool, b_bool = (isinstance(x, (bool, np.bool_)) or isinstance(x, Tensor)
                      and x._data.dtype == np.bool_ for x in (input, other))
    if a_bool and b_bool:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
            "`logical_xor()` operator instead."
        )
    if a_bool or b_bool:
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
            "to invert a mask, use the `~` or `logical_not()` operator instead."
        )


def rsub(input, other, alpha=1):
    """``other - alpha * input``."""
    _check_sub(other, input)
    if isinstance(other, Tensor):
        return sub(other, input, alpha=alpha)
    a, b, dt = promoted(input, other)
    _check_alpha(alpha, dt)
    return RsubScaled.apply(b, a, alpha=alpha) if alpha != 1 else Rsub.apply(b, a)


def _rtruediv(input, other):
    """``other / input``; for a number ``other`` it is ``input.reciprocal() * other``, as in
    PyTorch (the same nodes, MulBackward0 over ReciprocalBackward0, and the same rounding)."""
    if type(other) is float or type(other) is int:
        return mul(reciprocal(input), other)
    return div(other, input)


def _check_alpha(alpha, dt) -> None:
    if alpha != 1 and dt.kind in "iub" and isinstance(as_number(alpha), float):
        raise RuntimeError(
            "For integral input tensors, argument alpha must not be a floating point number."
        )


def mul(input, other, *, out=None):
    """``input * other``.

    >>> import nbtorch as torch
    >>> torch.mul(torch.tensor([1.0, 2.0]), 3)
    tensor([3., 6.])
    """
    a, b, _ = promoted(input, other)
    return Mul.apply(a, b)


def div(input, other, *, rounding_mode=None, out=None):
    """``input / other``; integer inputs give the default float dtype (true division).

    >>> import nbtorch as torch
    >>> torch.div(torch.tensor([5, 3]), 2)
    tensor([2.5000, 1.5000])
    >>> torch.div(torch.tensor([-5.0]), 2, rounding_mode='floor')
    tensor([-3.])
    """
    a, b, dt = promoted(input, other)
    if rounding_mode is None:
        if dt.kind not in "fc":
            a, b = _to_float(a), _to_float(b)
        return Div.apply(a, b)
    if rounding_mode not in ("floor", "trunc"):
        raise RuntimeError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )
    if dt.kind in "iub":
        _check_int_divisor(b, dt)
        xa = a._data if isinstance(a, Tensor) else a
        xb = b._data if isinstance(b, Tensor) else b
        xp = backend.xp_of(xa if isinstance(a, Tensor) else xb)
        q = xp.floor_divide(xa, xb) if rounding_mode == "floor" else xp.trunc(
            xp.true_divide(xa, xb)).astype(dt)
        return Tensor._wrap(xp.asarray(q).astype(dt, copy=False))
    q = Div.apply(a, b)
    return floor(q) if rounding_mode == "floor" else trunc(q)


true_divide = divide = div
multiply = mul
subtract = sub


def _check_int_divisor(b, dt) -> None:
    """Integer division by zero is an error in PyTorch (numpy returns 0 with a warning)."""
    if dt.kind in "iub" and (bool((b._data == 0).any()) if isinstance(b, Tensor) else b == 0):
        raise RuntimeError("ZeroDivisionError")


def floor_divide(input, other):
    return div(input, other, rounding_mode="floor")


def _to_float(x):
    return floating(x) if isinstance(x, Tensor) else x


def neg(input):
    """``-input``."""
    if input._data.dtype == np.bool_:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
            "invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return Neg.apply(input)


negative = neg


def pow(input, exponent):
    """``input ** exponent`` (either may be a number).

    >>> import nbtorch as torch
    >>> torch.pow(torch.tensor([2.0, 3.0]), 2)
    tensor([4., 9.])
    """
    a, b, dt = promoted(input, exponent)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return Pow.apply(a, b)
    if isinstance(a, Tensor):
        exponent = as_number(exponent)
        if dt.kind in "iu" and isinstance(exponent, int) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return PowScalar.apply(a, exponent=exponent)
    return RPow.apply(b, base=as_number(input))


def float_power(input, exponent):
    a = input.double() if isinstance(input, Tensor) else input
    b = exponent.double() if isinstance(exponent, Tensor) else exponent
    return pow(a, b)


def remainder(input, other):
    """Python's ``%``: the result has the sign of ``other``."""
    a, b, dt = promoted(input, other)
    _check_int_divisor(b, dt)
    return Remainder.apply(a, b)


def fmod(input, other):
    """C's ``fmod``: the result has the sign of ``input``."""
    a, b, dt = promoted(input, other)
    _check_int_divisor(b, dt)
    return Fmod.apply(a, b)


def _float_unary(op):
    def function(input, *, out=None):
        return op.apply(input if input._data.dtype.kind in "fc" else floating(input))

    function.__name__ = op.__name__.lower()
    function.__doc__ = f"Elementwise {op.__doc__}."
    return function


exp = _float_unary(Exp)
log = _float_unary(Log)
log2 = _float_unary(Log2)
log10 = _float_unary(Log10)
log1p = _float_unary(Log1p)
expm1 = _float_unary(Expm1)
sqrt = _float_unary(Sqrt)
rsqrt = _float_unary(Rsqrt)
reciprocal = _float_unary(Reciprocal)
sin = _float_unary(Sin)
cos = _float_unary(Cos)
tan = _float_unary(Tan)
atan = arctan = _float_unary(Atan)
tanh = _float_unary(Tanh)
sigmoid = _float_unary(Sigmoid)
erf = _float_unary(Erf)


def exp2(input):
    return pow(2.0, floating(input))


def square(input):
    """``input * input``."""
    return mul(input, input)


def abs(input, *, out=None):
    """``|input|`` (integer tensors stay integer).

    >>> import nbtorch as torch
    >>> torch.abs(torch.tensor([-1, 2]))
    tensor([1, 2])
    """
    return Abs.apply(input)


absolute = abs


def relu(input):
    """``max(input, 0)``.

    >>> import nbtorch as torch
    >>> torch.relu(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return Relu.apply(input)


def sign(input):
    return Sign.apply(input)


def floor(input):
    return input if input._data.dtype.kind in "iub" else Floor.apply(input)


def ceil(input):
    return input if input._data.dtype.kind in "iub" else Ceil.apply(input)


def trunc(input):
    return input if input._data.dtype.kind in "iub" else Trunc.apply(input)


fix = trunc


def frac(input):
    return sub(input, trunc(input))


def round(input, *, decimals: int = 0):
    """Round half to even, as PyTorch does.

    >>> import nbtorch as torch
    >>> torch.round(torch.tensor([0.5, 1.5, 2.4]))
    tensor([0., 2., 2.])
    """
    if input._data.dtype.kind in "iub":
        return input
    return Round.apply(input, decimals=decimals) if decimals else Round.apply(input)


def clamp(input, min=None, max=None):
    """Limit values to ``[min, max]``; tensors as bounds work elementwise.

    >>> import nbtorch as torch
    >>> torch.clamp(torch.tensor([-2.0, 0.5, 3.0]), min=-1, max=1)
    tensor([-1.0000,  0.5000,  1.0000])
    """
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # where, not maximum/minimum: on a tie PyTorch gives the whole gradient to ``input``.
        out = input
        if min is not None:
            lo = min if isinstance(min, Tensor) else _like_scalar(min, input)
            out = where(lt(input, lo), lo, out)
        if max is not None:
            hi = max if isinstance(max, Tensor) else _like_scalar(max, input)
            out = where(gt(input, hi), hi, out)
        return out
    bound_float = any(isinstance(as_number(v), float) for v in (min, max) if v is not None)
    if bound_float and input._data.dtype.kind not in "fc":
        input = floating(input)
    kwargs = {}
    if min is not None:
        kwargs["min"] = as_number(min)
    if max is not None:
        kwargs["max"] = as_number(max)
    return Clamp.apply(input, **kwargs)


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def _like_scalar(value, like: Tensor) -> Tensor:
    from .creation import full

    return full((), value, dtype=like.dtype, device=like.device)


def maximum(input, other):
    """Elementwise maximum of two tensors.

    >>> import nbtorch as torch
    >>> torch.maximum(torch.tensor([1.0, 5.0]), torch.tensor([3.0, 2.0]))
    tensor([3., 5.])
    """
    a, b, _ = promoted(input, other)
    return Maximum.apply(a, b)


def minimum(input, other):
    a, b, _ = promoted(input, other)
    return Minimum.apply(a, b)


def fmax(input, other):
    """Elementwise maximum that ignores NaN (NaN only where both are NaN).

    >>> import nbtorch as torch
    >>> torch.fmax(torch.tensor([float('nan'), 1.0]), torch.tensor([2.0, 0.0]))
    tensor([2., 1.])
    """
    a, b, _ = promoted(input, other)
    return Fmax.apply(a, b)


def fmin(input, other):
    """Elementwise minimum that ignores NaN (NaN only where both are NaN)."""
    a, b, _ = promoted(input, other)
    return Fmin.apply(a, b)


def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other``; with one argument, ``nonzero``.

    >>> import nbtorch as torch
    >>> torch.where(torch.tensor([True, False]), torch.tensor([1.0, 2.0]), 0.0)
    tensor([1., 0.])
    """
    if input is None and other is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        raise TypeError("where(): argument 'condition' must be Tensor")
    if condition._data.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {_type_name(condition._data.dtype)}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        from .creation import tensor

        input = tensor(input, device=condition.device)
    a, b, _ = promoted(input, other)
    if not isinstance(a, Tensor):
        a = _like_scalar(a, b)
    if not isinstance(b, Tensor):
        b = _like_scalar(b, a)
    return Where.apply(condition, a, b)


class Lerp(Op):
    """Lerp: y = a + w (b - a) for a number w (computed as b - (b - a)(1 - w) where |w| >= 0.5,
    as PyTorch does, so that w = 1 gives b exactly); dy/da = 1 - w, dy/db = w"""

    @staticmethod
    def forward(ctx, a, b, weight=0.5):
        ctx.weight = weight
        return _lerp(ctx.xp, a, b, weight)

    @staticmethod
    def backward(ctx, g):
        w = ctx.weight
        return g * (1 - w), g * w


class LerpTensor(Op):
    """Lerp with a tensor weight: y = a + w (b - a) (from the nearer end, as Lerp);
    dy/da = 1 - w, dy/db = w, dy/dw = b - a"""

    _backward_name = "LerpBackward1"

    @staticmethod
    def forward(ctx, a, b, w):
        ctx.save_for_backward(a, b, w)
        return _lerp(ctx.xp, a, b, w)

    @staticmethod
    def backward(ctx, g):
        a, b, w = ctx.saved_tensors
        return g * (1 - w), g * w, g * (b - a)


def _lerp(xp, a, b, w):
    """a + w (b - a), from a where |w| < 0.5 and from b elsewhere (PyTorch's rounding)."""
    diff = b - a
    if isinstance(w, (int, float)):
        out = a + w * diff if abs(w) < 0.5 else b - diff * (1 - w)
    else:
        out = xp.where(xp.abs(w) < 0.5, a + w * diff, b - diff * (1 - w))
    return xp.asarray(out).astype(xp.result_type(a, b), copy=False)


def lerp(input, end, weight):
    """``input + weight * (end - input)``, with PyTorch's rounding (from the nearer end).

    >>> import nbtorch as torch
    >>> torch.lerp(torch.tensor([0.0, 10.0]), torch.tensor([10.0, 20.0]), 0.25)
    tensor([ 2.5000, 12.5000])
    """
    a, b, _ = promoted(input, end)
    if isinstance(weight, Tensor):
        return LerpTensor.apply(a, b, weight)
    return Lerp.apply(a, b, weight=as_number(weight))


class Addcmul(Op):
    """Addcmul: y = a + v t₁ t₂; dy/da = 1, dy/dt₁ = v t₂, dy/dt₂ = v t₁"""

    @staticmethod
    def forward(ctx, a, t1, t2, value=1):
        ctx.value = value
        ctx.save_for_backward(t1, t2)
        return a + value * t1 * t2 if value != 1 else a + t1 * t2

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        v = ctx.value
        gv = g if v == 1 else g * v
        return g, gv * t2, gv * t1


class Addcdiv(Op):
    """Addcdiv: y = a + v t₁ / t₂; dy/da = 1, dy/dt₁ = v / t₂, dy/dt₂ = -v t₁ / t₂²"""

    @staticmethod
    def forward(ctx, a, t1, t2, value=1):
        ctx.value = value
        ctx.save_for_backward(t1, t2)
        return a + value * t1 / t2 if value != 1 else a + t1 / t2

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        v = ctx.value
        gv = g if v == 1 else g * v
        return g, gv / t2, -gv * t1 / (t2 * t2)


def _addc(op, input, tensor1, tensor2, value):
    """``op`` (Addcmul or Addcdiv) on the three operands cast to their common dtype."""
    t1, t2, _ = promoted(tensor1, tensor2)
    a, t1, _ = promoted(input, t1)
    a, t2, _ = promoted(a, t2)
    return op.apply(a, t1, t2, value=as_number(value))


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2`` (Adam's and RMSprop's running average of g²).

    >>> import nbtorch as torch
    >>> torch.zeros(2).addcmul(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]), value=0.5)
    tensor([1.5000, 4.0000])
    """
    return _addc(Addcmul, input, tensor1, tensor2, value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2`` (Adam's step: θ + (-lr·m) / denom).

    >>> import nbtorch as torch
    >>> torch.ones(2).addcdiv(torch.tensor([1.0, 2.0]), torch.tensor([4.0, 4.0]), value=-1)
    tensor([0.7500, 0.5000])
    """
    return _addc(Addcdiv, input, tensor1, tensor2, value)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Replace NaN and infinities by finite numbers (gradient passes where the value was finite)."""
    xp = backend.xp_of(input._data)
    finfo = np.finfo(input._data.dtype) if input._data.dtype.kind == "f" else None
    hi = posinf if posinf is not None else (finfo.max if finfo else 0)
    lo = neginf if neginf is not None else (finfo.min if finfo else 0)
    data = input._data
    out = input
    for mask, value in ((xp.isnan(data), nan), (xp.isposinf(data), hi), (xp.isneginf(data), lo)):
        if bool(mask.any()):
            out = where(Tensor._wrap(mask), _like_scalar(value, input), out)
    return out


# --- comparisons and logic (no gradient) ---------------------------------------------------------


def _compare(ufunc_name):
    def compare(input, other):
        a, b, _ = promoted(input, other)
        xa = a._data if isinstance(a, Tensor) else a
        xb = b._data if isinstance(b, Tensor) else b
        xp = backend.xp_of(xa if isinstance(a, Tensor) else xb)
        if isinstance(a, Tensor) and isinstance(b, Tensor) and type(xa) is not type(xb):
            from ..autograd.function import _unify_devices

            xp, (xa, xb) = _unify_devices(Where, (a, b), [xa, xb])
        return Tensor._wrap(getattr(xp, ufunc_name)(xa, xb))

    compare.__name__ = ufunc_name
    compare.__doc__ = f"Elementwise ``{ufunc_name}`` comparison; the result is a bool tensor."
    return compare


eq = _compare("equal")
ne = not_equal = _compare("not_equal")
lt = less = _compare("less")
le = less_equal = _compare("less_equal")
gt = greater = _compare("greater")
ge = greater_equal = _compare("greater_equal")
logical_and = _compare("logical_and")
logical_or = _compare("logical_or")
logical_xor = _compare("logical_xor")


def _bitwise(ufunc_name, symbol):
    def bitwise(input, other):
        a, b, dt = promoted(input, other)
        if dt.kind not in "iub":
            raise NotImplementedError(
                f'"{ufunc_name}_cpu" not implemented for \'{_type_name(dt)}\'')
        xa = a._data if isinstance(a, Tensor) else a
        xb = b._data if isinstance(b, Tensor) else b
        xp = backend.xp_of(xa if isinstance(a, Tensor) else xb)
        return Tensor._wrap(getattr(xp, ufunc_name)(xa, xb))

    bitwise.__name__ = ufunc_name
    bitwise.__doc__ = f"Elementwise ``{symbol}`` of integer or bool tensors."
    return bitwise


bitwise_and = _bitwise("bitwise_and", "&")
bitwise_or = _bitwise("bitwise_or", "|")
bitwise_xor = _bitwise("bitwise_xor", "^")


def bitwise_not(input):
    if input._data.dtype.kind not in "iub":
        raise NotImplementedError(
            f"\"bitwise_not_cpu\" not implemented for '{_type_name(input._data.dtype)}'")
    return Tensor._wrap(backend.xp_of(input._data).invert(input._data))


def logical_not(input):
    return Tensor._wrap(backend.xp_of(input._data).logical_not(input._data))


def _predicate(name):
    def predicate(input):
        return Tensor._wrap(getattr(backend.xp_of(input._data), name)(input._data))

    predicate.__name__ = name
    return predicate


isnan = _predicate("isnan")
isinf = _predicate("isinf")
isfinite = _predicate("isfinite")
isposinf = _predicate("isposinf")
isneginf = _predicate("isneginf")
signbit = _predicate("signbit")


def equal(input, other) -> bool:
    """True when both tensors have the same shape and elements."""
    return input.shape == other.shape and bool((input._data == other._data).all())


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when ``|input - other| <= atol + rtol * |other|`` everywhere.

    >>> import nbtorch as torch
    >>> torch.allclose(torch.tensor([1.0]), torch.tensor([1.0 + 1e-9]))
    True
    """
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b, _ = promoted(input, other)
    xa = a._data if isinstance(a, Tensor) else a
    xb = b._data if isinstance(b, Tensor) else b
    xp = backend.xp_of(xa if isinstance(a, Tensor) else xb)
    return Tensor._wrap(xp.isclose(xa, xb, rtol=rtol, atol=atol, equal_nan=equal_nan))


METHODS = {
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "true_divide": div, "floor_divide": floor_divide, "neg": neg,
    "negative": neg, "pow": pow, "float_power": float_power, "remainder": remainder, "fmod": fmod,
    "exp": exp, "exp2": exp2, "log": log, "log2": log2, "log10": log10, "log1p": log1p,
    "expm1": expm1, "sqrt": sqrt, "rsqrt": rsqrt, "reciprocal": reciprocal, "square": square,
    "abs": abs, "absolute": abs, "sin": sin, "cos": cos, "tan": tan, "atan": atan, "arctan": atan,
    "tanh": tanh, "sigmoid": sigmoid, "relu": relu, "erf": erf, "sign": sign, "floor": floor,
    "ceil": ceil, "round": round, "trunc": trunc, "fix": trunc, "frac": frac, "clamp": clamp,
    "clip": clamp, "clamp_min": clamp_min, "clamp_max": clamp_max, "maximum": maximum,
    "minimum": minimum, "fmax": fmax, "fmin": fmin, "lerp": lerp, "addcmul": addcmul,
    "addcdiv": addcdiv, "nan_to_num": nan_to_num,
    "where": lambda self, condition, other: where(condition, self, other),
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "greater": gt, "less": lt,
    "greater_equal": ge, "less_equal": le, "not_equal": ne, "logical_and": logical_and,
    "logical_or": logical_or, "logical_xor": logical_xor, "logical_not": logical_not,
    "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor,
    "bitwise_not": bitwise_not, "isnan": isnan, "isinf": isinf, "isfinite": isfinite,
    "isposinf": isposinf, "isneginf": isneginf, "signbit": signbit, "equal": equal,
    "allclose": allclose, "isclose": isclose,
}
INPLACE = (
    "add", "sub", "mul", "div", "neg", "pow", "remainder", "fmod", "exp", "log", "log1p", "expm1",
    "sqrt", "rsqrt", "reciprocal", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "sign", "floor",
    "ceil", "round", "trunc", "clamp", "clamp_min", "clamp_max", "lerp", "addcmul", "addcdiv",
    "nan_to_num", "logical_not", "square", "erf", "subtract", "multiply", "divide", "true_divide",
    "floor_divide",
)

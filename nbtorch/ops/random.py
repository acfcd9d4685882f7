"""Random sampling: rand, randn, randint, randperm, normal, bernoulli, multinomial, the ``*_like``
versions, and the in-place samplers (uniform_, normal_, ...) that ``nn.init`` uses.  Generators and
seeding live in ``ops/_generator.py`` and are re-exported here (``torch.manual_seed`` etc.).

On the CPU the draws are PyTorch's own: after ``manual_seed(s)``, rand, randint, randperm, uniform_,
random_, bernoulli(probs), bernoulli_(tensor), exponential_, cauchy_, geometric_, multinomial and
randn (below 16 values, or float64) give exactly PyTorch's numbers.  float32 randn of 16+ values
agrees to about 1e-6 (PyTorch's vectorized log/sin/cos round differently); bernoulli_ with a float
p (PyTorch uses MKL there) and float16 randn of 16+ values are reproducible but not PyTorch's.
The samplers are not reparameterized: gradients to their inputs are zero, as in PyTorch.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _dtype, backend
from .._tensor import Tensor
from ..autograd.function import Op
from ..autograd.grad_mode import GRAD
from ._generator import (  # noqa: F401 - re-exported: torch.manual_seed, torch.Generator, ...
    Generator,
    default_generator,
    generator_for,
    get_rng_state,
    initial_seed,
    manual_seed,
    manual_seed_device,
    seed,
    set_rng_state,
)
from ._promote import check_broadcast
from .creation import _finish, _size
from .inplace import _name, commit

__all__ = [
    "Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
    "set_rng_state", "rand", "randn", "randint", "randperm", "normal", "bernoulli",
    "multinomial", "rand_like", "randn_like", "randint_like", "poisson",
]


# --- helpers --------------------------------------------------------------------------------------


def _floating(dtype, kernel: str) -> _dtype.dtype:
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    if not d.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_name(d.np)}\'')
    return d


def _shape(size, name: str):
    if not size:
        raise TypeError(f"{name}() received an invalid combination of arguments - got (), but "
                        "expected (tuple of ints size, ...)")
    return _size(size)


def _num(x) -> str:
    """A number as PyTorch's C++ message prints a double (``5``, ``0.5``)."""
    return f"{x:g}"


def _on(data, dev):
    return backend.to_device(data, dev)


def _into(out, result: Tensor) -> Tensor:
    """``out=``: PyTorch resizes ``out`` to the result and writes it there."""
    if out is None:
        return result
    out._data = result._data.astype(out._data.dtype, copy=False)
    out._vbox[0] += 1
    return out


class Sample(Op):
    """Sample: y = a fresh random draw (``values``); dy/dinput = 0, since PyTorch's samplers are
    not reparameterized (normal, bernoulli, uniform_, ... pass zero gradients)"""

    @staticmethod
    def forward(ctx, *inputs, values):
        ctx.count = len(inputs)
        return values

    @staticmethod
    def backward(ctx, g):
        return (g * 0,) * ctx.count if ctx.count > 1 else g * 0


def _sampler(backward_name: str) -> type:
    """A ``Sample`` whose grad_fn has PyTorch's name for that sampler."""
    cls = type(backward_name, (Sample,), {"__doc__": Sample.__doc__})
    cls._backward_name = backward_name
    return cls


_SAMPLERS = {name: _sampler(name) for name in (
    "NormalBackward0", "NormalBackward1", "NormalBackward2", "NormalBackward3",
    "UniformBackward0", "BernoulliBackward0", "BernoulliBackward1", "BernoulliBackward2",
    "RandomBackward0", "RandomBackward1", "RandomBackward2", "ExponentialBackward0",
    "LogNormalBackward0", "CauchyBackward0", "GeometricBackward0",
)}


def _sampled(backward_name: str, inputs, values) -> Tensor:
    """Wrap ``values``; when an input requires grad, the result hangs below it with zero grads."""
    if GRAD.enabled and any(t._requires_grad for t in inputs):
        return _SAMPLERS[backward_name].apply(*inputs, values=values)
    return Tensor._wrap(values)


def _fill(self: Tensor, values, backward_name: str) -> Tensor:
    """Write ``values`` into ``self`` in place (no graph under no_grad, as nn.init runs)."""
    values = values.astype(self._data.dtype, copy=False)
    if GRAD.enabled and self._requires_grad:
        return commit(self, _SAMPLERS[backward_name].apply(self, values=values))
    self._data[...] = values
    self._vbox[0] += 1
    return self


# --- creation -------------------------------------------------------------------------------------


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None,
         layout=None, pin_memory=False) -> Tensor:
    """Uniform samples in [0, 1) of the given shape (float32 unless ``dtype`` says otherwise).

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0); torch.rand(2, 3)
    tensor([[0.4963, 0.7682, 0.0885],
            [0.1320, 0.3074, 0.6341]])
    """
    shape = _shape(size, "rand")
    d = _floating(dtype, "check_uniform_bounds")
    dev = backend.canonical_device(device)
    data = generator_for(generator, dev)._engine.uniform(shape, d.np)
    return _into(out, _finish(_on(data, dev), requires_grad))


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None,
          layout=None, pin_memory=False) -> Tensor:
    """Standard normal samples (mean 0, variance 1) of the given shape.

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0); torch.randn(3)
    tensor([ 1.5410, -0.2934, -2.1788])
    """
    shape = _shape(size, "randn")
    d = _floating(dtype, "normal_kernel_cpu")
    dev = backend.canonical_device(device)
    data = generator_for(generator, dev)._engine.normal(shape, d.np)
    return _into(out, _finish(_on(data, dev), requires_grad))


def _check_range(low: int, high: int, d: _dtype.dtype) -> None:
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    if d.category <= 1:
        info = np.iinfo(d.np) if d.category == 1 else np.iinfo(np.uint8)
        top = 1 if d.category == 0 else info.max
        ctype = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char",
                 "int16": "short", "int32": "int", "int64": "long"}[d.name]
        if low < info.min:
            raise RuntimeError(f"from is out of bounds for {ctype}")
        if high - 1 > top:
            raise RuntimeError(f"to - 1 is out of bounds for {ctype}")


def _int(value, what: str) -> int:
    if isinstance(value, Tensor):
        value = value.item()
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"randint(): argument '{what}' must be int, not {type(value).__name__}")
    return int(value)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False, out=None, layout=None, pin_memory=False) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``; int64 unless ``dtype`` says otherwise.

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0); torch.randint(0, 10, (8,))
    tensor([4, 9, 3, 0, 3, 9, 7, 3])
    """
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high  # randint(high, size)
    if size is None:
        raise TypeError(f"randint(): argument 'size' (position 2) must be tuple of ints, not "
                        f"{type(high).__name__}")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint(): argument 'size' (position 3) must be tuple of ints, not "
                        f"{type(size).__name__}")
    low, high = _int(low, "low"), _int(high, "high")
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.int64
    _check_range(low, high, d)
    dev = backend.canonical_device(device)
    data = generator_for(generator, dev)._engine.integers(low, high, _size(tuple(size)))
    return _into(out, _finish(_on(data.astype(d.np, copy=False), dev), requires_grad))


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad=False, out=None,
             layout=None, pin_memory=False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64).

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0); torch.randperm(8)
    tensor([4, 0, 7, 3, 2, 5, 1, 6])
    """
    n = int(n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    d = _dtype.to_dtype(dtype) if dtype is not None else _dtype.int64
    dev = backend.canonical_device(device)
    data = generator_for(generator, dev)._engine.permutation(n)
    return _into(out, _finish(_on(data.astype(d.np, copy=False), dev), requires_grad))


def rand_like(input, *, dtype=None, device=None, requires_grad=False, layout=None,
              memory_format=None, generator=None) -> Tensor:
    """Uniform [0, 1) samples with ``input``'s shape, dtype and device."""
    return rand(tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                device=device or input.device, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, layout=None,
               memory_format=None, generator=None) -> Tensor:
    """Standard normal samples with ``input``'s shape, dtype and device.

    >>> import nbtorch as torch
    >>> torch.randn_like(torch.rand(2, 3)).shape
    torch.Size([2, 3])
    """
    return randn(tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                 device=device or input.device, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False,
                 layout=None, memory_format=None, generator=None) -> Tensor:
    """Integers in [low, high) with ``input``'s shape, dtype and device:
    ``randint_like(input, high)`` or ``randint_like(input, low, high)``."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), generator=generator,
                   dtype=dtype or input.dtype, device=device or input.device,
                   requires_grad=requires_grad)


def _normal_overload_error(got: str):
    return TypeError(
        f"normal() received an invalid combination of arguments - got ({got}), but expected one "
        "of:\n * (Tensor mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)"
        "\n * (Tensor mean, float std = 1, *, torch.Generator generator = None, Tensor out = None)"
        "\n * (float mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)"
        "\n * (float mean, float std, tuple of ints size, *, torch.Generator generator = None, "
        "Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, torch.device "
        "device = None, bool pin_memory = False, bool requires_grad = False)\n")


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False, out=None, layout=None, pin_memory=False) -> Tensor:
    """Normal samples with the given mean and std: tensors (broadcast together), or two numbers
    and a ``size``.  Gradients to ``mean``/``std`` are zero, as in PyTorch.

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0); torch.normal(2.0, 3.0, (3,))
    tensor([ 6.6230,  1.1197, -4.5364])
    >>> torch.normal(torch.zeros(2, 2), 1.0).shape
    torch.Size([2, 2])
    """
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if size is not None and (mean_t or std_t) or size is None and not (mean_t or std_t):
        kinds = ", ".join("Tensor" if isinstance(a, Tensor) else type(a).__name__
                          for a in (mean, std))
        raise _normal_overload_error(kinds + (", size=tuple" if size is not None else ""))
    if std_t:
        if bool((std._data < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_num(std)}")
    if not (mean_t or std_t):
        d = _floating(dtype, "normal_kernel_cpu")
        dev = backend.canonical_device(device)
        data = generator_for(generator, dev)._engine.normal(_size(tuple(size)), d.np, mean, std)
        return _into(out, _finish(_on(data, dev), requires_grad))
    first = mean if mean_t else std
    d = _dtype.promote_types(mean.dtype, std.dtype) if mean_t and std_t else first.dtype
    _floating(d, "normal_kernel_cpu")
    if mean_t and std_t:
        check_broadcast(tuple(mean.shape), tuple(std.shape))
        shape = np.broadcast_shapes(tuple(mean.shape), tuple(std.shape))
    else:
        shape = tuple(first.shape)
    engine = generator_for(generator, first.device)._engine
    # PyTorch's order: draw N(0, std) and add the mean tensor, or draw N(0, 1), scale, shift.
    m = mean._data if mean_t else mean
    if mean_t and not std_t:
        values = engine.normal(tuple(shape), d.np, 0.0, std) + m
    else:
        values = engine.normal(tuple(shape), d.np) * std._data + m
    values = _on(values.astype(d.np, copy=False), first.device)
    name = "NormalBackward3" if mean_t and std_t else (
        "NormalBackward1" if mean_t else "NormalBackward2")
    return _into(out, _sampled(name, [t for t in (mean, std) if isinstance(t, Tensor)], values))


def _bernoulli_draw(engine, p, dev, np_dtype):
    """1 where u < p, with u in PyTorch's precision for p (53 bits for float64, else 24)."""
    u = engine.unit(p.size, np.float64 if p.dtype == np.float64 else np.float32)
    return (_on(u.reshape(p.shape), dev) < p).astype(np_dtype)


def _check_probs(p) -> None:
    if bool(((p < 0) | (p > 1)).any()):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could "
                           "this error message be improved?  If so, please report an enhancement "
                           "request to PyTorch.)")


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 draws: 1 with probability ``input`` (elementwise), or with probability ``p`` when given.

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0); torch.bernoulli(torch.full((6,), 0.5))
    tensor([1., 0., 1., 1., 1., 0.])
    """
    engine = generator_for(generator, input.device)._engine
    if p is not None:
        # PyTorch's CPU kernel for a scalar p compares a double (53 bits) with p per element.
        values = _on(engine.unit(input.numel(), np.float64).reshape(input.shape), input.device)
        return _into(out, Tensor._wrap((values < p).astype(input._data.dtype)))
    _check_probs(input._data)
    values = _bernoulli_draw(engine, input._data, input.device, input._data.dtype)
    return _into(out, _sampled("BernoulliBackward0", [input], values))


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None,
                out=None) -> Tensor:
    """Indices drawn from the categorical distribution(s) given by the rows of ``input``
    (non-negative weights), with or without replacement.

    >>> import nbtorch as torch
    >>> w = torch.tensor([0.0, 1.0, 0.0])
    >>> torch.multinomial(w, 2, replacement=True)
    tensor([1, 1])
    """
    p = input._data
    if p.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if p.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_name(p.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > p.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    xp = backend.xp_of(p)
    if bool((~xp.isfinite(p) | (p < 0)).any()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = p.reshape(-1, p.shape[-1]).astype(np.float64)
    if bool((rows.sum(-1) <= 0).any()):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    engine = generator_for(generator, input.device)._engine
    if not replacement or num_samples == 1:
        # PyTorch's trick: the top-k of p / q with q ~ Exponential(1) is a draw without replacement.
        q = -xp.log1p(-_on(engine.unit(rows.size, np.float64), input.device)).reshape(rows.shape)
        keys = rows / q
        picked = xp.argsort(-keys, axis=-1, kind="stable")[:, :num_samples]
    else:
        cdf = xp.cumsum(rows, axis=-1)
        cdf /= cdf[:, -1:]
        u = _on(engine.unit(rows.shape[0] * num_samples, np.float64), input.device)
        u = u.reshape(rows.shape[0], num_samples)
        picked = xp.stack([xp.searchsorted(c, v, side="left") for c, v in zip(cdf, u)])
        picked = xp.minimum(picked, rows.shape[-1] - 1)
    result = Tensor._wrap(picked.reshape(p.shape[:-1] + (num_samples,)).astype(np.int64))
    return _into(out, result)


def poisson(input, generator=None) -> Tensor:
    """Poisson counts with rates ``input`` (drawn by numpy/CuPy from the generator's seed).

    >>> import nbtorch as torch
    >>> torch.poisson(torch.zeros(3))
    tensor([0., 0., 0.])
    """
    engine = generator_for(generator, input.device)._engine
    seed = int(engine.integers(0, 1 << 62, (1,))[0])
    dev = input.device
    rng = np.random.default_rng(seed) if dev.type == "cpu" else backend.random_state(dev, seed)
    return Tensor._wrap(rng.poisson(input._data).astype(input._data.dtype))


# --- in-place samplers (Tensor methods) -----------------------------------------------------------


def _engine_for(self: Tensor, generator):
    return generator_for(generator, self.device)._engine


def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with uniform samples from [a, b).

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0); torch.zeros(3).uniform_(-2, 3)
    tensor([ 0.4813,  1.8411, -1.5576])
    """
    _floating(self.dtype, "check_uniform_bounds")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={_num(a)} > to={_num(b)}")
    values = _engine_for(self, generator).uniform(self.shape, self._data.dtype, a, b)
    return _fill(self, _on(values, self.device), "UniformBackward0")


def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with normal samples.

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0); torch.zeros(3).normal_(0, 2)
    tensor([ 3.0820, -0.5869, -4.3576])
    """
    _floating(self.dtype, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_num(std)}")
    values = _engine_for(self, generator).normal(self.shape, self._data.dtype, mean, std)
    return _fill(self, _on(values, self.device), "NormalBackward0")


def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    """Fill in place with 1 (probability ``p``, a number or a tensor) or 0."""
    engine = _engine_for(self, generator)
    if isinstance(p, Tensor):
        _check_probs(p._data)
        probs = backend.xp_of(p._data).broadcast_to(_on(p._data, self.device), self._data.shape)
        draw = _bernoulli_draw(engine, probs, self.device, self._data.dtype)
        return _fill(self, draw, "BernoulliBackward1")
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_num(p)}")
    # PyTorch's CPU kernel for a scalar p compares a double (53 bits) with p per element.
    u = _on(engine.unit(self.numel(), np.float64).reshape(self.shape), self.device)
    return _fill(self, (u < p).astype(self._data.dtype), "BernoulliBackward2")


def _full_range(d: _dtype.dtype) -> int:
    """random_()'s upper bound (inclusive): all exactly representable integers of the dtype."""
    if d.is_floating_point:
        return 1 << {"float16": 11, "float32": 24, "float64": 53}[d.name]
    return 1 if d.category == 0 else int(np.iinfo(d.np).max)


def random_(self, *args, generator=None, **kwargs) -> Tensor:
    """Fill in place with integers: ``random_()`` over the dtype's exact integers,
    ``random_(to)`` from [0, to), ``random_(from, to)`` from [from, to).

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0); torch.zeros(4, dtype=torch.int64).random_(10)
    tensor([4, 9, 3, 0])
    """
    d = self.dtype
    if kwargs.keys() - {"from", "to"} or len(args) > 2:
        raise TypeError(f"random_() received an invalid combination of arguments - got "
                        f"{len(args)} positional and {sorted(kwargs)}")
    if kwargs:
        low, high = kwargs.get("from", 0), kwargs.get("to")
    elif len(args) == 1:
        low, high = 0, args[0]
    else:
        low, high = args if args else (0, None)
    # PyTorch names the three overloads' grad_fns: (from, to), (to), ().
    name = ("RandomBackward2" if not args and not kwargs else
            "RandomBackward1" if len(args) == 1 else "RandomBackward0")
    if high is None:
        high = _full_range(d) + 1
    _check_range(int(low), int(high), d)
    values = _engine_for(self, generator).integers(int(low), int(high), self.shape)
    return _fill(self, _on(values.astype(d.np), self.device), name)


def exponential_(self, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with exponential samples of rate ``lambd``: -log(1 - u) / lambd."""
    if not self.is_floating_point():
        raise RuntimeError("Exponential distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified "
                           f"{_name(self._data.dtype)}")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={_num(lambd)}")
    u = _unit_like(self, generator)
    return _fill(self, _xp(u).log1p(-u) / -lambd, "ExponentialBackward0")


def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill in place with exp(N(mean, std²)) samples."""
    _floating(self.dtype, "log_normal_cpu")
    # PyTorch draws these one double at a time (the small-normal path), whatever the size.
    z = _engine_for(self, generator).normal(self.shape, np.float64, mean, std, serial=True)
    return _fill(self, _on(_xp(z).exp(z), self.device), "LogNormalBackward0")


def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with Cauchy samples: median + sigma * tan(pi * (u - 1/2))."""
    _floating(self.dtype, "cauchy_cpu")
    u = _unit_like(self, generator)
    return _fill(self, median + sigma * _xp(u).tan(np.pi * (u - 0.5)), "CauchyBackward0")


def geometric_(self, p: float, *, generator=None) -> Tensor:
    """Fill in place with the number of Bernoulli(p) trials up to the first success."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={_num(p)}")
    u = _unit_like(self, generator)
    xp = _xp(u)
    return _fill(self, xp.maximum(xp.ceil(xp.log(u) / math.log1p(-p)), 1),
                 "GeometricBackward0")


def _unit_like(self: Tensor, generator):
    """Uniform [0, 1) doubles shaped like ``self``, on its device (PyTorch's exponential_,
    cauchy_ and geometric_ draw 53-bit doubles whatever the dtype)."""
    u = _engine_for(self, generator).unit(self.numel(), np.float64)
    return _on(u.reshape(self._data.shape), self.device)


def _xp(array):
    return backend.xp_of(array)


METHODS = {
    "uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_, "random_": random_,
    "exponential_": exponential_, "log_normal_": log_normal_, "cauchy_": cauchy_,
    "geometric_": geometric_, "bernoulli": bernoulli, "multinomial": multinomial,
}
INPLACE = ()

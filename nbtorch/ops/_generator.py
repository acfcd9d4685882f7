"""Random generators and the global seeding functions (manual_seed, seed, get_rng_state, ...).

A ``Generator`` owns an *engine*; the samplers in ``ops/random.py`` ask it for ``uniform``,
``normal``, ``integers``, ``permutation`` or ``unit`` (raw floats in [0, 1)).

CPU engine: PyTorch's generator.  The same Mersenne Twister (numpy's MT19937, seeded like PyTorch's
mt19937 with the low 32 bits of the seed), 64-bit values made of two 32-bit outputs (high first),
floats from the low 24 (float32) or 53 (float64) bits, integers as ``bits % range + low``, and
normals by Box-Muller (per pair in double below 16 values, with the second value cached in the
generator; in blocks of 16 above).  ``get_state()`` is PyTorch's 5056-byte CPUGeneratorImplState,
so states can even be moved between PyTorch and nbtorch.

GPU engine: CuPy streams (``backend.random_state``) and a (seed, offset) state, like PyTorch's
Philox state: each draw uses a new stream made from the seed and the number of draws so far.
"""

from __future__ import annotations

import math
import os
import struct

import numpy as np

from .. import _dtype, backend
from .._tensor import Tensor

DEFAULT_SEED = 67280421310721  # PyTorch's seed when nobody has called manual_seed


# --- engines: the bits behind a Generator ---------------------------------------------------------


def _mt_key(seed32: int) -> np.ndarray:
    """MT19937's initial state for a 32-bit seed (Matsumoto and Nishimura's init_genrand)."""
    key = np.empty(624, dtype=np.uint32)
    x = seed32
    for i in range(624):
        key[i] = x
        x = (1812433253 * (x ^ (x >> 30)) + i + 1) & 0xFFFFFFFF
    return key


def _box_muller_16(data, work):
    blocks = data.reshape(-1, 16)
    radius = np.sqrt(work(-2.0) * np.log(work(1.0) - blocks[:, :8]))
    theta = work(2.0 * np.pi) * blocks[:, 8:]
    return np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], axis=1).reshape(-1)


def _fma(a, b: float, c: float):
    """a * b + c with one rounding (numpy has no fma): Dekker's exact product, then a
    compensated sum."""
    p = a * b
    t = 134217729.0 * a  # Veltkamp split into 26 + 27 bits
    ah = t - (t - a)
    al = a - ah
    t = 134217729.0 * b
    bh = t - (t - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # p + e == a * b exactly
    s = p + c
    v = s - p
    return s + (((p - (s - v)) + (c - v)) + e)


class _MersenneEngine:
    """PyTorch's CPU generator: mt19937 32-bit outputs, 64-bit values made of two of them
    (high word first), and a cached second Box-Muller value for small normal draws."""

    STATE_SIZE = 5056  # sizeof(CPUGeneratorImplState) in PyTorch

    def __init__(self, seed: int):
        self.bits = np.random.MT19937()
        self.seed(seed)

    def seed(self, seed: int) -> None:
        self.initial_seed = seed
        self.bits.state = {"bit_generator": "MT19937",
                           "state": {"key": _mt_key(seed & 0xFFFFFFFF), "pos": 624}}
        self.normal_cache = None

    def uint32(self, n: int) -> np.ndarray:
        return self.bits.random_raw(n)  # uint64 array holding 32-bit outputs

    def uint64(self, n: int) -> np.ndarray:
        pairs = self.bits.random_raw(2 * n).reshape(n, 2)
        return (pairs[:, 0] << np.uint64(32)) | pairs[:, 1]

    def unit(self, n: int, np_dtype) -> np.ndarray:
        """n floats in [0, 1) (float64 values): 53 random bits for float64, 24 otherwise."""
        if np_dtype == np.float64:
            return (self.uint64(n) & np.uint64((1 << 53) - 1)) * 2.0 ** -53
        return (self.uint32(n) & np.uint64((1 << 24) - 1)) * 2.0 ** -24

    def uniform(self, shape, np_dtype, low=0.0, high=1.0):
        u = self.unit(math.prod(shape), np_dtype)
        if (low, high) != (0.0, 1.0) and np_dtype == np.float64:
            u = _fma(u, high - low, low)  # PyTorch's double kernel fuses it too
        elif (low, high) != (0.0, 1.0):
            # PyTorch casts the bounds to the tensor's dtype, takes (to - from) in float32 and
            # computes x * (to - from) + from as one fused multiply-add: in float64 the product
            # is exact, so one rounding to the dtype at the end gives the same bits.
            lo, hi = np.float32(np.dtype(np_dtype).type(low)), np.float32(
                np.dtype(np_dtype).type(high))
            u = u * np.float64(hi - lo) + np.float64(lo)
        return u.astype(np_dtype).reshape(shape)

    def normal(self, shape, np_dtype, mean=0.0, std=1.0, serial=False):
        n = math.prod(shape)
        if n >= 16 and not serial:
            return self._normal_blocks(n, np_dtype, mean, std).reshape(shape)
        # Fewer than 16: one double Box-Muller pair at a time; the sine half is kept for the next.
        out = []
        if n and self.normal_cache is not None:
            out.append(self.normal_cache)
            self.normal_cache = None
        pairs = (n - len(out) + 1) // 2
        u = self.unit(2 * pairs, np.float64).reshape(pairs, 2)
        radius = np.sqrt(-2.0 * np.log1p(-u[:, 1]))
        theta = 2.0 * np.pi * u[:, 0]
        for c, s in zip((radius * np.cos(theta)).tolist(), (radius * np.sin(theta)).tolist()):
            out.append(c)
            if len(out) < n:
                out.append(s)
            else:
                self.normal_cache = s
        return (np.array(out, dtype=np.float64) * std + mean).astype(np_dtype).reshape(shape)

    def _normal_blocks(self, n, np_dtype, mean, std):
        # PyTorch's normal_fill: n uniforms, then Box-Muller within each block of 16 (values j and
        # j + 8 make a pair); a ragged tail draws 16 fresh uniforms for the last 16 slots.
        work = np.float64 if np_dtype == np.float64 else np.float32
        full = n - n % 16
        out = np.empty(n, dtype=work)
        out[:full] = _box_muller_16(self.unit(n, work).astype(work)[:full], work)
        if full < n:
            out[n - 16:] = _box_muller_16(self.unit(16, work).astype(work), work)
        return (out * work(std) + work(mean)).astype(np_dtype)

    def integers(self, low: int, high: int, shape) -> np.ndarray:
        """int64 values in [low, high): 32 random bits per value, or 64 for ranges of 2**32+."""
        span = high - low
        n = math.prod(shape)
        raw = self.uint64(n) if span >= 1 << 32 else self.uint32(n)
        return ((raw % np.uint64(span)).astype(np.int64) + low).reshape(shape)

    def permutation(self, n: int) -> np.ndarray:
        # PyTorch's Fisher-Yates: swap entry i with a random entry at or after it.
        if n <= 1:
            return np.arange(n, dtype=np.int64)
        offsets = self.uint32(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)
        targets = (offsets.astype(np.int64) + np.arange(n - 1)).tolist()
        perm = list(range(n))
        for i, j in enumerate(targets):
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)

    def get_state(self) -> bytes:
        state = self.bits.state["state"]
        pos = state["pos"]
        buf = bytearray(self.STATE_SIZE)
        struct.pack_into("<QiiQ", buf, 0, self.initial_seed, 625 - pos, 1, 0 if pos == 624 else pos)
        np.frombuffer(buf, np.uint64, 624, 24)[:] = state["key"]
        cached = self.normal_cache is not None
        struct.pack_into("<dddi", buf, 24 + 624 * 8, 0.0, self.normal_cache if cached else 0.0,
                         0.0, int(cached))
        return bytes(buf)

    def set_state(self, raw: bytes) -> None:
        if len(raw) != self.STATE_SIZE:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {self.STATE_SIZE} but "
                               f"found the input RNG state size to be {len(raw)}")
        seed, left, _, _ = struct.unpack_from("<QiiQ", raw, 0)
        key = np.frombuffer(raw, np.uint64, 624, 24).astype(np.uint32)
        _, cache, _, valid = struct.unpack_from("<dddi", raw, 24 + 624 * 8)
        self.initial_seed = seed
        self.bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 625 - left}}
        self.normal_cache = cache if valid else None


class _CupyEngine:
    """A GPU generator: a CuPy stream per draw, made from (seed, offset)."""

    STATE_SIZE = 16

    def __init__(self, dev, seed: int):
        self.device = dev
        self.seed(seed)

    def seed(self, seed: int) -> None:
        self.initial_seed, self.offset = seed, 0

    def _stream(self):
        mixed = np.random.SeedSequence([self.initial_seed, self.offset]).generate_state(2)
        self.offset += 1
        return backend.random_state(self.device, int(mixed[0]) << 31 ^ int(mixed[1]))

    def unit(self, n, np_dtype):
        return self.uniform((n,), np.float64 if np_dtype == np.float64 else np.float32)

    def uniform(self, shape, np_dtype, low=0.0, high=1.0):
        work = np.float64 if np_dtype == np.float64 else np.float32
        return self._stream().uniform(low, high, shape, dtype=work).astype(np_dtype, copy=False)

    def normal(self, shape, np_dtype, mean=0.0, std=1.0, serial=False):
        work = np.float64 if np_dtype == np.float64 else np.float32
        return self._stream().normal(mean, std, shape, dtype=work).astype(np_dtype, copy=False)

    def integers(self, low, high, shape):
        return self._stream().randint(low, high, shape, dtype=np.int64)

    def permutation(self, n):
        return self._stream().permutation(n).astype(np.int64, copy=False)

    def get_state(self) -> bytes:
        return struct.pack("<Qq", self.initial_seed, self.offset)

    def set_state(self, raw: bytes) -> None:
        if len(raw) != self.STATE_SIZE:
            raise RuntimeError(f"Expected a PhiloxCudaState of size {self.STATE_SIZE} but found "
                               f"the input RNG state size to be {len(raw)}")
        self.initial_seed, self.offset = struct.unpack("<Qq", raw)


# --- Generator and the global seeds ---------------------------------------------------------------


def _seed_value(seed) -> int:
    """PyTorch's reading of a seed: an int from -2**63 to 2**64 - 1, negatives wrapped to uint64."""
    seed = int(seed)
    if not -(1 << 63) <= seed < 1 << 64:
        raise ValueError("Overflow when unpacking long long")
    return seed & 0xFFFFFFFFFFFFFFFF


class Generator:
    """A random number generator with its own state, as ``torch.Generator``.

    >>> import nbtorch as torch
    >>> g = torch.Generator().manual_seed(0)
    >>> torch.rand(3, generator=g)
    tensor([0.4963, 0.7682, 0.0885])
    >>> g.initial_seed()
    0
    """

    def __init__(self, device="cpu"):
        self.device = backend.canonical_device(device)
        if self.device.type == "cpu":
            self._engine = _MersenneEngine(DEFAULT_SEED)
        else:
            self._engine = _CupyEngine(self.device, DEFAULT_SEED)

    def manual_seed(self, seed) -> Generator:
        self._engine.seed(_seed_value(seed))
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the new seed."""
        new = int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)
        self._engine.seed(new)
        return new

    def initial_seed(self) -> int:
        return self._engine.initial_seed

    def get_state(self) -> Tensor:
        return Tensor._wrap(np.frombuffer(self._engine.get_state(), dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        if not isinstance(new_state, Tensor) or new_state.dtype is not _dtype.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        self._engine.set_state(new_state.cpu()._data.tobytes())
        return self

    def __repr__(self) -> str:
        return f"<torch._C.Generator object at {hex(id(self))}>"


default_generator = Generator()
_cuda_generators: dict = {}
_cuda_seed = DEFAULT_SEED


def _default_for(dev) -> Generator:
    if dev.type == "cpu":
        return default_generator
    gen = _cuda_generators.get(dev.index)
    if gen is None:
        gen = _cuda_generators[dev.index] = Generator(dev).manual_seed(_cuda_seed)
    return gen


def manual_seed_device(device_type: str, seed) -> None:
    """Seed the default generators of one device type ('cpu' or 'cuda'; silent without a GPU)."""
    global _cuda_seed
    seed = _seed_value(seed)
    if device_type == "cpu":
        default_generator.manual_seed(seed)
        return
    _cuda_seed = seed  # generators made later (lazily, per GPU) start from it
    for gen in _cuda_generators.values():
        gen.manual_seed(seed)


def manual_seed(seed) -> Generator:
    """Seed every device's default generator; returns the CPU one.

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(0); a = torch.rand(2)
    >>> _ = torch.manual_seed(0); bool((a == torch.rand(2)).all())
    True
    """
    seed = _seed_value(seed)
    manual_seed_device("cpu", seed)
    manual_seed_device("cuda", seed)
    return default_generator


def seed() -> int:
    """Seed every default generator from the operating system's entropy; returns the seed.

    >>> import nbtorch as torch
    >>> isinstance(torch.seed(), int)
    True
    """
    new = default_generator.seed()
    manual_seed_device("cuda", new)
    return new


def initial_seed() -> int:
    """The seed of the CPU default generator.

    >>> import nbtorch as torch
    >>> _ = torch.manual_seed(7); torch.initial_seed()
    7
    """
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The CPU default generator's state, a uint8 tensor (PyTorch's own layout).

    >>> import nbtorch as torch
    >>> torch.get_rng_state().shape
    torch.Size([5056])
    """
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore a state from ``get_rng_state()``.

    >>> import nbtorch as torch
    >>> s = torch.get_rng_state(); a = torch.rand(2)
    >>> torch.set_rng_state(s); bool((a == torch.rand(2)).all())
    True
    """
    default_generator.set_state(new_state)


def generator_for(generator, dev) -> Generator:
    """``generator`` if given (it must be for ``dev``'s device type), else dev's default."""
    if generator is None:
        return _default_for(dev)
    if not isinstance(generator, Generator):
        raise TypeError(f"expected a torch.Generator, but got {type(generator).__name__}")
    if generator.device.type != dev.type:
        raise RuntimeError(f"Expected a '{dev.type}' device type for generator but found "
                           f"'{generator.device.type}'")
    return generator

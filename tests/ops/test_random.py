"""Random sampling: seeding and state, PyTorch's exact CPU streams, shapes/dtypes/devices,
distributions (statistically), autograd behaviour and PyTorch's error messages."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from nbtorch.ops import random as R

try:
    import torch as real_torch
except ImportError:  # pragma: no cover - depends on the machine
    real_torch = None

needs_torch = pytest.mark.skipif(real_torch is None, reason="needs PyTorch as the oracle")


@pytest.fixture(autouse=True)
def _fresh_seed():
    """Tests must not depend on (or leak) the global generator's position."""
    nbtorch.manual_seed(1234)
    yield
    nbtorch.manual_seed(1234)


def _np(t):
    return t.detach().cpu().numpy()


# --- seeding and state ----------------------------------------------------------------------------


@pytest.mark.parametrize("draw", [
    lambda d: nbtorch.rand(3, device=d), lambda d: nbtorch.randn(20, device=d),
    lambda d: nbtorch.randint(0, 100, (5,), device=d), lambda d: nbtorch.randperm(10, device=d),
    lambda d: nbtorch.normal(0.0, 1.0, (4,), device=d),
    lambda d: nbtorch.zeros(4, device=d).uniform_(-1, 1),
    lambda d: nbtorch.multinomial(nbtorch.ones(6, device=d), 3),
], ids=["rand", "randn", "randint", "randperm", "normal", "uniform_", "multinomial"])
def test_manual_seed_reproduces(draw, device):
    nbtorch.manual_seed(0)
    a = _np(draw(device))
    nbtorch.manual_seed(0)
    b = _np(draw(device))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _np(draw(device))) or a.size < 3  # the stream moves on


def test_generator_is_independent(device):
    g = nbtorch.Generator(device).manual_seed(5)
    nbtorch.manual_seed(0)
    a = _np(nbtorch.rand(4, generator=g, device=device))
    b = _np(nbtorch.rand(4, device=device))
    g.manual_seed(5)
    nbtorch.rand(7, device=device)  # the global stream moving does not move g
    np.testing.assert_array_equal(_np(nbtorch.rand(4, generator=g, device=device)), a)
    nbtorch.manual_seed(0)
    np.testing.assert_array_equal(_np(nbtorch.rand(4, device=device)), b)


def test_generator_api(device):
    g = nbtorch.Generator(device=device)
    assert g.initial_seed() == 67280421310721  # PyTorch's default seed
    assert g.manual_seed(3) is g and g.initial_seed() == 3
    assert g.device == nbtorch.device(device if device == "cpu" else "cuda:0")
    new = g.seed()
    assert isinstance(new, int) and g.initial_seed() == new
    state = g.get_state()
    assert state.dtype == nbtorch.uint8 and state.ndim == 1
    a = _np(nbtorch.rand(5, generator=g, device=device))
    assert g.set_state(state) is g
    np.testing.assert_array_equal(_np(nbtorch.rand(5, generator=g, device=device)), a)
    assert repr(g).startswith("<torch._C.Generator object at 0x")


def test_global_seed_functions():
    assert nbtorch.manual_seed(42) is nbtorch.default_generator
    assert nbtorch.initial_seed() == 42
    assert nbtorch.manual_seed(-1).initial_seed() == 2**64 - 1  # wrapped, as in PyTorch
    s = nbtorch.seed()
    assert nbtorch.initial_seed() == s
    state = nbtorch.get_rng_state()
    a = _np(nbtorch.randn(3))
    nbtorch.set_rng_state(state)
    np.testing.assert_array_equal(_np(nbtorch.randn(3)), a)


def test_normal_cache_is_part_of_the_state():
    nbtorch.manual_seed(0)
    nbtorch.randn(3)  # an odd count leaves the second Box-Muller value cached
    state = nbtorch.get_rng_state()
    a = _np(nbtorch.randn(3))
    nbtorch.set_rng_state(state)
    np.testing.assert_array_equal(_np(nbtorch.randn(3)), a)


def test_cuda_seed_is_silent_without_gpu():
    R.manual_seed_device("cuda", 3)  # what nbtorch.cuda.manual_seed calls
    nbtorch.cuda.manual_seed(3)
    nbtorch.cuda.manual_seed_all(4)


def test_seed_errors():
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        nbtorch.manual_seed(2**64)
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        nbtorch.Generator().manual_seed(-(2**63) - 1)
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        nbtorch.set_rng_state(nbtorch.zeros(3))
    with pytest.raises(RuntimeError, match="Expected a CPUGeneratorImplState of size 5056 but "
                                           "found the input RNG state size to be 3"):
        nbtorch.set_rng_state(nbtorch.zeros(3, dtype=nbtorch.uint8))


# --- PyTorch's own numbers on the CPU -------------------------------------------------------------

EXACT = [
    ("rand", lambda m: m.rand(5)),
    ("rand-2d", lambda m: m.rand(3, 4)),
    ("rand-float64", lambda m: m.rand(5, dtype=m.float64)),
    ("rand-big", lambda m: m.rand(2000)),
    ("randn-small", lambda m: m.randn(3)),
    ("randn-15", lambda m: m.randn(15)),
    ("randn-float64-big", lambda m: m.randn(100, dtype=m.float64)),
    ("randn-float64-ragged", lambda m: m.randn(37, dtype=m.float64)),
    ("randn-cache", lambda m: m.stack([m.randn(3), m.randn(3)]) if hasattr(m, "stack")
     else m.tensor(np.concatenate([_np(m.randn(3)), _np(m.randn(3))]))),
    ("randn-then-rand", lambda m: (m.randn(1), m.rand(3))[1]),
    ("randint", lambda m: m.randint(0, 10, (8,))),
    ("randint-high-only", lambda m: m.randint(10, (2, 3))),
    ("randint-negative", lambda m: m.randint(-3, 3, (6,))),
    ("randint-wide", lambda m: m.randint(2**40, (4,))),
    ("randint-float", lambda m: m.randint(3, 9, (5,), dtype=m.float64)),
    ("randint-int32", lambda m: m.randint(0, 7, (5,), dtype=m.int32)),
    ("randperm", lambda m: m.randperm(8)),
    ("randperm-big", lambda m: m.randperm(3000)),
    ("randperm-float", lambda m: m.randperm(6, dtype=m.float32)),
    ("uniform_", lambda m: m.zeros(5).uniform_(-2, 3)),
    ("uniform_-float64", lambda m: m.zeros(5, dtype=m.float64).uniform_(0.5, 1.5)),
    ("normal_-small", lambda m: m.zeros(5).normal_(1.0, 2.0)),
    ("normal-floats-float64", lambda m: m.normal(1.0, 2.0, (20,), dtype=m.float64)),
    ("normal-tensor-float", lambda m: m.normal(m.tensor([0.0, 1.0, 2.0]), 2.0)),
    ("normal-float-tensor", lambda m: m.normal(1.0, m.tensor([1.0, 2.0, 3.0]))),
    ("normal-tensor-tensor", lambda m: m.normal(m.tensor([0.0, 1.0]), m.tensor([1.0, 3.0]))),
    ("random_-float", lambda m: m.zeros(3).random_()),
    ("random_-int64", lambda m: m.zeros(3, dtype=m.int64).random_()),
    ("random_-int32", lambda m: m.zeros(3, dtype=m.int32).random_()),
    ("random_-float64", lambda m: m.zeros(3, dtype=m.float64).random_()),
    ("random_-float16", lambda m: m.zeros(3, dtype=m.float16).random_()),
    ("random_-bool", lambda m: m.zeros(5, dtype=m.bool).random_()),
    ("random_-uint8", lambda m: m.zeros(5, dtype=m.uint8).random_()),
    ("random_-to", lambda m: m.zeros(4, dtype=m.int64).random_(10)),
    ("random_-from-to", lambda m: m.zeros(5).random_(2, 5)),
    ("bernoulli-probs", lambda m: m.bernoulli(m.full((6,), 0.5))),
    ("bernoulli-probs-float64", lambda m: m.bernoulli(m.full((6,), 0.3, dtype=m.float64))),
    ("bernoulli_-tensor", lambda m: m.zeros(6).bernoulli_(m.full((6,), 0.5))),
    ("bernoulli_-scalar", lambda m: m.zeros(1000).bernoulli_(0.3)),
    ("bernoulli-scalar-p", lambda m: m.bernoulli(m.zeros(7, dtype=m.float64), 0.6)),
    ("exponential_", lambda m: m.zeros(5).exponential_(2.0)),
    ("cauchy_", lambda m: m.zeros(5).cauchy_()),
    ("geometric_", lambda m: m.zeros(5).geometric_(0.3)),
    ("log_normal_", lambda m: m.zeros(5, dtype=m.float64).log_normal_()),
    ("log_normal_-float32-20", lambda m: m.zeros(20).log_normal_(0.5, 0.25)),
    ("multinomial-replacement", lambda m: m.multinomial(
        m.tensor([[0.1, 0.2, 0.3, 0.4], [1.0, 1.0, 0.0, 0.0]]), 5, replacement=True)),
    ("multinomial-no-replacement", lambda m: m.multinomial(m.rand(3, 50), 10)),
    ("rand_like", lambda m: m.rand_like(m.ones(2, 2, dtype=m.float64))),
    ("randint_like", lambda m: m.randint_like(m.ones(3), 2, 9)),
    ("generator", lambda m: m.rand(4, generator=m.Generator().manual_seed(9))),
]


@needs_torch
@pytest.mark.parametrize("seed", [0, 2**40 + 7])
@pytest.mark.parametrize("draw", [c[1] for c in EXACT], ids=[c[0] for c in EXACT])
def test_matches_torch_exactly(draw, seed):
    real_torch.manual_seed(seed)
    nbtorch.manual_seed(seed)
    expected, got = draw(real_torch), draw(nbtorch)
    assert str(got.dtype) == str(expected.dtype)
    np.testing.assert_array_equal(_np(got), expected.numpy())


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_randn_float32_blocks_close_to_torch(dtype):
    """float32 randn of 16+ values: PyTorch's layout, its vectorized math rounds differently."""
    real_torch.manual_seed(0)
    nbtorch.manual_seed(0)
    expected = real_torch.randn(1000, dtype=getattr(real_torch, dtype)).numpy()
    got = _np(nbtorch.randn(1000, dtype=getattr(nbtorch, dtype)))
    if dtype == "float32":
        np.testing.assert_allclose(got, expected, atol=2e-6, rtol=0)
    else:  # float16 blocks: same distribution, not the same numbers
        assert got.dtype == expected.dtype and abs(got.mean()) < 0.15


@needs_torch
def test_state_is_torch_state():
    for seed in (0, 123456789012):
        real_torch.manual_seed(seed)
        nbtorch.manual_seed(seed)
        np.testing.assert_array_equal(_np(nbtorch.get_rng_state()),
                                      real_torch.get_rng_state().numpy())
        real_torch.randn(3), real_torch.rand(5)
        nbtorch.randn(3), nbtorch.rand(5)
        np.testing.assert_array_equal(_np(nbtorch.get_rng_state()),
                                      real_torch.get_rng_state().numpy())
    # A state saved by PyTorch continues PyTorch's stream here.
    real_torch.manual_seed(7)
    real_torch.randn(5)
    nbtorch.set_rng_state(nbtorch.tensor(real_torch.get_rng_state().numpy()))
    np.testing.assert_array_equal(_np(nbtorch.randn(7)), real_torch.randn(7).numpy())


# --- shapes, dtypes, devices ----------------------------------------------------------------------


@pytest.mark.parametrize("make, dtype", [
    (lambda d: nbtorch.rand(2, 3, device=d), nbtorch.float32),
    (lambda d: nbtorch.rand((2, 3), device=d), nbtorch.float32),
    (lambda d: nbtorch.randn([2, 3], device=d), nbtorch.float32),
    (lambda d: nbtorch.randn(2, 3, dtype=nbtorch.float64, device=d), nbtorch.float64),
    (lambda d: nbtorch.randint(0, 5, (2, 3), device=d), nbtorch.int64),
    (lambda d: nbtorch.randint(5, (2, 3), dtype=nbtorch.int32, device=d), nbtorch.int32),
    (lambda d: nbtorch.randint(0, 5, (2, 3), dtype=nbtorch.int64, device=d), nbtorch.int64),
    (lambda d: nbtorch.normal(0.0, 1.0, (2, 3), device=d), nbtorch.float32),
    (lambda d: nbtorch.normal(nbtorch.zeros(2, 3, device=d), 1.0), nbtorch.float32),
    (lambda d: nbtorch.normal(nbtorch.zeros(2, 1, device=d), nbtorch.ones(3, device=d)),
     nbtorch.float32),
    (lambda d: nbtorch.rand_like(nbtorch.zeros(2, 3, dtype=nbtorch.float64, device=d)),
     nbtorch.float64),
    (lambda d: nbtorch.randn_like(nbtorch.zeros(2, 3, device=d)), nbtorch.float32),
    (lambda d: nbtorch.randint_like(nbtorch.zeros(2, 3, device=d), 4), nbtorch.float32),
    (lambda d: nbtorch.bernoulli(nbtorch.full((2, 3), 0.5, device=d)), nbtorch.float32),
    (lambda d: nbtorch.multinomial(nbtorch.ones(2, 5, device=d), 3), nbtorch.int64),
], ids=["rand", "rand-tuple", "randn-list", "randn-f64", "randint", "randint-int32", "randperm",
        "normal-size", "normal-tensor", "normal-broadcast", "rand_like", "randn_like",
        "randint_like", "bernoulli", "multinomial"])
def test_shapes_dtypes_devices(make, dtype, device):
    t = make(device)
    assert tuple(t.shape) == (2, 3)
    assert t.dtype is dtype
    assert t.device.type == device
    assert not t.requires_grad


def test_requires_grad_and_zero_dims():
    t = nbtorch.rand(2, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    assert nbtorch.rand(()).shape == ()
    assert nbtorch.randn(0, 3).shape == (0, 3)
    assert nbtorch.randperm(0).shape == (0,)
    with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
        nbtorch.randint(3, (2,), requires_grad=True)


# --- distributions --------------------------------------------------------------------------------


def test_distribution_moments(device):
    n = 200_000
    u = _np(nbtorch.rand(n, device=device))
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    z = _np(nbtorch.randn(n, device=device))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    x = _np(nbtorch.normal(3.0, 2.0, (n,), device=device))
    assert abs(x.mean() - 3) < 0.03 and abs(x.std() - 2) < 0.03
    e = _np(nbtorch.zeros(n, device=device).exponential_(4.0))
    assert e.min() >= 0 and abs(e.mean() - 0.25) < 0.01
    b = _np(nbtorch.zeros(n, device=device).bernoulli_(0.3))
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.01
    a = _np(nbtorch.zeros(n, device=device).uniform_(-2, 3))
    assert a.min() >= -2 and a.max() < 3 and abs(a.mean() - 0.5) < 0.03
    r = _np(nbtorch.randint(-3, 4, (n,), device=device))
    assert r.min() == -3 and r.max() == 3
    g = _np(nbtorch.zeros(n, device=device).geometric_(0.5))
    assert g.min() >= 1 and abs(g.mean() - 2) < 0.05


def test_randperm_is_a_permutation(device):
    for n in (1, 2, 10, 1000):
        p = _np(nbtorch.randperm(n, device=device))
        np.testing.assert_array_equal(np.sort(p), np.arange(n))


def test_multinomial(device):
    probs = nbtorch.tensor([[0.0, 1.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]], device=device)
    picked = _np(nbtorch.multinomial(probs, 2))
    assert sorted(picked[0]) == [1, 2]  # zero weights are never drawn while others remain
    assert len(set(picked[1])) == 2
    draws = _np(nbtorch.multinomial(probs[0], 20_000, replacement=True))
    assert set(np.unique(draws)) <= {1, 2} and abs((draws == 2).mean() - 0.75) < 0.02
    last = _np(nbtorch.multinomial(nbtorch.tensor([1.0, 0.0, 1.0], device=device), 3))
    assert last[-1] == 1  # the zero-weight category comes last


def test_bernoulli_probabilities(device):
    p = nbtorch.tensor([0.0, 1.0, 0.0, 1.0], device=device)
    np.testing.assert_array_equal(_np(nbtorch.bernoulli(p)), [0, 1, 0, 1])
    np.testing.assert_array_equal(_np(nbtorch.zeros(4, device=device).bernoulli_(p)), [0, 1, 0, 1])
    assert (_np(nbtorch.bernoulli(nbtorch.zeros(5, device=device), 1.0)) == 1).all()
    assert (_np(p.bernoulli()) == _np(p)).all()


# --- autograd ------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, name", [
    (lambda x: nbtorch.normal(x, 1.0), "NormalBackward1"),
    (lambda x: nbtorch.normal(0.0, x), "NormalBackward2"),
    (lambda x: nbtorch.normal(x, x), "NormalBackward3"),
    (lambda x: nbtorch.bernoulli(x * 0.5), "BernoulliBackward0"),
    (lambda x: (x * 1).uniform_(), "UniformBackward0"),
    (lambda x: (x * 1).normal_(), "NormalBackward0"),
    (lambda x: (x * 1).bernoulli_(), "BernoulliBackward2"),
    (lambda x: (x * 1).bernoulli_(nbtorch.full((3,), 0.5)), "BernoulliBackward1"),
    (lambda x: (x * 1).exponential_(), "ExponentialBackward0"),
    (lambda x: (x * 1).random_(), "RandomBackward2"),
    (lambda x: (x * 1).random_(5), "RandomBackward1"),
    (lambda x: (x * 1).random_(2, 5), "RandomBackward0"),
])
def test_samplers_pass_zero_gradients(make, name):
    x = nbtorch.ones(3, requires_grad=True)
    y = make(x)
    assert y.grad_fn.name() == name
    y.sum().backward()
    np.testing.assert_array_equal(_np(x.grad), np.zeros(3))


@needs_torch
def test_grad_fn_names_match_torch():
    cases = [
        (lambda m, x: m.normal(x, 1.0)), (lambda m, x: m.normal(0.0, x)),
        (lambda m, x: m.normal(x, x)), (lambda m, x: m.bernoulli(x * 0.5)),
        (lambda m, x: (x * 1).uniform_()), (lambda m, x: (x * 1).normal_()),
        (lambda m, x: (x * 1).bernoulli_()),
        (lambda m, x: (x * 1).bernoulli_(m.full((3,), 0.5))),
        (lambda m, x: (x * 1).exponential_()), (lambda m, x: (x * 1).random_()),
        (lambda m, x: (x * 1).random_(5)), (lambda m, x: (x * 1).random_(2, 5)),
        (lambda m, x: (x * 1).cauchy_()), (lambda m, x: (x * 1).log_normal_()),
        (lambda m, x: (x * 1).geometric_(0.5)),
    ]
    for fn in cases:
        expected = fn(real_torch, real_torch.ones(3, requires_grad=True)).grad_fn.name()
        assert fn(nbtorch, nbtorch.ones(3, requires_grad=True)).grad_fn.name() == expected


def test_inplace_samplers_under_no_grad():
    """nn.init's pattern: fill a leaf Parameter-like tensor in place without recording."""
    w = nbtorch.zeros(4, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation."):
        w.uniform_(-1, 1)
    version = w._version
    with nbtorch.no_grad():
        assert w.uniform_(-1, 1) is w
        w.normal_(0, 0.02)
        w.bernoulli_(0.5)
    assert w.requires_grad and w.is_leaf and w.grad_fn is None
    assert w._version == version + 3


# --- errors, in PyTorch's words -------------------------------------------------------------------

ERRORS = [
    (lambda m: m.randint(5, 5, (2,)), RuntimeError),
    (lambda m: m.randint(5, 2, (2,)), RuntimeError),
    (lambda m: m.randint(3, 5), TypeError),
    (lambda m: m.randint(3, (2,), dtype=m.bool), RuntimeError),
    (lambda m: m.rand(2, 3, dtype=m.int64), NotImplementedError),
    (lambda m: m.randn(2, dtype=m.int64), NotImplementedError),
    (lambda m: m.rand(-1), RuntimeError),
    (lambda m: m.randperm(-1), RuntimeError),
    (lambda m: m.normal(m.ones(3), -1.0), RuntimeError),
    (lambda m: m.normal(0.0, -1.0, (2,)), RuntimeError),
    (lambda m: m.normal(0.0, -m.ones(2)), RuntimeError),
    (lambda m: m.normal(m.ones(2, 3), m.ones(5)), RuntimeError),
    (lambda m: m.normal(0.0, 1.0), TypeError),
    (lambda m: m.normal(m.ones(2, dtype=m.int64), 1.0), NotImplementedError),
    (lambda m: m.bernoulli(m.tensor([2.0])), RuntimeError),
    (lambda m: m.multinomial(m.tensor([1.0, 0.0]), 3), RuntimeError),
    (lambda m: m.multinomial(m.tensor([0.0, 0.0]), 1), RuntimeError),
    (lambda m: m.multinomial(m.tensor([-1.0, 2.0]), 1), RuntimeError),
    (lambda m: m.multinomial(m.ones(2, 2, 2), 1), RuntimeError),
    (lambda m: m.multinomial(m.ones(3), 0, True), RuntimeError),
    (lambda m: m.multinomial(m.tensor([1, 2]), 1), RuntimeError),
    (lambda m: m.ones(2, dtype=m.int64).uniform_(), NotImplementedError),
    (lambda m: m.ones(2, dtype=m.int64).normal_(), NotImplementedError),
    (lambda m: m.ones(2, dtype=m.int64).exponential_(), RuntimeError),
    (lambda m: m.ones(2).uniform_(3, 1), RuntimeError),
    (lambda m: m.ones(2).exponential_(-1), RuntimeError),
    (lambda m: m.ones(2).bernoulli_(1.5), RuntimeError),
    (lambda m: m.ones(2).random_(-3), RuntimeError),
    (lambda m: m.ones(2, dtype=m.uint8).random_(300), RuntimeError),
]


@needs_torch
@pytest.mark.parametrize("fn, error", ERRORS)
def test_errors_match_torch(fn, error):
    with pytest.raises(error) as expected:
        fn(real_torch)
    with pytest.raises(error) as got:
        fn(nbtorch)
    first_line = str(expected.value).split("\n")[0]
    if error is TypeError and "invalid combination" in first_line:
        first_line = first_line.split(" - got")[0]  # our overload listing is shorter
    assert str(got.value).startswith(first_line)


def test_error_wording_without_torch():
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to', but got "
                                           "from=5 >= to=5"):
        nbtorch.randint(5, 5, (2,))
    with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but "
                                           "found 'cpu'"):
        R.generator_for(nbtorch.Generator(), nbtorch.device("cuda", 0))


def test_out_argument():
    out = nbtorch.zeros(1)
    nbtorch.manual_seed(0)
    assert nbtorch.rand(2, 3, out=out) is out and out.shape == (2, 3)
    nbtorch.manual_seed(0)
    np.testing.assert_array_equal(_np(out), _np(nbtorch.rand(2, 3)))
    idx = nbtorch.zeros(2, dtype=nbtorch.int64)
    assert nbtorch.randint(0, 5, (4,), out=idx) is idx and idx.shape == (4,)

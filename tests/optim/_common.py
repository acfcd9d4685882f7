"""Shared by the optimizer tests: a small linear-regression problem that runs unchanged on nbtorch
and on torch (``m`` is the module), trajectories, a float64 numpy reference driver, and state-dict
helpers.

The problem: loss = mean((X W + b - Y)²) with W 3x2 and b 2, from the same initial weights in
both libraries; a third parameter ``c`` is never used, so its ``.grad`` stays None.
"""

from __future__ import annotations

import numpy as np

import nbtorch
from tests.helpers import real_torch, values_of

STEPS = 20
_RNG = np.random.default_rng(0)
X = _RNG.standard_normal((8, 3))
Y = _RNG.standard_normal((8, 2))
W0 = _RNG.standard_normal((3, 2)) * 0.5
B0 = _RNG.standard_normal(2) * 0.1
C0 = np.array([0.5, -0.5])

# Tolerances: float32 trajectories agree to rounding (PyTorch fuses some multiply-adds, numpy
# cannot), float64 ones almost exactly; the reference is plain float64 math.
TOL = {"float32": {"rtol": 2e-5, "atol": 2e-6}, "float64": {"rtol": 1e-10, "atol": 1e-12}}


def make_params(m, dtype="float32", device="cpu"):
    dt = getattr(m, dtype)
    return [m.nn.Parameter(m.tensor(a, dtype=dt, device=device)) for a in (W0, B0, C0)]


def loss_of(m, params):
    w, b = params[0], params[1]
    x = m.tensor(X, dtype=w.dtype, device=w.device)
    y = m.tensor(Y, dtype=w.dtype, device=w.device)
    return ((x @ w + b - y) ** 2).mean()


def trajectory(m, make_opt, steps=STEPS, dtype="float32", device="cpu", start=0, opt=None,
               params=None):
    """Values of all parameters after each step of ``make_opt(m, params)`` (a fresh optimizer
    unless ``opt`` and ``params`` are given), and the optimizer and parameters."""
    if params is None:
        params = make_params(m, dtype, device)
    if opt is None:
        opt = make_opt(m, params)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss_of(m, params).backward()
        opt.step()
        out.append([values_of(p).copy() for p in params])
    return out, opt, params


def assert_same_trajectory(got, want, dtype="float32"):
    assert len(got) == len(want)
    for step, (a, b) in enumerate(zip(got, want)):
        for i, (x, y) in enumerate(zip(a, b)):
            np.testing.assert_allclose(x, y, **TOL[dtype], err_msg=f"step {step + 1}, param {i}")


def gradients(w, b):
    """d loss / d(W, b) in float64, for the numpy reference."""
    r = 2 * (X @ w + b - Y) / Y.size
    return [X.T @ r, r.sum(0)]


def reference_trajectory(update, steps=STEPS):
    """Run ``update(p, g, state, t) -> new p`` (float64 numpy) on W and b; c stays put."""
    params = [W0.copy(), B0.copy()]
    states = [{}, {}]
    out = []
    for t in range(1, steps + 1):
        grads = gradients(*params)
        params = [update(p, g, s, t) for p, g, s in zip(params, grads, states)]
        out.append([p.copy() for p in params] + [C0.copy()])
    return out


def check_against_torch_and_reference(name, options, update, device):
    """The optimizer ``name`` with ``options``: float64 trajectory equals the numpy reference
    ``update``; float32 and float64 trajectories equal PyTorch's; so does the state dict."""

    def make(m, params):
        return getattr(m.optim, name)(params, **options)

    got64, _, _ = trajectory(nbtorch, make, dtype="float64", device=device)
    assert_same_trajectory(got64, reference_trajectory(update), "float64")
    if real_torch is None:
        return
    for dtype in ("float32", "float64"):
        got, opt, _ = trajectory(nbtorch, make, dtype=dtype, device=device)
        want, topt, _ = trajectory(real_torch, make, dtype=dtype)
        assert_same_trajectory(got, want, dtype)
        assert_same_state_dict(opt.state_dict(), topt.state_dict(), dtype)


def assert_same_state_dict(nb, th, dtype="float32"):
    """nbtorch's optimizer state dict has torch's structure, dtypes and values."""
    assert list(nb) == list(th) == ["state", "param_groups"]
    assert nb["param_groups"] == th["param_groups"]
    assert list(nb["state"]) == list(th["state"])
    for index, state in th["state"].items():
        mine = nb["state"][index]
        assert list(mine) == list(state), index
        for key, value in state.items():
            if isinstance(value, real_torch.Tensor):
                assert isinstance(mine[key], nbtorch.Tensor), key
                assert str(mine[key].dtype) == str(value.dtype), key
                assert tuple(mine[key].shape) == tuple(value.shape), key
                np.testing.assert_allclose(values_of(mine[key]), value.numpy(), **TOL[dtype],
                                           err_msg=key)
            else:
                assert mine[key] == value, key


def to_nbtorch(obj):
    """A torch state dict with its tensors turned into nbtorch tensors."""
    if real_torch is not None and isinstance(obj, real_torch.Tensor):
        return nbtorch.tensor(obj.detach().numpy())
    if isinstance(obj, dict):
        return {k: to_nbtorch(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_nbtorch(v) for v in obj)
    return obj


def check_resume(name, options, device, split=8):
    """Saving after ``split`` steps and loading into a fresh optimizer (over fresh parameters
    holding the same values) continues exactly as an uninterrupted run; a state dict saved by
    PyTorch continues as PyTorch does."""

    def make(m, params):
        return getattr(m.optim, name)(params, **options)

    full, _, _ = trajectory(nbtorch, make, device=device)
    first, opt, params = trajectory(nbtorch, make, steps=split, device=device)
    saved = opt.state_dict()
    fresh = [nbtorch.nn.Parameter(p.detach().clone()) for p in params]
    opt2 = make(nbtorch, fresh)
    opt2.load_state_dict(saved)
    rest, _, _ = trajectory(nbtorch, make, steps=STEPS - split, opt=opt2, params=fresh)
    for a, b in zip(first + rest, full):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    # the loaded state is the optimizer's own copy: stepping it leaves the saved dict alone
    for index, state in saved["state"].items():
        for key, value in state.items():
            if isinstance(value, nbtorch.Tensor) and key != "step":
                assert value._data is not opt2.state[fresh[index]][key]._data
    if real_torch is None:
        return
    _, topt, tparams = trajectory(real_torch, make, steps=split)
    saved = to_nbtorch(topt.state_dict())  # converted now: copies of the values at the split
    fresh = [nbtorch.nn.Parameter(nbtorch.tensor(p.detach().numpy(), device=device))
             for p in tparams]
    want, _, _ = trajectory(real_torch, make, steps=STEPS - split, opt=topt, params=tparams)
    opt3 = make(nbtorch, fresh)
    opt3.load_state_dict(saved)
    got, _, _ = trajectory(nbtorch, make, steps=STEPS - split, opt=opt3, params=fresh)
    assert_same_trajectory(got, want)


def adam_reference(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                   maximize=False, decoupled_weight_decay=False):
    """The rule in Adam's (and AdamW's) docstring, in float64 numpy."""
    beta1, beta2 = betas

    def update(p, g, state, t):
        g = -g if maximize else g
        if weight_decay:
            if decoupled_weight_decay:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
        m = state["m"] = beta1 * state.get("m", 0) + (1 - beta1) * g
        v = state["v"] = beta2 * state.get("v", 0) + (1 - beta2) * g * g
        if amsgrad:
            v = state["vmax"] = np.maximum(state.get("vmax", 0), v)
        denom = np.sqrt(v) / np.sqrt(1 - beta2**t) + eps
        return p - lr / (1 - beta1**t) * m / denom

    return update

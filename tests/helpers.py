"""The per-op check used by every op test: one call checks forward against a numpy reference,
backward against float64 central differences, and both against PyTorch when it is installed.

An op under test is written once as ``fn(m, *tensors)`` where ``m`` is a module (``nbtorch`` or
``torch``), so the very same expression runs on both libraries::

    check_op(lambda m, x: m.exp(x), np.exp, [x_array])
"""

from __future__ import annotations

import numpy as np

import nbtorch

try:  # the suite never requires torch; torch-oracle checks are skipped without it
    import torch as real_torch
except ImportError:  # pragma: no cover - depends on the machine
    real_torch = None


MODULES = [nbtorch] + ([real_torch] if real_torch is not None else [])


def both(test):
    """Run ``test(m)`` with m=nbtorch, and m=torch when it is installed."""
    import pytest

    return pytest.mark.parametrize("m", MODULES, ids=lambda m: m.__name__)(test)


def needs_torch(test):
    import pytest

    return pytest.mark.skipif(real_torch is None, reason="PyTorch is not installed")(test)


def values_of(t):
    """A tensor's values as a numpy array, for nbtorch and torch alike."""
    return np.asarray(t.detach().cpu().numpy())


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def _numpy(t):
    if isinstance(t, nbtorch.Tensor):
        return t.detach().cpu().numpy()
    return t.detach().cpu().numpy()


def nb_tensors(arrays, device="cpu", requires_grad=True, dtype=None):
    out = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            arr = a.astype(dtype) if dtype is not None and a.dtype.kind == "f" else a
            t = nbtorch.tensor(arr, device=device)
            if requires_grad and arr.dtype.kind == "f":
                t.requires_grad_()
            out.append(t)
        else:
            out.append(a)
    return out


def check_forward(fn, ref, arrays, device="cpu", rtol=1e-5, atol=1e-6):
    """nbtorch's output (float32 inputs) matches ``ref`` on the numpy arrays."""
    tensors = nb_tensors(arrays, device, requires_grad=False, dtype=np.float32)
    got = _first(fn(nbtorch, *tensors))
    expected = ref(*[a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
                     else a for a in arrays])
    expected = _first(expected)
    np.testing.assert_allclose(_numpy(got), np.asarray(expected), rtol=rtol, atol=atol)
    return got


def numeric_gradients(fn, arrays, upstream, eps=1e-6):
    """Central differences of ``sum(fn(inputs) * upstream)`` for each float64 input."""
    grads = []
    for a in arrays:
        if not (isinstance(a, np.ndarray) and a.dtype.kind == "f"):
            grads.append(None)
            continue
        g = np.zeros_like(a, dtype=np.float64)
        flat = a.reshape(-1)
        for j in range(flat.size):
            saved = flat[j]
            values = []
            for delta in (eps, -eps):
                flat[j] = saved + delta
                tensors = nb_tensors(arrays, requires_grad=False)
                out = _numpy(_first(fn(nbtorch, *tensors))).astype(np.float64)
                values.append(float((out * upstream).sum()))
            flat[j] = saved
            g.reshape(-1)[j] = (values[0] - values[1]) / (2 * eps)
        grads.append(g)
    return grads


def analytic_gradients(fn, arrays, upstream, device="cpu"):
    tensors = nb_tensors(arrays, device)
    out = _first(fn(nbtorch, *tensors))
    out.backward(nbtorch.tensor(upstream, dtype=out.dtype, device=device))
    return [(_numpy(t.grad) if t.grad is not None else np.zeros(t.shape))
            if isinstance(t, nbtorch.Tensor) and t.requires_grad else None for t in tensors]


def check_backward(fn, arrays, device="cpu", rtol=1e-5, atol=1e-7, seed=0):
    """Analytic gradients (float64) match central differences, for a random upstream gradient."""
    arrays = [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
              for a in arrays]
    probe = _first(fn(nbtorch, *nb_tensors(arrays, requires_grad=False)))
    upstream = np.random.default_rng(seed).standard_normal(tuple(probe.shape))
    numeric = numeric_gradients(fn, [a.copy() if isinstance(a, np.ndarray) else a for a in arrays],
                                upstream)
    analytic = analytic_gradients(fn, arrays, upstream, device)
    for i, (n, a) in enumerate(zip(numeric, analytic)):
        if n is None:
            continue
        np.testing.assert_allclose(a, n, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")


def check_torch(fn, arrays, device="cpu", rtol=1e-5, atol=1e-6, seed=1):
    """Forward values, dtypes and gradients match PyTorch's (skipped silently without torch)."""
    if real_torch is None:
        return
    nb = nb_tensors(arrays, device)
    th = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            t = real_torch.tensor(a)
            if a.dtype.kind == "f":
                t.requires_grad_()
            th.append(t)
        else:
            th.append(a)
    out_nb, out_th = _first(fn(nbtorch, *nb)), _first(fn(real_torch, *th))
    assert str(out_nb.dtype) == str(out_th.dtype), (out_nb.dtype, out_th.dtype)
    assert tuple(out_nb.shape) == tuple(out_th.shape)
    np.testing.assert_allclose(_numpy(out_nb), out_th.detach().numpy(), rtol=rtol, atol=atol)
    if not out_th.requires_grad:
        return
    upstream = np.random.default_rng(seed).standard_normal(tuple(out_th.shape)).astype(
        out_th.detach().numpy().dtype)
    out_nb.backward(nbtorch.tensor(upstream, device=device))
    out_th.backward(real_torch.tensor(upstream))
    for i, (a, b) in enumerate(zip(nb, th)):
        if isinstance(b, real_torch.Tensor) and b.requires_grad:
            expected = b.grad.numpy() if b.grad is not None else np.zeros(b.shape)
            got = _numpy(a.grad) if a.grad is not None else np.zeros(b.shape)
            np.testing.assert_allclose(got, expected, rtol=rtol * 10, atol=atol * 10,
                                       err_msg=f"gradient of input {i} differs from torch")


def check_op(fn, ref, arrays, device="cpu", grad=True, rtol=1e-5, atol=1e-6):
    """All three checks for one op on one set of inputs."""
    check_forward(fn, ref, arrays, device, rtol, atol)
    if grad:
        check_backward(fn, arrays, device)
    check_torch(fn, [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float64
                     else a for a in arrays], device, rtol, atol)


# PyTorch's messages are the reference for error wording; they change between releases, and the
# GPU machine's torch is older (2.11) than the one this project pins (2.13).
TORCH_WORDING = real_torch is not None and tuple(
    int(p) for p in real_torch.__version__.split("+")[0].split(".")[:2]) >= (2, 13)


def assert_same_error(make, error, message, compare="exact", torch_compare=None):
    """``make(m)`` raises ``error`` with PyTorch's ``message`` for m=nbtorch, and so does PyTorch
    (2.13 or newer) when installed.  ``compare`` ("exact", "prefix" or "first_line") says how a
    message is compared; ``torch_compare``, if given, is used for PyTorch's instead."""
    import pytest

    def check(text, compare=compare):
        if compare == "prefix":
            assert text.startswith(message), text
        elif compare == "first_line":
            assert text.split("\n")[0] == message, text
        else:
            assert text == message

    with pytest.raises(error) as got:
        make(nbtorch)
    check(str(got.value))
    if TORCH_WORDING:
        with pytest.raises(error) as want:
            make(real_torch)
        check(str(want.value), torch_compare or compare)


def cube_function(m):
    """A custom ``autograd.Function`` of library ``m``: y = x³, dy/dx = 3x² (node CubeBackward)."""

    class Cube(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    return Cube

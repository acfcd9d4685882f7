"""``gradcheck`` and ``gradgradcheck``: compare backward's Jacobian with central finite differences.

As in PyTorch, the Jacobian of output ``o`` with respect to input ``x`` is laid out as a matrix of
shape ``(x.numel(), o.numel())``.  The analytical one is built column by column, from one
vector-Jacobian product per output element (``autograd.grad`` with a one-hot ``grad_output``); the
numerical one row by row, from ``(f(x + eps) - f(x - eps)) / 2eps`` per input element.  They must
agree within ``|a - n| <= atol + rtol * |n|``.  ``fast_mode`` compares one random projection
``v^T J u`` instead of whole matrices.  Inputs should be float64: in float32 the differences drown
in rounding.  Complex inputs are not supported.

``check_undefined_grad`` makes some output gradients undefined (``None``) with ``UndefinedGrad``.
Unlike PyTorch's engine, nbtorch's never runs a node that receives no gradient at all, so only
the outputs left undefined one at a time can reveal a backward that does not cope with ``None``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from .function import Op

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` and ``gradgradcheck`` when a check fails."""


class UndefinedGrad(Op):
    """UndefinedGrad: y = x; sends no gradient back (checks that backward copes with None)"""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return None


def _as_tuple(x) -> tuple:
    if isinstance(x, tuple):
        return x
    return tuple(x) if isinstance(x, list) else (x,)


def _tensor():
    from .._tensor import Tensor

    return Tensor


def _differentiable_outputs(out) -> tuple:
    return tuple(o for o in _as_tuple(out) if o.requires_grad)


def _host(array) -> np.ndarray:
    return backend.to_device(array, backend.CPU)


def _check_inputs(inputs) -> None:
    Tensor = _tensor()
    any_requires_grad = False
    for idx, inp in enumerate(inputs):
        if not (isinstance(inp, Tensor) and inp.requires_grad):
            continue
        if inp._data.dtype.kind == "c":
            raise NotImplementedError("nbtorch's gradcheck does not support complex inputs")
        if inp._data.dtype != np.float64:
            warnings.warn(
                f"Input #{idx} requires gradient and is not a double precision floating point or "
                "complex. This check will likely fail if all the inputs are not of double "
                "precision floating point or complex. ",
                stacklevel=3,
            )
        if not all(st > 0 or sz <= 1 for st, sz in zip(inp._data.strides, inp._data.shape)):
            raise RuntimeError(
                f"The {idx}th input has a dimension with stride 0. gradcheck only supports inputs "
                "that are non-overlapping to be able to compute the numerical gradients correctly. "
                "You should call .contiguous on the input before passing it to gradcheck."
            )
        any_requires_grad = True
    if not any_requires_grad:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none of them "
            "have requires_grad=True."
        )


def _diff_input_indices(inputs) -> list:
    Tensor = _tensor()
    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def _outputs_as_arrays(func, inputs) -> list:
    """Evaluate ``func`` and return every output as a host array (ints and bools as given)."""
    outs = _as_tuple(func(*inputs))
    return [_host(o._data) if isinstance(o, _tensor()) else np.asarray(o) for o in outs]


def _perturbed(func, inputs, data, index, delta) -> list:
    """The outputs of ``func`` with ``data[index]`` (an input's array, changed in place) + delta."""
    saved = data[index].copy()
    data[index] = saved + delta
    try:
        return _outputs_as_arrays(func, inputs)
    finally:
        data[index] = saved


def _central_difference(plus, minus, eps, dtype) -> np.ndarray:
    # The difference is taken in the output's own dtype, as PyTorch does (float32 shows its noise).
    if plus.dtype.kind not in "fc":
        return np.zeros(plus.size, dtype=dtype)
    return ((plus - minus) / (2 * eps)).reshape(-1).astype(dtype)


def numerical_jacobian(func, inputs, eps=1e-6) -> list:
    """``J[i][k]``: the Jacobian of output ``k`` with respect to differentiable input ``i``, as a
    ``(input.numel(), output.numel())`` host array, by central differences."""
    reference = _outputs_as_arrays(func, inputs)
    jacobians = []
    for i in _diff_input_indices(inputs):
        data = inputs[i]._data
        dtype = np.dtype(data.dtype)
        per_output = [np.zeros((data.size, r.size), dtype=dtype) for r in reference]
        for row, index in enumerate(np.ndindex(*data.shape)):
            plus = _perturbed(func, inputs, data, index, eps)
            minus = _perturbed(func, inputs, data, index, -eps)
            for k, (p, m) in enumerate(zip(plus, minus)):
                per_output[k][row] = _central_difference(p, m, eps, dtype)
        jacobians.append(per_output)
    return jacobians


def _vjp(output, diff_inputs, grad_output) -> tuple:
    from . import grad

    return grad(output, diff_inputs, grad_output, retain_graph=True, allow_unused=True)


def _analytical_jacobian(output, diff_inputs) -> tuple:
    """One ``(input.numel(), output.numel())`` array per input, a column per vector-Jacobian
    product; also whether every gradient had its input's shape and dtype."""
    Tensor = _tensor()
    xp = backend.xp_of(output._data)
    columns = [np.zeros((x._data.size, output._data.size), dtype=np.dtype(x._data.dtype))
               for x in diff_inputs]
    sizes_ok = types_ok = True
    for j in range(output._data.size):
        onehot = xp.zeros(output._data.size, dtype=output._data.dtype)
        onehot[j] = 1
        grads = _vjp(output, diff_inputs, Tensor._wrap(onehot.reshape(output._data.shape)))
        for i, (g, x) in enumerate(zip(grads, diff_inputs)):
            if g is None:
                continue
            if g._data.size != x._data.size:
                sizes_ok = False
                continue
            types_ok = types_ok and g._data.dtype == x._data.dtype
            columns[i][:, j] = _host(g._data).reshape(-1)
    return columns, sizes_ok, types_ok


def _check_analytical(output, diff_inputs, nondet_tol, check_grad_dtypes) -> list:
    # Computed twice: backward must give the same values each time (PyTorch calls it reentrancy).
    first, sizes_ok, types_ok = _analytical_jacobian(output, diff_inputs)
    second, _, _ = _analytical_jacobian(output, diff_inputs)
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    if any(np.abs(a - b).max(initial=0.0) > nondet_tol for a, b in zip(first, second)):
        raise GradcheckError(
            "Backward is not reentrant, i.e., running backward with same input and grad_output "
            "multiple times gives different values, although analytical gradient matches "
            f"numerical gradient.The tolerance for nondeterminism was {nondet_tol}."
        )
    return first


def _allclose(a, n, rtol, atol) -> bool:
    dtype = np.promote_types(a.dtype, n.dtype)
    return bool(np.allclose(a.astype(dtype), n.astype(dtype), rtol=rtol, atol=atol))


def _show(array) -> str:
    return repr(_tensor()._wrap(array))


def _mismatch(analytical, numerical, output_idx, input_idx) -> str:
    return (
        f"Jacobian mismatch for output {output_idx:d} with respect to input {input_idx:d},\n"
        f"numerical:{numerical}\nanalytical:{analytical}\n"
    )


def _slow_gradcheck(func, inputs, func_out, outputs, eps, rtol, atol, nondet_tol,
                    check_grad_dtypes) -> None:
    numerical = numerical_jacobian(func, inputs, eps)  # [input][every output]
    if not outputs:
        if any(np.any(j != 0) for per_input in numerical for j in per_input):
            raise GradcheckError("Numerical gradient for function expected to be zero")
        return
    keep = [k for k, o in enumerate(_as_tuple(func_out)) if o.requires_grad]
    diff_inputs = [inputs[i] for i in _diff_input_indices(inputs)]
    for j, (k, o) in enumerate(zip(keep, outputs)):
        analytical = _check_analytical(o, diff_inputs, nondet_tol, check_grad_dtypes)
        for i, a in enumerate(analytical):
            n = numerical[i][k]
            if not _allclose(a, n, rtol, atol):
                raise GradcheckError(_mismatch(_show(a), _show(n), j, i))


def _fast_gradcheck(func, inputs, func_out, outputs, eps, rtol, atol, nondet_tol,
                    check_grad_dtypes) -> None:
    """Compare ``v^T J u`` for random unit vectors u (per input) and v (per output)."""
    Tensor = _tensor()
    rng = np.random.default_rng(0)  # its own generator: the user's RNG state is left alone
    indices = _diff_input_indices(inputs)
    diff_inputs = [inputs[i] for i in indices]
    all_u = [_unit(rng, x._data.size) for x in diff_inputs]
    all_v = [_unit(rng, o._data.size) for o in outputs]
    keep = [k for k, o in enumerate(_as_tuple(func_out)) if o.requires_grad]
    for i, (x, u) in enumerate(zip(diff_inputs, all_u)):
        # J u by central differences along u, for every output at once.
        data = x._data
        step = backend.to_device(u.reshape(data.shape).astype(data.dtype),
                                 backend.device_of(data)) * eps
        original = data.copy()
        data += step
        plus = _outputs_as_arrays(func, inputs)
        data[...] = original - step
        minus = _outputs_as_arrays(func, inputs)
        data[...] = original
        jvps = [_central_difference(p, m, eps, p.dtype if p.dtype.kind in "fc" else np.float64)
                for p, m in zip(plus, minus)]
        if not outputs:
            if any(np.abs(j).max(initial=0.0) > nondet_tol for j in jvps):
                raise GradcheckError("Numerical gradient for function expected to be zero")
            continue
        for j, (k, o, v) in enumerate(zip(keep, outputs, all_v)):
            n = float(v @ jvps[k].astype(np.float64))
            grads = []
            for _ in range(2):  # twice, for the reentrancy check
                g = _vjp(o, diff_inputs, Tensor._wrap(
                    backend.to_device(v.reshape(o._data.shape).astype(o._data.dtype),
                                      backend.device_of(o._data))))[i]
                grads.append(np.zeros(data.size) if g is None else _host(g._data).reshape(-1))
            if np.abs(grads[0] - grads[1]).max(initial=0.0) > nondet_tol:
                raise GradcheckError(
                    "Backward is not reentrant, i.e., running backward with same input and "
                    "grad_output multiple times gives different values, although analytical "
                    "gradient matches numerical gradient.The tolerance for nondeterminism was "
                    f"{nondet_tol}."
                )
            a = float(grads[0].astype(np.float64) @ u)
            adjusted_atol = atol * float(u.sum()) * float(v.sum())
            if not _allclose(np.asarray(a), np.asarray(n), rtol, adjusted_atol):
                raise GradcheckError(_mismatch(a, n, j, i) + _slow_mode_report(
                    func, inputs, o, k, i, diff_inputs, eps, rtol, atol))


def _unit(rng, n: int) -> np.ndarray:
    v = rng.random(n)
    return v / np.linalg.norm(v) if n else v


def _slow_mode_report(func, inputs, output, k, i, diff_inputs, eps, rtol, atol) -> str:
    numerical = numerical_jacobian(func, inputs, eps)[i][k]
    analytical, _, _ = _analytical_jacobian(output, diff_inputs)
    analytical = analytical[i]
    max_diff = np.abs(numerical - analytical).max(initial=0.0)
    msg = (
        "\nThe above quantities relating the numerical and analytical jacobians are computed \n"
        "in fast mode. See: https://github.com/pytorch/pytorch/issues/53876 for more background \n"
        "about fast mode. Below, we recompute numerical and analytical jacobians in slow mode:\n\n"
        f"Numerical:\n {_show(numerical)}\n"
        f"Analytical:\n{_show(analytical)}\n\n"
        f"The max per-element difference (slow mode) is: {max_diff}.\n"
    )
    if _allclose(analytical, numerical, rtol, atol):
        msg += ("\nFast gradcheck failed but element-wise differences are small. This means that "
                "the\ntest might've passed in slow_mode!\n")
    return msg


def _test_backward_mul_by_grad_output(outputs, inputs) -> None:
    """Zero grad_outputs must give zero gradients of the inputs' dtype, device and size."""
    from ..ops.creation import zeros_like
    from . import grad

    diff_inputs = [inputs[i] for i in _diff_input_indices(inputs)]
    grads = grad(outputs, diff_inputs, [zeros_like(o) for o in outputs], allow_unused=True)
    for gi, di in zip(grads, diff_inputs):
        if gi is None:
            continue
        if bool((gi._data != 0).any()):
            raise GradcheckError("backward not multiplied by grad_output")
        if gi._data.dtype != di._data.dtype:
            raise GradcheckError("grad is incorrect type")
        if gi.device != di.device:
            raise GradcheckError("grad is incorrect device")
        if gi._data.shape != di._data.shape:
            raise GradcheckError("grad is incorrect size")


def _test_undefined_backward_mode(func, outputs, inputs) -> None:
    """Backward must cope when some (or all) output gradients are undefined (None)."""
    from ..ops.creation import zeros_like
    from . import grad

    diff_inputs = [inputs[i] for i in _diff_input_indices(inputs)]

    def check(outs) -> None:
        try:
            grads = grad(outs, diff_inputs, [zeros_like(o) for o in outs], allow_unused=True)
        except RuntimeError as e:
            raise GradcheckError(
                "Expected backward function to handle undefined output grads. Please look at "
                '"Notes about undefined output gradients" in "tools/autograd/derivatives.yaml"'
            ) from e
        for gi in grads:
            if gi is not None and bool((gi._data != 0).any()):
                raise GradcheckError(
                    "Expected all input grads to be undefined or zero when all output grads are "
                    'undefined or zero. Please look at "Notes about undefined output gradients" in '
                    '"tools/autograd/derivatives.yaml"'
                )

    check([UndefinedGrad.apply(o) for o in _differentiable_outputs(func(*inputs))])
    if len(outputs) > 1:  # one output's gradient undefined at a time
        for k in range(len(outputs)):
            outs = _differentiable_outputs(func(*inputs))
            check([UndefinedGrad.apply(o) if n == k else o for n, o in enumerate(outs)])


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked: bool | None = None) -> bool:
    """Check the gradients backward computes against central finite differences, as PyTorch's
    ``gradcheck``; return True, or raise ``GradcheckError`` (False if ``raise_exception=False``).

    Batched, forward-mode and masked checks are not implemented (their flags are accepted when
    False).

    >>> import nbtorch as torch
    >>> x = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    >>> torch.autograd.gradcheck(lambda t: t.exp() * t, (x,))
    True
    """
    if check_batched_grad or check_batched_forward_grad or check_forward_ad or masked:
        raise NotImplementedError(
            "nbtorch's gradcheck checks backward mode only (no batched, forward-mode or masked "
            "checks)"
        )
    if not check_backward_ad:
        raise AssertionError(
            "Expected at least one of check_forward_ad or check_backward_ad to be True"
        )
    try:
        inputs = _as_tuple(inputs)
        _check_inputs(inputs)
        func_out = func(*inputs)
        outputs = _differentiable_outputs(func_out)
        check = _fast_gradcheck if fast_mode else _slow_gradcheck
        check(func, inputs, func_out, outputs, eps, rtol, atol, nondet_tol, check_grad_dtypes)
        if outputs:
            _test_backward_mul_by_grad_output(outputs, inputs)
            if check_undefined_grad:
                _test_undefined_backward_mode(func, outputs, inputs)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False,
                  masked: bool = False) -> bool:
    """Check second derivatives: ``gradcheck`` of the function that maps (inputs, grad_outputs) to
    the gradients of ``func`` (computed with ``create_graph=True``).  Missing ``grad_outputs`` are
    drawn uniformly from [-1, 1).

    >>> import nbtorch as torch
    >>> x = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    >>> torch.autograd.gradgradcheck(lambda t: t.sin() * t, (x,))
    True
    """
    from .._tensor import Tensor
    from . import grad

    if check_fwd_over_rev:
        raise NotImplementedError("nbtorch has no forward-mode AD (check_fwd_over_rev)")
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        outputs = _differentiable_outputs(func(*inputs))
        grad_outputs = []
        for o in outputs:
            dtype = o._data.dtype if o._data.dtype.kind in "fc" else np.float64
            values = rng.uniform(-1, 1, o._data.shape).astype(dtype)
            g = Tensor._wrap(backend.to_device(values, backend.device_of(o._data)))
            grad_outputs.append(g.requires_grad_())
        grad_outputs = tuple(grad_outputs)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    num_outputs = len(grad_outputs)
    diff_inputs = {i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad}

    def new_func(*args):
        input_args = args[:-num_outputs] if num_outputs else args
        outputs = _differentiable_outputs(func(*input_args))
        grads = grad(outputs, tuple(x for i, x in enumerate(input_args) if i in diff_inputs),
                     args[len(input_args):], create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(new_func, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, fast_mode=fast_mode, masked=masked)

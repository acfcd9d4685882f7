"""The stepper's optional per-node check: finite differences of a node's local function against
the gradient its backward sent.

A node's local function is its op's ``forward(ctx, *arrays, **params)``.  The graph does not keep
the forward's inputs nor its keyword parameters, so they are recovered where they can be:

* values: leaves (``AccumulateGrad.variable``), the loss itself, whatever backward saved (inputs
  and outputs, checked against their version counters), and the outputs of ops replayed from
  recovered inputs (forward order);
* operands that need no gradient have no edge; one such operand is found among the saved inputs
  when backward saved it (``mse_loss``'s target, ``x * 3``'s 3);
* keyword parameters (``dims=``, ``reduction=``): the defaults are used only when replaying the
  forward with them reproduces the node's recorded output, so a check never runs on a guess.

Where something cannot be recovered, or the inputs are big (finite differences cost two forward
runs per input element), the check is skipped with a note that says why.

The numbers: for the arriving gradients g (one per output), the analytic gradient of input x is
what backward sent, gᵀ ∂y/∂x, and the numeric one is the central difference of φ(x) = Σ g·y(x),
(φ(x + h eᵢ) - φ(x - h eᵢ)) / 2h, computed in float64.
"""

from __future__ import annotations

import inspect

import numpy as np

from ..autograd.function import AccumulateGrad, Node, Op
from ..autograd.grad_mode import no_grad
from ._stepping import _host, summarize

EPS = 1e-6
COPY_LIMIT = 1_000_000  # elements: bigger values are not copied for the check
TOLERANCE = {"float64": (1e-5, 1e-7), "float32": (2e-3, 1e-4), "float16": (5e-2, 1e-2),
             "bfloat16": (5e-2, 1e-2)}  # (rtol, atol), atol scaled by max(1, max |numeric|)


def _key_of(t):
    """The graph edge (node, output_nr) that carries tensor ``t`` (None: not in a graph)."""
    if not getattr(t, "_requires_grad", False):
        return None
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    ref = t._accumulator
    node = ref() if ref is not None else None
    return (node, 0) if node is not None else None


def _keep(values: dict, key, array) -> None:
    if key is None or key in values or array is None or getattr(array, "size", 0) > COPY_LIMIT:
        return
    values[key] = _host(array).copy()


def recover_values(order: list, roots: list) -> dict:
    """Forward values of the graph's tensors that can be recovered, keyed by (node, output_nr)."""
    values: dict = {}
    for key, t in roots:
        _keep(values, key, t._data)
    for node in order:
        if type(node) is AccumulateGrad:
            _keep(values, (node, 0), node.variable._data)
            continue
        saved = node._saved
        if not isinstance(saved, tuple):
            continue
        for entry in saved:
            if entry is None:
                continue
            kind, payload, version = entry
            if kind == 1:  # the node's own output: (array, version box, output_nr)
                if payload[1][0] == version:
                    _keep(values, (node, payload[2]), payload[0])
            elif kind in (0, 2) and payload._vbox[0] == version:
                _keep(values, _key_of(payload), payload._data)
    for node in reversed(order):  # forward order: inputs before the ops that use them
        if type(node) is AccumulateGrad or (node, 0) in values:
            continue
        plan = _plan(node, values)
        if isinstance(plan, str) or plan[1]:
            continue  # cannot replay, or only on a guess that nothing can confirm
        try:
            outputs = _forward(node, plan[0])
        except Exception:  # an op that cannot be replayed is simply not recovered
            continue
        for nr, y in enumerate(outputs):
            _keep(values, (node, nr), y)
    return values


def _signature(fn):
    """(number of positional operands or None for *args, has keyword params, required kwonly)."""
    params = list(inspect.signature(fn.forward).parameters.values())[1:]  # drop ctx
    operands, has_params, required = 0, False, False
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            operands = None
        elif p.kind is p.VAR_KEYWORD:
            has_params = True
        elif p.kind is p.KEYWORD_ONLY:
            has_params = True
            required = required or p.default is p.empty
        elif p.default is p.empty:
            if operands is not None:
                operands += 1
        else:
            has_params = True
    return operands, has_params, required


def _plan(node, values):
    """(operands, needs confirmation) to replay ``node``'s forward, or a note saying why not."""
    fn = node._fn
    if not (isinstance(fn, type) and issubclass(fn, Op)):
        return "a custom autograd.Function: its forward is not replayed"
    operands, has_params, required = _signature(fn)
    if required:
        return f"{fn.__name__}'s forward needs parameters that the graph does not keep"
    edges = node.next_functions
    if operands is not None and operands != len(edges):
        return f"{fn.__name__}'s operands could not be matched to the graph's edges"
    arrays, missing = [], []
    for k, (child, nr) in enumerate(edges):
        if child is None:
            arrays.append(None)
            missing.append(k)
        elif (child, nr) in values:
            arrays.append(values[(child, nr)])
        else:
            return f"the value of input {k} is not kept by the graph"
    guessed = has_params
    if missing:
        candidates, sure = _saved_constants(node)
        if len(candidates) != len(missing):
            return "an operand that needs no gradient (a constant) is not kept by the graph"
        for k, c in zip(missing, candidates):
            arrays[k] = c
        guessed = guessed or not (len(missing) == 1 and sure)
    return arrays, guessed


def _saved_constants(node):
    """Saved values that may be operands without an edge; ``sure`` when one is a saved input."""
    found, sure = [], False
    for entry in node._saved if isinstance(node._saved, tuple) else ():
        if entry is None:
            continue
        kind, payload, version = entry
        if kind == 0 and not payload._requires_grad and payload._vbox[0] == version:
            if not any(f is payload._data for f in found):
                found.append(payload._data)
                sure = True
        elif kind == 3 and isinstance(payload, (int, float, bool)):
            found.append(payload)
    return [_host(f).copy() if hasattr(f, "shape") else f for f in found], sure and len(found) == 1


def _forward(node, arrays, dtype=None) -> list:
    """Replay the op's forward on copies of ``arrays`` (cast to ``dtype`` where floating)."""
    fn = node._fn
    ctx = Node(fn)
    ctx.xp = np
    ctx.needs_input_grad = tuple(child is not None for child, _ in node.next_functions)
    args = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            a = a.astype(dtype) if dtype is not None and a.dtype.kind == "f" else a.copy()
        args.append(a)
    with no_grad():
        out = fn.forward(ctx, *args)
    outs = out if isinstance(out, tuple) else (out,)
    return [np.asarray(y) if isinstance(y, (np.ndarray, np.generic)) else y for y in outs]


def _confirm(node, arrays, values, shapes) -> str | None:
    """None when replaying with default parameters gives outputs of the recorded shapes and
    reproduces a recorded floating-point output; else a note saying why not."""
    known = [(nr, values[(node, nr)]) for nr in range(node.num_outputs)
             if (node, nr) in values and values[(node, nr)].dtype.kind in "fc"]
    if not known:
        return ("this op's parameters are not kept by the graph and its output could not be "
                "recovered to confirm them")
    try:
        outs = _forward(node, arrays)
    except Exception as e:
        return f"the forward could not be replayed ({type(e).__name__}: {e})"
    unconfirmed = ("this op's parameters are not kept by the graph (replaying it with the "
                   "default ones does not give its recorded output)")
    for nr, shape in enumerate(shapes or ()):
        if shape is not None and (nr >= len(outs) or list(np.shape(outs[nr])) != list(shape)):
            return unconfirmed
    for nr, y in known:
        got = np.asarray(outs[nr]) if nr < len(outs) else None
        if got is None or got.shape != y.shape or not np.allclose(got, y, rtol=1e-5, atol=1e-8,
                                                                  equal_nan=True):
            return unconfirmed
    return None


def check_step(step, values: dict, ids: dict, shapes, limit: int, values_limit: int) -> dict:
    """The finite-difference check of one step, as a plain record (``shapes``: the node's output
    shapes as the graph recorded them)."""
    node = step.node
    if type(node) is AccumulateGrad:
        return _skipped("AccumulateGrad only adds the gradient into .grad: nothing to check")
    plan = _plan(node, values)
    if isinstance(plan, str):
        return _skipped(plan)
    arrays, guessed = plan
    targets = [k for k, ((child, _), g) in enumerate(zip(step.edges, step._grad_inputs))
               if child is not None and g is not None
               and getattr(arrays[k], "dtype", np.dtype(int)).kind == "f"]
    if not targets:
        return _skipped("no floating-point input received a gradient")
    size = sum(arrays[k].size for k in targets)
    if size > limit:
        return _skipped(f"the inputs have {size} elements (more than {limit}): finite "
                        f"differences need two forward runs per element")
    if guessed:
        note = _confirm(node, arrays, values, shapes)
        if note is not None:
            return _skipped(note)
    grads = [None if g is None else _host(g).astype(np.float64) for g in step._grad_outputs]
    if node._hooks or node._pre_hooks or node._tensor_hooks:
        note = "hooks changed the gradients: the comparison may differ"
    else:
        note = ""

    def phi(xs) -> float:
        outs = _forward(node, xs, np.float64)
        total = 0.0
        for y, g in zip(outs, grads):
            if g is not None and isinstance(y, np.ndarray) and y.dtype.kind == "f":
                total += float(np.sum(g * y))
        return total

    wide = [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for a in arrays]
    entries, ok = [], True
    try:
        for k in targets:
            numeric = np.zeros(wide[k].shape, dtype=np.float64)
            for i in range(wide[k].size):
                plus = [w.copy() if isinstance(w, np.ndarray) else w for w in wide]
                minus = [w.copy() if isinstance(w, np.ndarray) else w for w in wide]
                plus[k].reshape(-1)[i] += EPS
                minus[k].reshape(-1)[i] -= EPS
                numeric.reshape(-1)[i] = (phi(plus) - phi(minus)) / (2 * EPS)
            analytic = _host(step._grad_inputs[k])
            rtol, atol = TOLERANCE.get(analytic.dtype.name, TOLERANCE["float32"])
            scale = max(1.0, float(np.max(np.abs(numeric), initial=0.0)))
            diff = float(np.max(np.abs(analytic.astype(np.float64) - numeric), initial=0.0))
            good = bool(np.allclose(analytic, numeric, rtol=rtol, atol=atol * scale))
            ok = ok and good
            child, _ = step.edges[k]
            entries.append({"input_index": k, "to": ids.get(child), "ok": good,
                            "max_abs_diff": diff, "analytic": summarize(analytic, values_limit),
                            "numeric": summarize(numeric, values_limit)})
    except Exception as e:  # a forward that fails on float64 copies
        return _skipped(f"the forward could not be replayed ({type(e).__name__}: {e})")
    return {"status": "ok" if ok else "mismatch", "note": note, "eps": EPS, "inputs": entries}


def _skipped(note: str) -> dict:
    return {"status": "skipped", "note": note, "eps": EPS, "inputs": []}

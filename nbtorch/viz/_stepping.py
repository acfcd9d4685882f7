"""The backward stepper's engine room: drive ``backward_steps`` and describe each step as a record.

``BackwardRun(loss)`` owns one backward pass of ``loss`` and advances the engine's own generator,
``backward_steps([loss], [ones], retain_graph=True)``, one node at a time, so the gradients that
end up in ``.grad`` are exactly those of ``loss.backward()``.  Each step becomes a plain,
JSON-able record (the widget sends these to the browser; see ``BackwardRun.advance``).

Stepping back.  A generator cannot run backwards, so ``rewind(k)`` replays: it puts every
``.grad`` the pass can write (the leaves', and those of tensors that ``retain_grad()``) back to
its value before the run, starts a fresh ``backward_steps`` over the same graph and advances it
``k`` steps.  The generator is built with ``retain_graph=True``, so no pass frees what the next
one needs.  Replays are deterministic (same graph, same order, same arithmetic): the records and
the gradients come out the same as the first time.  Hooks registered on the graph's tensors run
again on each replay.

No Jupyter import here: the widget (``stepper.py``) wraps this class.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from .. import backend
from ..autograd import _make_grads
from ..autograd.engine import backward_steps
from ..autograd.function import AccumulateGrad, Function, Op, edge_of
from ..autograd.graph import nodes_of, to_dict

__all__ = ["BackwardRun", "rule_of", "summarize"]

VALUES_LIMIT = 36  # elements of a gradient shown as numbers; bigger ones are cut (``truncated``)

LEAF_RULE = {
    "op": "AccumulateGrad",
    "forward": "a leaf tensor (made by the user, not by an op)",
    "formula": ".grad ← .grad + g",
    "words": "adds the arriving gradient into .grad",
    "doc": "AccumulateGrad: the node at a leaf tensor: adds the arriving gradient into .grad",
}


def _number(x):
    """A float that JSON can carry: non-finite values become the strings "nan", "inf", "-inf"."""
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _host(g) -> np.ndarray:
    data = getattr(g, "_data", g)
    if not isinstance(data, np.ndarray):
        data = backend.to_device(data, backend.CPU) if hasattr(data, "device") else np.asarray(data)
    return np.asarray(data)


def summarize(g, limit: int = VALUES_LIMIT) -> dict | None:
    """Shape, dtype, statistics and the first ``limit`` values of a gradient (array or Tensor).

    >>> s = summarize(np.array([[1.0, -2.0], [3.0, float("inf")]], dtype=np.float32))
    >>> s["shape"], s["dtype"], s["min"], s["max"], s["values"], s["nonfinite"]
    ([2, 2], 'float32', -2.0, 'inf', [1.0, -2.0, 3.0, 'inf'], 1)
    """
    if g is None:
        return None
    a = _host(g)
    flat = a.reshape(-1)
    if a.dtype.kind == "c":  # complex gradients: show magnitudes
        flat = np.abs(flat)
    wide = flat.astype(np.float64)
    finite = np.isfinite(wide)
    out = {
        "shape": list(a.shape),
        "dtype": a.dtype.name,
        "numel": int(a.size),
        "values": [_number(v) for v in wide[:limit]],
        "truncated": bool(a.size > limit),
        "nonfinite": int(a.size - np.count_nonzero(finite)),
    }
    if a.size:
        with np.errstate(all="ignore"):
            out.update(min=_number(wide.min()), max=_number(wide.max()),
                       mean=_number(wide.mean()), norm=_number(np.linalg.norm(wide)))
    else:
        out.update(min=None, max=None, mean=None, norm=None)
    return out


def _doc_of(fn) -> str:
    """The first paragraph of the op class's own docstring (not Function's or Op's)."""
    for cls in fn.__mro__:
        if cls in (Function, Op, object):
            break
        doc = cls.__dict__.get("__doc__")
        if doc:
            paragraph = inspect.cleandoc(doc).split("\n\n")[0]
            return " ".join(line.strip() for line in paragraph.splitlines())
    return ""


def rule_of(node) -> dict:
    """The local derivative rule of a node, from its op's docstring (``Tanh: y = tanh x; ...``).

    >>> import nbtorch as torch
    >>> y = torch.tensor([0.5], requires_grad=True).tanh()
    >>> r = rule_of(y.grad_fn)
    >>> r["op"], r["forward"], r["formula"]
    ('Tanh', 'y = tanh x', 'dy/dx = 1 - y²')
    """
    if type(node) is AccumulateGrad:
        return dict(LEAF_RULE)
    doc = _doc_of(node._fn)
    title, forward, formula = node.name(), doc, ""
    head, sep, rest = doc.partition(": ")
    if sep and len(head) <= 40 and "=" not in head:
        title, doc_rest = head, rest
    else:
        doc_rest = doc
    forward, sep, formula = doc_rest.partition("; ")
    forward, formula = forward.strip(), formula.strip()
    n = sum(1 for child, _ in node.next_functions if child is not None)
    inputs = "its input" if n == 1 else f"each of its {n} inputs"
    if not doc:
        words = (f"{node.name()} has no documented rule; it runs its backward on the arriving "
                 f"gradient and sends the result to {inputs}.")
    elif formula:
        words = (f"{title} computed {forward}. Going backward, the chain rule multiplies the "
                 f"arriving gradient g by the local derivative ({formula}) and sends the result "
                 f"to {inputs}.")
    else:
        words = (f"{title} computed {forward}. Going backward, it applies the chain rule to the "
                 f"arriving gradient g and sends the result to {inputs}.")
    return {"op": title, "forward": forward, "formula": formula, "words": words, "doc": doc}


class BackwardRun:
    """One backward pass of ``loss``, advanced a step at a time, rewindable by replay.

    ``graph`` is the wire format of the loss's graph (``nbtorch.autograd.graph.to_dict``, or the
    richer ``nbtorch.viz.graph(loss).to_dict()``; made from ``names`` when not given).  ``ids``
    maps each backward node to its id there (the order in which a full pass reaches the nodes).
    ``records`` are the records of the steps done so far; ``steps`` the engine's own ``Step``
    objects of the current pass.

    >>> import nbtorch as torch
    >>> x = torch.tensor([1.0, 2.0], requires_grad=True)
    >>> run = BackwardRun((x * x).sum())
    >>> [run.advance()["op"] for _ in range(3)], run.finished, x.grad
    (['SumBackward0', 'MulBackward0', 'AccumulateGrad'], True, tensor([2., 4.]))
    >>> run.rewind(1); x.grad is None, [r["op"] for r in run.records]
    (True, ['SumBackward0'])
    """

    def __init__(self, loss, graph: dict | None = None, names: dict | None = None,
                 check: bool = False, check_limit: int = 64, values_limit: int = VALUES_LIMIT):
        _make_grads([loss], None)  # backward()'s errors (not scalar, no grad_fn) before anything
        self.loss = loss
        self.root = edge_of(loss)
        self.order = nodes_of(loss)
        self.ids = {node: i for i, node in enumerate(self.order)}
        self.graph = graph if graph is not None else to_dict(loss, names=names)
        if [n["op"] for n in self.graph["nodes"]] != [node.name() for node in self.order]:
            raise ValueError("BackwardRun: the graph given is not the graph of this loss")
        self.check, self.check_limit, self.values_limit = check, check_limit, values_limit
        self._before = self._snapshot()
        self._values = None
        self._checks = {}  # node -> its check: a replay gives the same, so it is made once
        if check:
            from ._fdcheck import recover_values

            self._values = recover_values(self.order, [(self.root, loss)])
        self._start()

    # --- the state before the run, restored on every replay ---------------------------------------
    def _grad_holders(self):
        """The tensors whose ``.grad`` a pass may write: leaves and retain_grad() tensors."""
        for node in self.order:
            if type(node) is AccumulateGrad:
                yield node, node.variable
            elif node._retained:
                for ref in node._retained.values():
                    t = ref()
                    if t is not None:
                        yield node, t

    def _snapshot(self) -> list:
        saved = []
        for _, t in self._grad_holders():
            g = t.grad
            saved.append((t, g, None if g is None else g._data.copy()))
        return saved

    def _restore(self) -> None:
        # The engine adds into an existing .grad in place, so the old Tensor gets its values back
        # (whoever holds it sees them) and becomes .grad again.
        for t, g, data in self._before:
            if g is not None:
                g._data[...] = data
                g._vbox[0] += 1
            t.grad = g

    # --- running --------------------------------------------------------------------------------
    def _start(self) -> None:
        (self.records, self.steps) = ([], [])
        self._done = set()
        self.finished = False
        self._lookahead = None
        grads = _make_grads([self.loss], None)
        self._gen = backward_steps([self.loss], grads, retain_graph=True)
        seed = grads[0]
        # Gradients sent so far and not yet consumed, keyed by (node, output_nr): the parts that
        # the engine's buffer sums when several consumers send to the same output (fan-out).
        self._parts = {self.root: [{"from": None, "from_op": "seed", "step": None,
                                    "input_index": None,
                                    "grad": summarize(seed, self.values_limit)}]}
        self._leaf_grads = {
            node: summarize(t.grad, self.values_limit) for node, t in self._grad_holders()
            if type(node) is AccumulateGrad
        }

    def restart(self) -> None:
        """Put every ``.grad`` back as it was before the run and start a fresh pass."""
        self._restore()
        self._start()

    def rewind(self, k: int) -> None:
        """Go to the state after step ``k - 1`` (``k`` steps done) by replaying from the start."""
        self.restart()
        while len(self.records) < k and self.advance() is not None:
            pass

    def advance(self) -> dict | None:
        """Run the next step of the engine; its record, or None when the pass is over."""
        if self._lookahead is not None:
            step, self._lookahead = self._lookahead, None
        elif self.finished:
            return None
        else:
            step = next(self._gen, None)
            if step is None:
                self.finished = True
                return None
        record = self._record(step)
        self.steps.append(step)
        self.records.append(record)
        self._done.add(step.node)
        if not any(node not in self._done for node, _ in self._parts):
            # No node holds an unprocessed gradient, so the engine has nothing more to yield:
            # drain it now, so that "finished" is known at the last step, not one click later.
            self._lookahead = next(self._gen, None)
            self.finished = self._lookahead is None
        return record

    def node_of(self, target):
        """The graph node meant by ``target``: an id, a Node (grad_fn) or a Tensor."""
        if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
            if not 0 <= target < len(self.order):
                raise IndexError(f"node {target} is not in the graph (it has {len(self.order)})")
            return self.order[target]
        if target in self.ids:
            return target
        if hasattr(target, "_requires_grad"):
            node = edge_of(target)[0]
            if node in self.ids:
                return node
        raise ValueError(f"{target!r} is not a node of this graph")

    # --- records ----------------------------------------------------------------------------------
    def _record(self, step) -> dict:
        node = step.node
        nid = self.ids[node]
        limit = self.values_limit
        arriving = []
        for nr, g in enumerate(step._grad_outputs):
            parts = self._parts.pop((node, nr), [])
            arriving.append({"output_nr": nr, "grad": summarize(g, limit), "parts": parts})
        sent, accumulated = [], None
        if type(node) is AccumulateGrad:
            var = node.variable
            after = summarize(var.grad, limit)
            accumulated = {"leaf": nid, "names": self.graph["nodes"][nid]["names"],
                           "before": self._leaf_grads.get(node),
                           "added": summarize(step._grad_inputs[0], limit), "after": after}
            self._leaf_grads[node] = after
        else:
            for k, ((child, nr), g) in enumerate(zip(step.edges, step._grad_inputs)):
                if child is None:
                    continue  # an operand that needs no gradient: no edge in the graph
                s = summarize(g, limit)
                sent.append({"input_index": k, "to": self.ids[child], "to_op": child.name(),
                             "output_nr": nr, "grad": s})
                if g is not None:
                    self._parts.setdefault((child, nr), []).append(
                        {"from": nid, "from_op": node.name(), "step": step.index,
                         "input_index": k, "grad": s})
        record = {
            "index": step.index,
            "node": nid,
            "op": node.name(),
            "kind": self.graph["nodes"][nid]["kind"],
            "names": self.graph["nodes"][nid]["names"],
            "rule": rule_of(node),
            "arriving": arriving,
            "sent": sent,
            "accumulated": accumulated,
            "check": None,
        }
        if self.check:
            from ._fdcheck import check_step

            if node not in self._checks:
                self._checks[node] = check_step(step, self._values, self.ids,
                                                self.graph["nodes"][nid]["shapes"],
                                                self.check_limit, self.values_limit)
            record["check"] = self._checks[node]
        return record

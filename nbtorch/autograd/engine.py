"""The backward engine: an iterative walk of the graph, exposed as a generator of steps.

``backward_steps`` applies one node's backward per ``next()`` and yields a ``Step`` saying what
happened.  ``Tensor.backward()`` and ``autograd.grad()`` drain it; the backward stepper widget
advances
it one click at a time, so the stepper replays exactly the real backward pass.

Order: a node runs once every node that sends it a gradient has run (dependency counts, no
recursion,
so 10,000-op chains are fine).  Among ready nodes, the most recently recorded runs first, and
leaves'
accumulators run as soon as they are ready, as in PyTorch's engine.
"""

from __future__ import annotations

import heapq
import itertools

import numpy as np

from . import events
from .anomaly import ANOMALY
from .events import LISTENERS
from .function import _RELEASED, MODE, AccumulateGrad, edge_of
from .grad_mode import GRAD

_ndarray = np.ndarray


class Step:
    """One step of a backward pass.

    ``grad_outputs`` are the gradients that arrived at ``node`` (one per output of its op);
    ``grad_inputs`` the gradients it sent (one per input, ``None`` where none), ``edges`` where
    they went; for a leaf's AccumulateGrad, ``grad_inputs`` holds what was added into ``.grad``.
    Gradients are wrapped as Tensors only when read.
    """

    __slots__ = ("index", "node", "_grad_outputs", "_grad_inputs", "edges")

    def __init__(self, index, node, grad_outputs, grad_inputs, edges=()):
        self.index, self.node, self.edges = index, node, edges
        self._grad_outputs, self._grad_inputs = grad_outputs, grad_inputs

    @property
    def name(self) -> str:
        return self.node.name()

    @property
    def grad_outputs(self) -> tuple:
        return tuple(_as_tensor(g) for g in self._grad_outputs)

    @property
    def grad_inputs(self) -> tuple:
        return tuple(_as_tensor(g) for g in self._grad_inputs)

    def __repr__(self) -> str:
        return f"Step({self.index}, {self.name})"


def _root_edges(tensors, grads):
    edges = []
    for i, t in enumerate(tensors):
        if not t._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        edges.append(edge_of(t))
    return edges


def _dependencies(root_nodes) -> dict:
    """How many edges point at each node reachable from the roots (the roots included, with 0
    unless an edge points at one of them)."""
    deps = dict.fromkeys(root_nodes, 0)  # a node is walked from when it first enters deps
    stack = list(deps)
    while stack:
        for child, _ in stack.pop().next_functions:
            if child is not None:
                count = deps.get(child)
                if count is None:
                    deps[child] = 1
                    stack.append(child)
                else:
                    deps[child] = count + 1
    return deps


def _needed(root_nodes, targets) -> set:
    """Nodes that lie on a path from a root to a target (only those run when inputs are given)."""
    needed = set()
    state = {}
    for root in root_nodes:
        stack = [(root, iter(root.next_functions))]
        state[root] = True
        while stack:
            node, children = stack[-1]
            advanced = False
            for child, _ in children:
                if child is not None and child not in state:
                    state[child] = True
                    stack.append((child, iter(child.next_functions)))
                    advanced = True
                    break
            if advanced:
                continue
            stack.pop()
            if node in targets or any(c in needed for c, _ in node.next_functions if c is not None):
                needed.add(node)
    return needed


def backward_steps(tensors, grad_tensors, retain_graph: bool = False, create_graph: bool = False,
                   inputs=None, accumulate: bool = True, capture: list | None = None,
                   steps: bool = True):
    """Generate the steps of a backward pass from ``tensors`` with gradients ``grad_tensors``.

    With ``inputs``, the gradients arriving at those tensors are collected into the generator's
    return value and into ``capture`` if given (a list, one per input) and, unless ``accumulate``,
    nothing is written to ``.grad``.  With ``steps=False`` it runs the whole pass at the first
    ``next()`` and yields nothing (``backward()`` drains it that way).

    >>> import nbtorch as torch
    >>> x = torch.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> [step.name for step in backward_steps([y], [torch.tensor(1.0)])]
    ['SumBackward0', 'MulBackward0', 'AccumulateGrad']
    >>> x.grad
    tensor([2., 4.])
    """
    edges = _root_edges(tensors, grad_tensors)
    root_nodes = list(dict.fromkeys(node for node, _ in edges))
    deps = _dependencies(root_nodes)
    targets = {}
    if inputs is not None:
        for k, t in enumerate(inputs):
            targets.setdefault(edge_of(t), []).append(k)
        target_nodes = {node for node, _ in targets}
        needed = _needed(root_nodes, target_nodes)
    else:
        needed = None
    captured = [None] * (len(inputs) if inputs is not None else 0)

    buffers: dict = {}
    handed = {id(g._data) for g in grad_tensors}  # arrays .grad may not adopt (see accumulate)
    previous = GRAD.enabled
    GRAD.enabled = create_graph
    try:
        for (node, nr), g in zip(edges, grad_tensors):
            # Without create_graph, gradients travel as raw arrays (see Node.run_backward).
            _add_to_buffer(buffers, node, nr, g if create_graph else g._data)
    finally:
        GRAD.enabled = previous

    order = itertools.count()
    ready = []
    for node in root_nodes:
        if deps.get(node, 0) == 0:
            heapq.heappush(ready, (-node._seq, next(order), node))

    index = 0
    push, pop = heapq.heappush, heapq.heappop
    outer_modes = GRAD.enabled, MODE.arrays
    # Without steps to show, create_graph or anomaly checks, plain nodes take a shortcut.
    direct = not steps and not create_graph and not ANOMALY.enabled
    try:
        if not steps:
            # Nothing runs between two steps: set the modes once for the whole pass.
            GRAD.enabled = create_graph
            MODE.arrays = not create_graph
        while ready:
            node = pop(ready)[2]
            grads = buffers.pop(node)
            if needed is not None and node not in needed:
                _release_children(node, deps, buffers, ready, order)
                continue
            if steps:
                # Grad mode is switched per step, not for the whole generator, so that user code
                # running between two steps (the backward stepper) runs in the user's own mode.
                previous = GRAD.enabled, MODE.arrays
                GRAD.enabled = create_graph
                MODE.arrays = not create_graph
            try:
                if node._hooked and (node._tensor_hooks or node._retained):
                    grads = _tensor_hooks(node, grads, create_graph)
                if targets:
                    for nr, g in enumerate(grads):
                        for k in targets.get((node, nr), ()):
                            captured[k] = _as_tensor(g)
                if type(node) is AccumulateGrad:
                    if not accumulate or grads[0] is None:
                        continue
                    added = node.accumulate(grads[0], create_graph, handed)
                    step = Step(index, node, grads, (added,)) if steps else None
                else:
                    for g in grads:
                        if g is not None:
                            break
                    else:
                        _release_children(node, deps, buffers, ready, order)
                        continue
                    fn = node._fn
                    raw = direct and fn._direct and not node._hooked and node._out_meta is None
                    if raw:
                        # Node.run_backward's common case, written out: no hooks, one output, an
                        # Op's backward on arrays.  Its gradients are checked against their
                        # inputs' shapes and dtypes below, as they are passed on.
                        grad_inputs = fn.backward(node, grads[0]) if len(grads) == 1 \
                            else fn.backward(node, *grads)
                        if type(grad_inputs) is not tuple:
                            grad_inputs = (grad_inputs,)
                        if len(grad_inputs) != len(node.next_functions):
                            grad_inputs = node._fit(grad_inputs)
                        in_meta = node._in_meta
                    else:
                        grad_inputs = node.run_backward(grads, create_graph)
                    if not retain_graph and node._saved:  # free what forward saved
                        node._saved = _RELEASED
                    i = -1
                    for (child, nr), g in zip(node.next_functions, grad_inputs):
                        i += 1
                        if child is None:
                            continue
                        if g is not None:
                            if raw and (type(g) is not _ndarray or g.shape != in_meta[i][0]
                                        or g.dtype != in_meta[i][1]):
                                g = node._conform(i, g, False)
                            buf = buffers.get(child)
                            if buf is None:
                                buf = [None] if child._out_meta is None else _buffer(child)
                                buffers[child] = buf
                            buf[nr] = g if buf[nr] is None else buf[nr] + g
                        remaining = deps[child] - 1
                        deps[child] = remaining
                        if remaining == 0:
                            if child not in buffers:
                                buffers[child] = [None] if child._out_meta is None \
                                    else _buffer(child)
                            push(ready, (-child._seq, next(order), child))
                    step = Step(index, node, grads, grad_inputs, node.next_functions) \
                        if steps else None
            finally:
                if steps:
                    GRAD.enabled, MODE.arrays = previous
            if LISTENERS:
                events.emit(events.BackwardStep(id(node), node.name(), index))
            index += 1
            if steps:
                yield step
    finally:
        if not steps:
            GRAD.enabled, MODE.arrays = outer_modes
    if capture is not None:
        capture[:] = captured
    return captured


def _buffer(node) -> list:
    """Where the gradients arriving at ``node`` are summed: one slot per output of its op."""
    return [None] * node.num_outputs


def _add_to_buffer(buffers, node, nr, g):
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = _buffer(node)
    buf[nr] = g if buf[nr] is None else buf[nr] + g


def _release_children(node, deps, buffers, ready, order):
    """A node that sends nothing still counts as done for its children."""
    for child, _ in node.next_functions:
        if child is None:
            continue
        deps[child] -= 1
        if deps[child] == 0:
            buffers.setdefault(child, _buffer(child))
            heapq.heappush(ready, (-child._seq, next(order), child))


def _tensor_hooks(node, grads, create_graph):
    """Hooks registered on non-leaf tensors, and ``retain_grad``, see the gradient of an output."""
    grads = [_as_tensor(g) for g in grads]
    if node._tensor_hooks:
        for nr, hooks in node._tensor_hooks.items():
            if grads[nr] is None:
                continue
            for hook in tuple(hooks.values()):
                replaced = hook(grads[nr])
                if replaced is not None:
                    grads[nr] = replaced
    if node._retained:
        for nr, ref in node._retained.items():
            t = ref()
            g = grads[nr]
            if t is None or g is None:
                continue
            if not create_graph:
                g = g.detach()
            t.grad = g if t.grad is None else t.grad + g
    if create_graph:
        return grads
    return [g._data if g is not None else None for g in grads]


def _as_tensor(g):
    from .function import Tensor

    return g if g is None or isinstance(g, Tensor) else Tensor._wrap(g)


def run_backward(tensors, grad_tensors, retain_graph=False, create_graph=False, inputs=None,
                 accumulate=True):
    """Drain ``backward_steps``; return what it collected for ``inputs``."""
    captured: list = []
    for _ in backward_steps(tensors, grad_tensors, retain_graph, create_graph, inputs, accumulate,
                            captured, steps=False):
        pass
    return captured

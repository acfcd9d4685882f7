"""The recorded tape as a plain, versioned, JSON-serializable dict: the graph's one wire format.

``to_dict(*tensors, names=None)`` walks the backward graph from ``tensors`` and returns::

    {"version": 1,
     "nodes":   [node, ...],             # one per grad_fn and one per leaf (its AccumulateGrad)
     "edges":   [[src, dst, input_index, output_nr], ...],
     "outputs": [id or None, ...]}       # the node of each given tensor (None: no grad)

A node is::

    {"id": 0,                            # small int; see the order below
     "op": "MulBackward0",               # grad_fn.name(), or "AccumulateGrad" for a leaf
     "kind": "output",                   # "output" (node of a given tensor), "op" or "leaf"
     "shapes": [[2, 3]],                 # one shape per output of the op (a leaf: its own shape)
     "dtype": "float32",                 # numpy's name of the (first) output's dtype
     "device": "cpu",                    # "cpu" or "cuda:N"
     "names": ["loss"],                  # the user's names for the node's tensors (may be empty)
     "saved": [[2, 3], null] or null}    # shapes of what backward saved (null: freed by backward)

An edge ``[src, dst, input_index, output_nr]`` says that output ``output_nr`` of node ``src`` is
input ``input_index`` of node ``dst`` (the forward direction).  Edges are listed node by node in id
order, and for each node in the order of its ``next_functions``; inputs that need no gradient
(constants, tensors without ``requires_grad``) have no edge, so ``input_index`` keeps its position.

Ids follow the order in which ``backward_steps`` would run the nodes (reverse-topological from the
roots: every node comes after all the nodes it sends gradients to), so they are deterministic for
a given program and a node's id is the step at which a full backward pass reaches it.

Names come from the tensor's ``_name`` (set by the user, or to its module path by nn), and from
``names={name: tensor}`` (``dict(model.named_parameters())`` fits).  Shapes and dtypes are read
from what the graph records anyway: each consumer's input metadata, a multi-output node's output
metadata, the given tensors and the leaves; no extra state is kept per op while recording.

Bump ``VERSION`` when the format changes, and update the front-end readers with it.
"""

from __future__ import annotations

import heapq
import itertools

import numpy as np

from .. import backend
from .engine import _dependencies
from .function import AccumulateGrad, edge_of

VERSION = 1

__all__ = ["VERSION", "nodes_of", "to_dict"]


def nodes_of(*tensors, nodes=()) -> list:
    """The nodes ``to_dict`` exports, in its id order (node ``i`` has id ``i``).

    ``nodes`` are further roots given as backward nodes (``grad_fn``s) rather than tensors.
    """
    return _backward_order(_root_nodes(_roots(tensors, nodes)))


def _roots(tensors, nodes) -> list:
    return [edge_of(t) if t.requires_grad else None for t in tensors] + [(n, 0) for n in nodes]


def _root_nodes(roots) -> list:
    return list(dict.fromkeys(e[0] for e in roots if e is not None))


def to_dict(*tensors, names: dict | None = None, nodes=()) -> dict:
    """The backward graph of ``tensors`` as a JSON-serializable dict (schema in the module doc).

    ``nodes`` are further roots given as backward nodes (``grad_fn``s; ``outputs`` lists them after
    the tensors): what a recorder that saw nodes, not tensors, can export.

    >>> import nbtorch as torch
    >>> x = torch.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * 3).exp()
    >>> g = to_dict(y, names={"x": x, "y": y})
    >>> [(n["id"], n["op"], n["kind"], n["names"]) for n in g["nodes"]]
    [(0, 'ExpBackward0', 'output', ['y']),
     (1, 'MulBackward0', 'op', []),
     (2, 'AccumulateGrad', 'leaf', ['x'])]
    >>> g["edges"]
    [[1, 0, 0, 0], [2, 1, 0, 0]]
    """
    roots = _roots(tensors, nodes)
    root_nodes = _root_nodes(roots)
    order = _backward_order(root_nodes)
    ids = {node: i for i, node in enumerate(order)}

    # What each node's outputs look like, as seen by the nodes that consume them.
    seen = {}  # (node, output_nr) -> (shape, dtype, device)
    for consumer in order:
        for k, (child, nr) in enumerate(consumer.next_functions):
            if child is not None and (child, nr) not in seen:
                shape, dtype = consumer._in_meta[k]
                seen[(child, nr)] = (shape, dtype, _xp_device(consumer.xp))
    for t, edge in zip(tensors, roots):
        if edge is not None:
            seen[edge] = (t._data.shape, t._data.dtype, backend.device_of(t._data))

    labels = {node: [] for node in order}
    for t in tensors:
        _label(labels, t, t._name)
    for node in order:
        if type(node) is AccumulateGrad and node.variable._name is not None:
            _label(labels, node.variable, node.variable._name)
    for name, t in (names or {}).items():
        _label(labels, t, name)

    output_nodes = set(root_nodes)
    nodes = [_node_entry(node, ids[node], output_nodes, seen, labels[node]) for node in order]
    edges = [
        [ids[child], ids[node], k, nr]
        for node in order
        for k, (child, nr) in enumerate(node.next_functions)
        if child is not None
    ]
    outputs = [ids[e[0]] if e is not None else None for e in roots]
    return {"version": VERSION, "nodes": nodes, "edges": edges, "outputs": outputs}


def _backward_order(root_nodes) -> list:
    """Nodes in the order the engine runs them: ready nodes first, the latest recorded first."""
    deps = _dependencies(root_nodes)
    counter = itertools.count()
    ready = [(-n._seq, next(counter), n) for n in root_nodes if deps.get(n, 0) == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)[2]
        order.append(node)
        for child, _ in node.next_functions:
            if child is None:
                continue
            deps[child] -= 1
            if deps[child] == 0:
                heapq.heappush(ready, (-child._seq, next(counter), child))
    return order


def _label(labels: dict, t, name) -> None:
    if name is None or not getattr(t, "_requires_grad", False):
        return
    node = t.grad_fn
    if node is None:
        ref = t._accumulator  # never create an accumulator: a leaf outside the graph is skipped
        node = ref() if ref is not None else None
    names = labels.get(node)
    if names is not None and name not in names:
        names.append(str(name))


def _node_entry(node, node_id: int, output_nodes: set, seen: dict, names: list) -> dict:
    if type(node) is AccumulateGrad:
        data = node.variable._data
        metas = [(data.shape, data.dtype, backend.device_of(data))]
        kind = "leaf"  # even when given as an output; "outputs" says so
        saved = []
    else:
        kind = "output" if node in output_nodes else "op"
        if node._out_meta is not None:
            metas = list(node._out_meta)
        else:
            metas = [seen.get((node, 0))]
        saved = _saved_shapes(node)
    first = next((m for m in metas if m is not None), None)
    return {
        "id": node_id,
        "op": node.name(),
        "kind": kind,
        "shapes": [list(m[0]) if m is not None else None for m in metas],
        "dtype": np.dtype(first[1]).name if first is not None else None,
        "device": str(first[2]) if first is not None else None,
        "names": names,
        "saved": saved,
    }


def _saved_shapes(node):
    saved = node._saved
    if not isinstance(saved, tuple):  # released by a backward pass without retain_graph
        return None
    shapes = []
    for entry in saved:
        if entry is None:
            shapes.append(None)
            continue
        kind, payload, _ = entry
        if kind == 1:  # one of the node's own outputs, kept as (array, version box, nr)
            payload = payload[0]
        shape = getattr(payload, "shape", None)
        shapes.append(list(shape) if shape is not None else [])
    return shapes


def _xp_device(xp) -> str:
    """The device of the arrays a node worked on, from its array module (numpy: the CPU)."""
    if xp is np:
        return "cpu"
    return str(backend.canonical_device("cuda"))

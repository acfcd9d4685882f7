"""``graph(*tensors)``: everything that produced some tensors, as a ``Graph``; ``record()``: names.

A ``Graph`` is a snapshot of the tape (``nbtorch.autograd.graph.to_dict`` is its one producer),
enriched with what a person wants to see: module paths, the user's names, statistics of values
and gradients, and flags for what went wrong.  ``Graph.to_dict()`` is the wire format that the
widgets' front end reads (``extensions/``); it is JSON-serializable and versioned::

    {"version": 1,                      # nbtorch.autograd.graph.VERSION
     "nodes":   [node, ...],            # id order: the order a backward pass runs them
     "edges":   [[src, dst, input_index, output_nr], ...],   # forward direction, see to_dict
     "outputs": [id or None, ...],      # the node of each given tensor (None: needs no grad)
     "modules": {"features.0": "Conv2d", "": "Net", ...}}    # module path -> class name

A node has the fields of ``nbtorch.autograd.graph.to_dict`` (``id``, ``op``, ``kind`` ("output",
"op" or "leaf"), ``shapes``, ``dtype``, ``device``, ``names``, ``saved``) and::

     "label":  "Addmm",                 # short text: the op without "Backward0"; a leaf's name
     "module": "features.0",            # innermost module whose forward recorded it ("": the
                                        #   top model's own forward; null: unknown / no module)
     "param":  "features.0.weight",     # a leaf's parameter name (params=...), else null
     "var":    "h",                     # the variable assigned at the source line (record())
     "value":  summary or null,         # of the node's output 0 where the tape still holds it
     "grad":   summary or null,         # of the gradient: a leaf's .grad, a retained grad
     "flags":  ["nan_origin", ...]      # "nan_origin": anomaly mode saw the first NaN appear
                                        #   here; "inplace_modified": a tensor saved for its
                                        #   backward was modified in place (backward fails);
                                        #   "nonfinite" / "nonfinite_grad": NaN or Inf inside

``names`` gathers every name a node is known by: the user's (``names=`` and tensors' ``_name``),
the parameter name, the recorded variable name.  A summary is::

    {"shape": [2, 3], "dtype": "float32", "numel": 6, "mean": 0.1, "std": 1.0, "min": -2.0,
     "max": 2.0, "norm": 3.2, "nan": 0, "inf": 0}      # over finite entries; null when none

(6 significant digits, std unbiased as ``Tensor.std()``).  Whole arrays never go into the dict;
``Graph.value(id)`` and ``Graph.grad(id)`` give them as numpy arrays (for heatmaps, sent to the
front end as binary buffers).

Values are found without keeping anything extra while recording: the given tensors, tensors in
``names``, leaves, and what the tape saved for backward (an op that saves its input or output
exposes that value).  Module paths and variable names exist only for nodes recorded inside
``with nbtorch.viz.record():``; outside it nbtorch pays nothing for them.

>>> import nbtorch as torch
>>> from nbtorch import nn
>>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
>>> with record():
...     out = model(torch.ones(2, 3)).sum()
>>> g = graph(out, params=model)
>>> [(n["label"], n["module"]) for n in g.nodes]
[('Sum', None), ('Addmm', '2'), ('2.bias', '2'), ('T', '2'), ('2.weight', '2'), ('Relu', '1'),
 ('Addmm', '0'), ('0.bias', '0'), ('T', '0'), ('0.weight', '0')]
>>> g.nodes[5]["value"]["shape"], g.modules["2"], len(g.edges)
([2, 4], 'Linear', 9)
"""

from __future__ import annotations

import copy
import itertools
import json
import linecache
import os
import re
import sys
import sysconfig
import weakref

import numpy as np

from .. import backend
from .._tensor import Tensor
from ..autograd import events
from ..autograd import graph as tape
from ..autograd.function import AccumulateGrad
from ..nn.modules import module as nn_module
from ..nn.parameter import Parameter
from . import layout as _layout
from . import svg as _svg

__all__ = ["VERSION", "FLAGS", "Graph", "graph", "record", "summarize"]

VERSION = tape.VERSION
FLAGS = ("nan_origin", "inplace_modified", "nonfinite", "nonfinite_grad")


class Graph:
    """A snapshot of the computation that produced some tensors (see the module docstring).

    ``nodes`` and ``edges`` are the wire format's lists; ``len(g)`` is the number of nodes.
    """

    def __init__(self, data: dict, grad_fns: list, values: dict, grads: dict):
        self._data = data
        self._grad_fns = grad_fns  # the backward nodes, by id
        self._values = values  # id -> array of the node's output 0 (numpy or cupy)
        self._grads = grads

    @property
    def nodes(self) -> list[dict]:
        return self._data["nodes"]

    @property
    def edges(self) -> list[list[int]]:
        return self._data["edges"]

    @property
    def outputs(self) -> list:
        return self._data["outputs"]

    @property
    def modules(self) -> dict:
        return self._data["modules"]

    def __len__(self) -> int:
        return len(self._data["nodes"])

    def __repr__(self) -> str:
        return f"Graph({len(self)} nodes, {len(self.edges)} edges)"

    def find(self, name: str) -> list[int]:
        """Ids of the nodes known by ``name`` (a user, parameter or variable name)."""
        return [n["id"] for n in self.nodes if name in n["names"]]

    def grad_fn(self, node_id: int):
        """The backward node (``grad_fn``, or a leaf's ``AccumulateGrad``) behind ``node_id``."""
        return self._grad_fns[node_id]

    def value(self, node_id: int) -> np.ndarray | None:
        """The node's output (output 0) as a numpy array, where the tape still holds it."""
        a = self._values.get(node_id)
        return None if a is None else _svg._host(a)

    def grad(self, node_id: int) -> np.ndarray | None:
        """The gradient of the node's output as a numpy array (leaves, retained grads)."""
        a = self._grads.get(node_id)
        return None if a is None else _svg._host(a)

    def to_dict(self) -> dict:
        """The wire format (a fresh copy; schema in the module docstring)."""
        return copy.deepcopy(self._data)

    def to_json(self) -> str:
        return json.dumps(self._data, allow_nan=False)

    def layout(self, collapsed=()) -> dict:
        """Positions for drawing (``nbtorch.viz.layout``), with the modules in ``collapsed``
        (paths) each drawn as one box; ``members`` maps a box's id to its nodes' ids."""
        if collapsed:
            ids, edges, members = _layout.collapse(self._data, collapsed)
        else:
            ids = [n["id"] for n in self.nodes]
            edges = [(e[0], e[1]) for e in self.edges]
            members = {}
        by_id = {n["id"]: n for n in self.nodes}
        sizes = {}
        for i in ids:
            if i in members:
                path = i.split(":", 1)[1]
                lines = _svg.module_lines(path, self.modules.get(path), len(members[i]))
            else:
                lines = _svg.node_lines(by_id[i])
            sizes[i] = _layout.text_size(lines)
        out = _layout.layout(ids, edges, sizes)
        out["members"] = members
        return out

    def to_svg(self, collapsed=()) -> str:
        """A static picture of the graph (one ``<g class="nbt-node">`` per drawn node)."""
        placed = self.layout(collapsed)
        return _svg.graph_svg(self._data, placed, members=placed["members"])

    def to_dot(self) -> str:
        """The graph in Graphviz's DOT language, modules as nested clusters (for users who have
        Graphviz: ``dot -Tsvg``; nbtorch never runs it)."""
        nodes_in: dict = {}
        for n in self.nodes:
            nodes_in.setdefault(n["module"] or "", []).append(n)
        paths = {p for p in nodes_in if p}
        for p in list(paths):
            while "." in p:
                p = p.rpartition(".")[0]
                paths.add(p)
        children: dict = {}
        for p in sorted(paths):
            children.setdefault(p.rpartition(".")[0] if "." in p else "", []).append(p)
        out = ["digraph nbtorch {",
               '  graph [rankdir=TB, fontname="monospace", fontsize=10];',
               '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10,'
               ' fillcolor="#f1f3f5"];',
               '  edge [color="#868e96"];']

        def emit(path: str, depth: int) -> None:
            pad = "  " * depth
            for n in nodes_in.get(path, ()):
                out.append(f"{pad}n{n['id']} [{_dot_node(n)}];")
            for child in children.get(path, ()):
                out.append(f'{pad}subgraph {_dot_str("cluster_" + child)} {{')
                kind = self.modules.get(child)
                label = child + (f" ({kind})" if kind else "")
                out.append(f'{pad}  label={_dot_str(label)}; style="dashed,rounded"; '
                           'color="#9c36b5";')
                emit(child, depth + 1)
                out.append(f"{pad}}}")

        emit("", 1)
        for src, dst, _, _ in self.edges:
            out.append(f"  n{src} -> n{dst};")
        out.append("}")
        return "\n".join(out) + "\n"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = _svg.mimebundle(self.to_svg(), alt=f"computational graph: {len(self)} nodes",
                                 plain=repr(self))
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include}
        if exclude:
            bundle = {k: v for k, v in bundle.items() if k not in exclude}
        return bundle


def _dot_str(s: str) -> str:
    """A DOT quoted string: backslashes and quotes escaped, lines joined by DOT's ``\\n``."""
    s = str(s).replace("\\", "\\\\").replace('"', '\\"')
    s = re.sub(r"[\x00-\x09\x0b-\x1f]", " ", s).replace("\n", "\\n")
    return f'"{s}"'


def _dot_node(n: dict) -> str:
    label = _dot_str("\n".join(_svg.node_lines(n)))
    attrs = [f"label={label}"]
    if n["kind"] == "leaf":
        attrs.append('shape=box, style="rounded,filled", fillcolor="#d3f9d8"' if n["param"]
                     else 'fillcolor="#d0ebff"')
    elif n["kind"] == "output":
        attrs.append('fillcolor="#fff3bf", penwidth=2')
    if n["flags"]:
        attrs.append('color="#e03131", fillcolor="#ffe3e3", penwidth=2.5')
    return ", ".join(attrs)


# --- building a Graph -----------------------------------------------------------------------------


def graph(*tensors, names=None, params=None) -> Graph:
    """The graph of everything that produced ``tensors`` (see the module docstring).

    ``names``: ``{name: tensor}``, or one name per given tensor (a list, or a string for one
    tensor).  ``params``: a module (its ``named_parameters()`` name the leaves and its
    ``named_modules()`` give the modules' class names) or a ``{name: tensor}`` dict.

    >>> import nbtorch as torch
    >>> x = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> g = graph((x * 3).relu().sum(), names={"x": x})
    >>> [n["label"] for n in g.nodes], g.edges
    (['Sum', 'Relu', 'Mul', 'x'], [[1, 0, 0, 0], [2, 1, 0, 0], [3, 2, 0, 0]])
    >>> g.nodes[3]["value"]["min"], g.nodes[1]["value"]["max"]
    (-2.0, 3.0)
    """
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"graph() expects tensors, but got {type(t).__name__}")
    names = _names_dict(tensors, names)
    grad_fns = tape.nodes_of(*tensors)  # held here: keeps fresh leaf accumulators alive
    data = tape.to_dict(*tensors, names=names)
    return _build(data, grad_fns, list(tensors) + list(names.values()), params)


def _names_dict(tensors, names) -> dict:
    if names is None:
        return {}
    if isinstance(names, str):
        names = [names]
    if isinstance(names, dict):
        return dict(names)
    names = list(names)
    if len(names) != len(tensors):
        raise ValueError(f"graph() got {len(names)} names for {len(tensors)} tensors")
    return {str(name): t for name, t in zip(names, tensors) if name is not None}


def _producer(t):
    """(node, output_nr) that made ``t``, without creating a leaf's accumulator."""
    if not getattr(t, "_requires_grad", False):
        return None
    if t.grad_fn is not None:
        return t.grad_fn, t._output_nr
    ref = t._accumulator
    node = ref() if ref is not None else None
    return (node, 0) if node is not None else None


def _build(data: dict, grad_fns: list, known: list, params) -> Graph:
    index = {node: i for i, node in enumerate(grad_fns)}
    values: dict = {}
    grads: dict = {}

    def put(store, where, array):
        if where is None or where[1] != 0 or array is None:
            return
        i = index.get(where[0])
        if i is not None and i not in store:
            store[i] = array

    for t in known:
        put(values, _producer(t), t._data)
        if t.grad is not None:
            put(grads, _producer(t), t.grad._data)
    modified = set()
    for i, node in enumerate(grad_fns):
        if type(node) is AccumulateGrad:
            var = node.variable
            put(values, (node, 0), var._data)
            if var.grad is not None:
                put(grads, (node, 0), var.grad._data)
            continue
        saved = node._saved
        for entry in saved if isinstance(saved, tuple) else ():
            if entry is None:
                continue
            kind, payload, version = entry
            if kind == 1:  # the node's own output: (array, version box, output_nr)
                if payload[1][0] != version:
                    modified.add(i)
                else:
                    put(values, (node, payload[2]), payload[0])
            elif kind in (0, 2):
                if payload._vbox[0] != version:
                    modified.add(i)
                else:
                    put(values, _producer(payload), payload._data)
        for nr, ref in (node._retained or {}).items():
            t = ref()
            if t is not None and t.grad is not None:
                put(grads, (node, nr), t.grad._data)

    param_names, module_types = _params(params)
    modules: dict = {}
    consumers: dict = {}
    for src, dst, _, _ in data["edges"]:
        consumers.setdefault(src, []).append(dst)
    for entry, node in zip(data["nodes"], grad_fns):
        i = entry["id"]
        meta = node.__dict__.get("_metadata") or {}  # never create metadata just to read it
        out = meta.get("out")
        if out is not None and entry["shapes"] and entry["shapes"][0] is None:
            entry["shapes"][0] = list(out[0])  # a root given as a node: shape seen recording
            entry["dtype"] = entry["dtype"] or out[1]
            entry["device"] = entry["device"] or out[2]
        param = None
        if type(node) is AccumulateGrad:
            param = param_names.get(id(node.variable))
        entry["module"] = meta.get("module")
        for path, type_name in meta.get("module_stack", ()):
            modules[path] = type_name
        entry["param"] = param
        entry["var"] = meta.get("var")
        for extra in (param, entry["var"]):
            if extra is not None and extra not in entry["names"]:
                entry["names"].append(extra)
        entry["label"] = _label(entry)
        entry["value"] = summarize(values[i]) if i in values else None
        entry["grad"] = summarize(grads[i]) if i in grads else None
        flags = []
        if meta.get("nan_origin"):
            flags.append("nan_origin")
        if i in modified:
            flags.append("inplace_modified")
        if _nonfinite(entry["value"]):
            flags.append("nonfinite")
        if _nonfinite(entry["grad"]):
            flags.append("nonfinite_grad")
        entry["flags"] = flags
    # A leaf belongs to a module: its parameter's owner, or the one module that uses it.
    by_id = data["nodes"]
    for entry, node in zip(data["nodes"], grad_fns):
        if entry["kind"] != "leaf":
            continue
        if entry["param"] is not None and (entry["param"] in param_names.values()):
            entry["module"] = entry["param"].rpartition(".")[0]
        elif isinstance(node.variable, Parameter):
            users = {by_id[c]["module"] for c in consumers.get(entry["id"], ())}
            if len(users) == 1:
                entry["module"] = users.pop()
    for entry in data["nodes"]:
        path = entry["module"]
        while path:
            if path not in modules and path in module_types:
                modules[path] = module_types[path]
            path = path.rpartition(".")[0]
        if entry["module"] == "" and "" in module_types:
            modules.setdefault("", module_types[""])
    data["modules"] = dict(sorted(modules.items()))
    return Graph(data, grad_fns, values, grads)


def _params(params) -> tuple[dict, dict]:
    """``{id(tensor): name}`` and ``{module path: class name}`` from a module or a dict."""
    if params is None:
        return {}, {}
    if hasattr(params, "named_parameters"):
        types = {path: type(m).__name__ for path, m in params.named_modules()}
        return {id(p): name for name, p in params.named_parameters()}, types
    return {id(p): str(name) for name, p in dict(params).items()}, {}


def _label(entry: dict) -> str:
    if entry["kind"] == "leaf":
        return entry["names"][0] if entry["names"] else "tensor"
    return re.sub(r"Backward\d*$", "", entry["op"]) or entry["op"]


def _nonfinite(summary) -> bool:
    return bool(summary) and (summary["nan"] > 0 or summary["inf"] > 0)


def _sig(v: float):
    v = float(v)
    return float(f"{v:.6g}") if np.isfinite(v) else None


def summarize(array) -> dict:
    """Statistics of an array (or Tensor) for the wire format: no array data.

    >>> summarize(np.array([1.0, 2.0, np.nan]))["mean"], summarize(np.array([1.0, np.inf]))["inf"]
    (1.5, 1)
    """
    a = getattr(array, "_data", array)
    xp = backend.xp_of(a)
    dtype = str(a.dtype)
    if a.dtype.kind == "c":
        a = xp.abs(a)
    if a.dtype.kind not in "f":
        a = a.astype(np.float64)
    nan = int(xp.isnan(a).sum())
    inf = int(xp.isinf(a).sum())
    finite = a[xp.isfinite(a)] if nan or inf else a.ravel()
    out = {"shape": list(a.shape), "dtype": dtype, "numel": int(a.size), "mean": None,
           "std": None, "min": None, "max": None, "norm": None, "nan": nan, "inf": inf}
    if finite.size:
        f = finite.astype(np.float64)
        out["mean"] = _sig(f.mean())
        out["std"] = _sig(f.std(ddof=1)) if f.size > 1 else 0.0
        out["min"] = _sig(f.min())
        out["max"] = _sig(f.max())
        out["norm"] = _sig(xp.linalg.norm(f))
    return out


# --- recording names ------------------------------------------------------------------------------

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# Python's own library and installed packages (IPython's kernel among them): their frames sit
# above the user's code, and their assignments name nothing of the user's.
_LIBRARY = tuple({os.path.abspath(path) + os.sep for key in ("stdlib", "platstdlib", "purelib",
                                                            "platlib")
                  if (path := sysconfig.get_paths().get(key))})
_ASSIGN = re.compile(r"\s*([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)")
_UNSEEN = object()
_NBTORCH, _USER, _OTHER = 0, 1, 2  # where a frame's code lives


class record:
    """While active, nodes are tagged with the module that recorded them and the variable the
    user assigned them to; ``graph()`` shows these, ``record.graph()`` draws what was recorded.

    A context manager: listening to the tape's events costs a little per op (a frame walk and a
    cached look at the source line), and nothing at all once it is left.

    >>> import nbtorch as torch
    >>> w = torch.tensor([2.0], requires_grad=True)
    >>> with record() as rec:
    ...     hidden = w * 3
    ...     loss = hidden.exp()
    >>> [(n["label"], n["var"]) for n in rec.graph().nodes]
    [('Exp', 'loss'), ('Mul', 'hidden'), ('tensor', None)]
    """

    def __init__(self, *, names: bool = True):
        self.names = names
        self._handle = None
        self._stack: list = []  # (module id, path, class name, weak reference to the module)
        self._context: tuple = ()  # ((path, class name), ...) of the stack, shared by nodes
        self._recorded: list = []  # weak references to the recorded nodes
        self._alive_mark = 64
        # frame id -> (line, bytecode offset, weak ref) of the node its current line named last
        self._pending: dict = {}
        self._where: dict = {}  # code file name -> _NBTORCH, _USER or _OTHER
        self._lines: dict = {}  # (file, line) -> the name assigned there, or None
        self._roots: dict = {}  # path -> weak reference to the top-level model called there

    @property
    def active(self) -> bool:
        return self._handle is not None

    def __enter__(self):
        if self._handle is not None:
            raise RuntimeError("record() is already active")
        self._handle = events.listen(self._on_event)
        return self

    def __exit__(self, *exc):
        self._handle.remove()
        self._handle = None
        self._stack.clear()
        self._context = ()
        self._pending.clear()
        return False

    def nodes(self) -> list:
        """The recorded backward nodes that are still alive, in recording order."""
        return [n for n in (r() for r in self._recorded) if n is not None]

    def graph(self, names=None, params=None) -> Graph:
        """The graph of what was recorded and is still alive (from the nodes nothing else
        recorded consumes); ``names`` and ``params`` as for ``graph()``."""
        live = self.nodes()
        consumed = {child for n in live for child, _ in n.next_functions if child is not None}
        roots = [n for n in live if n not in consumed]
        roots.reverse()  # the latest first: usually the loss
        names = _names_dict((), names) if isinstance(names, dict) else {}
        grad_fns = tape.nodes_of(*names.values(), nodes=roots)
        data = tape.to_dict(*names.values(), names=names, nodes=roots)
        data["outputs"] = data["outputs"][len(names):]
        return _build(data, grad_fns, list(names.values()), params)

    # --- listening ---------------------------------------------------------------------------
    def _on_event(self, event) -> None:
        kind = type(event)
        if kind is events.NodeRecorded:
            self._on_node(event)
        elif kind is events.ModuleCall:
            self._on_module(event)

    def _on_node(self, event) -> None:
        ref = event.node_ref
        node = ref() if ref is not None else None
        if node is None:
            return
        self._recorded.append(ref)
        if len(self._recorded) > 2 * self._alive_mark:  # forget freed nodes (a training loop)
            self._recorded = [r for r in self._recorded if r() is not None]
            self._alive_mark = max(64, len(self._recorded))
        meta = node.metadata
        meta["out"] = (event.shape, event.dtype or None, event.device)  # numpy's dtype name
        if self._stack:
            meta["module"] = self._stack[-1][1]
            meta["module_stack"] = self._context
        if self.names:
            self._name_from_source(node, meta)

    def _name_from_source(self, node, meta) -> None:
        """Name the node after the variable that the user's line assigns (``h = x.relu()``).

        The line is that of the innermost frame outside nbtorch. The user's frames further out
        count too: in ``loss = my_loss(model(x), y)`` the variable ``loss`` holds the last node
        that ``my_loss`` records, not the first one recorded on that line (``model(x)``'s).
        """
        frame = sys._getframe(1)
        where = self._where
        named = False
        innermost = True
        while frame is not None:
            file = frame.f_code.co_filename
            kind = where.get(file)
            if kind is None:
                path = os.path.abspath(file)
                kind = where[file] = (_NBTORCH if path.startswith(_PACKAGE) else
                                      _OTHER if path.startswith(_LIBRARY) else _USER)
            if kind == _NBTORCH:
                frame = frame.f_back
                continue
            if kind == _OTHER and not innermost:
                return  # the kernel's own machinery, above the user's code
            innermost = False
            named |= self._claim(node, meta, frame, file, give=not named)
            frame = frame.f_back

    def _claim(self, node, meta, frame, file: str, give: bool) -> bool:
        """The variable that ``frame``'s current line assigns holds the latest node recorded
        while the line runs: move its name onto ``node`` (``give``), or, when an inner line has
        named ``node`` already, at least take it off the node that held it so far. True when
        ``node`` was given the name."""
        key = (file, frame.f_lineno)
        name = self._lines.get(key, _UNSEEN)
        if name is _UNSEEN:
            match = _ASSIGN.match(linecache.getline(file, frame.f_lineno))
            name = self._lines[key] = match.group(1) if match else None
        pending = self._pending
        if name is None:
            pending.pop(id(frame), None)
            return False
        # Of the nodes one execution of a line records (`x = relu(fc(x))`, `out = model(x)`),
        # the variable holds the last: take the name from the previous node of the same line.
        # (A one-line loop body looks like one execution: its latest node keeps the name.)
        last, here = pending.get(id(frame)), frame.f_lasti
        if last is not None and last[0] == frame.f_lineno and here >= last[1]:
            previous = last[2]()
            if previous is not None and previous.metadata.get("var") == name:
                del previous.metadata["var"]
        if give:
            meta["var"] = name
        if len(pending) > 256:  # frames come and go (a function called in a loop)
            for k in [k for k, v in pending.items() if v[2]() is None]:
                del pending[k]
        pending[id(frame)] = (frame.f_lineno, here, weakref.ref(node))
        return give

    def _on_module(self, event) -> None:
        stack = self._stack
        if event.entered:
            module = event.module_ref() if event.module_ref is not None else None
            stack.append((event.module_id, self._path(event, module), event.type_name,
                          event.module_ref))
        else:
            # Pop to the module that returned (a forward that raised never said it left).
            for k in range(len(stack) - 1, -1, -1):
                if stack[k][0] == event.module_id:
                    del stack[k:]
                    break
        self._context = tuple((path, type_name) for _, path, type_name, _ in stack)

    def _path(self, event, module) -> str:
        paths = nn_module._paths
        known = paths.get(event.module_id)
        if module is None:
            return known if known is not None else event.type_name
        if self._stack:
            if known is not None:
                return known
            # Seen for the first time inside another module: the innermost module on the stack
            # that owns it names it.
            for _, parent_path, _, parent_ref in reversed(self._stack):
                parent = parent_ref() if parent_ref is not None else None
                if parent is None:
                    continue
                name = next((n for n, m in parent.named_modules() if m is module and n), None)
                if name is not None:
                    path = _join(parent_path, name)
                    break
            else:  # made on the fly, owned by no one
                path = _join(self._stack[-1][1], type(module).__name__)
        else:
            # A top-level call: a model is "" (its parameters' names then match its paths),
            # unless another model took "" in this recording (a GAN's generator and
            # discriminator): then its class name prefixes its paths.
            path = known if known is not None else ""
            holder = self._roots.get(path)
            holder = holder() if holder is not None else None
            if holder is not None and holder is not module:
                path = self._free_root(type(module).__name__)
            self._roots[path] = weakref.ref(module)
            if path == known:
                return path
        for name, m in module.named_modules():
            paths[m._module_id] = _join(path, name)
        return path

    def _free_root(self, base: str) -> str:
        for k in itertools.count(1):
            candidate = base if k == 1 else f"{base}_{k}"
            ref = self._roots.get(candidate)
            if ref is None or ref() is None:
                return candidate
        raise AssertionError("unreachable")  # pragma: no cover


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix and name else prefix or name

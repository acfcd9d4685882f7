"""GraphView: the interactive graph widget (Python side of ``extensions/graph_view.js``).

The kernel owns the graph and its layout; the browser draws them and asks for what it needs.

Synced traits (Python -> JS unless noted):

- ``graph``: the wire dict, ``Graph.to_dict()`` (schema in ``nbtorch.viz.graph``).
- ``positions``: ``Graph.layout(collapsed)`` (schema in ``nbtorch.viz.layout``: boxes' centres and
  sizes, edge polylines, ``members`` of each collapsed module box ``module:<path>``).
- ``collapsed`` (both ways): module paths drawn as one box each.  The browser changes it when a
  box or a module's frame is clicked; Python answers with new ``positions``.
- ``query`` (both ways): the search box; nodes whose op, label, names or module contain it (case
  insensitive, as ``matches()``) are highlighted.
- ``recording`` (both ways): the live switch (``view.live``).
- ``height``: of the drawing, in pixels.

Custom messages: the browser sends ``{"type": "request", "id": n}`` when a node is clicked; Python
answers ``{"type": "arrays", "id": n, "value": part, "grad": part}`` where a part is
``{"kind": "heatmap" | "histogram", "shape": [...], "full_shape": [...], "downsampled": bool,
"stats": summary, "buffer": k}`` and buffer ``k`` holds the (downsampled) values as float32 bytes;
a missing part comes with ``value_note`` / ``grad_note`` saying why.  Nothing bigger than
``MAX_SIDE`` x ``MAX_SIDE`` (heatmaps) or ``MAX_VALUES`` (histograms) numbers is ever sent.

Live mode: while ``view.live`` is on (``with view:``, ``GraphView.live(...)``, ``live=True`` or
the widget's switch), a ``record()`` tags new nodes and the view pushes the recorded graph as it
grows: at most every ``PUSH_INTERVAL_S`` (0.1 s), and less often when a push itself is slow
(at most ~20% of the time goes to pushes), plus a last push when the cell or the block ends.
"""

from __future__ import annotations

import json
import math
import warnings

import anywidget
import numpy as np
import traitlets

from .._tensor import Tensor
from ..autograd import events
from . import _live
from . import svg as _svg
from .graph import Graph, graph, record, summarize

__all__ = ["GraphView"]

MAX_SIDE = 64  # a heatmap is at most MAX_SIDE x MAX_SIDE block means
MAX_VALUES = 4096  # a histogram gets at most this many values (evenly strided)
AUTO_COLLAPSE = 300  # graphs with more nodes start with their top-level modules collapsed
SLOW_PUSH_FACTOR = 4.0  # after a push that took t seconds, wait at least 4 t for the next one


class _LiveSwitch:
    """``GraphView.live(...)`` makes a view in live mode; ``view.live`` is its switch."""

    def __get__(self, obj, cls):
        if obj is None:
            def live(*source, **kwargs):
                """A GraphView in live mode: the graph grows as ops run (``view.live = False``
                or leaving ``with view:`` stops it)."""
                return cls(*source, live=True, **kwargs)
            return live
        return obj.recording

    def __set__(self, obj, value):
        obj.recording = bool(value)


class GraphView(_live.StaticFallback, anywidget.AnyWidget):
    """Interactive drawing of the graph that produced ``tensors``: pan (drag), zoom (wheel),
    search, click a node for its details and the heatmap or histogram of its value and gradient,
    click a module's box to expand it.  NaN/Inf origins and in-place modifications are flagged.

    ``GraphView(*tensors, names=None, params=None)`` as ``nbtorch.viz.graph``; or
    ``GraphView(a_graph)``, or ``GraphView(a_record)`` (what a ``record()`` saw).
    ``collapsed``: module paths drawn as single boxes (default: the top-level modules of graphs
    with more than ``AUTO_COLLAPSE`` nodes, else none).  ``live=True``: see the module doc.

    >>> import nbtorch as torch
    >>> x = torch.tensor([[1.0, -2.0]], requires_grad=True)
    >>> view = GraphView((x * 3).relu().sum(), names={"x": x})
    >>> [n["label"] for n in view.graph["nodes"]], len(view.positions["nodes"])
    (['Sum', 'Relu', 'Mul', 'x'], 4)
    >>> view.matches("RELU")
    [1]
    """

    _esm = _live.esm("graph_view.js")

    graph = traitlets.Dict().tag(sync=True)
    positions = traitlets.Dict().tag(sync=True)
    collapsed = traitlets.List(traitlets.Unicode()).tag(sync=True)
    query = traitlets.Unicode("").tag(sync=True)
    recording = traitlets.Bool(False).tag(sync=True)
    height = traitlets.Int(520).tag(sync=True)

    live = _LiveSwitch()

    def __init__(self, *source, names=None, params=None, live: bool = False, collapsed=None,
                 height: int = 520, **kwargs):
        super().__init__(height=height, **kwargs)
        self._tensors: tuple = ()
        self._record: record | None = None
        self._owns_record = False
        self._params = params
        self._names = names
        self._graph: Graph | None = None
        self._listener = None
        self._throttle = _live.Throttle()
        self._dirty = False
        self._pushing = False
        self._showing = False
        self.pushes = 0  # live pushes that reached the browser (tests, benchmarks)
        self.error: str | None = None  # the last live push that failed, if any

        if len(source) == 1 and isinstance(source[0], Graph):
            g = source[0]
        elif len(source) == 1 and isinstance(source[0], record):
            self._record = source[0]
            g = self._record.graph(names=names, params=params)
        elif source:
            for t in source:
                if not isinstance(t, Tensor):
                    raise TypeError("GraphView() expects tensors, a Graph or a record(), but got "
                                    f"{type(t).__name__}")
            self._tensors = source
            g = graph(*source, names=names, params=params)
        elif live:
            g = None
        else:
            raise TypeError("GraphView() needs tensors, a Graph or a record() (or live=True)")
        if g is None:
            self._record, self._owns_record = record(), True
            g = self._record.graph(params=params)
        data = _wire(g)
        if collapsed is None:
            collapsed = top_modules(data) if len(g) > AUTO_COLLAPSE else []
        self._show(g, collapsed, data)
        self.on_msg(self._on_custom_msg)
        _live.after_each_cell(self, "flush")
        if live:
            self.recording = True

    # --- what is drawn --------------------------------------------------------------------------
    def _show(self, g: Graph, collapsed=None, data=None) -> None:
        """Send graph ``g`` and its layout (one message for both)."""
        data = _wire(g) if data is None else data
        paths = set(module_paths(data))
        wanted = self.collapsed if collapsed is None else collapsed
        valid = sorted({p for p in wanted if p in paths})
        positions = g.layout(valid)
        self._graph = g
        self._showing = True  # the collapsed observer must not lay out a second time
        try:
            with self.hold_sync():
                self.graph = data
                self.collapsed = valid
                self.positions = positions
        finally:
            self._showing = False

    @traitlets.observe("collapsed")
    def _on_collapsed(self, change) -> None:
        if self._graph is None or self._showing or change["new"] == change["old"]:
            return
        paths = set(module_paths(self.graph))
        valid = sorted({p for p in change["new"] if p in paths})
        if valid != list(change["new"]):  # unknown paths: ignored, and the browser told so
            self.collapsed = valid
            return
        self.positions = self._graph.layout(valid)

    def matches(self, query: str) -> list[int]:
        """Ids of the nodes the search box highlights for ``query``: op, label, names or module
        path contain it, ignoring case (the front end's ``searchMatches``)."""
        return matches(self.graph, query)

    def refresh(self) -> None:
        """Rebuild the graph from its source (the tensors, or the record), e.g. to show the
        gradients of a ``backward()`` that ran after the view was made."""
        if self._record is not None:
            g = self._record.graph(names=None if self._owns_record else self._names,
                                   params=self._params)
        elif self._tensors:
            g = graph(*self._tensors, names=self._names, params=self._params)
        else:
            g = self._graph
        self._show(g)

    # --- values of a clicked node ---------------------------------------------------------------
    def _on_custom_msg(self, _widget, content, buffers) -> None:
        if not isinstance(content, dict) or content.get("type") != "request":
            return
        reply, out = self.arrays_message(content.get("id"))
        self.send(reply, out)

    def arrays_message(self, node_id) -> tuple[dict, list]:
        """The answer to the browser's request for node ``node_id``: ``(message, buffers)``."""
        g = self._graph
        valid = (isinstance(node_id, int) and not isinstance(node_id, bool) and g is not None
                 and 0 <= node_id < len(g))
        if not valid:
            return {"type": "arrays", "id": node_id, "error": "no such node"}, []
        msg: dict = {"type": "arrays", "id": node_id}
        buffers: list = []
        for which, array in (("value", g.value(node_id)), ("grad", self._grad(node_id))):
            if array is None:
                msg[which + "_note"] = _NOTES[which]
                continue
            part, values = downsample(array)
            part["stats"] = summarize(array)
            part["buffer"] = len(buffers)
            msg[which] = part
            buffers.append(values.tobytes())
        return msg, buffers

    def _grad(self, node_id: int):
        """The gradient as the graph saw it, or a leaf's ``.grad`` now (backward may have run
        after the view was made)."""
        grad = self._graph.grad(node_id)
        if grad is None:
            variable = getattr(self._graph.grad_fn(node_id), "variable", None)
            if variable is not None and variable.grad is not None:
                grad = variable.grad._data
        return grad

    # --- live mode ------------------------------------------------------------------------------
    @traitlets.observe("recording")
    def _on_recording(self, change) -> None:
        if change["new"]:
            self._start()
        else:
            self._stop()

    def _start(self) -> None:
        if self._listener is not None:
            return
        if self._record is None:
            self._record, self._owns_record = record(), True
        if self._owns_record and not self._record.active:
            self._record.__enter__()
        self._listener = events.listen(self._on_event)  # after the record's: nodes are tagged

    def _stop(self) -> None:
        if self._listener is not None:
            self._listener.remove()
            self._listener = None
        if self._owns_record and self._record is not None and self._record.active:
            self._record.__exit__(None, None, None)
        self.flush()

    def _on_event(self, event) -> None:
        if type(event) is not events.NodeRecorded or self._pushing:
            return
        self._dirty = True
        t = _live.now()
        if self._throttle.due(t):
            self._push(t)

    def _push(self, t: float) -> None:
        self._pushing = True  # building the graph records nothing, but never re-enter
        try:
            g = self._record.graph(names=None if self._owns_record else self._names,
                                   params=self._params)
            self._show(g)
        except Exception as exc:  # never break the user's forward pass
            if self.error is None:
                warnings.warn(f"GraphView: live update failed: {exc!r}", RuntimeWarning,
                              stacklevel=2)
            self.error = repr(exc)
        else:
            self.pushes += 1
            self._dirty = False
        finally:
            self._pushing = False
            done = _live.now()
            self._throttle.last = done
            self._throttle.interval = max(_live.PUSH_INTERVAL_S, SLOW_PUSH_FACTOR * (done - t))

    def flush(self) -> None:
        """Send what the live recording saw since the last push (after each cell, and when
        live mode stops)."""
        if self._dirty and self._record is not None:
            self._push(_live.now())

    def __enter__(self):
        self.live = True
        return self

    def __exit__(self, *exc):
        self.live = False
        return False

    # --- static fallback ------------------------------------------------------------------------
    def to_svg(self) -> str:
        """The static picture: what ``Graph.to_svg`` draws, at the view's current layout (its
        collapsed modules), without laying the graph out again."""
        return _svg.graph_svg(self.graph, self.positions, members=self.positions["members"])

    def _static_alt(self) -> str:
        g = self._graph
        return f"computational graph: {len(g)} nodes, {len(g.edges)} edges (static snapshot)"

    def __repr__(self) -> str:
        return f"GraphView({len(self._graph)} nodes, {len(self._graph.edges)} edges)"


_NOTES = {
    "value": "not held by the tape (freed by backward, or never saved)",
    "grad": "none (no backward yet, or not a leaf: use retain_grad())",
}


def _wire(g: Graph) -> dict:
    """``g.to_dict()``, copied through JSON (4x faster than its deep copy on big graphs): what
    the front end receives, exactly."""
    return json.loads(g.to_json())


def module_paths(data: dict) -> list[str]:
    """Every module path of a wire dict's nodes, with their ancestors ("" excluded)."""
    paths = set()
    for n in data.get("nodes", ()):
        parts = (n.get("module") or "").split(".")
        for i in range(1, len(parts) + 1):
            if parts[i - 1]:
                paths.add(".".join(parts[:i]))
    return sorted(paths)


def top_modules(data: dict) -> list[str]:
    """The outermost module paths (what a big graph starts collapsed to)."""
    return [p for p in module_paths(data) if "." not in p]


def matches(data: dict, query: str) -> list[int]:
    """Node ids whose op, label, names or module contain ``query`` (case-insensitive)."""
    q = str(query).strip().lower()
    if not q:
        return []
    out = []
    for n in data.get("nodes", ()):
        fields = [n.get("op"), n.get("label"), n.get("module"), *(n.get("names") or ())]
        if any(f is not None and q in str(f).lower() for f in fields):
            out.append(n["id"])
    return out


def downsample(array) -> tuple[dict, np.ndarray]:
    """What the browser gets of an array: ``({"kind", "shape", "full_shape", "downsampled"},
    float32 values)``.  Arrays of 2 or more dims become a heatmap (dims split into rows x columns
    as close to square as the shape allows, then block means down to ``MAX_SIDE`` a side, so a
    NaN stays visible); 0-d and 1-d arrays a histogram's values (strided down to
    ``MAX_VALUES``).

    >>> part, v = downsample(np.arange(12.0).reshape(3, 4))
    >>> part["kind"], part["shape"], v.dtype.name
    ('heatmap', [3, 4], 'float32')
    >>> downsample(np.ones(10_000))[0]
    {'kind': 'histogram', 'shape': [4096], 'full_shape': [10000], 'downsampled': True}
    """
    a = np.asarray(array)
    full = list(a.shape)
    if a.dtype.kind == "c":
        a = np.abs(a)
    a = a.astype(np.float32, copy=False)
    if a.ndim <= 1 or a.size == 0:
        flat = a.reshape(-1)
        small = flat.size > MAX_VALUES
        if small:
            flat = flat[np.linspace(0, flat.size - 1, MAX_VALUES).round().astype(np.intp)]
        part = {"kind": "histogram", "shape": [int(flat.size)], "full_shape": full,
                "downsampled": bool(small)}
        return part, np.ascontiguousarray(flat, dtype=np.float32)
    rows, cols = _split(a.shape)
    m = a.reshape(rows, cols)
    br, bc = math.ceil(rows / MAX_SIDE), math.ceil(cols / MAX_SIDE)
    if br > 1 or bc > 1:
        m = _block_mean(m, br, bc)
    part = {"kind": "heatmap", "shape": [int(m.shape[0]), int(m.shape[1])], "full_shape": full,
            "downsampled": br > 1 or bc > 1}
    return part, np.ascontiguousarray(m, dtype=np.float32)


def _split(shape) -> tuple[int, int]:
    """rows x cols of a reshape that keeps dims whole, as close to square as possible."""
    best = None
    for k in range(1, len(shape)):
        rows, cols = math.prod(shape[:k]), math.prod(shape[k:])
        score = abs(math.log(max(rows, 1) / max(cols, 1)))
        if best is None or score < best[0]:
            best = (score, rows, cols)
    return best[1], best[2]


def _block_mean(m: np.ndarray, br: int, bc: int) -> np.ndarray:
    rows, cols = m.shape
    pr, pc = -rows % br, -cols % bc
    if pr or pc:  # repeat the edge so the last blocks are means of real values
        m = np.pad(m, ((0, pr), (0, pc)), mode="edge")
    r, c = m.shape
    with np.errstate(invalid="ignore", over="ignore"):
        return m.reshape(r // br, br, c // bc, bc).mean(axis=(1, 3), dtype=np.float64)

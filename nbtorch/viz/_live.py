"""What the live widgets (TrainingMonitor, GradFlow, show) share: where the ES modules are, the
static fallback in the output bundle, throttled pushes, and append-only streams of points.

Streams: a live plot gets points every step but may be shown for 100,000 steps.  Re-sending the
whole history ten times a second would grow without bound, and custom messages would be lost by a
view that renders while the training cell still runs (the kernel cannot answer it until the cell
ends).  So each stream is two pairs of binary traits: a *base* (everything up to some point,
re-sent rarely) and a *tail* (the points after the base, re-sent with every push, so it stays
small).  A view draws base + tail; both are widget state, so a view that opens late, a reload or
saved widget state always has every point.  The base absorbs the tail every ``FULL_SYNC_S``
seconds, or at every push while the history is small.
"""

from __future__ import annotations

import re
import time
import weakref
from pathlib import Path

import numpy as np

from . import svg

_PKG = Path(__file__).resolve().parent.parent
EXTENSIONS = next((p for p in (_PKG / "_extensions", _PKG.parent / "extensions") if p.is_dir()),
                  _PKG.parent / "extensions")

PUSH_INTERVAL_S = 0.1  # at most ~10 updates per second reach the browser
FULL_SYNC_S = 2.0  # the base of a stream is re-sent at most this often once it is large
SMALL_BYTES = 64 * 1024  # below this the base is re-sent with every push (no tail at all)

# The clock, a module attribute so tests can drive it.
now = time.perf_counter


# A widget module's import (or re-export) of the shared helpers: one line, plain names.
_SHARED_IMPORT = re.compile(r'^(?:import|export) \{([\w ,]*)\} from "\./_shared\.js";\n', re.M)


def esm(name: str) -> str:
    """The source of the front-end module ``extensions/<name>`` (``nbtorch/_extensions`` in a
    wheel) as one self-contained module, which is what anywidget loads: its import lines of
    ``_shared.js`` are replaced by the declarations they name (and those they use)."""
    source = (EXTENSIONS / name).read_text(encoding="utf-8")
    wanted = {n.strip() for names in _SHARED_IMPORT.findall(source) for n in names.split(",")}
    if not wanted:
        return source
    return "\n\n".join(_shared_declarations(wanted)) + "\n\n" + _SHARED_IMPORT.sub("", source)


def _shared_declarations(wanted: set) -> list:
    """The top-level declarations of ``_shared.js`` named in ``wanted``, with the shared ones they
    use, in the file's order (each is a block that ends at a blank line, its comment included)."""
    text = (EXTENSIONS / "_shared.js").read_text(encoding="utf-8")
    blocks = {}
    for block in text.split("\n\n"):
        found = re.search(r"^export (?:const|function) (\w+)", block, re.M)
        if found:
            blocks[found.group(1)] = block
    todo, keep = list(wanted), set()
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            uses = blocks[name]  # a KeyError: the widget imports a name _shared.js lacks
            todo += [n for n in blocks if n != name and re.search(rf"\b{n}\b", uses)]
    return [block for name, block in blocks.items() if name in keep]


class StaticFallback:
    """Mixin for an ``anywidget.AnyWidget``: the output bundle also carries ``image/svg+xml``, a
    sanitizer-proof ``text/html`` ``<img>`` and ``text/plain``, so a saved notebook shows a picture
    where no widget code runs; ``refresh_static()`` replaces that picture with the current state.

    Subclasses define ``to_svg()`` and ``_static_alt()``."""

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        data, md = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = dict(data or {})
        alt = self._static_alt()
        data.update(svg.mimebundle(self.to_svg(), alt=alt, plain=alt))
        return data, md

    def _ipython_display_(self):
        from IPython.display import display

        data, md = self._repr_mimebundle_()
        handle = display(data, metadata=md, raw=True, display_id=True)
        if handle is not None:
            self.__dict__.setdefault("_static_handles", []).append(handle)

    def refresh_static(self) -> None:
        """Replace the saved picture (frozen at display time) with the current state.

        Call it once at the end of training, not every step: each call re-renders the output."""
        flush = getattr(self, "flush", None)
        if flush is not None:
            flush()
        handles = self.__dict__.get("_static_handles", [])
        if not handles:
            return
        data, md = self._repr_mimebundle_()
        for handle in handles:
            handle.update(data, metadata=md, raw=True)


class Throttle:
    """Time-based gate: ``due(t)`` is true at most once per ``interval`` seconds."""

    __slots__ = ("interval", "last")

    def __init__(self, interval: float = PUSH_INTERVAL_S):
        self.interval = interval
        self.last = -float("inf")

    def due(self, t: float) -> bool:
        return t - self.last >= self.interval


class Stream:
    """Rows appended in Python, synced as a base and a tail (see the module doc).

    ``width`` numbers per row: (step, value) for a metric, (step, norm_1, ..., norm_L) for GradFlow.
    Rows wait in a Python list until a push (appending to a list is the cheapest thing a training
    loop can do), then move into a float64 array."""

    def __init__(self, width: int):
        self.width = width
        self.pending: list = []  # rows not yet moved into the array
        self._buf = np.zeros((64, width))  # grows by doubling: a push copies only its new rows
        self._n = 0
        self.base_n = 0  # rows in the synced base

    @property
    def rows(self) -> np.ndarray:
        """Every row moved out of ``pending`` so far (a view; float64)."""
        return self._buf[: self._n]

    def __len__(self) -> int:
        return self._n + len(self.pending)

    def consolidate(self) -> np.ndarray:
        if self.pending:
            new = np.array([[_as_float(x) for x in row] for row in self.pending], dtype=np.float64)
            self.pending = []
            end = self._n + len(new)
            if end > len(self._buf):
                grown = np.zeros((max(end, 2 * len(self._buf)), self.width))
                grown[: self._n] = self._buf[: self._n]
                self._buf = grown
            self._buf[self._n:end] = new.reshape(-1, self.width)
            self._n = end
        return self.rows

    def split(self, full: bool) -> tuple[np.ndarray | None, np.ndarray]:
        """(base, tail) as float32 rows; base is None when ``full`` is False (unchanged)."""
        self.consolidate()
        if full:
            self.base_n = len(self.rows)
        base = self.rows[: self.base_n].astype(np.float32) if full else None
        return base, self.rows[self.base_n:].astype(np.float32)


class FullSync:
    """When a push re-sends the bases: while they are small, or every ``FULL_SYNC_S`` seconds."""

    __slots__ = ("last",)

    def __init__(self):
        self.last = -float("inf")

    def due(self, t: float, rows: int, width: int, force: bool = False) -> bool:
        full = force or rows * width * 4 <= SMALL_BYTES or t - self.last >= FULL_SYNC_S
        if full:
            self.last = t
        return full


def _as_float(x) -> float:
    """A logged number as a float: Python/numpy scalars, or the raw array of a 1-element tensor
    (kept unconverted until the push, so logging on a GPU does not synchronize every step)."""
    if hasattr(x, "reshape"):  # numpy or cupy array of one element
        x = x.reshape(-1)[0]
    return float(x)


def after_each_cell(obj, method: str) -> None:
    """Call ``obj.<method>()`` when each IPython cell finishes (flushes the last points of a loop
    that ended between two pushes), until ``obj`` is closed or gone; nothing outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return
    ref = weakref.ref(obj)

    def callback(*_):
        target = ref()
        if target is None or getattr(target, "comm", True) is None:  # gone, or widget closed
            try:
                ip.events.unregister("post_run_cell", callback)
            except ValueError:
                pass
            return
        getattr(target, method)()

    ip.events.register("post_run_cell", callback)

"""TrainingMonitor: live training curves from an ordinary loop, throttled so logging is ~free.

Python side of ``extensions/monitor.js``.  ``log()`` appends to a list and reads the clock; at most
every ``PUSH_INTERVAL_S`` (0.1 s) a push moves the new points to the browser as float32 buffers
(``steps``/``values`` for the history, ``tail_steps``/``tail_values`` for the points after it: see
``_live``).  The front end redraws one SVG per panel in place.

Synced traits (Python -> JS unless noted):

- ``series``: ``[{"name", "kind" ("train"|"val"), "group" (the panel), "n", "tail_n"}]`` in the
  order the buffers hold them: series ``i`` owns ``n`` points of ``steps``/``values`` and ``tail_n``
  of ``tail_steps``/``tail_values``, after those of series ``0..i-1``.
- ``steps``, ``values``, ``tail_steps``, ``tail_values``: float32 bytes.
- ``status``: ``{"step", "first_step", "elapsed" (seconds from the first log to the last), "logs",
  "done"}``.
- ``total``, ``title``; ``smoothing`` and ``log_scale`` both ways (the widget's slider and toggle).
"""

from __future__ import annotations

import anywidget
import numpy as np
import traitlets

from .._tensor import Tensor
from . import _charts, _live

__all__ = ["TrainingMonitor"]


class TrainingMonitor(_live.StaticFallback, anywidget.AnyWidget):
    """Live curves of training metrics: ``.log(step, **metrics)`` in the loop, nothing else.

    Metrics named ``val_*``/``test_*`` (or ``*_val``...) are drawn dashed in the panel of their
    train counterpart (``val_loss`` with ``train_loss`` or ``loss``).  ``smoothing`` is
    TensorBoard's exponential smoothing (raw points stay faint behind); ``log_scale`` the y axis;
    with ``total`` the widget shows progress and an ETA.  Use it as a context manager, or call
    ``finish()``, to send the last points and update the saved picture.

    >>> mon = TrainingMonitor(total=3)
    >>> for step in range(3):
    ...     mon.log(step, train_loss=1.0 / (step + 1))
    >>> mon.finish()
    >>> mon.history["train_loss"][1].tolist()
    [1.0, 0.5, 0.3333333333333333]
    """

    _esm = _live.esm("monitor.js")

    title = traitlets.Unicode("").tag(sync=True)
    total = traitlets.Int(None, allow_none=True).tag(sync=True)
    smoothing = traitlets.Float(0.6).tag(sync=True)
    log_scale = traitlets.Bool(False).tag(sync=True)
    series = traitlets.List(traitlets.Dict()).tag(sync=True)
    steps = traitlets.Bytes(b"").tag(sync=True)
    values = traitlets.Bytes(b"").tag(sync=True)
    tail_steps = traitlets.Bytes(b"").tag(sync=True)
    tail_values = traitlets.Bytes(b"").tag(sync=True)
    status = traitlets.Dict().tag(sync=True)

    def __init__(self, total: int | None = None, metrics=None, smoothing: float = 0.6,
                 log_scale: bool = False, title: str | None = None, **kwargs):
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        super().__init__(total=total, smoothing=smoothing, log_scale=log_scale,
                         title=title or "", **kwargs)
        self._streams: dict[str, _live.Stream] = {}
        self._meta: list[dict] = []  # name, kind, group of each stream, in order
        self._throttle = _live.Throttle()
        self._full = _live.FullSync()
        self._next_step = 0
        self._first_step = self._last_step = None
        self._t_first = self._t_last = None
        self._logs = 0
        self._done = False
        self.pushes = 0  # how many updates went to the browser (tests, benchmarks)
        for name in metrics or ():
            self._add(name)
        self.series = [dict(m, n=0, tail_n=0) for m in self._meta]  # empty panels, in order
        self._send_status()
        _live.after_each_cell(self, "flush")

    # --- the hot path -------------------------------------------------------------------------
    def log(self, step: int | None = None, **metrics) -> None:
        """Record ``metrics`` (numbers, or one-element tensors) at ``step`` (default: the last
        step + 1).  Costs a few microseconds; the browser is updated at most ~10 times a second."""
        t = _live.now()
        if step is None:
            step = self._next_step
        if self._t_first is None:
            self._t_first, self._first_step = t, step
        self._t_last, self._last_step, self._next_step = t, step, step + 1
        self._logs += 1
        streams = self._streams
        for name, value in metrics.items():
            stream = streams.get(name)
            if stream is None:
                stream = self._add(name)
            if isinstance(value, Tensor):
                value = value._data  # the raw array: no graph kept, no GPU sync until the push
                if value.size != 1:
                    raise ValueError(f"TrainingMonitor.log: {name} has {value.size} elements; "
                                     "log a number or a one-element tensor")
            stream.pending.append((step, value))
        if t - self._throttle.last >= self._throttle.interval:
            self._push(t)

    # --- pushes ---------------------------------------------------------------------------------
    def flush(self) -> None:
        """Send whatever has not reached the browser yet (called after each cell, by ``finish``
        and ``refresh_static``)."""
        if any(s.pending or s.base_n < len(s.rows) for s in self._streams.values()):
            self._push(_live.now(), force_full=True)
        elif self.status.get("logs") != self._logs:
            self._send_status()

    def finish(self) -> None:
        """The loop is over: send the last points, mark the run done, update the saved picture."""
        self._done = True
        self.flush()
        self._send_status()
        self.refresh_static()

    def close(self) -> None:
        """Flush (as ``finish``), then close the widget as ipywidgets does (its view goes away)."""
        if getattr(self, "_streams", None) is not None and self.comm is not None \
                and not self._done:
            self.finish()
        super().close()

    def __enter__(self) -> TrainingMonitor:
        return self

    def __exit__(self, *exc) -> bool:
        self.finish()
        return False

    def _push(self, t: float, force_full: bool = False) -> None:
        self._throttle.last = t
        streams = list(self._streams.values())
        rows = sum(len(s) for s in streams)
        full = self._full.due(t, rows, 2, force_full)
        parts = [s.split(full) for s in streams]
        meta = [dict(m, n=s.base_n, tail_n=len(s.rows) - s.base_n)
                for m, s in zip(self._meta, streams)]
        with self.hold_sync():
            if full:
                self.steps = _column(parts, 0, 0)
                self.values = _column(parts, 0, 1)
            self.tail_steps = _column(parts, 1, 0)
            self.tail_values = _column(parts, 1, 1)
            self.series = meta
            self._send_status()
        self.pushes += 1

    def _status(self) -> dict:
        elapsed = (self._t_last - self._t_first) if self._t_first is not None else 0.0
        return {"step": _plain(self._last_step), "first_step": _plain(self._first_step),
                "elapsed": elapsed, "logs": self._logs, "done": self._done}

    def _send_status(self) -> None:
        self.status = self._status()

    def _add(self, name: str) -> _live.Stream:
        name = str(name)
        stream = self._streams[name] = _live.Stream(2)
        self._meta.append({"name": name, "kind": _charts.metric_kind(name),
                           "group": _charts.metric_group(name)})
        return stream

    # --- reading back -----------------------------------------------------------------------------
    @property
    def history(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{metric: (steps, values)}``: every point logged so far, as float64 arrays."""
        out = {}
        for name, stream in self._streams.items():
            rows = stream.consolidate()
            out[name] = (rows[:, 0].copy(), rows[:, 1].copy())
        return out

    def eta(self) -> float | None:
        """Seconds left at the rate so far (None without ``total`` or before two steps)."""
        elapsed = (self._t_last - self._t_first) if self._t_first is not None else None
        return _charts.eta_seconds(self._last_step, self._first_step, elapsed, self.total)

    # --- static picture -----------------------------------------------------------------------
    def _static_alt(self) -> str:
        step = "no steps yet" if self._last_step is None else f"step {self._last_step}"
        names = ", ".join(self._streams) or "no metrics"
        return f"TrainingMonitor: {names}; {step}"

    def progress_text(self) -> str:
        """``step 41 / 100 (42%) · 3s elapsed · ETA 4s``: what the widget's header says."""
        return _charts.progress_text(self._status(), self.total)

    def to_svg(self) -> str:
        """The current curves as a standalone SVG (what saved notebooks show)."""
        groups: dict[str, list] = {}
        for k, (meta, stream) in enumerate(zip(self._meta, self._streams.values())):
            rows = stream.consolidate()
            color = _charts.PALETTE[k % len(_charts.PALETTE)]
            groups.setdefault(meta["group"], []).append(
                (meta["name"], rows[:, 0], rows[:, 1], meta["kind"], color))
        pw, ph, cols = 340, 210, 2
        panels = list(groups.items()) or [("metrics", [])]
        ncols = min(cols, len(panels))
        width = 10 + ncols * (pw + 10)
        height = 34 + ((len(panels) + ncols - 1) // ncols) * (ph + 10)
        body = [_charts.text(10, 18, self.title or "Training", size=13, fill="#111",
                             extra=' font-weight="bold"'),
                _charts.text(width - 10, 18, self.progress_text(), size=11, anchor="end",
                             fill="#555")]
        for i, (group, series) in enumerate(panels):
            x, y = 10 + (i % ncols) * (pw + 10), 28 + (i // ncols) * (ph + 10)
            body += _charts.line_panel(x, y, pw, ph, group, series, self.log_scale,
                                       self.smoothing)
        return _charts.svg_document(width, height, body, self._static_alt())


def _plain(step):
    """A step as JSON can carry it (numpy and 0-d tensor steps become int or float)."""
    if step is None:
        return None
    value = _live._as_float(getattr(step, "_data", step))
    return int(value) if value.is_integer() else value


def _column(parts, which: int, col: int) -> bytes:
    """Concatenate column ``col`` of the base (which=0) or tail (1) rows of every series."""
    arrays = [p[which][:, col] for p in parts if p[which] is not None and len(p[which])]
    if not arrays:
        return b""
    return np.ascontiguousarray(np.concatenate(arrays), dtype=np.float32).tobytes()

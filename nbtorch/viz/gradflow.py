"""GradFlow: per-layer gradient norms over training, flagging vanishing and exploding layers.

Python side of ``extensions/gradflow.js``.  One row per ``update()``: the step and the 2-norm of
each named parameter's gradient.  Rows travel as float32 buffers, base + tail (see ``_live``), at
most ~10 pushes a second; each push also sends a histogram of every layer's current gradient values.

When to read the gradients: call ``update()`` after ``backward()`` (and after any clipping), or give
the optimizer (``GradFlow(model, optimizer)``) and it is called from the optimizer's step pre-hook,
right before ``optimizer.step()`` uses the gradients.  A pre-hook was chosen over listening to
``events.GradAccumulated``/``OptimizerStep``: a listener switches on event records for every op
and every module call (a cost on the whole training step), ``GradAccumulated`` carries only a norm
(no values for the histogram) and arrives one leaf at a time, and ``OptimizerStep`` comes after the
update.  The pre-hook costs nothing elsewhere and sees exactly the gradients the optimizer uses.

Flags (``_charts.classify_norm``, the same function in the front end): a layer is *exploding*
when its gradient norm is above ``explode`` (1e3) or NaN/Inf, *vanishing* when it is below
``vanish`` (1e-7) times the step's largest finite norm (floored at 1), so a layer 10 million times
weaker than the strongest is flagged, and so is a layer with no gradient at all.

Synced traits: ``layers`` (names), ``steps``/``norms`` and ``tail_steps``/``tail_norms`` (float32;
norms row-major, one row of ``len(layers)`` per update), ``counts`` (``{"n", "tail_n"}`` rows),
``hist`` (float32, ``len(layers) x bins`` counts of the latest gradients), ``hist_range`` (float32,
``len(layers) x 2``: each histogram's [lo, hi]), ``hist_step``, ``thresholds``, ``title``.
"""

from __future__ import annotations

import anywidget
import numpy as np
import traitlets

from .. import backend
from . import _charts, _live, svg

__all__ = ["GradFlow"]


class GradFlow(_live.StaticFallback, anywidget.AnyWidget):
    """Gradient norms of every parameter of ``model`` over training steps.

    >>> import nbtorch as torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> flow = GradFlow(model)
    >>> model(torch.ones(2, 3)).sum().backward()
    >>> flow.update()
    >>> flow.layers
    ['0.weight', '0.bias', '2.weight', '2.bias']
    >>> flow.flags()
    {'0.weight': 'ok', '0.bias': 'ok', '2.weight': 'ok', '2.bias': 'ok'}
    """

    _esm = _live.esm("gradflow.js")

    title = traitlets.Unicode("").tag(sync=True)
    layers = traitlets.List(traitlets.Unicode()).tag(sync=True)
    steps = traitlets.Bytes(b"").tag(sync=True)
    norms = traitlets.Bytes(b"").tag(sync=True)
    tail_steps = traitlets.Bytes(b"").tag(sync=True)
    tail_norms = traitlets.Bytes(b"").tag(sync=True)
    counts = traitlets.Dict({"n": 0, "tail_n": 0}).tag(sync=True)
    hist = traitlets.Bytes(b"").tag(sync=True)
    hist_range = traitlets.Bytes(b"").tag(sync=True)
    hist_step = traitlets.Float(None, allow_none=True).tag(sync=True)
    thresholds = traitlets.Dict({"vanish": 1e-7, "explode": 1e3}).tag(sync=True)

    def __init__(self, model, optimizer=None, *, bins: int = 32, vanish: float = 1e-7,
                 explode: float = 1e3, title: str | None = None, **kwargs):
        named = model.named_parameters() if hasattr(model, "named_parameters") else model
        named = list(named.items() if isinstance(named, dict) else named)
        params = [(str(n), p) for n, p in named if getattr(p, "requires_grad", True)]
        super().__init__(layers=[n for n, _ in params], title=title or "",
                         thresholds={"vanish": float(vanish), "explode": float(explode)}, **kwargs)
        self._params = [p for _, p in params]
        self._bins = int(bins)
        self._stream = _live.Stream(1 + len(params))
        self._throttle = _live.Throttle()
        self._full = _live.FullSync()
        self._next_step = 0
        self._hook = None
        self.pushes = 0
        if optimizer is not None:
            self.attach(optimizer)
        _live.after_each_cell(self, "flush")

    # --- recording ------------------------------------------------------------------------------
    def update(self, step: int | None = None) -> None:
        """Read every parameter's gradient norm now (after ``backward()``); a missing gradient
        counts as 0.  Pushes to the browser at most ~10 times a second."""
        if step is None:
            step = self._next_step
        self._next_step = step + 1
        row = [step]
        for p in self._params:
            g = p.grad
            if g is None:
                row.append(0.0)
                continue
            a = g._data
            # xp.linalg.norm is a BLAS dot: cheap; the result stays on its device until the push
            row.append(backend.xp_of(a).linalg.norm(a.ravel()))
        self._stream.pending.append(row)
        t = _live.now()
        if t - self._throttle.last >= self._throttle.interval:
            self._push(t)

    def attach(self, optimizer) -> GradFlow:
        """Call ``update()`` before each ``optimizer.step()`` (the optimizer's step pre-hook)."""
        self.detach()
        self._hook = optimizer.register_step_pre_hook(lambda opt, args, kwargs: self.update())
        return self

    def detach(self) -> None:
        """Stop updating from the optimizer."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def flush(self) -> None:
        """Send the rows that have not reached the browser yet."""
        s = self._stream
        if s.pending or s.base_n < len(s.rows):
            self._push(_live.now(), force_full=True)

    def finish(self) -> None:
        """Training is over: send everything and update the saved picture."""
        self.flush()
        self.refresh_static()

    def __enter__(self) -> GradFlow:
        return self

    def __exit__(self, *exc) -> bool:
        self.detach()
        self.finish()
        return False

    def _push(self, t: float, force_full: bool = False) -> None:
        self._throttle.last = t
        s = self._stream
        full = self._full.due(t, len(s), s.width, force_full)
        base, tail = s.split(full)
        hist, ranges = self._histograms()
        with self.hold_sync():
            if full:
                self.steps = np.ascontiguousarray(base[:, 0]).tobytes()
                self.norms = np.ascontiguousarray(base[:, 1:]).tobytes()
            self.tail_steps = np.ascontiguousarray(tail[:, 0]).tobytes()
            self.tail_norms = np.ascontiguousarray(tail[:, 1:]).tobytes()
            self.counts = {"n": s.base_n, "tail_n": len(s.rows) - s.base_n}
            self.hist = hist.astype(np.float32).tobytes()
            self.hist_range = ranges.astype(np.float32).tobytes()
            self.hist_step = float(s.rows[-1, 0]) if len(s.rows) else None
        self.pushes += 1

    def _histograms(self) -> tuple[np.ndarray, np.ndarray]:
        """Counts of each layer's current gradient values over [-m, m], m its largest |value|."""
        hist = np.zeros((len(self._params), self._bins))
        ranges = np.zeros((len(self._params), 2))
        for i, p in enumerate(self._params):
            if p.grad is None:
                continue
            a = _charts.to_host(p.grad._data)
            r = _charts.finite_range(a)
            if r is None:
                continue
            m = max(abs(r[0]), abs(r[1])) or 1.0
            ranges[i] = (-m, m)
            hist[i] = _charts.histogram(a, self._bins, -m, m)
        return hist, ranges

    # --- reading back ---------------------------------------------------------------------------
    @property
    def history(self) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, norms)``: float64 arrays, norms of shape (updates, layers)."""
        rows = self._stream.consolidate()
        return rows[:, 0].copy(), rows[:, 1:].copy()

    def flags(self, index: int = -1) -> dict[str, str]:
        """``{layer: "ok" | "vanishing" | "exploding"}`` for update ``index`` (the latest)."""
        rows = self._stream.consolidate()
        if not len(rows):
            return {name: "ok" for name in self.layers}
        return dict(zip(self.layers, _row_flags(rows[index, 1:], self.thresholds)))

    def flagged(self) -> list[tuple[str, str, float, float]]:
        """``[(layer, flag, norm, step)]``: the layers flagged at the latest update."""
        rows = self._stream.consolidate()
        if not len(rows):
            return []
        step, norms = rows[-1, 0], rows[-1, 1:]
        return [(name, flag, float(n), float(step))
                for name, flag, n in zip(self.layers, _row_flags(norms, self.thresholds), norms)
                if flag != "ok"]

    # --- static picture -------------------------------------------------------------------------
    def _static_alt(self) -> str:
        flagged = self.flagged()
        note = "; ".join(f"{name} {flag}" for name, flag, _, _ in flagged) or "no layer flagged"
        return f"GradFlow: {len(self.layers)} layers, {len(self._stream)} updates; {note}"

    def to_svg(self) -> str:
        """Latest norms as bars on a log axis, colored by flag; the norms over time as a heatmap
        (layers x updates, log10 of the norm); the flagged layers as text."""
        rows = self._stream.consolidate()
        n_layers = len(self.layers)
        row_h, label_w, bar_w = 16, 150, 260
        top = 40
        height = max(top + n_layers * row_h + 60, 140)
        width = label_w + bar_w + 300
        body = [_charts.text(10, 18, self.title or "Gradient flow", size=13, fill="#111",
                             extra=' font-weight="bold"')]
        if not len(rows):
            body.append(_charts.text(10, 40, "no update yet: call .update() after backward()",
                                     fill="#999"))
            return _charts.svg_document(width, 60, body, self._static_alt())
        step, norms = rows[-1, 0], rows[-1, 1:]
        flags = _row_flags(norms, self.thresholds)
        body.append(_charts.text(10, 32, f"step {step:g}: gradient 2-norm per parameter (log)",
                                 size=11, fill="#555"))
        finite = norms[np.isfinite(norms) & (norms > 0)]
        lo = float(np.log10(finite.min())) if finite.size else -8.0
        hi = float(np.log10(finite.max())) if finite.size else 0.0
        lo, hi = np.floor(min(lo, hi - 1)), np.ceil(hi)
        x0 = 10 + label_w
        for i, (name, flag, n) in enumerate(zip(self.layers, flags, norms)):
            y = top + i * row_h
            body.append(_charts.text(x0 - 6, y + 11, name, size=10, anchor="end"))
            if np.isfinite(n) and n > 0:
                w = max((np.log10(n) - lo) / (hi - lo), 0.01) * bar_w
            else:
                w = bar_w if not np.isfinite(n) else 1
            body.append(f'<rect x="{x0}" y="{y + 2}" width="{w:.1f}" height="{row_h - 4}" '
                        f'fill="{_charts.FLAG_COLORS[flag]}" class="nbt-bar" '
                        f'data-flag="{flag}"/>')
            body.append(_charts.text(x0 + w + 4, y + 11, _charts.fmt(float(n)), size=9,
                                     fill="#666"))
        axis_y = top + n_layers * row_h + 12
        for k in range(int(lo), int(hi) + 1):
            x = x0 + (k - lo) / (hi - lo) * bar_w
            body.append(_charts.text(x, axis_y, f"1e{k}", size=9, anchor="middle", fill="#666"))
        # norms over time, one row per layer (log10, NaN/Inf marked by the colormap)
        hx = x0 + bar_w + 50
        with np.errstate(divide="ignore", invalid="ignore"):
            logn = np.log10(rows[:, 1:].T)
        logn[np.isneginf(logn)] = lo - 1  # a zero gradient: the darkest color
        heat = _charts.downsample(logn, n_layers, 200)
        rgb = _charts.colorize(heat, *(_charts.finite_range(heat) or (0.0, 0.0)), diverging=False)
        rgb = rgb.repeat(row_h, axis=0)
        uri = _charts.png_data_uri(rgb)
        hw = min(200, max(heat.shape[1], 1) * max(1, 200 // max(heat.shape[1], 1)))
        body.append(svg.image(hx, top, hw, n_layers * row_h, uri))
        body.append(_charts.text(hx, axis_y, f"steps {rows[0, 0]:g} to {step:g}", size=9,
                                 fill="#666"))
        flagged = [(n, f, v) for n, f, v in zip(self.layers, flags, norms) if f != "ok"]
        lines = [(f"{f}: {n} (norm {_charts.fmt(float(v))})", _charts.FLAG_COLORS[f])
                 for n, f, v in flagged[:8]]
        if len(flagged) > 8:
            lines.append((f"and {len(flagged) - 8} more", "#555"))
        ty = axis_y + 20
        for line, color in lines or [("no layer flagged", "#2f9e44")]:
            body.append(_charts.text(10, ty, line, size=11, fill=color))
            ty += 15
        return _charts.svg_document(width, max(height, ty), body, self._static_alt())


def _row_flags(norms, thresholds) -> list[str]:
    finite = [float(n) for n in norms if np.isfinite(n)]
    biggest = max(finite) if finite else float("nan")
    return [_charts.classify_norm(float(n), biggest, thresholds["vanish"], thresholds["explode"])
            for n in norms]

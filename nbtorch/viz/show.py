"""show(tensor): a heatmap and a histogram of a tensor's values, and of its gradient if it has one.

Python side of ``extensions/show.js``.  The values are viewed as a matrix (``_charts.as_2d``:
a vector is one row, more dimensions stack rows, the last dimension across), block-averaged down
to at most 256 x 256, and sent as float32 bytes; the histogram is binned in the browser from up to
65,536 of the values (all of them for smaller tensors), over the full tensor's [min, max].
Statistics (min, max, mean, std, NaN and Inf counts) are over every element.

Without anywidget, ``show`` returns a ``TensorPicture``: the same picture as static SVG/HTML (the
heatmap as an embedded PNG).

Synced traits: ``meta`` (``{"name", "shape", "dtype", "device", "requires_grad", "grad_fn",
"matrix" (rows, cols before downsampling), "stats", "grad_stats" (or None)}``), ``heat`` and
``grad_heat`` (float32 bytes, row-major), ``heat_shape`` and ``grad_heat_shape`` ([rows, cols]),
``sample`` and ``grad_sample`` (float32 bytes), ``bins`` (both ways: the widget's slider).
"""

from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from . import _charts, _live, svg

__all__ = ["show", "TensorPicture", "TensorView"]

MAX_SIDE = 256
MAX_SAMPLE = 65536


def _sample(a: np.ndarray) -> np.ndarray:
    flat = a.ravel()
    if flat.size <= MAX_SAMPLE:
        return flat.astype(np.float32)
    # a fixed seed: the same tensor always gives the same histogram
    idx = np.random.default_rng(0).integers(0, flat.size, MAX_SAMPLE)
    return flat[np.sort(idx)].astype(np.float32)


def auto_bins(numel: int) -> int:
    """Histogram bins for ``numel`` values: about their square root, between 5 and 40."""
    return int(min(40, max(5, round(math.sqrt(numel)))))


class TensorPicture:
    """Everything ``show`` draws, computed once from a tensor (or array): the static picture,
    and the data the widget syncs."""

    def __init__(self, tensor, name: str | None = None, bins: int | None = None):
        a = _charts.host_values(tensor)
        self.bins = int(bins) if bins is not None else auto_bins(a.size)
        is_tensor = isinstance(tensor, Tensor)
        grad = tensor.grad if is_tensor else None
        g = _charts.host_values(grad) if grad is not None else None
        name = name if name is not None else (getattr(tensor, "_name", None) or "")
        matrix = _charts.as_2d(a)
        self.values = a
        self.grad = g
        self.heat = _charts.downsample(matrix, MAX_SIDE, MAX_SIDE)
        self.grad_heat = (_charts.downsample(_charts.as_2d(g), MAX_SIDE, MAX_SIDE)
                          if g is not None else None)
        self.sample = _sample(a)
        self.grad_sample = _sample(g) if g is not None else None
        fn = tensor.grad_fn if is_tensor else None
        self.meta = {
            "name": str(name),
            "shape": list(a.shape),
            "dtype": str(tensor.dtype) if is_tensor else str(a.dtype),
            "device": str(tensor.device) if is_tensor else "cpu",
            "requires_grad": bool(tensor.requires_grad) if is_tensor else False,
            "grad_fn": fn.name() if fn is not None else None,
            "matrix": list(matrix.shape),
            "stats": _charts.tensor_stats(a),
            "grad_stats": _charts.tensor_stats(g) if g is not None else None,
        }

    def title(self) -> str:
        m = self.meta
        shape = "x".join(str(s) for s in m["shape"]) or "scalar"
        head = f"{m['name']}: " if m["name"] else ""
        return f"{head}tensor {shape}, {m['dtype']}, {m['device']}"

    def to_svg(self) -> str:
        """Heatmap and histogram of the values (and of the gradient), with their statistics."""
        blocks = [("value", self.heat, self.values, self.meta["stats"])]
        if self.grad_heat is not None:
            blocks.append(("gradient", self.grad_heat, self.grad, self.meta["grad_stats"]))
        col_w, width = 290, 20 + 290 * len(blocks)
        body = [_charts.text(10, 18, self.title(), size=13, fill="#111",
                             extra=' font-weight="bold"')]
        if self.meta["grad_fn"]:
            body.append(_charts.text(10, 34, f"grad_fn={self.meta['grad_fn']}", size=11,
                                     fill="#555"))
        height = 0
        for k, (label, heat, values, stats) in enumerate(blocks):
            x = 10 + k * col_w
            body.append(_charts.text(x, 54, label, size=12, fill="#111",
                                     extra=' font-weight="bold"'))
            uri, w, h = _charts.heatmap_png(heat, lo=stats["min"], hi=stats["max"])
            scale = min(256 / max(w, 1), 180 / max(h, 1), 1.0)
            w, h = max(w * scale, 1), max(h * scale, 1)
            body.append(svg.image(x, 62, w, h, uri))
            body.append(svg.rect(x - 0.5, 61.5, w + 1, h + 1, stroke="#ccc"))
            y = 62 + h + 8
            body.append(_charts.text(x, y + 10, _stats_line(stats), size=10, fill="#555"))
            lo, hi = stats["min"], stats["max"]
            counts = (_charts.histogram(values, self.bins, lo, hi) if lo is not None
                      else [0] * self.bins)
            body += _charts.histogram_bars(x, y + 18, 256, 100, counts, lo or 0.0, hi or 0.0,
                                           color="#4c6ef5" if k == 0 else "#e8590c",
                                           title="histogram")
            height = max(height, y + 126)
        return _charts.svg_document(width, int(height), body, self.title())

    def _repr_mimebundle_(self, **kwargs):
        return svg.mimebundle(self.to_svg(), alt=self.title(), plain=self.title())


def _stats_line(s: dict) -> str:
    if s["min"] is None:
        return f"{s['numel']} elements, none finite"
    line = (f"min {_charts.fmt(s['min'])}  max {_charts.fmt(s['max'])}  "
            f"mean {_charts.fmt(s['mean'])}  std {_charts.fmt(s['std'])}")
    if s["nan"] or s["inf"]:
        line += f"  NaN {s['nan']}  Inf {s['inf']}"
    return line


def _f32(a) -> bytes:
    return b"" if a is None else np.ascontiguousarray(a, dtype=np.float32).tobytes()


try:  # the widget needs the notebook extra; the static picture does not
    import anywidget
    import traitlets
except ImportError:  # pragma: no cover - exercised where anywidget is absent
    anywidget = None

if anywidget is not None:

    class TensorView(_live.StaticFallback, anywidget.AnyWidget):
        """The widget ``show`` returns: heatmaps and histograms, a bins slider, hover readout."""

        _esm = _live.esm("show.js")

        meta = traitlets.Dict().tag(sync=True)
        heat = traitlets.Bytes(b"").tag(sync=True)
        heat_shape = traitlets.List(traitlets.Int()).tag(sync=True)
        grad_heat = traitlets.Bytes(b"").tag(sync=True)
        grad_heat_shape = traitlets.List(traitlets.Int()).tag(sync=True)
        sample = traitlets.Bytes(b"").tag(sync=True)
        grad_sample = traitlets.Bytes(b"").tag(sync=True)
        bins = traitlets.Int(40).tag(sync=True)

        def __init__(self, tensor, name: str | None = None, bins: int | None = None, **kwargs):
            super().__init__(**kwargs)
            self._tensor = tensor
            self._name = name
            self._bins = bins  # None: automatic, at the first update; then the slider's value
            self.update()

        def update(self) -> None:
            """Read the tensor (and its gradient) again, e.g. after a training step."""
            pic = self.picture = TensorPicture(self._tensor, self._name, self._bins)
            self._bins = pic.bins
            with self.hold_sync():
                self.bins = pic.bins
                self.meta = _json_safe(pic.meta)
                self.heat = _f32(pic.heat)
                self.heat_shape = list(pic.heat.shape)
                self.grad_heat = _f32(pic.grad_heat)
                self.grad_heat_shape = list(pic.grad_heat.shape) if pic.grad_heat is not None \
                    else []
                self.sample = _f32(pic.sample)
                self.grad_sample = _f32(pic.grad_sample)

        @traitlets.observe("bins")
        def _on_bins(self, change) -> None:
            self._bins = change["new"]  # the slider's choice: kept by update()

        def to_svg(self) -> str:
            self.picture.bins = self.bins
            return self.picture.to_svg()

        def _static_alt(self) -> str:
            return self.picture.title()
else:
    TensorView = None


def _json_safe(x):
    """NaN/Inf are not JSON: statistics are finite or None by construction; guard anyway."""
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def show(tensor, name: str | None = None, bins: int | None = None):
    """Heatmap and histogram of ``tensor``'s values, and of its ``.grad`` when it has one.

    ``bins``: of the histograms (default: about the square root of the element count, 5 to 40;
    the widget has a slider).

    Returns a widget (``TensorView``) in Jupyter, or a static ``TensorPicture`` where anywidget
    is not installed; both display themselves.  Accepts numpy arrays too.

    >>> import nbtorch as torch
    >>> w = torch.ones(2, 3, requires_grad=True)
    >>> (w * 2).sum().backward()
    >>> view = show(w, name="w")
    >>> view.meta["shape"], view.meta["grad_stats"]["mean"]
    ([2, 3], 2.0)
    """
    if TensorView is None:
        return TensorPicture(tensor, name, bins)
    return TensorView(tensor, name=name, bins=bins)

"""Static SVG pictures: the small primitives every widget's static fallback is drawn with.

A saved notebook shows a widget's ``image/svg+xml`` and ``text/html`` outputs where no widget code
runs (GitHub, nbviewer, nbconvert, an untrusted notebook).  Everything here returns SVG text;
every piece of text that reaches the picture goes through ``esc`` (names are user input), and no
``<style>`` or ``<script>`` is ever written (an inline ``<style>`` would restyle the whole page).

Primitives (coordinates in pixels, ``x, y`` the top-left corner unless said otherwise):

- ``esc(value)``: escape for text and attribute values.
- ``document(width, height, body, title=None)``: a whole ``<svg>``; ``arrow_defs()`` for arrows.
- ``group``, ``rect``, ``text`` (``x, y``: the anchor point of the baseline), ``line``,
  ``polyline(points, arrow=False)``, ``image(x, y, w, h, href)``, ``title(text)`` (a tooltip).
- ``line_chart(series, x, y, width, height, log_y=False, ...)``: polylines with axes, ticks and a
  legend; ``series`` maps a name to ``(xs, ys)``; non-finite points break the line.
- ``histogram(values, x, y, width, height, bins=30)``: bars with an axis.
- ``heatmap(array, x, y, width, height, max_cells=32)``: a grid of ``<rect>`` (small arrays);
  ``heatmap_png(array)``: a PNG ``data:`` URI for ``image`` (larger arrays).
- ``colour(value, lo, hi)``: the heatmaps' colour map; ``PALETTE``: series colours.
- ``mimebundle(svg, alt, plain)``: the static outputs of a widget (``image/svg+xml``, a
  ``text/html`` ``<img class="nbt-static">`` with a base64 data URI, which survives the sanitizer
  of untrusted notebooks, and ``text/plain``).
- ``graph_svg(graph, layout)``: the computational graph (``Graph.to_svg()``), one
  ``<g class="nbt-node ...">`` per drawn node.

>>> svg = document(60, 20, text(30, 14, "<x>"))
>>> svg.startswith("<svg") and "&lt;x&gt;" in svg
True
"""

from __future__ import annotations

import base64
import html
import math
import re
import struct
import zlib

import numpy as np

__all__ = [
    "PALETTE", "arrow_defs", "colour", "document", "esc", "graph_svg", "group", "heatmap",
    "heatmap_png", "histogram", "image", "line", "line_chart", "mimebundle", "node_lines",
    "polyline", "rect", "text", "title",
]

FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
INK = "#212529"
MUTED = "#868e96"
PALETTE = ("#1c7ed6", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#e03131",
           "#5c940d")
ARROW_ID = "nbt-arrow"


# --- primitives -----------------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(value) -> str:
    """``value`` as text that is safe inside SVG/HTML text and quoted attributes (characters
    that XML forbids even escaped become U+FFFD)."""
    return html.escape(_CONTROL.sub("\ufffd", str(value)), quote=True)


def _num(v) -> str:
    s = f"{float(v):.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def _attrs(attrs: dict) -> str:
    """`` name="value"`` pairs: ``stroke_width`` -> ``stroke-width``, ``cls`` -> ``class``;
    None values are left out."""
    out = []
    for key, value in attrs.items():
        if value is None:
            continue
        name = "class" if key == "cls" else key.rstrip("_").replace("_", "-")
        if isinstance(value, float):
            value = _num(value)
        out.append(f' {name}="{esc(value)}"')
    return "".join(out)


def document(width, height, body: str, *, title: str | None = None,
             background: str | None = "#ffffff") -> str:
    """A standalone ``<svg>`` of the given size around ``body``."""
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" '
            f'height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}" '
            f'font-family="{esc(FONT)}" font-size="12">')
    parts = [head]
    if title is not None:
        parts.append(f"<title>{esc(title)}</title>")
    if background:
        parts.append(rect(0, 0, width, height, fill=background))
    parts.append(body)
    parts.append("</svg>")
    return "".join(parts)


def arrow_defs(colour: str = MUTED) -> str:
    """The arrowhead ``polyline(..., arrow=True)`` refers to; put it once in a document."""
    return (f'<defs><marker id="{ARROW_ID}" viewBox="0 0 10 10" refX="9" refY="5" '
            f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{esc(colour)}"/></marker></defs>')


def group(body: str, **attrs) -> str:
    return f"<g{_attrs(attrs)}>{body}</g>"


def title(s) -> str:
    """A tooltip for the enclosing element."""
    return f"<title>{esc(s)}</title>"


def rect(x, y, w, h, *, rx=0, fill="none", stroke=None, **attrs) -> str:
    more = _attrs({"rx": rx or None, "fill": fill, "stroke": stroke, **attrs})
    return (f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(w, 0))}" '
            f'height="{_num(max(h, 0))}"{more}/>')


def text(x, y, s, *, size=12, anchor="middle", fill=INK, **attrs) -> str:
    """Text whose baseline's ``anchor`` point (start, middle, end) is at ``(x, y)``."""
    more = _attrs({"font-size": size if size != 12 else None, "text-anchor": anchor,
                   "fill": fill, **attrs})
    return f'<text x="{_num(x)}" y="{_num(y)}"{more}>{esc(s)}</text>'


def line(x1, y1, x2, y2, *, stroke=MUTED, width=1, **attrs) -> str:
    return (f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}"'
            f'{_attrs({"stroke": stroke, "stroke_width": width, **attrs})}/>')


def polyline(points, *, stroke=MUTED, width=1.5, arrow=False, fill="none", **attrs) -> str:
    """A polyline through ``points`` (pairs); ``arrow`` ends it with ``arrow_defs``' head."""
    pts = " ".join(f"{_num(px)},{_num(py)}" for px, py in points)
    marker = f"url(#{ARROW_ID})" if arrow else None
    more = _attrs({"fill": fill, "stroke": stroke, "stroke_width": width, "marker_end": marker,
                   **attrs})
    return f'<polyline points="{pts}"{more}/>'



def image(x, y, w, h, href: str, **attrs) -> str:
    """An embedded picture (``href`` a ``data:`` URI), scaled without smoothing."""
    return (f'<image x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" '
            f'href="{esc(href)}" preserveAspectRatio="none" '
            f'style="image-rendering:pixelated"{_attrs(attrs)}/>')


# --- charts ---------------------------------------------------------------------------------------


def _host(values) -> np.ndarray:
    """A numpy array from a Tensor, a numpy or cupy array, or a sequence of numbers."""
    values = getattr(values, "_data", values)
    if not isinstance(values, np.ndarray) and hasattr(values, "get"):  # cupy
        values = values.get()
    return np.asarray(values)


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round numbers (1, 2, 5 times a power of ten) spanning ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    v = first
    while v <= hi + step * 1e-9:
        out.append(0.0 if abs(v) < step * 1e-9 else v)
        v += step
    return out


def _label(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:.4g}"


def line_chart(series, x=0, y=0, width=360, height=200, *, log_y=False, title=None,
               x_label=None, y_label=None, legend=True) -> str:
    """Curves with axes: ``series`` maps a name to ``(xs, ys)`` (a list of
    ``(name, xs, ys)`` works too).  Returns a ``<g class="nbt-chart">`` fragment.

    >>> svg = line_chart({"train": ([0, 1, 2], [1.0, 0.5, 0.25])}, width=200, height=100)
    >>> svg.count("<polyline")
    1
    """
    if isinstance(series, dict):
        items = list(series.items())
    else:
        items = [(name, (xs, ys)) for name, xs, ys in series]
    curves = []
    for name, (xs, ys) in items:
        xs = np.asarray(_host(xs), dtype=np.float64).ravel()
        ys = np.asarray(_host(ys), dtype=np.float64).ravel()
        k = min(len(xs), len(ys))
        xs, ys = xs[:k], ys[:k]
        if log_y:
            with np.errstate(divide="ignore", invalid="ignore"):
                ys = np.where(ys > 0, np.log10(np.where(ys > 0, ys, 1.0)), np.nan)
        curves.append((name, xs, ys))
    ok = [(xs[np.isfinite(xs) & np.isfinite(ys)], ys[np.isfinite(xs) & np.isfinite(ys)])
          for _, xs, ys in curves]
    all_x = np.concatenate([a for a, _ in ok]) if ok else np.zeros(0)
    all_y = np.concatenate([b for _, b in ok]) if ok else np.zeros(0)
    left, right = x + 48, x + width - 10
    top, bottom = y + (22 if title else 10), y + height - (34 if x_label else 22)
    parts = []
    if title:
        parts.append(text(x + width / 2, y + 14, title, font_weight="bold"))
    parts.append(line(left, bottom, right, bottom, stroke=INK))
    parts.append(line(left, top, left, bottom, stroke=INK))
    if all_x.size:
        x0, x1 = float(all_x.min()), float(all_x.max())
        y0, y1 = float(all_y.min()), float(all_y.max())
        if x1 == x0:
            x0, x1 = x0 - 0.5, x1 + 0.5
        if y1 == y0:
            y0, y1 = y0 - 0.5, y1 + 0.5
        pad = (y1 - y0) * 0.05
        y0, y1 = y0 - pad, y1 + pad

        def sx(v):
            return left + (v - x0) / (x1 - x0) * (right - left)

        def sy(v):
            return bottom - (v - y0) / (y1 - y0) * (bottom - top)

        for t in _ticks(x0, x1):
            parts.append(line(sx(t), bottom, sx(t), bottom + 4, stroke=INK))
            parts.append(text(sx(t), bottom + 15, _label(t), size=10))
        y_ticks = ([float(e) for e in range(math.ceil(y0), math.floor(y1) + 1)] if log_y
                   else _ticks(y0, y1))
        if log_y and len(y_ticks) < 2:
            y_ticks = _ticks(y0, y1)
        for t in y_ticks:
            parts.append(line(left, sy(t), right, sy(t), stroke="#e9ecef"))
            parts.append(text(left - 4, sy(t) + 3.5, _label(10 ** t if log_y else t), size=10,
                              anchor="end"))
        for k, (name, xs, ys) in enumerate(curves):
            colour_k = PALETTE[k % len(PALETTE)]
            good = np.isfinite(xs) & np.isfinite(ys)
            segment = []
            pieces = []
            for px, py, g in zip(xs, ys, good):
                if g:
                    segment.append((sx(px), sy(py)))
                elif segment:
                    pieces.append(segment)
                    segment = []
            if segment:
                pieces.append(segment)
            body = "".join(polyline(p, stroke=colour_k, width=1.8) if len(p) > 1 else
                           f'<circle cx="{_num(p[0][0])}" cy="{_num(p[0][1])}" r="2" '
                           f'fill="{colour_k}"/>' for p in pieces)
            parts.append(group(body, cls="nbt-series", data_name=name))
    if legend and curves and (len(curves) > 1 or curves[0][0]):
        for k, (name, _, _) in enumerate(curves):
            ly = top + 4 + 14 * k
            parts.append(line(right - 90, ly, right - 76, ly, stroke=PALETTE[k % len(PALETTE)],
                              width=2))
            parts.append(text(right - 72, ly + 4, name, size=10, anchor="start"))
    if x_label:
        parts.append(text((left + right) / 2, y + height - 6, x_label, size=11))
    if y_label:
        cx, cy = x + 11, (top + bottom) / 2
        parts.append(text(cx, cy, y_label, size=11, transform=f"rotate(-90 {_num(cx)} {_num(cy)})"))
    return group("".join(parts), cls="nbt-chart")


def histogram(values, x=0, y=0, width=240, height=120, *, bins=30, fill="#1c7ed6",
              title=None) -> str:
    """Bars counting the finite ``values`` in ``bins`` equal bins, with the range below.

    >>> histogram([0.0, 1.0, 1.0, 2.0], bins=3).count('class="nbt-bar"')
    3
    """
    v = _host(values).astype(np.float64, copy=False).ravel()
    v = v[np.isfinite(v)]
    left, right = x + 6, x + width - 6
    top, bottom = y + (20 if title else 6), y + height - 18
    parts = []
    if title:
        parts.append(text(x + width / 2, y + 13, title, font_weight="bold"))
    parts.append(line(left, bottom, right, bottom, stroke=INK))
    if v.size:
        lo, hi = float(v.min()), float(v.max())
        span = (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)
        counts, edges = np.histogram(v, bins=bins, range=span)
        peak = max(int(counts.max()), 1)
        bw = (right - left) / len(counts)
        for k, c in enumerate(counts):
            h = (bottom - top) * int(c) / peak
            parts.append(rect(left + k * bw, bottom - h, max(bw - 1, 0.5), h, fill=fill,
                              cls="nbt-bar"))
        parts.append(text(left, bottom + 13, _label(float(edges[0])), size=10, anchor="start"))
        parts.append(text(right, bottom + 13, _label(float(edges[-1])), size=10, anchor="end"))
    else:
        parts.append(text((left + right) / 2, (top + bottom) / 2, "no finite values", size=10,
                          fill=MUTED))
    return group("".join(parts), cls="nbt-histogram")


def _matrix(array, max_side: int) -> np.ndarray:
    """A 2-d float64 view of ``array`` (leading dims flattened), sampled to ``max_side``."""
    a = _host(array)
    if a.dtype.kind == "c":
        a = np.abs(a)
    a = a.astype(np.float64, copy=False)
    if a.ndim == 0:
        a = a.reshape(1, 1)
    elif a.ndim == 1:
        a = a.reshape(1, -1)
    elif a.ndim > 2:
        a = a.reshape(-1, a.shape[-1])
    rows = np.unique(np.linspace(0, a.shape[0] - 1, min(a.shape[0], max_side)).round().astype(int))
    cols = np.unique(np.linspace(0, a.shape[1] - 1, min(a.shape[1], max_side)).round().astype(int))
    if a.size == 0:
        return np.zeros((0, 0))
    return a[np.ix_(rows, cols)]


def _range(m: np.ndarray) -> tuple[float, float]:
    finite = m[np.isfinite(m)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if lo < 0 < hi or lo < 0 and hi <= 0:  # signed data: a scale symmetric around 0
        big = max(-lo, hi)
        return -big, big
    return lo, hi


def _rgb(m: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Colours (uint8, ``m.shape + (3,)``): blue-white-red around 0 for signed data, white to
    blue otherwise, magenta for NaN and Inf."""
    finite = np.isfinite(m)
    safe = np.where(finite, m, 0.0)
    white = np.array([255.0, 255.0, 255.0])
    blue, red = np.array([33.0, 102.0, 172.0]), np.array([178.0, 24.0, 43.0])
    if lo < 0:
        t = np.clip(safe / (hi or 1.0), -1.0, 1.0)[..., None]
        out = np.where(t >= 0, white + (red - white) * t, white + (blue - white) * (-t))
    else:
        span = (hi - lo) or 1.0
        t = np.clip((safe - lo) / span, 0.0, 1.0)[..., None]
        out = white + (blue - white) * t
    out = np.where(finite[..., None], out, np.array([224.0, 49.0, 140.0]))
    return out.round().astype(np.uint8)


def colour(value: float, lo: float, hi: float) -> str:
    """The heatmaps' colour of ``value`` on the scale ``[lo, hi]`` (as ``#rrggbb``)."""
    r, g, b = _rgb(np.array([[float(value)]]), lo, hi)[0, 0]
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(array, x=0, y=0, width=120, height=120, *, max_cells: int = 32) -> str:
    """A grid of ``<rect>`` cells coloured by value (sampled to ``max_cells`` per side).

    >>> heatmap([[1.0, -1.0]]).count("<rect")
    2
    """
    m = _matrix(array, max_cells)
    if m.size == 0:
        return group("", cls="nbt-heatmap")
    lo, hi = _range(m)
    colours = _rgb(m, lo, hi)
    ch, cw = height / m.shape[0], width / m.shape[1]
    cells = []
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            r, g, b = colours[i, j]
            cells.append(f'<rect x="{_num(x + j * cw)}" y="{_num(y + i * ch)}" '
                         f'width="{_num(cw + 0.05)}" height="{_num(ch + 0.05)}" '
                         f'fill="#{r:02x}{g:02x}{b:02x}"/>')
    return group("".join(cells), cls="nbt-heatmap")


def heatmap_png(array, *, max_side: int = 256) -> str:
    """The heatmap of ``array`` as a ``data:image/png;base64,...`` URI (one pixel per cell;
    ``image`` scales it up without smoothing)."""
    m = _matrix(array, max_side)
    if m.size == 0:
        m = np.zeros((1, 1))
    lo, hi = _range(m)
    return "data:image/png;base64," + base64.b64encode(_png(_rgb(m, lo, hi))).decode("ascii")


def _png(rgb: np.ndarray) -> bytes:
    """A minimal PNG encoder (8-bit RGB, no filtering): no imaging library needed."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[i].tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


# --- outputs --------------------------------------------------------------------------------------


def mimebundle(svg: str, *, alt: str = "nbtorch picture", plain: str = "") -> dict:
    """A widget's static outputs: the SVG, a sanitizer-proof ``<img>`` of it, and text."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return {
        "image/svg+xml": svg,
        "text/html": (f'<img class="nbt-static" alt="{esc(alt)}" '
                      f'src="data:image/svg+xml;base64,{data}"/>'),
        "text/plain": plain,
    }


# --- the graph ------------------------------------------------------------------------------------

_FILL = {"op": "#f1f3f5", "output": "#fff3bf", "leaf": "#d0ebff", "param": "#d3f9d8",
         "module": "#f8f0fc", "flagged": "#ffe3e3"}
_STROKE = {"op": "#495057", "output": "#e67700", "leaf": "#1971c2", "param": "#2f9e44",
           "module": "#9c36b5", "flagged": "#e03131"}


def _shape(shape) -> str:
    if shape is None:
        return "?"
    return "[" + ", ".join(map(str, shape)) + "]" if shape else "scalar"


def _clip(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def node_lines(node: dict, limit: int = 28) -> list[str]:
    """The text lines of a graph node's box: what it is, its shape, its name."""
    shapes = " ".join(_shape(s) for s in node.get("shapes") or [None])
    names = node.get("names") or []
    if node.get("kind") == "leaf":
        lines = [names[0] if names else "tensor", shapes]
    else:
        lines = [node.get("label") or node.get("op", "?"), shapes]
        if names:
            lines.append(names[0])
    return [_clip(str(s), limit) for s in lines]


def module_lines(path: str, type_name: str | None, count: int, limit: int = 28) -> list[str]:
    """The text lines of a collapsed module's box."""
    return [_clip(path or "(model)", limit), _clip(type_name or "module", limit),
            f"{count} nodes"]


def _tooltip(node: dict) -> str:
    rows = [f"{node.get('op')} (id {node.get('id')})",
            "shape " + " ".join(_shape(s) for s in node.get("shapes") or [None]),
            f"{node.get('dtype')} on {node.get('device')}"]
    if node.get("names"):
        rows.append("names: " + ", ".join(map(str, node["names"])))
    if node.get("module") is not None:
        rows.append(f"module: {node['module'] or '(model)'}")
    for key in ("value", "grad"):
        s = node.get(key)
        if s:
            rows.append(f"{key}: mean {s.get('mean')} std {s.get('std')} min {s.get('min')} "
                        f"max {s.get('max')} norm {s.get('norm')} nan {s.get('nan')} "
                        f"inf {s.get('inf')}")
    if node.get("flags"):
        rows.append("flags: " + ", ".join(node["flags"]))
    return "\n".join(rows)


def _box(node_entry: dict, lines: list[str], kind: str, rx: float, extra_cls: str,
         tip: str, data_id, bold: bool = False) -> str:
    x, y = node_entry["x"], node_entry["y"]
    w, h = node_entry["width"], node_entry["height"]
    parts = [title(tip),
             rect(x - w / 2, y - h / 2, w, h, rx=rx, fill=_FILL[kind], stroke=_STROKE[kind],
                  stroke_width=2.5 if bold or kind == "flagged" else 1.2,
                  stroke_dasharray="5 3" if kind == "module" else None)]
    top = y - h / 2 + 5 + 11
    for k, s in enumerate(lines):
        parts.append(text(x, top + 15 * k, s, fill=INK if k == 0 else "#495057",
                          font_weight="bold" if k == 0 else None))
    cls = f"nbt-node {extra_cls}".strip()
    return group("".join(parts), cls=cls, data_id=data_id)


def graph_svg(graph: dict, layout: dict, *, members: dict | None = None,
              limit: int = 28) -> str:
    """The graph ``graph`` (a ``Graph.to_dict()``) drawn at the positions of ``layout``.

    Ops are rounded boxes, leaves pills (green with a parameter name, blue otherwise), outputs
    have a thick border, flagged nodes (NaN origin, in-place modification, non-finite values)
    are red, and collapsed modules (ids from ``layout.module_box``, their node ids in
    ``members``) dashed.  Each drawn node is a ``<g class="nbt-node ..." data-id="...">``.
    """
    by_id = {n["id"]: n for n in graph["nodes"]}
    modules = graph.get("modules") or {}
    members = members or {}
    parts = [arrow_defs()]
    edge_parts = []
    for e in layout["edges"]:
        edge_parts.append(polyline(e["points"], arrow=True, cls="nbt-edge",
                                   data_source=e["source"], data_target=e["target"]))
    parts.append(group("".join(edge_parts), cls="nbt-edges"))
    node_parts = []
    for entry in layout["nodes"]:
        node = by_id.get(entry["id"])
        if node is None:  # a collapsed module
            path = str(entry["id"]).split(":", 1)[-1]
            count = len(members.get(entry["id"], ()))
            lines = module_lines(path, modules.get(path), count, limit)
            tip = f"module {path or '(model)'} ({modules.get(path, 'module')}): {count} nodes"
            node_parts.append(_box(entry, lines, "module", 8, "nbt-module", tip, entry["id"]))
            continue
        flags = node.get("flags") or []
        if node["kind"] == "leaf":
            kind = "param" if node.get("param") else "leaf"
            rx = entry["height"] / 2
        else:
            kind, rx = ("output" if node["kind"] == "output" else "op"), 6
        cls = f"nbt-{node['kind']}"
        if flags:
            kind = "flagged"
            cls += " nbt-flagged " + " ".join(f"nbt-{esc(f)}" for f in flags)
        node_parts.append(_box(entry, node_lines(node, limit), kind, rx, cls, _tooltip(node),
                               node["id"], bold=node["kind"] == "output"))
    parts.append(group("".join(node_parts), cls="nbt-nodes"))
    return document(layout["width"], layout["height"], "".join(parts),
                    title=f"computational graph: {len(graph['nodes'])} nodes")


"""Chart math and static pictures for TrainingMonitor, GradFlow and show (numpy only).

Two halves:

- The pure functions that the front end repeats in ``extensions/{monitor,gradflow,show}.js``
  (``nice_ticks``, ``log_ticks``, ``ema``, ``metric_kind``, ``metric_group``, ``format_duration``,
  ``eta_seconds``, ``classify_norm``, ``histogram``, ``colormap``).  The Python tests write their
  results to ``extensions/tests/fixtures/*.json`` and the node tests check that the JavaScript gives
  the same, so the live widget and the static picture agree.
- Static renderers: SVG line panels, bars and histograms, and a PNG heatmap (a small PNG writer on
  ``zlib``), for the ``image/svg+xml`` / ``text/html`` fallback that saved notebooks show.

Every label goes through ``esc`` (names are user input).
"""

from __future__ import annotations

import base64
import math
import re
import struct
import zlib

import numpy as np

from . import svg
from .svg import esc  # the one escaping rule of every static picture

PALETTE = ("#3b6fd4", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#c2255c", "#5c940d")
FLAG_COLORS = {"ok": "#4c6ef5", "vanishing": "#f59f00", "exploding": "#e03131"}
FONT = 'font-family="sans-serif"'


# --- axis math (mirrored in JS) ------------------------------------------------------------------

def _round12(v: float) -> float:
    # JS: Number(v.toPrecision(12)); hides 0.30000000000000004-style noise in tick labels
    return float(f"{v:.12g}")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (1, 2 or 5 times a power of ten apart) inside [lo, hi].

    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(3, 3)
    [2.7, 2.8, 2.9, 3.0, 3.1, 3.2, 3.3]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    err = raw / mag
    step = (10 if err >= 7.5 else 5 if err >= 3.5 else 2 if err >= 1.5 else 1) * mag
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [_round12(i * step) for i in range(first, last + 1)]


def log_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """Powers of ten covering [lo, hi] (both > 0), thinned to at most about ``count``.

    >>> log_ticks(0.003, 20)
    [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]
    """
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        return []
    a, b = math.floor(math.log10(min(lo, hi))), math.ceil(math.log10(max(lo, hi)))
    if a == b:
        b += 1
    every = max(1, math.ceil((b - a + 1) / count))
    return [_round12(10.0 ** k) for k in range(a, b + 1) if (k - a) % every == 0]


def ema(values, weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased so it starts at the data.

    Non-finite values pass through and do not enter the average.

    >>> ema([1.0, 2.0, 3.0], 0.0)
    [1.0, 2.0, 3.0]
    >>> [round(v, 4) for v in ema([1.0, 0.0], 0.5)]
    [1.0, 0.3333]
    """
    out, last, n = [], 0.0, 0
    for v in values:
        v = float(v)
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        debias = 1.0 if weight == 1 else 1 - weight**n
        out.append(last / debias)
    return out


_VAL = re.compile(r"^(val|valid|validation|test|eval)([_\-/ .]|$)|"
                  r"[_\-/ .](val|valid|validation|test|eval)$", re.IGNORECASE)
_AFFIX = re.compile(r"^(train|training|val|valid|validation|test|eval)[_\-/ .]+|"
                    r"[_\-/ .]+(train|training|val|valid|validation|test|eval)$", re.IGNORECASE)


def metric_kind(name: str) -> str:
    """``"val"`` for validation/test metrics (drawn dashed with markers), else ``"train"``.

    >>> metric_kind("val_loss"), metric_kind("loss/test"), metric_kind("train_loss")
    ('val', 'val', 'train')
    """
    return "val" if _VAL.search(name) else "train"


def metric_group(name: str) -> str:
    """The panel a metric is drawn in: its name without a train/val/test prefix or suffix.

    >>> metric_group("train_loss"), metric_group("val_loss"), metric_group("acc")
    ('loss', 'loss', 'acc')
    """
    return _AFFIX.sub("", name) or name


def format_duration(seconds) -> str:
    """``42s``, ``3m 05s``, ``1h 02m``, ``2d 03h``; ``?`` when unknown.

    >>> format_duration(185), format_duration(3725), format_duration(None)
    ('3m 05s', '1h 02m', '?')
    """
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(seconds + 0.5)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def eta_seconds(step, first_step, elapsed, total):
    """Seconds left, from the rate so far; None until it can be known.

    Steps ``first_step..step`` are done (both included), ``total`` steps in all.

    >>> eta_seconds(9, 0, 9.0, 100)
    90.0
    """
    if total is None or step is None or first_step is None or not elapsed or elapsed <= 0:
        return None
    done = step - first_step + 1
    if done <= 1:
        return None
    rate = (done - 1) / elapsed
    return max(total - done, 0) / rate


def _step_text(v) -> str:
    """A step number as the header prints it: an int plainly, else 6 significant digits (JS:
    ``fmtStep``)."""
    return str(int(v)) if float(v).is_integer() else f"{v:.6g}"


def progress_text(status: dict, total) -> str:
    """The monitor's header line from its ``status`` trait (JS: ``progressText``).

    With ``total``, it counts the steps logged so far (from the first one, both ends included),
    so a loop over ``range(100)`` that logs step 99 reads "100 / 100", not "step 99 / 100".

    >>> progress_text({"step": 40, "first_step": 0, "elapsed": 4.1, "done": False}, 100)
    '41 / 100 steps (41%) · 4s elapsed · ETA 6s'
    >>> progress_text({"step": 7, "first_step": 0, "elapsed": 1.0, "done": False}, None)
    'step 7 · 1s elapsed'
    """
    step = status.get("step") if status else None
    if step is None:
        return "waiting for the first log"
    if total:
        done = min(step - status["first_step"] + 1, total)  # also logged: a step 0 before training
        head = f"{_step_text(done)} / {total} steps ({math.floor(done / total * 100)}%)"
    else:
        head = f"step {_step_text(step)}"
    parts = [head, f"{format_duration(status.get('elapsed'))} elapsed"]
    if total and not status.get("done"):
        eta = eta_seconds(step, status["first_step"], status.get("elapsed"), total)
        parts.append(f"ETA {format_duration(eta)}")
    if status.get("done"):
        parts.append("done")
    return " · ".join(parts)


def classify_norm(norm: float, max_norm: float, vanish: float = 1e-7, explode: float = 1e3) -> str:
    """GradFlow's flag for a layer: ``"exploding"`` (above ``explode``, or NaN/Inf), ``"vanishing"``
    (below ``vanish`` times the largest finite norm of that step, floored at 1), else ``"ok"``.

    >>> classify_norm(float("nan"), 1.0), classify_norm(1e-9, 0.5), classify_norm(1e-5, 10.0)
    ('exploding', 'vanishing', 'ok')
    """
    if not math.isfinite(norm) or norm > explode:
        return "exploding"
    ref = max_norm if math.isfinite(max_norm) and max_norm > 1 else 1.0
    if norm < vanish * ref:
        return "vanishing"
    return "ok"


def histogram(values, bins: int, lo: float, hi: float) -> list[int]:
    """Counts of the finite values in ``bins`` equal bins over [lo, hi] (hi in the last bin).

    >>> histogram([0.0, 0.5, 1.0, float("nan"), 7.0], 2, 0.0, 1.0)
    [1, 2]
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v) & (v >= lo) & (v <= hi)]
    if bins <= 0:
        return []
    if hi <= lo:
        return [int(v.size)] + [0] * (bins - 1)
    idx = np.floor((v - lo) / (hi - lo) * bins).astype(np.int64)
    idx = np.minimum(idx, bins - 1)
    return np.bincount(idx, minlength=bins).tolist()


# Anchors of the sequential map (viridis, sampled) and the diverging one (blue, white, red).
SEQUENTIAL = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
DIVERGING = ((33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43))
NAN_COLOR, POSINF_COLOR, NEGINF_COLOR = (255, 0, 255), (255, 255, 255), (0, 0, 0)


def colormap(v: float, lo: float, hi: float, diverging: bool) -> tuple[int, int, int]:
    """The heatmap color of ``v`` for the range [lo, hi] (diverging: centred on 0).

    NaN is magenta, +Inf white, -Inf black, so they stand out in either map.

    >>> colormap(0.0, -1.0, 1.0, True), colormap(float("nan"), 0.0, 1.0, False)
    ((247, 247, 247), (255, 0, 255))
    """
    if math.isnan(v):
        return NAN_COLOR
    if math.isinf(v):
        return POSINF_COLOR if v > 0 else NEGINF_COLOR
    if diverging:
        m = max(abs(lo), abs(hi))
        t = 0.5 if m == 0 else 0.5 + 0.5 * v / m
        anchors = DIVERGING
    else:
        t = 0.5 if hi <= lo else (v - lo) / (hi - lo)
        anchors = SEQUENTIAL
    t = min(max(t, 0.0), 1.0) * (len(anchors) - 1)
    i = min(int(math.floor(t)), len(anchors) - 2)
    f = t - i
    a, b = anchors[i], anchors[i + 1]
    return tuple(int(math.floor(a[k] + (b[k] - a[k]) * f + 0.5)) for k in range(3))


def colorize(a: np.ndarray, lo: float, hi: float, diverging: bool) -> np.ndarray:
    """``colormap`` over a 2-D array, vectorized: an (H, W, 3) uint8 image."""
    a = np.asarray(a, dtype=np.float64)
    anchors = np.asarray(DIVERGING if diverging else SEQUENTIAL, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if diverging:
            m = max(abs(lo), abs(hi))
            t = np.full(a.shape, 0.5) if m == 0 else 0.5 + 0.5 * a / m
        else:
            t = np.full(a.shape, 0.5) if hi <= lo else (a - lo) / (hi - lo)
    t = np.clip(np.nan_to_num(t, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0) * (len(anchors) - 1)
    i = np.minimum(np.floor(t).astype(np.int64), len(anchors) - 2)
    f = (t - i)[..., None]
    rgb = np.floor(anchors[i] + (anchors[i + 1] - anchors[i]) * f + 0.5).astype(np.uint8)
    rgb[np.isnan(a)] = NAN_COLOR
    rgb[np.isposinf(a)] = POSINF_COLOR
    rgb[np.isneginf(a)] = NEGINF_COLOR
    return rgb


# --- arrays for display ---------------------------------------------------------------------------

def as_2d(a: np.ndarray) -> np.ndarray:
    """A tensor's values as a matrix: scalars 1x1, vectors one row, more dims (rows..., last dim).

    >>> as_2d(np.zeros((2, 3, 4))).shape
    (6, 4)
    """
    a = np.asarray(a)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    return a.reshape(-1, a.shape[-1])


def downsample(a: np.ndarray, max_h: int = 256, max_w: int = 256) -> np.ndarray:
    """Block means of a 2-D array so that it fits max_h x max_w (NaN in a block stays NaN).

    >>> downsample(np.arange(12.0).reshape(2, 6), 2, 3).tolist()
    [[0.5, 2.5, 4.5], [6.5, 8.5, 10.5]]
    """
    a = np.asarray(a, dtype=np.float64)
    for axis, limit in ((0, max_h), (1, max_w)):
        n = a.shape[axis]
        if n > limit:
            starts = (np.arange(limit) * n) // limit
            sizes = np.diff(np.append(starts, n))
            shape = [1, 1]
            shape[axis] = limit
            with np.errstate(invalid="ignore"):
                a = np.add.reduceat(a, starts, axis=axis) / sizes.reshape(shape)
    return a


def to_host(a) -> np.ndarray:
    """A numpy copy of a numpy or cupy array (cupy arrays have ``.get()``)."""
    return a if isinstance(a, np.ndarray) else np.asarray(a.get() if hasattr(a, "get") else a)


def finite_range(a) -> tuple[float, float] | None:
    """(min, max) of the finite values, None when there are none."""
    a = np.asarray(a)
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return None
    return float(finite.min()), float(finite.max())


def tensor_stats(a: np.ndarray) -> dict:
    """min, max, mean, std over the finite values; counts of NaN and Inf; element count.

    >>> tensor_stats(np.array([1.0, 3.0, np.nan]))
    {'numel': 3, 'min': 1.0, 'max': 3.0, 'mean': 2.0, 'std': 1.0, 'nan': 1, 'inf': 0}
    """
    a = np.asarray(a)
    if a.dtype == bool:
        a = a.astype(np.int64)
    a = a.astype(np.float64, copy=False).ravel()
    finite = np.isfinite(a)
    f = a[finite]
    out = {"numel": int(a.size), "min": None, "max": None, "mean": None, "std": None,
           "nan": int(np.isnan(a).sum()), "inf": int(np.isinf(a).sum())}
    if f.size:
        out.update(min=float(f.min()), max=float(f.max()), mean=float(f.mean()),
                   std=float(f.std()))
    return out


def host_values(x) -> np.ndarray:
    """A tensor's (or array's) values as a numpy array: bools as 0/1, complex as magnitudes."""
    data = getattr(x, "_data", x)
    a = to_host(data) if not isinstance(data, np.ndarray) and hasattr(data, "get") else data
    a = np.asarray(a)
    if a.dtype == bool:
        a = a.astype(np.uint8)
    if np.iscomplexobj(a):
        a = np.abs(a)
    return a


# --- PNG ------------------------------------------------------------------------------------------

def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an (H, W, 3) uint8 image as PNG (8-bit RGB, no filtering, zlib)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = np.zeros((h, 1 + 3 * w), dtype=np.uint8)  # each scanline starts with filter type 0
    raw[:, 1:] = rgb.reshape(h, 3 * w)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)) + chunk(b"IEND", b""))


def png_data_uri(rgb: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgb)).decode("ascii")


def heatmap_png(a: np.ndarray, min_px: int = 96, lo=None, hi=None) -> tuple[str, int, int]:
    """A 2-D array as a PNG data URI, enlarged by whole pixels so small matrices stay visible.

    The colors span [lo, hi] (default: the finite range of ``a``), diverging when lo < 0 < hi.
    Returns (uri, width_px, height_px) of the drawn size."""
    a = np.asarray(a, dtype=np.float64)
    if lo is None or hi is None:
        lo, hi = finite_range(a) or (0.0, 0.0)
    rgb = colorize(a, lo, hi, diverging=lo < 0 < hi)
    h, w = a.shape
    scale = max(1, min(min_px // max(h, w, 1), 32))
    if scale > 1:
        rgb = rgb.repeat(scale, axis=0).repeat(scale, axis=1)
    return png_data_uri(rgb), w * scale, h * scale


# --- SVG ------------------------------------------------------------------------------------------

def svg_document(width: int, height: int, body: list[str], label: str = "") -> str:
    """A standalone picture (``svg.document``) titled ``label``."""
    return svg.document(width, height, "".join(body), title=label or None)


def fmt(v: float) -> str:
    """A short tick label (JS: ``fmt``).

    >>> fmt(0.25), fmt(1e-05), fmt(12345.0), fmt(0)
    ('0.25', '1.0e-05', '1.2e+04', '0')
    """
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        return f"{v:.1e}"
    return f"{v:.4g}"


def text(x, y, s, size=11, anchor="start", fill="#333", extra="") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" {FONT} text-anchor="{anchor}" '
            f'fill="{fill}"{extra}>{esc(s)}</text>')


def line_panel(x0, y0, w, h, title, series, log_scale=False, smoothing=0.0) -> list[str]:
    """One chart: ``series`` is [(name, steps, values, kind, color)].  Raw points faint, the
    smoothed curve solid; validation series dashed with markers.  Returns SVG elements."""
    out = [f'<g class="nbt-panel" data-group="{esc(title)}">',
           f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#ddd"/>',
           text(x0 + 6, y0 + 14, title, size=12, fill="#111", extra=' font-weight="bold"')]
    left, right, top, bottom = x0 + 48, x0 + w - 10, y0 + 22, y0 + h - 22
    xs_all, ys_all = [], []
    for _, steps, values, _, _ in series:
        v = np.asarray(values, dtype=np.float64)
        ok = np.isfinite(v) & ((v > 0) if log_scale else True)
        xs_all.append(np.asarray(steps, dtype=np.float64)[ok])
        ys_all.append(v[ok])
    xs = np.concatenate(xs_all) if xs_all else np.zeros(0)
    ys = np.concatenate(ys_all) if ys_all else np.zeros(0)
    if ys.size == 0:
        out.append(text((left + right) / 2, (top + bottom) / 2, "no data yet", anchor="middle",
                        fill="#999"))
        out.append("</g>")
        return out
    xlo, xhi = float(xs.min()), float(xs.max())
    if xhi == xlo:
        xlo, xhi = xlo - 1, xhi + 1
    ylo, yhi = float(ys.min()), float(ys.max())
    if log_scale:
        ticks = log_ticks(ylo, yhi)
        ylo, yhi = min(ylo, ticks[0]), max(yhi, ticks[-1])
        a, b = math.log10(ylo), math.log10(yhi)

        def fy(v):
            return bottom - (math.log10(v) - a) / (b - a) * (bottom - top)
    else:
        ticks = nice_ticks(ylo, yhi)
        ylo, yhi = min(ylo, ticks[0]), max(yhi, ticks[-1])

        def fy(v):
            return bottom - (v - ylo) / (yhi - ylo) * (bottom - top)

    def fx(s):
        return left + (s - xlo) / (xhi - xlo) * (right - left)
    for t in ticks:
        y = fy(t)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(text(left - 4, y + 4, fmt(t), size=10, anchor="end", fill="#666"))
    for t in nice_ticks(xlo, xhi, 4):
        out.append(text(fx(t), bottom + 14, fmt(t), size=10, anchor="middle", fill="#666"))
    for name, steps, values, kind, color in series:
        s = np.asarray(steps, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        smooth = np.asarray(ema(v, smoothing) if smoothing > 0 else v)
        dash = ' stroke-dasharray="5 3"' if kind == "val" else ""
        if smoothing > 0:
            out.append(_polyline(s, v, fx, fy, log_scale, color, 1, ' stroke-opacity="0.25"'))
        out.append(_polyline(s, smooth, fx, fy, log_scale, color, 2,
                             f' class="nbt-curve" data-metric="{esc(name)}"{dash}'))
        if kind == "val" and len(s) <= 60:
            for sx, sv in zip(s, smooth):
                if math.isfinite(sv) and (sv > 0 or not log_scale):
                    out.append(f'<circle cx="{fx(sx):.1f}" cy="{fy(sv):.1f}" r="2.5" '
                               f'fill="{color}"/>')
    # the legend: in the title row, right-aligned, so it never covers a curve
    lx = x0 + w - 8
    for name, _, values, kind, color in reversed(series):
        v = np.asarray(values, dtype=np.float64)
        last = next((float(x) for x in v[::-1] if math.isfinite(x)), float("nan"))
        label = f"{name} {fmt(last) if math.isfinite(last) else '–'}"
        width = 5.0 * len(label)  # about the width of 10px sans-serif
        dash = ' stroke-dasharray="5 3"' if kind == "val" else ""
        out.append(text(lx, y0 + 14, label, size=10, anchor="end"))
        out.append(f'<line x1="{lx - width - 18:.1f}" y1="{y0 + 10}" x2="{lx - width - 4:.1f}" '
                   f'y2="{y0 + 10}" stroke="{color}" stroke-width="2"{dash}/>')
        lx -= width + 26
    out.append("</g>")
    return out


def _polyline(s, v, fx, fy, log_scale, color, width, extra) -> str:
    ok = np.isfinite(v) & ((v > 0) if log_scale else True)
    s, v = s[ok], v[ok]
    if len(s) > 2000:  # the picture has a few hundred pixels; keep it light
        keep = np.unique(np.linspace(0, len(s) - 1, 2000).astype(np.int64))
        s, v = s[keep], v[keep]
    pts = " ".join(f"{fx(a):.1f},{fy(b):.1f}" for a, b in zip(s, v))
    return (f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{width}" '
            f'stroke-linejoin="round"{extra}/>')


def histogram_bars(x0, y0, w, h, counts, lo, hi, color="#4c6ef5", title="") -> list[str]:
    """Bars of ``counts`` over [lo, hi] with the range written below; SVG elements."""
    out = ['<g class="nbt-hist">']
    if title:
        out.append(text(x0, y0 + 11, title, size=11, fill="#111"))
    top, bottom = y0 + 16, y0 + h - 14
    peak = max(counts) if len(counts) else 0
    bw = w / max(len(counts), 1)
    for i, c in enumerate(counts):
        if c <= 0:
            continue
        bh = (bottom - top) * c / peak
        out.append(f'<rect x="{x0 + i * bw:.1f}" y="{bottom - bh:.1f}" '
                   f'width="{max(bw - 1, 0.5):.1f}" height="{bh:.1f}" fill="{color}"/>')
    out.append(f'<line x1="{x0}" y1="{bottom}" x2="{x0 + w}" y2="{bottom}" stroke="#999"/>')
    out.append(text(x0, bottom + 12, fmt(lo), size=10, fill="#666"))
    out.append(text(x0 + w, bottom + 12, fmt(hi), size=10, anchor="end", fill="#666"))
    out.append("</g>")
    return out

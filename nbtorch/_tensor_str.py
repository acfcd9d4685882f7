"""Printing tensors exactly as PyTorch prints them: ``tensor([1.5000], requires_grad=True)``.

The algorithm is PyTorch's (torch/_tensor_str.py), written here against numpy:

1. Above ``threshold`` elements the tensor is *summarized*: along every dimension longer than
   ``2 * edgeitems`` only the first and last ``edgeitems`` entries are kept; ``...`` marks the cut.
2. One formatter is chosen for all (shown) values.  Floats print in one of three modes: *integer*
   (all finite values are whole: ``1.``), *fixed* (``1.5000``) or *scientific* (``1.0000e-05``,
   when the largest/smallest nonzero magnitude ratio exceeds 1000, or a magnitude is > 1e8 or
   < 1e-4).  Every value is right-aligned to the widest finite value (nan/inf do not count).
3. Rows are wrapped at ``linewidth`` columns; nested rows are indented under their opening bracket
   and separated by ``ndim - 1`` newlines.
4. Suffixes follow: ``device=``, ``dtype=`` (unless the dtype is a default one), ``grad_fn=<...>``
   or ``requires_grad=True``; a suffix that would pass ``linewidth`` goes on its own line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any

import numpy as np

from . import _dtype, backend


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None) -> None:
    """Set how tensors print, as ``torch.set_printoptions``: digits after the point (4), elements
    before summarizing (1000), items kept at each edge when summarizing (3), line width (80),
    a ``profile`` ('default', 'short', 'full'), and ``sci_mode`` (None chooses automatically;
    like PyTorch, every call resets it unless given).

    >>> import nbtorch as torch
    >>> torch.set_printoptions(precision=2)
    >>> torch.tensor([1.12345])
    tensor([1.12])
    >>> torch.set_printoptions(threshold=5)
    >>> torch.arange(10)
    tensor([0, 1, 2,  ..., 7, 8, 9])
    >>> torch.set_printoptions(profile='default')
    >>> torch.tensor([1.12345])
    tensor([1.1235])
    """
    if profile is not None:  # an unknown profile is ignored, as in PyTorch
        for key, value in _PROFILES.get(profile, {}).items():
            setattr(PRINT_OPTS, key, value)
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current print options, as keyword arguments for ``set_printoptions``.

    >>> get_printoptions()['precision']
    4
    """
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Change the print options inside a ``with`` block only.

    >>> import nbtorch as torch
    >>> with torch.printoptions(precision=1):
    ...     print(torch.tensor([0.25, 1.0]))
    tensor([0.2, 1.0])
    """
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# --- choosing a format for all values -------------------------------------------------------------


class _Formatter:
    """One format (width, mode) shared by every printed value, chosen from the shown values."""

    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not self.floating:
            if flat.size:
                # str() of an integer grows with its magnitude, so the extremes are the widest.
                widest = [flat.min().item(), flat.max().item()]
                self.max_width = max(len(f"{v}") for v in widest)
            return
        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return
        magnitude = np.abs(shown.astype(np.float64))
        smallest, largest = magnitude.min(), magnitude.max()
        self.int_mode = bool(np.all(np.ceil(shown) == shown))
        if PRINT_OPTS.sci_mode is None:
            with np.errstate(over="ignore"):  # 1e300 / 1e-300 is inf, which is > 1000 as wanted
                ratio = largest / smallest
            self.sci_mode = bool(ratio > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        # The printed length depends only on the sign and on |v| (monotonically for fixed notation,
        # through the exponent for scientific), so the widest string comes from an extreme value.
        candidates = []
        for part in (shown[shown > 0], shown[shown < 0]):
            if part.size:
                candidates += [float(part.min()), float(part.max())]
        p = PRINT_OPTS.precision
        if self.sci_mode:
            self.max_width = max(len(f"{v:.{p}e}") for v in candidates)
        elif self.int_mode:
            self.max_width = max(len(f"{v:.0f}") + 1 for v in candidates)  # + 1 for the '.'
        else:
            self.max_width = max(len(f"{v:.{p}f}") for v in candidates)

    def format(self, value) -> str:
        if self.floating:
            p = PRINT_OPTS.precision
            if self.sci_mode:
                text = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{p}f}"
        else:
            text = f"{value}"
        return (self.max_width - len(text)) * " " + text


class _ComplexFormatter:
    """Real and imaginary parts formatted separately, joined as ``1.+2.j``."""

    def __init__(self, values: np.ndarray):
        self.real = _Formatter(values.real)
        self.imag = _Formatter(values.imag)
        self.max_width = self.real.max_width + self.imag.max_width + 1  # + 1 for the 'j'

    def format(self, value) -> str:
        real = self.real.format(value.real)
        imag = (self.imag.format(value.imag) + "j").lstrip()
        return real + imag if imag[0] in "+-" else real + "+" + imag


# --- laying out the values ------------------------------------------------------------------------


def _summarize(data, summarize: bool):
    """The values that will be shown (a numpy array) and, per dimension, whether it was cut."""
    edge = PRINT_OPTS.edgeitems
    xp = backend.xp_of(data)
    cuts = []
    for axis, n in enumerate(data.shape):
        cut = summarize and n > 2 * edge
        cuts.append(cut)
        if cut:
            # First and last ``edge`` entries; gathered on the device before the copy to the host.
            index = list(range(edge)) + list(range(n - edge, n)) if edge else []
            data = data.take(xp.asarray(index, dtype=np.intp), axis=axis)
    if type(data) is not np.ndarray:
        data = data.get()
    return data, cuts


def _vector_str(values, cut: bool, indent: int, formatter) -> str:
    element_length = formatter.max_width + 2  # the value, a comma and a space
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    edge = PRINT_OPTS.edgeitems
    if cut and not edge:
        items = ["..."]
    else:
        items = [formatter.format(v) for v in values.tolist()]
        if cut:
            items = items[:edge] + [" ..."] + items[edge:]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(values, cuts, indent: int, formatter) -> str:
    if values.ndim == 0:
        return formatter.format(values.item())
    if values.ndim == 1:
        return _vector_str(values, cuts[0], indent, formatter)
    rows = [_nested_str(row, cuts[1:], indent + 1, formatter) for row in values]
    if cuts[0]:
        edge = PRINT_OPTS.edgeitems
        rows = rows[:edge] + ["..."] + rows[edge:]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _values_str(data, indent: int) -> str:
    summarize = data.size > PRINT_OPTS.threshold
    values, cuts = _summarize(data, summarize)
    if values.dtype.kind == "c":
        formatter = _ComplexFormatter(values)
    else:
        formatter = _Formatter(values)
    return _nested_str(values, cuts, indent, formatter)


def _add_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    parts = [text]
    # PyTorch's measure of the last line (2 more than its length when there is no newline).
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t) -> str:
    """``repr(t)`` as PyTorch writes it.

    >>> import nbtorch as torch
    >>> torch.tensor([[1.5, -2.0], [3.0, 4.0]], dtype=torch.float64)
    tensor([[ 1.5000, -2.0000],
            [ 3.0000,  4.0000]], dtype=torch.float64)
    >>> torch.tensor([1e-5, 1e5])
    tensor([1.0000e-05, 1.0000e+05])
    >>> torch.zeros(0, 3)
    tensor([], size=(0, 3))
    """
    cls = type(t).__name__
    prefix = "tensor(" if cls in ("Tensor", "Parameter") else cls + "("
    indent = len(prefix)
    data = t._data
    dtype = _dtype.FROM_NUMPY[data.dtype]
    default = _dtype.get_default_dtype()
    suffixes = []
    device = t.device
    if device.type != "cpu":
        suffixes.append(f"device='{device}'")
    if data.size == 0:
        if data.ndim != 1:
            suffixes.append("size=" + str(tuple(data.shape)))
        if dtype is not default:  # nothing shows whether an empty tensor holds ints
            suffixes.append("dtype=" + repr(dtype))
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(data.shape)))
        default_complex = _dtype.complex128 if default is _dtype.float64 else _dtype.complex64
        if dtype not in (default, default_complex, _dtype.int64, _dtype.bool_):
            suffixes.append("dtype=" + repr(dtype))
        body = _values_str(data, indent)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)

"""The IPython extension behind ``%load_ext nbtorch.viz``.

- Tensors display as rich HTML: shape, dtype, device, grad_fn, requires_grad, value statistics and
  a small heatmap (an inline PNG), above the usual printed repr.  Everything shown is escaped.
- ``%%graph`` runs the cell while recording (``nbtorch.viz.record()``) and shows the graph of what
  it produced: the variables named after the magic (``%%graph loss``, ``%%graph loss logits``),
  else the tensors of the cell's last expression, else everything the cell recorded.  The graph
  is a ``GraphView`` widget where anywidget is installed, the static ``Graph`` otherwise.

``nbtorch/viz/__init__.py``'s ``load_ipython_extension(ip)`` calls ``load_ipython_extension`` here;
``unload_ipython_extension`` removes both again.
"""

from __future__ import annotations

import contextlib

from .._tensor import Tensor
from . import _charts
from .svg import esc

__all__ = ["load_ipython_extension", "unload_ipython_extension", "tensor_html", "graph_magic"]

HEAT_SIDE = 48  # the inline heatmap: at most 48 x 48 cells


def tensor_html(t: Tensor) -> str:
    """Rich HTML for a tensor: a facts table, a small heatmap of its values, and its repr.

    >>> import nbtorch as torch
    >>> html = tensor_html(torch.zeros(2, 3, requires_grad=True))
    >>> "<td>(2, 3)</td>" in html and "requires_grad" in html and "data:image/png" in html
    True
    """
    a = _charts.host_values(t)
    stats = _charts.tensor_stats(a)
    fn = t.grad_fn
    rows = [
        ("shape", "(" + ", ".join(str(s) for s in t.shape) + ("," if t.dim() == 1 else "") + ")"),
        ("dtype", str(t.dtype)),
        ("device", str(t.device)),
        ("requires_grad", str(bool(t.requires_grad))),
        ("grad_fn", fn.name() if fn is not None else "None"),
    ]
    if getattr(t, "_name", None):
        rows.insert(0, ("name", t._name))
    if t.grad is not None:
        rows.append(("grad", f"shape ({', '.join(str(s) for s in t.grad.shape)})"))
    if stats["min"] is not None and stats["numel"] > 1:
        rows.append(("range", f"{_charts.fmt(stats['min'])} to {_charts.fmt(stats['max'])}"))
        rows.append(("mean ± std", f"{_charts.fmt(stats['mean'])} ± {_charts.fmt(stats['std'])}"))
    if stats["nan"] or stats["inf"]:
        rows.append(("non-finite", f"NaN {stats['nan']}, Inf {stats['inf']}"))
    table = "".join(f'<tr><th style="text-align:left;padding-right:8px">{esc(k)}</th>'
                    f"<td>{esc(v)}</td></tr>" for k, v in rows)
    picture = ""
    if stats["numel"] > 1:
        heat = _charts.downsample(_charts.as_2d(a), HEAT_SIDE, HEAT_SIDE)
        uri, w, h = _charts.heatmap_png(heat, min_px=64, lo=stats["min"], hi=stats["max"])
        scale = min(1.0, 128 / max(w, h))
        picture = (f'<img class="nbt-tensor-heat" alt="heatmap of the values" src="{esc(uri)}" '
                   f'width="{max(int(w * scale), 1)}" height="{max(int(h * scale), 1)}" '
                   f'style="image-rendering:pixelated;border:1px solid #ddd"/>')
    return (f'<div class="nbt-tensor" style="display:flex;gap:12px;align-items:flex-start">'
            f"{picture}<table>{table}</table></div>"
            f'<pre style="margin-top:4px">{esc(repr(t))}</pre>')


def _tensors_in(value) -> list[Tensor]:
    """The tensors in a cell's result: a tensor, or those in a tuple/list/dict of them."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return [v for v in value if isinstance(v, Tensor)]
    return []


def _view(source: list, names: dict):
    """A GraphView of ``source`` (tensors, or a record) where anywidget is installed, else the
    static Graph."""
    from .graph import graph, record

    try:
        import anywidget  # noqa: F401
    except ImportError:
        if len(source) == 1 and isinstance(source[0], record):
            return source[0].graph()
        return graph(*source, names=names or None)
    from .graph_view import GraphView

    return GraphView(*source, names=names or None)


def graph_magic(line: str, cell: str):
    """``%%graph [names...]``: run the cell while recording, then show the graph of the tensors
    named after the magic, else of the value of the cell's last expression, else of everything
    the cell recorded."""
    from IPython import get_ipython
    from IPython.display import display

    from .graph import record

    ip = get_ipython()
    with record() as rec:
        result = ip.run_cell(cell)
    if not result.success:
        return
    names = {}
    for name in line.split():
        if name not in ip.user_ns:
            print(f"%%graph: no variable named {name!r}")
            return
        if not isinstance(ip.user_ns[name], Tensor):
            print(f"%%graph: {name} is a {type(ip.user_ns[name]).__name__}, not a tensor")
            return
        names[name] = ip.user_ns[name]
    source = list(names.values()) or _tensors_in(result.result)
    if not source:
        if not rec.nodes():
            print("%%graph: the cell recorded no operation on tensors that require grad")
            return
        source = [rec]
    display(_view(source, names))


def load_ipython_extension(ipython) -> None:
    """Register the tensor HTML formatter and the ``%%graph`` cell magic."""
    ipython.display_formatter.formatters["text/html"].for_type(Tensor, tensor_html)
    ipython.register_magic_function(graph_magic, magic_kind="cell", magic_name="graph")


def unload_ipython_extension(ipython) -> None:
    """Remove what ``load_ipython_extension`` registered."""
    formatter = ipython.display_formatter.formatters["text/html"]
    with contextlib.suppress(KeyError):
        formatter.pop(Tensor)
    ipython.magics_manager.magics["cell"].pop("graph", None)

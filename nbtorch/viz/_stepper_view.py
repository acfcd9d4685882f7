"""What the backward stepper shows, as text and as a static SVG (numpy-free, Jupyter-free).

The pure functions here (``fmt_num``, ``summary_text``, ``values_text``, ``step_lines``,
``node_states``, ``formula_segments``) are repeated in ``extensions/stepper.js`` (``fmtNum``,
``summaryText``, ...): the Python tests write their results next to the records into
``extensions/tests/fixtures/stepper_*.json`` and the node tests check that the JavaScript gives the
same, so the live widget and the saved picture say the same thing.

The static picture is ``nbtorch.viz.svg``'s drawing of the graph with the nodes' states marked
over it and the current step's lines beside it.
"""

from __future__ import annotations

import re

from . import svg

MARGIN = 16
PANEL_W = 480
LINE_H = 16
WRAP = 78  # characters per line of the details panel (11px sans-serif: about 6px each)
STATE_STYLE = {  # fill, stroke, stroke width (the front end's CSS has the same colours)
    "current": ("#ffd43b", "#e67700", 4),
    "done": ("#d3f9d8", "#2f9e44", 2.5),
    "waiting": ("#e7f5ff", "#1c7ed6", 2),
    "idle": ("#f8f9fa", "#868e96", 1),
}


# --- text (mirrored in stepper.js) ---------------------------------------------------------------
def _tidy(s: str) -> str:
    """'1.500e+05' -> '1.5e5', '0.2500' -> '0.25', '100.0' -> '100'."""
    mantissa, e, exponent = s.partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}" if e else mantissa


def fmt_num(v) -> str:
    """A number in at most 4 significant digits; "nan"/"inf"/"-inf" as they come, None as "—".

    >>> [fmt_num(v) for v in (None, 0.0, 0.25, -1234.5678, 1e-7, 123456.0, "inf")]
    ['—', '0', '0.25', '-1235', '1e-7', '1.23e5', 'inf']
    """
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e4:
        return _tidy(f"{v:.4g}")
    return _tidy(f"{v:.2e}")


def shape_text(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def summary_text(s) -> str:
    """One line about a gradient summary (see ``_stepping.summarize``); None as "None"."""
    if s is None:
        return "None"
    head = f"{shape_text(s['shape'])} {s['dtype']}"
    if s["numel"] == 1:
        return f"{head} = {fmt_num(s['values'][0])}"
    if s["numel"] == 0:
        return f"{head} (empty)"
    text = (f"{head} · min {fmt_num(s['min'])} · max {fmt_num(s['max'])} · "
            f"mean {fmt_num(s['mean'])} · norm {fmt_num(s['norm'])}")
    if s["nonfinite"]:
        text += f" · {s['nonfinite']} not finite"
    return text


def values_text(s) -> str:
    """The first values of a summary, ``[a, b, …]``."""
    if s is None:
        return ""
    body = ", ".join(fmt_num(v) for v in s["values"])
    return "[" + body + (", …" if s["truncated"] else "") + "]"


def _node_label(node_id, op, names=None) -> str:
    named = f" {', '.join(names)}" if names else ""
    return f"{op}{named} (node {node_id})"


def step_lines(r) -> list:
    """The details of one step record as ``[kind, text]`` lines (the widget's panel, the SVG's)."""
    lines = [["title", f"Step {r['index']}: {_node_label(r['node'], r['op'], r['names'])}"]]
    rule = r["rule"]
    lines.append(["words", rule["words"]])
    if rule["formula"]:
        lines.append(["formula", f"{rule['op']}: {rule['forward']}; {rule['formula']}"])
    elif rule["forward"]:
        lines.append(["formula", f"{rule['op']}: {rule['forward']}"])
    many = len(r["arriving"]) > 1
    for a in r["arriving"]:
        where = f" at output {a['output_nr']}" if many else ""
        lines.append(["arriving", f"gradient arriving{where}: {summary_text(a['grad'])}"])
        if a["grad"] is not None:
            lines.append(["values", values_text(a["grad"])])
        parts = a["parts"]
        if len(parts) > 1:
            lines.append(["fanout", f"fan-out: the sum of {len(parts)} parts sent by its "
                                    f"consumers"])
            for p in parts:
                lines.append(["part", f"+ from {_node_label(p['from'], p['from_op'])} at step "
                                      f"{p['step']}: {summary_text(p['grad'])}"])
        elif len(parts) == 1 and parts[0]["from"] is None:
            lines.append(["seed", "the seed: d loss / d loss = 1"])
    for e in r["sent"]:
        lines.append(["sent", f"sends to input {e['input_index']} → "
                              f"{_node_label(e['to'], e['to_op'])}: {summary_text(e['grad'])}"])
    acc = r["accumulated"]
    if acc is not None:
        lines.append(["grad", f".grad before: {summary_text(acc['before'])}"])
        lines.append(["grad", f".grad after:  {summary_text(acc['after'])}"])
        lines.append(["values", values_text(acc["after"])])
    check = r["check"]
    if check is not None:
        note = f" ({check['note']})" if check["note"] else ""
        lines.append(["check", f"finite-difference check: {check['status']}{note}"])
        for c in check["inputs"]:
            verdict = "ok" if c["ok"] else "MISMATCH"
            lines.append(["check", f"input {c['input_index']}: analytic "
                                   f"{values_text(c['analytic'])} vs numeric "
                                   f"{values_text(c['numeric'])}: max |diff| "
                                   f"{fmt_num(c['max_abs_diff'])} {verdict}"])
    return lines


def node_states(graph: dict, steps: list, current: int) -> list:
    """One state per node: "current", "done", "waiting" (holds a gradient not yet processed) or
    "idle", after steps ``0..current``."""
    n = len(graph["nodes"])
    states = ["idle"] * n
    shown = steps[: current + 1]
    if not shown:
        for out in graph["outputs"]:
            if out is not None:
                states[out] = "waiting"
        return states
    for r in shown:
        for e in r["sent"]:
            if e["grad"] is not None:
                states[e["to"]] = "waiting"
    for r in shown:
        states[r["node"]] = "done"
    states[shown[-1]["node"]] = "current"
    return states


_SUP = re.compile(r"\^(\([^()]*\)|[-+]?[\w.]+)")


def formula_segments(text: str) -> list:
    """``e^(x - m)`` -> ``[["e", false], ["x - m", true]]``: exponents to draw raised."""
    out, pos = [], 0
    for m in _SUP.finditer(text):
        if m.start() > pos:
            out.append([text[pos:m.start()], False])
        sup = m.group(1)
        out.append([sup[1:-1] if sup.startswith("(") else sup, True])
        pos = m.end()
    if pos < len(text):
        out.append([text[pos:], False])
    return out


# --- static SVG ----------------------------------------------------------------------------------
def _text(x, y, segments, size=12, weight=None) -> str:
    """A line of text at ``(x, y)`` (start anchor); raised segments are exponents."""
    spans = "".join(
        f'<tspan baseline-shift="super" font-size="{size - 3}">{svg.esc(t)}</tspan>' if sup
        else svg.esc(t) for t, sup in segments)
    bold = ' font-weight="bold"' if weight else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{bold} text-anchor="start" '
            f'font-family="sans-serif" fill="{svg.INK}">{spans}</text>')


def _wrap(text: str, width: int) -> list:
    words, lines, line = text.split(" "), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    lines.append(line)
    return lines


def stepper_svg(graph: dict, steps: list, current: int) -> str:
    """The graph (``svg.graph_svg``) with each node's state marked over it, the edges into the
    current node (its gradients going back) drawn thick, and the current step's details beside."""
    lay = graph["layout"]
    states = node_states(graph, steps, current)
    record = steps[current] if 0 <= current < len(steps) else None
    now = record["node"] if record is not None else None
    parts = [svg.graph_svg(graph, lay, members=lay.get("members"))]  # a nested <svg>, 1:1
    for e in lay["edges"]:
        if e["target"] == now:
            parts.append(svg.polyline(e["points"], stroke=STATE_STYLE["current"][1], width=3,
                                      cls="nbt-active"))
    for box in lay["nodes"]:
        state = states[box["id"]]
        if state == "idle":
            continue
        fill, stroke, width = STATE_STYLE[state]
        pad = 3
        parts.append(svg.group(
            svg.rect(box["x"] - box["width"] / 2 - pad, box["y"] - box["height"] / 2 - pad,
                     box["width"] + 2 * pad, box["height"] + 2 * pad, rx=8, fill="none",
                     stroke=stroke, stroke_width=width,
                     stroke_dasharray="4 3" if state == "waiting" else None),
            cls=f"nbt-state nbt-{state}", data_id=box["id"]))
    px, y = lay["width"] + MARGIN, MARGIN + 12
    if record is None:
        lines = [["title", "Before the first step: the loss holds the seed gradient 1"]]
    else:
        lines = step_lines(record)
    for kind, text in lines:
        size, weight = (13, "bold") if kind == "title" else (11, None)
        for piece in _wrap(text, WRAP):
            segments = formula_segments(piece) if kind == "formula" else [[piece, False]]
            parts.append(_text(px, y, segments, size, weight))
            y += LINE_H
    width, height = px + PANEL_W, max(lay["height"], y + MARGIN)
    where = f"step {record['index']}: {record['op']}" if record else "before the first step"
    return svg.document(width, height, "".join(parts), title=f"backward stepper, {where}")

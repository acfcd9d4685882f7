"""Our own layered drawing of a directed graph (Sugiyama style): no Graphviz, pure Python.

``layout(ids, edges, sizes)`` places boxes in horizontal layers, every edge pointing down (inputs at
the top, the loss at the bottom), and returns plain JSON-able data::

    {"nodes": [{"id": 3, "x": 120.0, "y": 40.0,      # centre of the box
                "width": 80.0, "height": 28.0,
                "layer": 0, "order": 2}, ...],       # row from the top, rank among its nodes
     "edges": [{"source": 3, "target": 1,            # one per distinct (source, target) pair
                "points": [[x, y], ...],             # polyline: bottom of source .. top of target
                "reversed": False}, ...],            # True: drawn against the flow (a cycle)
     "width": 400.0, "height": 300.0,                # the drawing's extent, margins included
     "layers": 5, "dummies": 7, "crossings": 0}

The steps, each a few passes over the edges:

1. Cycles are broken by reversing DFS back edges (a tape is acyclic, but a module collapsed into one
   box that is called twice makes a cycle).
2. Longest-path layering measured from the sinks: the loss sits in the bottom layer and every other
   node one layer above its lowest-placed consumer's chain, so a weight sits just above the op that
   uses it instead of at the very top.
3. Edges spanning several layers get one dummy vertex per layer crossed (their bends); the long
   edges that leave the same node share them.
4. Crossing reduction: an initial order from a depth-first walk up from the sinks (operand 0 to the
   left), then barycenter sweeps down and up; the order with the fewest crossings is kept.
5. Coordinates: each row is placed as close as possible (least squares) to the mean position of
   its neighbours in the row before, subject to the boxes not overlapping (isotonic regression by
   pool-adjacent-violators), alternating down and up passes.

``collapse(graph_dict, paths)`` merges all nodes of each given module path into one box (the
graph's ``module`` field), so a model can be drawn at any level of detail.
"""

from __future__ import annotations

import bisect
from collections import deque

__all__ = ["DEFAULT_SIZE", "collapse", "layout", "module_box", "text_size"]

DEFAULT_SIZE = (80.0, 28.0)
CHAR_WIDTH = 7.2  # 12px monospace
LINE_HEIGHT = 15.0


def text_size(lines) -> tuple[float, float]:
    """The box that holds ``lines`` of 12px monospace text, with padding."""
    lines = list(lines) or [""]
    return (max(len(s) for s in lines) * CHAR_WIDTH + 16.0, len(lines) * LINE_HEIGHT + 10.0)


def module_box(path: str) -> str:
    """The id of the box that stands for a collapsed module (``module:features.0``)."""
    return f"module:{path}"


def layout(ids, edges, sizes=None, *, rank_sep: float = 36.0, node_sep: float = 18.0,
           sweeps: int = 4, passes: int = 4, margin: float = 12.0) -> dict:
    """Lay out a directed graph in layers; the result's schema is in the module docstring.

    ``ids`` are the nodes (hashable, JSON-able), ``edges`` ``(source, target)`` pairs in the
    direction of the data flow, ``sizes`` maps an id to ``(width, height)`` (default 80 x 28).

    >>> out = layout(["x", "w", "mul"], [("x", "mul"), ("w", "mul")])
    >>> [(n["id"], n["layer"]) for n in out["nodes"]]
    [('x', 0), ('w', 0), ('mul', 1)]
    >>> out["edges"][0]["points"]
    [[52.0, 40.0], [94.0, 76.0]]
    """
    ids = list(ids)
    n = len(ids)
    index = {v: i for i, v in enumerate(ids)}
    if len(index) != n:
        raise ValueError("layout: node ids must be unique")
    sizes = sizes or {}
    box = [tuple(map(float, sizes.get(v, DEFAULT_SIZE))) for v in ids]
    try:
        drawn = list(dict.fromkeys((index[s], index[t]) for s, t in edges if s != t))
    except KeyError as missing:
        raise ValueError(f"layout: an edge names an unknown node {missing.args[0]!r}") from None

    flipped = _back_edges(n, drawn)
    dag = list(dict.fromkeys((t, s) if (s, t) in flipped else (s, t) for s, t in drawn))
    layer = _layers(n, dag)
    n_layers = max(layer, default=-1) + 1

    # Vertices: the n nodes, then the dummies of long edges (width 0: an edge's bends).  The long
    # edges leaving one node share their dummies (a trunk that branches off at each target), so a
    # weight used at every step of a loop costs one dummy per layer, not one per use and layer.
    vlayer = list(layer)
    width = [w for w, _ in box]
    up: list[list[int]] = [[] for _ in range(n)]
    down: list[list[int]] = [[] for _ in range(n)]
    trunks: dict = {}  # source -> its dummies, one per layer below it
    for s, t in dag:
        span = layer[t] - layer[s]
        last = s
        if span > 1:
            trunk = trunks.setdefault(s, [])
            while len(trunk) < span - 1:
                d = len(vlayer)
                vlayer.append(layer[s] + 1 + len(trunk))
                width.append(0.0)
                prev = trunk[-1] if trunk else s
                up.append([prev])
                down.append([])
                down[prev].append(d)
                trunk.append(d)
            last = trunk[span - 2]
        if t not in down[last]:
            down[last].append(t)
            up[t].append(last)
    real = n

    rows = _initial_order(real, vlayer, up, down, n_layers)
    rows, crossings = _reduce_crossings(rows, up, down, sweeps)
    xs = _coordinates(rows, up, down, width, real, node_sep, passes)

    left = min((xs[v] - width[v] / 2 for row in rows for v in row), default=0.0)
    shift = margin - left
    heights = [max((box[v][1] for v in row if v < real), default=0.0) for row in rows]
    ys, top = [], margin
    for h in heights:
        ys.append(top + h / 2)
        top += h + rank_sep
    total_height = top - rank_sep + margin if rows else 2 * margin
    total_width = max((xs[v] + width[v] / 2 for row in rows for v in row), default=0.0) + shift \
        + margin

    xs = [round(x + shift, 1) for x in xs]
    ys = [round(y, 1) for y in ys]
    nodes = []
    order = {v: k for row in rows for k, v in enumerate(v for v in row if v < real)}
    for i, v in enumerate(ids):
        nodes.append({"id": v, "x": xs[i], "y": ys[layer[i]], "width": _r(box[i][0]),
                      "height": _r(box[i][1]), "layer": layer[i], "order": order[i]})
    bends = {s: _bends([[xs[d], ys[vlayer[d]]] for d in trunk]) for s, trunk in trunks.items()}
    paths = []  # in the DAG's direction: from the upper box's bottom to the lower box's top
    for s, t in drawn:
        if (s, t) in flipped:
            s, t = t, s
        points = [[xs[s], _r(ys[layer[s]] + box[s][1] / 2)]]
        span = layer[t] - layer[s]
        if span > 1:
            pts, corners = bends[s]
            j = span - 2
            points.extend(list(pts[c]) for c in corners[:bisect.bisect_left(corners, j)])
            points.append(list(pts[j]))
        points.append([xs[t], _r(ys[layer[t]] - box[t][1] / 2)])
        paths.append((s, t, points))
    _ports(paths, xs, box)
    out_edges = []
    for (s, t), (_, _, points) in zip(drawn, paths):
        rev = (s, t) in flipped
        if rev:
            points.reverse()
        out_edges.append({"source": ids[s], "target": ids[t], "points": points, "reversed": rev})
    return {"nodes": nodes, "edges": out_edges, "width": _r(total_width),
            "height": _r(total_height), "layers": n_layers, "dummies": len(vlayer) - real,
            "crossings": crossings}


def collapse(graph: dict, paths) -> tuple[list, list, dict]:
    """Merge the nodes of each module path in ``paths`` (and of its submodules) into one box.

    ``graph`` is a ``Graph.to_dict()``; returns ``(ids, edges, members)`` for ``layout``: ids of
    the remaining nodes and of the boxes (``module_box(path)``) in the graph's node order, edges
    between them (edges inside a box are dropped), and ``{box id: [node ids]}``.  When paths nest,
    the outermost collapsed one wins.
    """
    paths = sorted(set(paths), key=len)
    owner_of: dict = {}

    def owner(module):
        if module is None:
            return None
        if module not in owner_of:
            owner_of[module] = next(
                (p for p in paths if module == p or module.startswith(p + ".")), None)
        return owner_of[module]

    where = {}
    ids = []
    members: dict = {}
    for node in graph["nodes"]:
        path = owner(node.get("module"))
        if path is None:
            where[node["id"]] = node["id"]
            ids.append(node["id"])
            continue
        key = module_box(path)
        where[node["id"]] = key
        if key not in members:
            members[key] = []
            ids.append(key)
        members[key].append(node["id"])
    edges = []
    for src, dst, *_ in graph["edges"]:
        a, b = where[src], where[dst]
        if a != b:
            edges.append((a, b))
    return ids, list(dict.fromkeys(edges)), members


# --- the steps ------------------------------------------------------------------------------------


def _r(v: float) -> float:
    return round(float(v), 1)


def _ports(paths: list, xs: list, box: list) -> None:
    """Spread the ends of the edges that meet a box along its edge, in the order of where they
    come from, so that arrows into one op stay apart (edges sharing a trunk share a port)."""
    ends: dict = {}
    for k, (s, t, points) in enumerate(paths):
        ends.setdefault((s, 0), {}).setdefault(tuple(points[1]), []).append((k, 0))
        ends.setdefault((t, -1), {}).setdefault(tuple(points[-2]), []).append((k, -1))
    for (v, _), groups in ends.items():
        m = len(groups)
        if m < 2:
            continue
        spread = min(0.6 * box[v][0], 14.0 * (m - 1))
        for rank, key in enumerate(sorted(groups)):
            x = _r(xs[v] - spread / 2 + spread * rank / (m - 1))
            for k, at in groups[key]:
                paths[k][2][at][0] = x


def _bends(points: list) -> tuple[list, list]:
    """A trunk's points, and the indices of those where it bends (the first one included)."""
    corners = [0]
    for k in range(1, len(points) - 1):
        (x0, y0), (x1, y1), (x2, y2) = points[corners[-1]], points[k], points[k + 1]
        if abs((x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)) > 0.5:
            corners.append(k)
    return points, corners


def _back_edges(n: int, edges: list) -> set:
    """Edges that close a cycle in a depth-first walk (reversing them leaves a DAG)."""
    out = [[] for _ in range(n)]
    for s, t in edges:
        out[s].append(t)
    state = [0] * n  # 0 unseen, 1 on the stack, 2 done
    back = set()
    for start in range(n):
        if state[start]:
            continue
        state[start] = 1
        stack = [(start, iter(out[start]))]
        while stack:
            v, children = stack[-1]
            for c in children:
                if state[c] == 1:
                    back.add((v, c))
                elif state[c] == 0:
                    state[c] = 1
                    stack.append((c, iter(out[c])))
                    break
            else:
                state[v] = 2
                stack.pop()
    return back


def _layers(n: int, dag: list) -> list[int]:
    """Longest-path layering towards the sinks: layer = depth - longest path to a sink."""
    out = [[] for _ in range(n)]
    indeg = [0] * n
    for s, t in dag:
        out[s].append(t)
        indeg[t] += 1
    queue = deque(v for v in range(n) if indeg[v] == 0)
    topo = []
    while queue:
        v = queue.popleft()
        topo.append(v)
        for c in out[v]:
            indeg[c] -= 1
            if indeg[c] == 0:
                queue.append(c)
    height = [0] * n
    for v in reversed(topo):
        h = 0
        for c in out[v]:
            if height[c] + 1 > h:
                h = height[c] + 1
        height[v] = h
    depth = max(height, default=0)
    return [depth - h for h in height]


def _initial_order(real, vlayer, up, down, n_layers) -> list[list[int]]:
    """Rows ordered by a depth-first walk up from the sinks, operand 0 first (to the left)."""
    seen = [False] * len(vlayer)
    visit = [0] * len(vlayer)
    count = 0
    for sink in range(real):
        if down[sink] or seen[sink]:
            continue
        stack = [sink]
        while stack:
            v = stack.pop()
            if seen[v]:
                continue
            seen[v] = True
            visit[v] = count
            count += 1
            stack.extend(reversed(up[v]))
    rows = [[] for _ in range(n_layers)]
    for v in sorted(range(len(vlayer)), key=visit.__getitem__):
        rows[vlayer[v]].append(v)
    return rows


def _reduce_crossings(rows, up, down, sweeps):
    pos = [0.0] * len(up)

    def number(row):
        k = len(row)
        for i, v in enumerate(row):
            pos[v] = (i + 0.5) / k  # fractions: rows of different lengths compare

    for row in rows:
        number(row)
    best = [list(r) for r in rows]
    best_count = _crossings(rows, down)
    for _ in range(sweeps):
        if best_count == 0:
            break
        for sweep in (range(1, len(rows)), range(len(rows) - 2, -1, -1)):
            for lay in sweep:
                nbrs = up if sweep.step == 1 else down
                row = rows[lay]
                keys = {}
                for v in row:
                    ns = nbrs[v]
                    keys[v] = (sum(pos[u] for u in ns) / len(ns) if ns else pos[v], pos[v])
                row.sort(key=keys.__getitem__)
                number(row)
        count = _crossings(rows, down)
        if count < best_count:
            best, best_count = [list(r) for r in rows], count
    return best, best_count


def _crossings(rows, down) -> int:
    """Edge crossings between consecutive rows (inversions counted with a Fenwick tree)."""
    total = 0
    rank = {}
    for row in rows:
        for i, v in enumerate(row):
            rank[v] = i
    for upper, lower in zip(rows, rows[1:]):
        targets = []
        for v in upper:  # upper is in order, so edges come sorted by their upper end
            targets.extend(sorted(rank[c] for c in down[v]))
        size = len(lower)
        tree = [0] * (size + 1)
        seen = 0
        for t in targets:
            # count earlier edges that end to the right of t: seen - (those ending at <= t)
            i, le = t + 1, 0
            while i > 0:
                le += tree[i]
                i -= i & -i
            total += seen - le
            i = t + 1
            while i <= size:
                tree[i] += 1
                i += i & -i
            seen += 1
    return total


def _coordinates(rows, up, down, width, real, sep, passes) -> list[float]:
    """x of every vertex: rows pulled alternately towards the row above and the row below.

    Each box follows its main input (``_main_input``: a chain of ops is drawn straight down,
    weights sit beside it, skip connections bend around it) and, going up, the consumers whose
    main input it is; a dummy follows its own trunk and gives way to boxes.
    """
    main = [_main_input(up, v, real) if v < real else None for v in range(len(up))]
    x = [0.0] * len(width)
    for row in rows:
        gaps = _gaps(row, width, real, sep)
        at = 0.0
        for v, g in zip(row, [0.0] + gaps):
            at += g
            x[v] = at
    for _ in range(passes):
        for sweep, going_down in ((range(1, len(rows)), True),
                                  (range(len(rows) - 2, -1, -1), False)):
            for lay in sweep:
                row = rows[lay]
                targets, weights = [], []
                for v in row:
                    weight = 1.0 if v < real else _DUMMY_WEIGHT
                    if going_down:
                        ns = up[v]
                        if v < real and main[v] is not None and up[main[v]]:
                            ns = (main[v],)
                    else:
                        ns = down[v]
                        if v < real:
                            mains = [c for c in ns if c < real and main[c] == v]
                            if not up[v]:  # a leaf gives way to everything
                                weight = _LEAF_WEIGHT
                            elif not mains:  # no one's main input: gives way to the chains
                                weight = _SIDE_WEIGHT
                            ns = mains or [c for c in ns if c < real] or ns
                        else:
                            ns = [c for c in ns if c >= real] or ns  # along the trunk
                    weights.append(weight)
                    targets.append(sum(x[u] for u in ns) / len(ns) if ns else x[v])
                placed = _place(targets, weights, _gaps(row, width, real, sep))
                for v, value in zip(row, placed):
                    x[v] = value
    return x


_DUMMY_WEIGHT = 0.05


def _main_input(up, v, real):
    """The input a box aligns with: the first op feeding it directly (not a leaf, not a long
    edge, which bends around the chain instead), else the first long edge, else a leaf."""
    ins = up[v]
    for u in ins:
        if u < real and up[u]:
            return u
    for u in ins:
        if u >= real:
            return u
    return ins[0] if ins else None
_SIDE_WEIGHT = 0.1
_LEAF_WEIGHT = 0.02


def _gaps(row, width, real, sep) -> list[float]:
    """Minimum distances between the centres of neighbours in a row (bends of two long edges
    pack closer)."""
    out = []
    for a, b in zip(row, row[1:]):
        g = sep if a < real or b < real else sep / 2
        out.append((width[a] + width[b]) / 2 + g)
    return out


def _place(targets, weights, gaps) -> list[float]:
    """Positions nearest (weighted least squares) to ``targets`` that keep ``gaps`` between
    neighbours.

    With ``c`` the cumulative gaps, ``y = x - c`` must be non-decreasing: isotonic regression of
    ``targets - c``, solved by pool-adjacent-violators.
    """
    c = [0.0]
    for g in gaps:
        c.append(c[-1] + g)
    blocks = []  # [weighted sum, total weight, count]
    for t, w, ci in zip(targets, weights, c):
        blocks.append([(t - ci) * w, w, 1])
        while len(blocks) > 1 and blocks[-2][0] * blocks[-1][1] > blocks[-1][0] * blocks[-2][1]:
            s, w2, k = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += w2
            blocks[-1][2] += k
    out = []
    for s, w, k in blocks:
        out.extend([s / w] * k)
    return [y + ci for y, ci in zip(out, c)]

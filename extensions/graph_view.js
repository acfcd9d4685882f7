// Front end of nbtorch.viz.GraphView: a plain ES module, no build step (nbtorch.viz._live.esm()
// inlines _shared.js in place of its import line; anywidget loads the result as one module).
//
// The kernel sends the graph (the wire dict of nbtorch.autograd.graph / nbtorch.viz.Graph) and its
// layout (positions computed in Python) as traitlets; this module draws them as one SVG, in one
// pass, and handles pan, zoom, search, collapsing modules, and the details of a clicked node. The
// values of a clicked node come on request, as float32 binary buffers.
//
// Everything above `render` is pure and DOM-free, so that node's test runner imports it
// (extensions/tests/graph_view.test.mjs). Text from the kernel (names are user input) reaches the
// page only through textContent and setAttribute with our own attribute names; nothing received is
// evaluated, and no markup is ever parsed from data.

import { NS, svgEl } from "./_shared.js";

export const SVG_NS = NS;
export const WIRE_VERSION = 1;
export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 8;

// ---------------------------------------------------------------- escaping ------------------

const XML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe for XML text and attribute values (used by `sceneToSvg`). */
export function escapeXml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);
}

/** A label shortened to `max` characters (an ellipsis marks the cut). */
export function clip(text, max = 24) {
  const s = String(text ?? "");
  return s.length <= max ? s : s.slice(0, max - 1) + "…";
}

// ---------------------------------------------------------------- graph helpers -------------

/** The node entries by id. */
export function indexNodes(graph) {
  const byId = new Map();
  for (const n of graph?.nodes ?? []) byId.set(n.id, n);
  return byId;
}

/** The module path of a node ("" when it ran in no module, or in the top model's own forward). */
export function modulePath(node) {
  const m = node?.module;
  return typeof m === "string" ? m : "";
}

/** The id of the box that stands for a collapsed module (nbtorch.viz.layout.module_box). */
export function moduleBox(path) {
  return `module:${path}`;
}

const SHAPE = (s) => (Array.isArray(s) ? (s.length ? `[${s.join(", ")}]` : "scalar") : "?");

/** The text lines of a node's box, as nbtorch.viz.svg.node_lines (the layout sized the box
 * for them): what it is, its shape, its name. */
export function nodeLines(node, limit = 28) {
  const shapes = (node?.shapes?.length ? node.shapes : [null]).map(SHAPE).join(" ");
  const names = Array.isArray(node?.names) ? node.names : [];
  let lines;
  if (node?.kind === "leaf") lines = [names.length ? names[0] : "tensor", shapes];
  else {
    lines = [node?.label || node?.op || "?", shapes];
    if (names.length) lines.push(names[0]);
  }
  return lines.map((s) => clip(String(s), limit));
}

/** The text lines of a collapsed module's box (nbtorch.viz.svg.module_lines). */
export function moduleLines(path, typeName, count, limit = 28) {
  return [clip(path || "(model)", limit), clip(typeName || "module", limit), `${count} nodes`];
}

/** Flags per node id, as CSS-safe words: "nan-origin" (anomaly mode saw the first NaN here),
 * "origin" (its value holds NaN/Inf while the values of all its inputs are known and finite: the
 * NaN/Inf was made here), "nonfinite", "nonfinite-grad" (NaN/Inf in the value / gradient) and
 * "inplace" (a tensor saved for its backward was modified in place: backward will fail). */
export function nodeFlags(graph) {
  const byId = indexNodes(graph);
  const raw = (n) => (Array.isArray(n?.flags) ? n.flags.map(String) : []);
  const inputs = new Map();
  for (const [src, dst] of graph?.edges ?? []) {
    if (!inputs.has(dst)) inputs.set(dst, []);
    inputs.get(dst).push(src);
  }
  const finite = (id) => {
    const n = byId.get(id);
    return n?.value != null && !raw(n).includes("nonfinite");
  };
  const out = new Map();
  for (const n of graph?.nodes ?? []) {
    const f = raw(n);
    const flags = [];
    if (f.includes("nan_origin")) flags.push("nan-origin");
    const bad = f.includes("nonfinite");
    if (bad && (inputs.get(n.id) ?? []).every(finite)) flags.push("origin");
    if (bad) flags.push("nonfinite");
    if (f.includes("nonfinite_grad")) flags.push("nonfinite-grad");
    if (f.includes("inplace_modified")) flags.push("inplace");
    if (flags.length) out.set(n.id, flags);
  }
  return out;
}

/** Ids of the nodes whose op, label, names or module contain `query`, ignoring case (as
 * GraphView.matches in Python). */
export function searchMatches(graph, query) {
  const q = String(query ?? "").trim().toLowerCase();
  const hits = new Set();
  if (!q) return hits;
  for (const n of graph?.nodes ?? []) {
    const fields = [n.op, n.label, n.module, ...(Array.isArray(n.names) ? n.names : [])];
    if (fields.some((f) => f != null && String(f).toLowerCase().includes(q))) hits.add(n.id);
  }
  return hits;
}

/** The module paths of a graph's nodes, with every ancestor ("a.b.c" gives a, a.b, a.b.c). */
export function allModulePaths(graph) {
  const paths = new Set();
  for (const n of graph?.nodes ?? []) {
    const parts = modulePath(n).split(".");
    for (let i = 1; i <= parts.length; i++) if (parts[i - 1]) paths.add(parts.slice(0, i).join("."));
  }
  return [...paths].sort();
}

/** Is `path` the module `ancestor` or inside it? */
export function within(path, ancestor) {
  return path === ancestor || path.startsWith(ancestor + ".");
}

/** Map node id -> the box drawn for it, from the layout's `members` (collapsed modules). */
export function boxOf(positions) {
  const box = new Map();
  for (const [key, ids] of Object.entries(positions?.members ?? {})) {
    for (const id of ids) box.set(id, key);
  }
  return box;
}

/** The collapsed set after expanding `path`: its direct submodules start collapsed in turn. */
export function expandPath(collapsed, path, allPaths) {
  const depth = path.split(".").length;
  const next = new Set(collapsed);
  next.delete(path);
  for (const p of allPaths) {
    if (within(p, path) && p.split(".").length === depth + 1) next.add(p);
  }
  return [...next].sort();
}

/** The collapsed set after collapsing `path` (anything collapsed inside it is forgotten). */
export function collapsePath(collapsed, path) {
  const next = [...new Set(collapsed)].filter((p) => !within(p, path));
  next.push(path);
  return next.sort();
}

// ---------------------------------------------------------------- geometry ------------------

/** A laid-out box ({x, y, width, height}: centre and size) as [left, top, width, height]. */
export function rectOf(p) {
  return [p.x - p.width / 2, p.y - p.height / 2, p.width, p.height];
}

/** Bounds {x0, y0, x1, y1} of the laid-out boxes (the drawing's own extent at least). */
export function bounds(positions) {
  let x0 = 0, y0 = 0;
  let x1 = positions?.width ?? 0, y1 = positions?.height ?? 0;
  for (const p of positions?.nodes ?? []) {
    const [x, y, w, h] = rectOf(p);
    x0 = Math.min(x0, x); y0 = Math.min(y0, y);
    x1 = Math.max(x1, x + w); y1 = Math.max(y1, y + h);
  }
  return { x0, y0, x1, y1 };
}

export function clampZoom(k) {
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, k));
}

/** The view {k, x, y} (screen = world * k + (x, y)) that fits `b` into a width × height area,
 * never magnifying beyond 1.5. */
export function fitView(b, width, height, pad = 16) {
  const bw = Math.max(b.x1 - b.x0, 1), bh = Math.max(b.y1 - b.y0, 1);
  const k = clampZoom(Math.min((width - 2 * pad) / bw, (height - 2 * pad) / bh, 1.5));
  return { k, x: (width - bw * k) / 2 - b.x0 * k, y: (height - bh * k) / 2 - b.y0 * k };
}

/** The view after zooming by `factor` about the screen point (px, py): that point stays put. */
export function zoomAt(view, factor, px, py) {
  const k = clampZoom(view.k * factor);
  const r = k / view.k;
  return { k, x: px - (px - view.x) * r, y: py - (py - view.y) * r };
}

/** The view after a drag of (dx, dy) screen pixels. */
export function panBy(view, dx, dy) {
  return { k: view.k, x: view.x + dx, y: view.y + dy };
}

/** The zoom factor of one wheel event (deltaMode 1 = lines, 2 = pages, 0 = pixels). */
export function wheelFactor(deltaY, deltaMode = 0) {
  const px = deltaY * (deltaMode === 1 ? 16 : deltaMode === 2 ? 400 : 1);
  return Math.exp(-Math.max(-500, Math.min(500, px)) * 0.0015);
}

/** The screen point of a world point, and back. */
export function toScreen(view, wx, wy) {
  return [wx * view.k + view.x, wy * view.k + view.y];
}
export function toWorld(view, sx, sy) {
  return [(sx - view.x) / view.k, (sy - view.y) / view.k];
}

/** The view that centres world point (wx, wy) in a width × height area, keeping the zoom. */
export function centerOn(view, wx, wy, width, height) {
  return { k: view.k, x: width / 2 - wx * view.k, y: height / 2 - wy * view.k };
}

const R = (v) => Math.round(v * 10) / 10;

/** An SVG path through a layout edge's polyline points [[x, y], ...]. */
export function edgePath(points) {
  if (!Array.isArray(points) || points.length < 2) return "";
  return points.map(([x, y], i) => `${i ? "L" : "M"}${R(x)},${R(y)}`).join(" ");
}

// ---------------------------------------------------------------- the scene -----------------

/** What to draw, as plain data, in drawing order: frames of expanded modules, edges, collapsed
 * module boxes, nodes. `positions` is GraphView's `positions` traitlet (nbtorch.viz.layout): its
 * `members` name the collapsed modules, so the scene always matches the layout it draws. Each
 * item has its rect (x, y: top left; w, h), CSS classes and text lines. */
export function buildScene(graph, positions) {
  const byId = indexNodes(graph);
  const flags = nodeFlags(graph);
  const modules = graph?.modules ?? {};
  const members = positions?.members ?? {};
  const nodes = [], boxes = [];
  const shut = Object.keys(members).map((k) => k.replace(/^module:/, ""));
  const extent = new Map();  // expanded module path -> [x0, y0, x1, y1] of its visible nodes
  for (const p of positions?.nodes ?? []) {
    const [x, y, w, h] = rectOf(p);
    const n = byId.get(p.id);
    if (n === undefined) {
      const path = String(p.id).replace(/^module:/, "");
      const ids = members[p.id] ?? [];
      const lit = ids.some((i) => flags.has(i));
      boxes.push({ key: String(p.id), path, x, y, w, h, count: ids.length,
                   cls: "nbt-module" + (lit ? " nbt-flagged" : ""),
                   lines: moduleLines(path, modules[path], ids.length) });
      continue;
    }
    const f = flags.get(n.id) ?? [];
    const kind = n.kind === "leaf" ? (n.param ? "param" : "leaf") : cssToken(n.kind);
    nodes.push({
      id: n.id, x, y, w, h, flags: f, lines: nodeLines(n),
      cls: ["nbt-node", `nbt-${kind}`, ...(f.length ? ["nbt-flagged"] : []),
            ...f.map((t) => `nbt-flag-${t}`)].join(" "),
    });
    const parts = modulePath(n).split(".");
    for (let i = 1; i <= parts.length; i++) {
      if (!parts[i - 1]) break;
      const path = parts.slice(0, i).join(".");
      if (shut.some((c) => within(path, c))) break;
      const e = extent.get(path);
      if (e) {
        e[0] = Math.min(e[0], x); e[1] = Math.min(e[1], y);
        e[2] = Math.max(e[2], x + w); e[3] = Math.max(e[3], y + h);
      } else extent.set(path, [x, y, x + w, y + h]);
    }
  }
  const frames = [];
  for (const [path, [x0, y0, x1, y1]] of [...extent].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const pad = 12 - 3 * Math.min(path.split(".").length - 1, 2);
    frames.push({ path, x: x0 - pad, y: y0 - pad, w: x1 - x0 + 2 * pad, h: y1 - y0 + 2 * pad,
                  label: `${clip(path, 24)} ▾`,
                  title: `${path} (${modules[path] ?? "module"}): click to collapse` });
  }
  const edges = [];
  for (const e of positions?.edges ?? []) {
    edges.push({ src: e.source, dst: e.target, d: edgePath(e.points) });
  }
  return { nodes, boxes, frames, edges, bounds: bounds(positions) };
}

function cssToken(v) {
  return String(v ?? "op").toLowerCase().replace(/[^a-z0-9_-]/g, "") || "op";
}

/** The baseline y of each text line of a box (as nbtorch.viz.svg draws them). */
export function lineOffsets(item) {
  return (item.lines ?? []).map((t, i) => [t, item.y + 16 + 15 * i]);
}

/** The scene as one standalone SVG document, every text escaped (tests; "save as SVG"). */
export function sceneToSvg(scene) {
  const b = scene.bounds;
  const out = [`<svg xmlns="${SVG_NS}" width="${Math.ceil(b.x1 - b.x0)}" ` +
               `height="${Math.ceil(b.y1 - b.y0)}" class="nbt-graph-svg">`];
  const texts = (item) => lineOffsets(item).map(([t, y]) =>
    `<text x="${R(item.x + item.w / 2)}" y="${R(y)}">${escapeXml(t)}</text>`).join("");
  const box = (item) => `<rect x="${R(item.x)}" y="${R(item.y)}" width="${R(item.w)}" height="${R(item.h)}"/>`;
  for (const f of scene.frames) {
    out.push(`<g class="nbt-frame" data-path="${escapeXml(f.path)}">${box(f)}` +
             `<text x="${R(f.x + 3)}" y="${R(f.y + 10)}">${escapeXml(f.label)}</text></g>`);
  }
  for (const e of scene.edges) {
    out.push(`<path class="nbt-edge" data-source="${escapeXml(e.src)}" ` +
             `data-target="${escapeXml(e.dst)}" d="${e.d}"/>`);
  }
  for (const m of scene.boxes) {
    out.push(`<g class="${m.cls}" data-id="${escapeXml(m.key)}">${box(m)}${texts(m)}</g>`);
  }
  for (const n of scene.nodes) {
    out.push(`<g class="${n.cls}" data-id="${escapeXml(n.id)}">${box(n)}${texts(n)}</g>`);
  }
  out.push("</svg>");
  return out.join("");
}

// ---------------------------------------------------------------- values -------------------

/** A float32 view of a binary buffer as widgets deliver it (DataView, ArrayBuffer or typed
 * array); copies only when the bytes are not 4-aligned. */
export function toFloat32(buf) {
  if (buf == null) return new Float32Array(0);
  if (buf instanceof Float32Array) return buf;
  let buffer, offset, length;
  if (buf instanceof ArrayBuffer) {
    buffer = buf; offset = 0; length = buf.byteLength;
  } else if (ArrayBuffer.isView(buf)) {
    buffer = buf.buffer; offset = buf.byteOffset; length = buf.byteLength;
  } else {
    return Float32Array.from(buf);
  }
  const n = Math.floor(length / 4);
  if (offset % 4 === 0) return new Float32Array(buffer, offset, n);
  return new Float32Array(buffer.slice(offset, offset + n * 4));
}

/** Summary of values: finite min/max/mean/std and counts of nan, +inf, -inf. */
export function stats(values) {
  let n = 0, sum = 0, sq = 0, lo = Infinity, hi = -Infinity, nan = 0, posinf = 0, neginf = 0;
  for (const v of values) {
    if (Number.isNaN(v)) { nan++; continue; }
    if (v === Infinity) { posinf++; continue; }
    if (v === -Infinity) { neginf++; continue; }
    n++; sum += v; sq += v * v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const mean = n ? sum / n : NaN;
  const std = n ? Math.sqrt(Math.max(sq / n - mean * mean, 0)) : NaN;
  return { count: n, min: n ? lo : NaN, max: n ? hi : NaN, mean, std, nan, posinf, neginf };
}

/** Histogram of the finite values in `bins` equal bins over [min, max] (a single value gets one
 * bin around it); non-finite values are counted apart. */
export function histogram(values, bins = 32) {
  const s = stats(values);
  const counts = new Array(bins).fill(0);
  let lo = s.min, hi = s.max;
  if (!s.count) { lo = 0; hi = 1; } else if (lo === hi) { lo -= 0.5; hi += 0.5; }
  const width = (hi - lo) / bins;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]++;
  }
  return { lo, hi, counts, nan: s.nan, posinf: s.posinf, neginf: s.neginf, total: values.length };
}

/** The colour scale [lo, hi] of values (as nbtorch.viz.svg._range): symmetric around 0 for
 * signed data, [min, max] otherwise, [0, 1] when nothing is finite. */
export function colorRange(values) {
  const s = stats(values);
  if (!s.count) return [0, 1];
  const lo = s.min, hi = s.max;
  if (lo < 0) {
    const big = Math.max(-lo, hi);
    return [-big, big];
  }
  return [lo, hi];
}

const WHITE = [255, 255, 255], BLUE = [33, 102, 172], RED = [178, 24, 43], BAD = [224, 49, 140];

/** RGB of v on the heatmaps' scale (as nbtorch.viz.svg.colour): blue-white-red around 0 when
 * lo < 0, white to blue otherwise; NaN and ±Inf magenta. */
export function colorFor(v, lo, hi) {
  if (!Number.isFinite(v)) return [...BAD];
  let to, t;
  if (lo < 0) {
    t = Math.max(-1, Math.min(1, v / (hi || 1)));
    to = t >= 0 ? RED : BLUE;
    t = Math.abs(t);
  } else {
    t = Math.max(0, Math.min(1, (v - lo) / ((hi - lo) || 1)));
    to = BLUE;
  }
  return WHITE.map((w, k) => Math.round(w + (to[k] - w) * t));
}

/** RGBA pixels (row-major, rows × cols) of a heatmap of `values`. */
export function heatmapPixels(values, rows, cols) {
  const [lo, hi] = colorRange(values);
  const px = new Uint8ClampedArray(rows * cols * 4);
  for (let i = 0; i < rows * cols; i++) {
    const [r, g, b] = colorFor(i < values.length ? values[i] : NaN, lo, hi);
    px[4 * i] = r; px[4 * i + 1] = g; px[4 * i + 2] = b; px[4 * i + 3] = 255;
  }
  return px;
}

/** The bars of a histogram drawn in a width × height box: [x, y, w, h] per non-empty bin. */
export function histogramBars(hist, width, height) {
  const top = Math.max(1, ...hist.counts);
  const bw = width / hist.counts.length;
  const bars = [];
  hist.counts.forEach((c, i) => {
    if (!c) return;
    const h = Math.max(1, (c / top) * (height - 1));
    bars.push([i * bw, height - h, Math.max(bw - 1, 1), h]);
  });
  return bars;
}

/** A number for display: 4 significant digits, "nan"/"inf" spelled as numpy does. */
export function fmt(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v !== "number") return String(v);
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

/** The rows of the details panel of a node: [label, text] pairs, all plain text. `flags` are
 * the node's words from nodeFlags; `reply` the kernel's answer with fresh statistics. */
export function detailRows(node, flags = [], reply = null) {
  if (!node) return [];
  const rows = [["node", `${node.id}: ${node.op ?? ""} (${node.kind ?? ""})`]];
  if (Array.isArray(node.names) && node.names.length) rows.push(["names", node.names.join(", ")]);
  if (node.module !== null && node.module !== undefined) rows.push(["module", node.module || "(model)"]);
  const shapes = (node.shapes?.length ? node.shapes : [null]).map(SHAPE);
  rows.push(["shape", shapes.join(" ")]);
  rows.push(["dtype", String(node.dtype ?? "?")], ["device", String(node.device ?? "?")]);
  for (const f of flags) rows.push(["flag", flagText(f)]);
  for (const which of ["value", "grad"]) {
    const st = reply?.[which]?.stats ?? node[which];
    if (st && typeof st === "object") rows.push([which, statsText(st)]);
  }
  return rows;
}

export function flagText(flag) {
  return {
    "nan-origin": "anomaly mode: the first NaN appeared here",
    origin: "NaN/Inf is made here (the values of its inputs are finite)",
    nonfinite: "its value holds NaN or Inf",
    "nonfinite-grad": "its gradient holds NaN or Inf",
    inplace: "a tensor saved for its backward was modified in place: backward will fail",
  }[flag] ?? String(flag);
}

/** One line of statistics (a summary of nbtorch.viz.graph.summarize). */
export function statsText(st) {
  const parts = [];
  for (const k of ["mean", "std", "min", "max", "norm"]) {
    if (st[k] !== undefined && st[k] !== null) parts.push(`${k} ${fmt(st[k])}`);
  }
  if (!parts.length) parts.push("no finite values");
  for (const k of ["nan", "inf"]) if (st[k]) parts.push(`${k}×${st[k]}`);
  return parts.join("  ");
}

// ---------------------------------------------------------------- DOM (browser only) --------

const FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";  // as nbtorch.viz.svg
const CSS = `
.nbt-gv { font: 12px system-ui, sans-serif; color: #212529; }
.nbt-gv-bar { display: flex; gap: 6px; align-items: center; margin-bottom: 4px; flex-wrap: wrap; }
.nbt-gv-bar input[type=search] { width: 200px; }
.nbt-gv-main { display: flex; gap: 8px; align-items: flex-start; }
.nbt-gv-svg { border: 1px solid #dee2e6; background: #fff; cursor: grab; touch-action: none;
  user-select: none; flex: 1 1 auto; min-width: 0; font-family: ${FONT}; font-size: 12px; }
.nbt-gv-svg.nbt-dragging { cursor: grabbing; }
.nbt-gv-svg text { text-anchor: middle; fill: #495057; pointer-events: none; }
.nbt-gv-svg .nbt-t0 { fill: #212529; font-weight: bold; }
.nbt-node, .nbt-module, .nbt-frame text { cursor: pointer; }
.nbt-node rect { fill: #f1f3f5; stroke: #495057; stroke-width: 1.2; }
.nbt-output rect { fill: #fff3bf; stroke: #e67700; stroke-width: 2.5; }
.nbt-leaf rect { fill: #d0ebff; stroke: #1971c2; }
.nbt-param rect { fill: #d3f9d8; stroke: #2f9e44; }
.nbt-module rect { fill: #f8f0fc; stroke: #9c36b5; stroke-width: 1.2; stroke-dasharray: 5 3; }
.nbt-flagged rect { fill: #ffe3e3; stroke: #e03131; stroke-width: 2.5; }
.nbt-flag-origin rect, .nbt-flag-nan-origin rect { stroke-width: 4; }
.nbt-flag-inplace rect { stroke: #e8590c; stroke-dasharray: 6 3; }
.nbt-frame rect { fill: none; stroke: #d0bfff; stroke-dasharray: 3 3; }
.nbt-gv-svg .nbt-frame text { text-anchor: start; font-size: 10px; fill: #9c36b5;
  pointer-events: auto; font-weight: normal; }
.nbt-edge { fill: none; stroke: #868e96; stroke-width: 1.5; }
.nbt-edge.nbt-incident { stroke: #212529; stroke-width: 2.5; }
.nbt-match rect { stroke: #f59f00; stroke-width: 4; }
.nbt-selected rect { stroke: #212529; stroke-width: 3.5; }
.nbt-gv-details { width: 270px; flex: 0 0 270px; overflow-wrap: anywhere; }
.nbt-gv-details table { border-collapse: collapse; }
.nbt-gv-details td { padding: 1px 4px; vertical-align: top; }
.nbt-gv-details td:first-child { color: #868e96; white-space: nowrap; }
.nbt-gv-details canvas { border: 1px solid #dee2e6; image-rendering: pixelated; display: block;
  margin: 2px 0 6px; }
.nbt-gv-note, .nbt-gv-status { color: #868e96; font-size: 11px; }
`;

let viewCount = 0;  // marker ids must be unique in the page: several views may be shown

function htmlEl(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function boxEl(item, cls, id, rx) {
  const g = svgEl("g", { class: cls, "data-id": id });
  g.appendChild(svgEl("rect", { x: R(item.x), y: R(item.y), width: R(item.w), height: R(item.h), rx }));
  const cx = R(item.x + item.w / 2);
  lineOffsets(item).forEach(([t, y], i) => {
    const text = svgEl("text", i ? { x: cx, y: R(y) } : { x: cx, y: R(y), class: "nbt-t0" });
    text.textContent = t;  // text, never markup
    g.appendChild(text);
  });
  return g;
}

/** Builds the scene's DOM in one pass, in one fragment; returns the element maps for updates. */
function drawScene(viewport, scene, arrowId) {
  const frag = document.createDocumentFragment();
  const nodeEls = new Map(), edgeEls = [];
  const frames = svgEl("g", { class: "nbt-frames" });
  for (const f of scene.frames) {
    const g = svgEl("g", { class: "nbt-frame", "data-path": f.path });
    g.appendChild(svgEl("rect", { x: R(f.x), y: R(f.y), width: R(f.w), height: R(f.h), rx: 8 }));
    const t = svgEl("text", { x: R(f.x + 3), y: R(f.y + 10) });
    t.textContent = f.label;
    const tip = svgEl("title", {});
    tip.textContent = f.title;
    t.appendChild(tip);
    g.appendChild(t);
    frames.appendChild(g);
  }
  const edges = svgEl("g", { class: "nbt-edges", "marker-end": `url(#${arrowId})` });
  for (const e of scene.edges) {
    const p = svgEl("path", { class: "nbt-edge", d: e.d, "data-source": e.src, "data-target": e.dst });
    edgeEls.push([e, p]);
    edges.appendChild(p);
  }
  const boxes = svgEl("g", { class: "nbt-modules" });
  for (const m of scene.boxes) {
    const g = boxEl(m, m.cls, m.key, 8);
    g.setAttribute("data-path", m.path);
    nodeEls.set(m.key, g);
    boxes.appendChild(g);
  }
  const nodes = svgEl("g", { class: "nbt-nodes" });
  for (const n of scene.nodes) {
    const g = boxEl(n, n.cls, n.id, n.cls.includes("nbt-leaf") || n.cls.includes("nbt-param") ? n.h / 2 : 6);
    nodeEls.set(n.id, g);
    nodes.appendChild(g);
  }
  frag.append(frames, edges, boxes, nodes);
  viewport.replaceChildren(frag);
  return { nodeEls, edgeEls };
}

function drawHeatmap(canvas, values, shape) {
  const [rows, cols] = shape.length >= 2 ? shape.slice(-2) : [1, values.length];
  const scale = Math.max(1, Math.floor(Math.min(256 / Math.max(cols, 1), 160 / Math.max(rows, 1))));
  canvas.width = Math.max(cols, 1);
  canvas.height = Math.max(rows, 1);
  canvas.style.width = `${canvas.width * scale}px`;
  canvas.style.height = `${canvas.height * scale}px`;
  const ctx = canvas.getContext("2d");
  if (!ctx || !rows || !cols) return;
  ctx.putImageData(new ImageData(heatmapPixels(values, rows, cols), cols, rows), 0, 0);
}

function drawHistogram(canvas, values) {
  canvas.width = 256;
  canvas.height = 84;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const hist = histogram(values, 32);
  ctx.fillStyle = "#1c7ed6";
  for (const [x, y, w, h] of histogramBars(hist, 256, 70)) ctx.fillRect(x, y, w, h);
  ctx.fillStyle = "#495057";
  ctx.font = "10px sans-serif";
  ctx.fillText(fmt(hist.lo), 1, 82);
  const hi = fmt(hist.hi);
  ctx.fillText(hi, 255 - ctx.measureText(hi).width, 82);
}

function render({ model, el }) {
  const arrowId = `nbt-gv-arrow-${++viewCount}`;
  const root = htmlEl("div", "nbt-gv");
  const bar = htmlEl("div", "nbt-gv-bar");
  const search = htmlEl("input", "nbt-gv-search");
  search.type = "search";
  search.placeholder = "search: name, op, module";
  const hits = htmlEl("span", "nbt-gv-hits", "");
  const fit = htmlEl("button", "nbt-gv-fit", "fit");
  const expandAll = htmlEl("button", "nbt-gv-expand", "expand all");
  const collapseAll = htmlEl("button", "nbt-gv-collapse", "collapse modules");
  const liveLabel = htmlEl("label", "nbt-gv-live");
  const live = htmlEl("input");
  live.type = "checkbox";
  liveLabel.append(live, " live");
  const status = htmlEl("span", "nbt-gv-status", "");
  bar.append(search, hits, fit, expandAll, collapseAll, liveLabel, status);

  const svg = svgEl("svg", { class: "nbt-gv-svg", "data-testid": "nbt-graph" });
  svg.style.width = "100%";
  const defs = svgEl("defs", {});
  const marker = svgEl("marker", { id: arrowId, viewBox: "0 0 10 10", refX: 9, refY: 5,
                                   markerWidth: 10, markerHeight: 10, markerUnits: "userSpaceOnUse",
                                   orient: "auto-start-reverse" });
  marker.appendChild(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#868e96" }));
  defs.appendChild(marker);
  const viewport = svgEl("g", { class: "nbt-viewport" });
  svg.append(defs, viewport);
  const details = htmlEl("div", "nbt-gv-details");
  const main = htmlEl("div", "nbt-gv-main");
  main.append(svg, details);
  root.append(htmlEl("style", null, CSS), bar, main);
  el.appendChild(root);

  let graph = {}, positions = {}, scene = null, flags = new Map();
  let view = { k: 1, x: 0, y: 0 }, moved = false;
  let els = { nodeEls: new Map(), edgeEls: [] };
  let selected = null, selectedOp = null, reply = null, matches = new Set(), cursor = -1;

  const width = () => svg.clientWidth || 800;
  const height = () => model.get("height") || 520;
  const applyView = () => viewport.setAttribute("transform", `translate(${R(view.x)},${R(view.y)}) scale(${view.k})`);
  const refit = () => { view = fitView(bounds(positions), width(), height()); applyView(); };

  const redraw = () => {
    const t0 = performance.now();
    graph = model.get("graph") ?? {};
    positions = model.get("positions") ?? {};
    flags = nodeFlags(graph);
    const byId = indexNodes(graph);
    if (selected !== null && byId.get(selected)?.op !== selectedOp) { selected = null; reply = null; }
    const modular = allModulePaths(graph).length > 0;
    expandAll.hidden = collapseAll.hidden = !modular;
    svg.setAttribute("height", height());
    scene = buildScene(graph, positions);
    els = drawScene(viewport, scene, arrowId);
    matches = searchMatches(graph, search.value);
    if (!moved) refit(); else applyView();
    highlight();
    showDetails();
    const ms = performance.now() - t0;
    svg.setAttribute("data-render-ms", ms.toFixed(1));
    svg.setAttribute("data-nodes", String(scene.nodes.length));
    status.textContent = `${graph.nodes?.length ?? 0} nodes, ${graph.edges?.length ?? 0} edges` +
      (scene.boxes.length ? `, ${scene.boxes.length} collapsed modules` : "") +
      (flags.size ? `, ${flags.size} flagged` : "");
  };
  let queued = false;
  const schedule = () => {  // graph and positions change together: draw once
    if (queued) return;
    queued = true;
    queueMicrotask(() => { queued = false; redraw(); });
  };

  const highlight = () => {
    const boxes = boxOf(positions);
    const lit = new Set();
    for (const id of matches) lit.add(boxes.get(id) ?? id);
    for (const [key, g] of els.nodeEls) {
      g.classList.toggle("nbt-match", lit.has(key));
      g.classList.toggle("nbt-selected", key === selected);
    }
    for (const [e, p] of els.edgeEls) {
      p.classList.toggle("nbt-incident", selected !== null && (e.src === selected || e.dst === selected));
    }
    const q = search.value.trim();
    hits.textContent = q ? `${matches.size} match${matches.size === 1 ? "" : "es"}` : "";
  };

  const showDetails = () => {
    details.replaceChildren();
    const node = selected === null ? null : indexNodes(graph).get(selected);
    if (!node) {
      details.appendChild(htmlEl("div", "nbt-gv-note", "click a node for its details; drag to pan, wheel to zoom"));
      return;
    }
    const answer = reply?.id === selected ? reply : null;
    const table = htmlEl("table");
    for (const [k, v] of detailRows(node, flags.get(node.id) ?? [], answer)) {
      const tr = htmlEl("tr");
      tr.append(htmlEl("td", null, k), htmlEl("td", null, v));
      table.appendChild(tr);
    }
    details.appendChild(table);
    if (modulePath(node)) {
      const b = htmlEl("button", "nbt-gv-collapse-module", `collapse ${clip(modulePath(node).split(".")[0], 20)}`);
      b.addEventListener("click", () => setCollapsed(collapsePath(model.get("collapsed") ?? [], modulePath(node).split(".")[0])));
      details.appendChild(b);
    }
    if (!answer) {
      details.appendChild(htmlEl("div", "nbt-gv-note", "loading values…"));
      return;
    }
    for (const which of ["value", "grad"]) {
      const part = answer[which];
      if (!part) {
        details.appendChild(htmlEl("div", "nbt-gv-note", `${which}: ${answer[`${which}_note`] ?? "not available"}`));
        continue;
      }
      const shape = (part.full_shape ?? []).join("×") || "scalar";
      details.appendChild(htmlEl("div", null, `${which} ${shape}${part.downsampled ? " (downsampled)" : ""}`));
      const canvas = htmlEl("canvas", `nbt-gv-${which}`);
      canvas.setAttribute("data-kind", part.kind);
      if (part.kind === "heatmap") drawHeatmap(canvas, part.values, part.shape ?? []);
      else drawHistogram(canvas, part.values);
      details.appendChild(canvas);
    }
  };

  const select = (id) => {
    selected = id;
    selectedOp = id === null ? null : indexNodes(graph).get(id)?.op ?? null;
    reply = null;
    highlight();
    showDetails();
    if (id !== null) model.send({ type: "request", id });
  };

  const setCollapsed = (next) => {
    model.set("collapsed", next);
    model.save_changes();
  };

  // ---- pan, zoom, click
  let drag = null;
  svg.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, moved: false, target: ev.target };
    svg.setPointerCapture?.(ev.pointerId);
  });
  svg.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = moved = true;
    svg.classList.add("nbt-dragging");
    view = panBy(view, dx, dy);
    drag.x = ev.clientX; drag.y = ev.clientY;
    applyView();
  });
  const endDrag = (ev) => {
    if (!drag) return;
    const { moved: dragged, target } = drag;
    drag = null;
    svg.classList.remove("nbt-dragging");
    if (svg.hasPointerCapture?.(ev.pointerId)) svg.releasePointerCapture(ev.pointerId);
    if (!dragged && ev.type === "pointerup") onClick(target);
  };
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    view = zoomAt(view, wheelFactor(ev.deltaY, ev.deltaMode), ev.clientX - r.left, ev.clientY - r.top);
    moved = true;
    applyView();
  }, { passive: false });

  const onClick = (target) => {
    const g = target?.closest?.(".nbt-node, .nbt-module, .nbt-frame");
    if (!g) return select(null);
    if (g.classList.contains("nbt-node")) return select(Number(g.getAttribute("data-id")));
    const path = g.getAttribute("data-path") ?? "";
    const collapsed = model.get("collapsed") ?? [];
    if (g.classList.contains("nbt-module")) setCollapsed(expandPath(collapsed, path, allModulePaths(graph)));
    else setCollapsed(collapsePath(collapsed, path));
  };

  // ---- toolbar
  const onSearch = () => {
    matches = searchMatches(graph, search.value);
    cursor = -1;
    highlight();
  };
  search.addEventListener("input", () => {
    onSearch();
    model.set("query", search.value);
    model.save_changes();
  });
  search.addEventListener("keydown", (ev) => {  // Enter: centre the next match
    if (ev.key !== "Enter" || !matches.size) return;
    const ids = [...matches];
    cursor = (cursor + 1) % ids.length;
    const key = boxOf(positions).get(ids[cursor]) ?? ids[cursor];
    const p = (positions.nodes ?? []).find((q) => q.id === key);
    if (!p) return;
    view = centerOn(view, p.x, p.y, width(), height());
    moved = true;
    applyView();
  });
  fit.addEventListener("click", () => { moved = false; refit(); });
  expandAll.addEventListener("click", () => setCollapsed([]));
  collapseAll.addEventListener("click", () => setCollapsed(allModulePaths(graph).filter((p) => !p.includes("."))));
  live.addEventListener("change", () => {
    model.set("recording", live.checked);
    model.save_changes();
  });

  // ---- kernel -> page
  const onQuery = () => {
    if (search.value !== model.get("query")) { search.value = model.get("query") ?? ""; onSearch(); }
  };
  const onRecording = () => { live.checked = !!model.get("recording"); };
  const onMsg = (msg, buffers) => {
    if (!msg || typeof msg !== "object" || msg.type !== "arrays" || msg.id !== selected) return;
    const r = { id: msg.id, value_note: msg.value_note, grad_note: msg.grad_note };
    for (const which of ["value", "grad"]) {
      const part = msg[which];
      if (part && Number.isInteger(part.buffer) && buffers?.[part.buffer]) {
        r[which] = { ...part, values: toFloat32(buffers[part.buffer]) };
      }
    }
    reply = r;
    showDetails();
  };
  const changes = ["change:graph", "change:positions", "change:height"];
  for (const c of changes) model.on(c, schedule);
  model.on("change:query", onQuery);
  model.on("change:recording", onRecording);
  model.on("msg:custom", onMsg);
  search.value = model.get("query") ?? "";
  onRecording();
  redraw();
  // The element has no width until it is attached to the page: fit again once it has.
  globalThis.requestAnimationFrame?.(() => { if (!moved) refit(); });
  return () => {
    for (const c of changes) model.off(c, schedule);
    model.off("change:query", onQuery);
    model.off("change:recording", onRecording);
    model.off("msg:custom", onMsg);
  };
}

export default { render };

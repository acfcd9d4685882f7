// TrainingMonitor's front end (Python side: nbtorch/viz/monitor.py).
//
// One SVG per panel (a panel per metric group: train_loss and val_loss share "loss"), built once
// and updated in place: each push changes the `d` of existing paths, so nothing flickers.  Redraws
// are coalesced to one per animation frame.  Points arrive as float32 buffers: a base
// (steps/values) and a tail (tail_steps/tail_values), series by series as `series` describes.
//
// The pure functions below are exported for node's test runner (extensions/tests/); the Python
// side has the same ones in nbtorch/viz/_charts.py, and fixtures written by the Python tests keep
// the two in step.  Every label is set with textContent (metric names are user input).

import { NS, fmt, toF32 } from "./_shared.js";
export { fmt, toF32 } from "./_shared.js";

const PALETTE = ["#3b6fd4", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#c2255c", "#5c940d"];
const PANEL_W = 340, PANEL_H = 210;

// ---------------------------------------------------------------- pure functions (tested in node)

const round12 = (v) => Number(v.toPrecision(12));

export function niceTicks(lo, hi, count = 5) {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = Math.abs(lo) * 0.1 || 1.0;
    lo -= pad; hi += pad;
  }
  const raw = (hi - lo) / Math.max(count, 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const err = raw / mag;
  const step = (err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1) * mag;
  const first = Math.ceil(lo / step - 1e-9), last = Math.floor(hi / step + 1e-9);
  const out = [];
  for (let i = first; i <= last; i++) out.push(round12(i * step));
  return out;
}

export function logTicks(lo, hi, count = 6) {
  if (!(lo > 0 && hi > 0 && Number.isFinite(lo) && Number.isFinite(hi))) return [];
  const a = Math.floor(Math.log10(Math.min(lo, hi)));
  let b = Math.ceil(Math.log10(Math.max(lo, hi)));
  if (a === b) b += 1;
  const every = Math.max(1, Math.ceil((b - a + 1) / count));
  const out = [];
  for (let k = a; k <= b; k++) if ((k - a) % every === 0) out.push(round12(10 ** k));
  return out;
}

// TensorBoard's smoothing: an exponential moving average debiased so it starts at the data.
export function ema(values, weight) {
  const out = new Float64Array(values.length);
  let last = 0, n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) { out[i] = v; continue; }
    last = last * weight + (1 - weight) * v;
    n += 1;
    out[i] = last / (weight === 1 ? 1 : 1 - weight ** n);
  }
  return out;
}

const VAL = /^(val|valid|validation|test|eval)([_\-/ .]|$)|[_\-/ .](val|valid|validation|test|eval)$/i;
const AFFIX = /^(train|training|val|valid|validation|test|eval)[_\-/ .]+|[_\-/ .]+(train|training|val|valid|validation|test|eval)$/gi;

export function metricKind(name) { return VAL.test(name) ? "val" : "train"; }
export function metricGroup(name) { return name.replace(AFFIX, "") || name; }

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.floor(seconds + 0.5);
  const pad = (x) => String(x).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor((s % 86400) / 3600))}h`;
}

// Steps first..step are done (both included) of `total`; null until the rate is known.
export function etaSeconds(step, firstStep, elapsed, total) {
  if (total === null || total === undefined || step === null || step === undefined
      || firstStep === null || firstStep === undefined || !elapsed || elapsed <= 0) return null;
  const done = step - firstStep + 1;
  if (done <= 1) return null;
  return Math.max(total - done, 0) / ((done - 1) / elapsed);
}

const fmtStep = (s) => (Number.isInteger(s) ? String(s) : String(Number(s.toPrecision(6))));

// The header line, "41 / 100 steps (41%) · 3s elapsed · ETA 4s", as Python's progress_text:
// with a total it counts the steps logged so far, so range(100)'s last step reads 100 / 100.
export function progressText(status, total) {
  if (!status || status.step === null || status.step === undefined) return "waiting for the first log";
  let head;
  if (total) {
    const done = Math.min(status.step - status.first_step + 1, total);  // also logged: a step 0
    head = `${fmtStep(done)} / ${total} steps (${Math.floor((done / total) * 100)}%)`;
  } else {
    head = `step ${fmtStep(status.step)}`;
  }
  const parts = [head, `${formatDuration(status.elapsed)} elapsed`];
  if (total && !status.done) {
    parts.push(`ETA ${formatDuration(etaSeconds(status.step, status.first_step, status.elapsed, total))}`);
  }
  if (status.done) parts.push("done");
  return parts.join(" · ");
}

// The series the traits describe, base and tail joined: [{name, kind, group, steps, values}].
export function seriesFromState(state) {
  const st = toF32(state.steps), va = toF32(state.values);
  const ts = toF32(state.tail_steps), tv = toF32(state.tail_values);
  const out = [];
  let off = 0, toff = 0;
  for (const m of state.series || []) {
    const n = Math.max(0, Math.min(m.n, st.length - off, va.length - off));
    const tn = Math.max(0, Math.min(m.tail_n, ts.length - toff, tv.length - toff));
    const steps = new Float64Array(n + tn), values = new Float64Array(n + tn);
    steps.set(st.subarray(off, off + n)); values.set(va.subarray(off, off + n));
    steps.set(ts.subarray(toff, toff + tn), n); values.set(tv.subarray(toff, toff + tn), n);
    off += m.n; toff += m.tail_n;
    out.push({ name: String(m.name), kind: m.kind, group: String(m.group), steps, values });
  }
  return out;
}

// Panels in order of first appearance: [{group, series: [{...series, color}]}].
export function panelsOf(series) {
  const panels = new Map();
  series.forEach((s, i) => {
    if (!panels.has(s.group)) panels.set(s.group, []);
    panels.get(s.group).push({ ...s, color: PALETTE[i % PALETTE.length] });
  });
  return [...panels].map(([group, list]) => ({ group, series: list }));
}

// At most ~2 points per pixel column: keep each bucket's min and max (in x order), so spikes stay.
export function decimate(xs, ys, buckets) {
  const n = xs.length;
  if (n <= 2 * buckets) return [xs, ys];
  const ox = [], oy = [];
  for (let b = 0; b < buckets; b++) {
    const i0 = Math.floor((b * n) / buckets), i1 = Math.floor(((b + 1) * n) / buckets);
    let lo = -1, hi = -1;
    for (let i = i0; i < i1; i++) {
      if (!Number.isFinite(ys[i])) continue;
      if (lo < 0 || ys[i] < ys[lo]) lo = i;
      if (hi < 0 || ys[i] > ys[hi]) hi = i;
    }
    for (const i of lo < 0 ? [] : lo === hi ? [lo] : lo < hi ? [lo, hi] : [hi, lo]) {
      ox.push(xs[i]); oy.push(ys[i]);
    }
  }
  return [ox, oy];
}

// The y range and ticks of a panel: finite values (positive ones on a log scale).
export function yAxis(series, logScale) {
  let lo = Infinity, hi = -Infinity;
  for (const s of series) {
    for (const v of s.values) {
      if (!Number.isFinite(v) || (logScale && v <= 0)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo > hi) return null;
  const ticks = logScale ? logTicks(lo, hi) : niceTicks(lo, hi);
  return { lo: Math.min(lo, ticks[0]), hi: Math.max(hi, ticks[ticks.length - 1]), ticks };
}

// An SVG path through the points, broken at the ones that cannot be drawn.
export function pathData(xs, ys, fx, fy, logScale) {
  let d = "", pen = false;
  for (let i = 0; i < xs.length; i++) {
    const v = ys[i];
    if (!Number.isFinite(v) || (logScale && v <= 0)) { pen = false; continue; }
    d += `${pen ? "L" : "M"}${fx(xs[i]).toFixed(1)},${fy(v).toFixed(1)}`;
    pen = true;
  }
  return d;
}

// ---------------------------------------------------------------- DOM

function el(tag, attrs = {}, ns = NS) {
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function makePanel(group) {
  const svg = el("svg", { width: PANEL_W, height: PANEL_H, class: "nbt-panel", viewBox: `0 0 ${PANEL_W} ${PANEL_H}` });
  svg.dataset.group = group;
  svg.append(el("rect", { x: 0.5, y: 0.5, width: PANEL_W - 1, height: PANEL_H - 1, fill: "#fff", stroke: "#ddd" }));
  const title = el("text", { x: 6, y: 14, "font-size": 12, "font-weight": "bold", "font-family": "sans-serif" });
  title.textContent = group;
  const grid = el("g", { class: "nbt-grid" });
  const curves = el("g", { class: "nbt-curves" });
  const legend = el("g", { class: "nbt-legend" });
  svg.append(title, grid, curves, legend);
  return { svg, grid, curves, legend, lines: new Map() };
}

function lineFor(panel, s) {
  let line = panel.lines.get(s.name);
  if (!line) {
    const raw = el("path", { fill: "none", "stroke-width": 1, "stroke-opacity": 0.25, class: "nbt-raw" });
    const smooth = el("path", { fill: "none", "stroke-width": 2, "stroke-linejoin": "round", class: "nbt-curve" });
    smooth.dataset.metric = s.name;
    const markers = el("g", { class: "nbt-markers" });
    const key = el("line", { "stroke-width": 2 });
    const label = el("text", { "font-size": 10, "font-family": "sans-serif", fill: "#333" });
    panel.curves.append(raw, smooth, markers);
    panel.legend.append(key, label);
    line = { raw, smooth, markers, key, label };
    panel.lines.set(s.name, line);
  }
  for (const node of [line.raw, line.smooth, line.key]) node.setAttribute("stroke", s.color);
  const dash = s.kind === "val" ? "5 3" : "none";
  line.smooth.setAttribute("stroke-dasharray", dash);
  line.key.setAttribute("stroke-dasharray", dash);
  return line;
}

// The legend sits in the panel's title row, right-aligned, so it never covers a curve.
function layoutLegend(panel, series) {
  let x = PANEL_W - 8;
  for (let i = series.length - 1; i >= 0; i--) {
    const line = panel.lines.get(series[i].name);
    line.label.setAttribute("text-anchor", "end");
    line.label.setAttribute("x", x);
    line.label.setAttribute("y", 14);
    let width = 6 * line.label.textContent.length;
    try { width = line.label.getComputedTextLength() || width; } catch { /* not rendered yet */ }
    for (const [k, v] of Object.entries({ x1: x - width - 18, x2: x - width - 4, y1: 10, y2: 10 })) line.key.setAttribute(k, v);
    x -= width + 26;
  }
}

function drawPanel(panel, series, logScale, smoothing) {
  const left = 48, right = PANEL_W - 10, top = 22, bottom = PANEL_H - 22;
  const axis = yAxis(series, logScale);
  panel.grid.replaceChildren();  // a handful of tick elements; the curves are updated in place
  let xlo = Infinity, xhi = -Infinity;
  for (const s of series) if (s.steps.length) { xlo = Math.min(xlo, s.steps[0]); xhi = Math.max(xhi, s.steps[s.steps.length - 1]); }
  if (!axis || !(xlo <= xhi)) {
    const t = el("text", { x: (left + right) / 2, y: (top + bottom) / 2, "text-anchor": "middle", "font-size": 11, fill: "#999", "font-family": "sans-serif" });
    t.textContent = "no data yet";
    panel.grid.append(t);
    for (const line of panel.lines.values()) { line.raw.setAttribute("d", ""); line.smooth.setAttribute("d", ""); line.markers.replaceChildren(); }
    return;
  }
  if (xhi === xlo) { xlo -= 1; xhi += 1; }
  const l10 = Math.log10;
  const fy = logScale
    ? (v) => bottom - ((l10(v) - l10(axis.lo)) / (l10(axis.hi) - l10(axis.lo))) * (bottom - top)
    : (v) => bottom - ((v - axis.lo) / (axis.hi - axis.lo)) * (bottom - top);
  const fx = (s) => left + ((s - xlo) / (xhi - xlo)) * (right - left);
  for (const t of axis.ticks) {
    const y = fy(t).toFixed(1);
    panel.grid.append(el("line", { x1: left, x2: right, y1: y, y2: y, stroke: "#eee" }));
    const label = el("text", { x: left - 4, y: Number(y) + 4, "text-anchor": "end", "font-size": 10, fill: "#666", "font-family": "sans-serif" });
    label.textContent = fmt(t);
    panel.grid.append(label);
  }
  for (const t of niceTicks(xlo, xhi, 4)) {
    const label = el("text", { x: fx(t).toFixed(1), y: bottom + 14, "text-anchor": "middle", "font-size": 10, fill: "#666", "font-family": "sans-serif" });
    label.textContent = fmt(t);
    panel.grid.append(label);
  }
  const buckets = right - left;
  series.forEach((s, i) => {
    const line = lineFor(panel, s);
    const smooth = smoothing > 0 ? ema(s.values, smoothing) : s.values;
    const [rx, ry] = decimate(s.steps, s.values, buckets);
    const [sx, sy] = decimate(s.steps, smooth, buckets);
    line.raw.setAttribute("d", smoothing > 0 ? pathData(rx, ry, fx, fy, logScale) : "");
    line.smooth.setAttribute("d", pathData(sx, sy, fx, fy, logScale));
    line.smooth.dataset.n = String(s.steps.length);
    line.markers.replaceChildren();
    if (s.kind === "val" && s.steps.length <= 60) {
      for (let k = 0; k < s.steps.length; k++) {
        const v = smooth[k];
        if (!Number.isFinite(v) || (logScale && v <= 0)) continue;
        line.markers.append(el("circle", { cx: fx(s.steps[k]).toFixed(1), cy: fy(v).toFixed(1), r: 2.5, fill: s.color }));
      }
    }
    let last = NaN;
    for (let k = s.values.length - 1; k >= 0; k--) if (Number.isFinite(s.values[k])) { last = s.values[k]; break; }
    line.label.textContent = `${s.name} ${Number.isNaN(last) ? "–" : fmt(last)}`;
  });
  layoutLegend(panel, series);
}

function render({ model, el: host }) {
  const root = el("div", { class: "nbt-monitor" }, null);
  root.style.cssText = "font-family: sans-serif; font-size: 12px; color: #222;";
  const header = el("div", { class: "nbt-header" }, null);
  header.style.cssText = "display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin-bottom: 4px;";
  const title = el("b", { class: "nbt-title" }, null);
  const progress = el("span", { class: "nbt-progress" }, null);
  const smoothLabel = el("label", {}, null);
  const slider = el("input", { type: "range", min: 0, max: 0.99, step: 0.01, class: "nbt-smoothing" }, null);
  smoothLabel.append("smoothing ", slider);
  const logLabel = el("label", {}, null);
  const logBox = el("input", { type: "checkbox", class: "nbt-log-scale" }, null);
  logLabel.append(logBox, " log scale");
  header.append(title, progress, smoothLabel, logLabel);
  const bar = el("div", { class: "nbt-bar" }, null);
  bar.style.cssText = "height: 4px; background: #eee; margin-bottom: 6px;";
  const fill = el("div", {}, null);
  fill.style.cssText = "height: 100%; width: 0; background: #3b6fd4; transition: width 0.1s;";
  bar.append(fill);
  const panelsBox = el("div", { class: "nbt-panels" }, null);
  panelsBox.style.cssText = "display: flex; flex-wrap: wrap; gap: 8px;";
  root.append(header, bar, panelsBox);
  host.append(root);

  const panels = new Map();
  let frame = null;
  const draw = () => {
    frame = null;
    const series = seriesFromState({
      series: model.get("series"), steps: model.get("steps"), values: model.get("values"),
      tail_steps: model.get("tail_steps"), tail_values: model.get("tail_values"),
    });
    const total = model.get("total"), status = model.get("status") || {};
    const logScale = model.get("log_scale"), smoothing = model.get("smoothing");
    title.textContent = model.get("title") || "Training";
    progress.textContent = progressText(status, total);
    bar.style.display = total ? "" : "none";
    if (total && status.step !== null && status.step !== undefined) {
      const done = status.step - status.first_step + 1;
      fill.style.width = `${Math.min(100, (100 * done) / total)}%`;
    }
    slider.value = String(smoothing);
    logBox.checked = logScale;
    let points = 0;
    for (const { group, series: list } of panelsOf(series)) {
      let panel = panels.get(group);
      if (!panel) { panel = makePanel(group); panels.set(group, panel); panelsBox.append(panel.svg); }
      drawPanel(panel, list, logScale, smoothing);
      for (const s of list) points += s.steps.length;
    }
    root.dataset.points = String(points);
    root.dataset.done = String(Boolean(status.done));
  };
  const schedule = () => {
    if (frame === null) frame = (globalThis.requestAnimationFrame || ((f) => setTimeout(f, 16)))(draw);
  };
  slider.addEventListener("input", () => { model.set("smoothing", Number(slider.value)); model.save_changes(); });
  logBox.addEventListener("change", () => { model.set("log_scale", logBox.checked); model.save_changes(); });
  const traits = ["series", "steps", "values", "tail_steps", "tail_values", "status", "total", "title", "smoothing", "log_scale"];
  for (const name of traits) model.on(`change:${name}`, schedule);
  draw();
  return () => {
    for (const name of traits) model.off(`change:${name}`, schedule);
    if (frame !== null && globalThis.cancelAnimationFrame) globalThis.cancelAnimationFrame(frame);
  };
}

export default { render };

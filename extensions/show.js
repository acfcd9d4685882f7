// show(tensor)'s front end (Python side: nbtorch/viz/show.py).
//
// For the values, and for the gradient when there is one: a heatmap on a canvas (the tensor as a
// matrix, block-averaged in Python to at most 256 x 256; hover shows which elements a pixel
// covers and their mean), the statistics, and a histogram binned here from the sampled values
// (the bins slider re-bins without a round trip).  Pure functions are exported for node's test
// runner (extensions/tests/show.test.mjs); Python has the same in nbtorch/viz/_charts.py.

import { NS, fmt, svgEl, toF32 } from "./_shared.js";
export { fmt, toF32 } from "./_shared.js";

const SEQUENTIAL = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const DIVERGING = [[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]];
const HIST_W = 256, HIST_H = 100;

// ---------------------------------------------------------------- pure functions (tested in node)

// The heatmap color of v for [lo, hi]; diverging maps are centred on 0.  NaN magenta,
// +Inf white, -Inf black.  Same as _charts.colormap.
export function colormap(v, lo, hi, diverging) {
  if (Number.isNaN(v)) return [255, 0, 255];
  if (v === Infinity) return [255, 255, 255];
  if (v === -Infinity) return [0, 0, 0];
  let t, anchors;
  if (diverging) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    t = m === 0 ? 0.5 : 0.5 + (0.5 * v) / m;
    anchors = DIVERGING;
  } else {
    t = hi <= lo ? 0.5 : (v - lo) / (hi - lo);
    anchors = SEQUENTIAL;
  }
  t = Math.min(Math.max(t, 0), 1) * (anchors.length - 1);
  const i = Math.min(Math.floor(t), anchors.length - 2), f = t - i;
  const a = anchors[i], b = anchors[i + 1];
  return [0, 1, 2].map((k) => Math.floor(a[k] + (b[k] - a[k]) * f + 0.5));
}

// Counts of the finite values in `bins` equal bins over [lo, hi] (hi goes in the last bin).
export function histogram(values, bins, lo, hi) {
  const counts = new Array(Math.max(bins, 0)).fill(0);
  if (bins <= 0) return counts;
  for (const v of values) {
    if (!Number.isFinite(v) || v < lo || v > hi) continue;
    if (hi <= lo) { counts[0] += 1; continue; }
    counts[Math.min(Math.floor(((v - lo) / (hi - lo)) * bins), bins - 1)] += 1;
  }
  return counts;
}

// The original rows (or columns) [start, end) that downsampled index i averages, when n of them
// were reduced to `size` (as _charts.downsample does).
export function blockRange(n, size, i) {
  if (size >= n) return [i, i + 1];
  return [Math.floor((i * n) / size), Math.floor(((i + 1) * n) / size)];
}

// [lo, hi] of the finite values.
export function finiteRange(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return lo > hi ? null : [lo, hi];
}

export function statsLine(s) {
  if (!s) return "";
  if (s.min === null || s.min === undefined) return `${s.numel} elements, none finite`;
  let line = `min ${fmt(s.min)}  max ${fmt(s.max)}  mean ${fmt(s.mean)}  std ${fmt(s.std)}`;
  if (s.nan || s.inf) line += `  NaN ${s.nan}  Inf ${s.inf}`;
  return line;
}

export function titleOf(meta) {
  const shape = (meta.shape || []).join("x") || "scalar";
  return `${meta.name ? `${meta.name}: ` : ""}tensor ${shape}, ${meta.dtype}, ${meta.device}`;
}

// ---------------------------------------------------------------- DOM

function htmlEl(tag, cls, css) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (css) e.style.cssText = css;
  return e;
}

function makeBlock(label) {
  const box = htmlEl("div", `nbt-block nbt-${label}`, "display: inline-block; vertical-align: top; margin-right: 16px;");
  const head = htmlEl("div", "", "font-weight: bold; margin-bottom: 2px;");
  head.textContent = label;
  const canvas = htmlEl("canvas", "nbt-heat", "image-rendering: pixelated; border: 1px solid #ddd; display: block;");
  const readout = htmlEl("div", "nbt-readout", "color: #555; font-size: 10px; min-height: 13px;");
  const stats = htmlEl("div", "nbt-stats", "color: #555; font-size: 10px;");
  const hist = svgEl("svg", { width: HIST_W, height: HIST_H + 14, class: "nbt-hist" });
  box.append(head, canvas, readout, stats, hist);
  return { box, canvas, readout, stats, hist };
}

function drawBlock(block, heat, shape, matrix, sample, stats, bins, color) {
  const [h, w] = shape.length === 2 ? shape : [0, 0];
  const lo = stats && stats.min !== null ? stats.min : 0, hi = stats && stats.min !== null ? stats.max : 0;
  const diverging = lo < 0 && hi > 0;
  const c = block.canvas;
  c.width = Math.max(w, 1); c.height = Math.max(h, 1);
  const scale = Math.max(1, Math.min(Math.floor(256 / Math.max(w, h, 1)), 32));
  const fit = Math.min(256 / Math.max(w * scale, 1), 180 / Math.max(h * scale, 1), 1);
  c.style.width = `${Math.max(w * scale * fit, 1)}px`;
  c.style.height = `${Math.max(h * scale * fit, 1)}px`;
  const ctx = c.getContext && c.getContext("2d");
  if (ctx && w && h) {
    const img = ctx.createImageData(w, h);
    for (let i = 0; i < w * h; i++) {
      const rgb = colormap(heat[i], lo, hi, diverging);
      img.data[4 * i] = rgb[0]; img.data[4 * i + 1] = rgb[1]; img.data[4 * i + 2] = rgb[2]; img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }
  c.onmousemove = (e) => {
    const r = c.getBoundingClientRect();
    const col = Math.floor(((e.clientX - r.left) / r.width) * w), row = Math.floor(((e.clientY - r.top) / r.height) * h);
    if (col < 0 || row < 0 || col >= w || row >= h) return;
    const [r0, r1] = blockRange(matrix[0], h, row), [c0, c1] = blockRange(matrix[1], w, col);
    const where = r1 - r0 === 1 && c1 - c0 === 1 ? `[${r0}, ${c0}]` : `rows ${r0}–${r1 - 1}, cols ${c0}–${c1 - 1} (mean)`;
    block.readout.textContent = `${where}: ${fmt(heat[row * w + col])}`;
  };
  block.stats.textContent = statsLine(stats);
  const counts = histogram(sample, bins, lo, hi), peak = Math.max(...counts, 1), bw = HIST_W / Math.max(bins, 1);
  block.hist.replaceChildren();
  counts.forEach((n, k) => {
    if (n <= 0) return;
    const bh = (HIST_H * n) / peak;
    block.hist.append(svgEl("rect", { x: (k * bw).toFixed(1), y: (HIST_H - bh).toFixed(1), width: Math.max(bw - 1, 0.5).toFixed(1), height: bh.toFixed(1), fill: color }));
  });
  block.hist.append(svgEl("line", { x1: 0, x2: HIST_W, y1: HIST_H, y2: HIST_H, stroke: "#999" }));
  const left = svgEl("text", { x: 0, y: HIST_H + 12, "font-size": 10, fill: "#666", "font-family": "sans-serif" });
  left.textContent = fmt(lo);
  const right = svgEl("text", { x: HIST_W, y: HIST_H + 12, "font-size": 10, fill: "#666", "text-anchor": "end", "font-family": "sans-serif" });
  right.textContent = fmt(hi);
  block.hist.append(left, right);
  block.hist.dataset.counts = String(counts.reduce((a, b) => a + b, 0));
}

function render({ model, el }) {
  const root = htmlEl("div", "nbt-show", "font-family: sans-serif; font-size: 12px; color: #222;");
  const title = htmlEl("div", "nbt-title", "font-weight: bold;");
  const sub = htmlEl("div", "nbt-sub", "color: #555; margin-bottom: 4px;");
  const controls = htmlEl("label", "", "display: block; margin-bottom: 4px;");
  const slider = htmlEl("input", "nbt-bins");
  Object.assign(slider, { type: "range", min: 5, max: 200, step: 1 });
  controls.append("bins ", slider);
  const blocks = htmlEl("div", "nbt-blocks");
  const value = makeBlock("value"), grad = makeBlock("gradient");
  blocks.append(value.box, grad.box);
  root.append(title, sub, controls, blocks);
  el.append(root);

  const draw = () => {
    const meta = model.get("meta") || {}, bins = model.get("bins");
    title.textContent = titleOf(meta);
    sub.textContent = [meta.grad_fn ? `grad_fn=${meta.grad_fn}` : "", meta.requires_grad ? "requires_grad=True" : ""].filter(Boolean).join(" · ");
    slider.value = String(bins);
    drawBlock(value, toF32(model.get("heat")), model.get("heat_shape") || [], meta.matrix || [0, 0], toF32(model.get("sample")), meta.stats, bins, "#4c6ef5");
    const hasGrad = Boolean(meta.grad_stats);
    grad.box.style.display = hasGrad ? "inline-block" : "none";
    if (hasGrad) {
      const gshape = model.get("grad_heat_shape") || [];
      drawBlock(grad, toF32(model.get("grad_heat")), gshape, meta.matrix || [0, 0], toF32(model.get("grad_sample")), meta.grad_stats, bins, "#e8590c");
    }
  };
  slider.addEventListener("input", () => { model.set("bins", Number(slider.value)); model.save_changes(); });
  const traits = ["meta", "heat", "heat_shape", "grad_heat", "grad_heat_shape", "sample", "grad_sample", "bins"];
  for (const name of traits) model.on(`change:${name}`, draw);
  draw();
  return () => { for (const name of traits) model.off(`change:${name}`, draw); };
}

export default { render };

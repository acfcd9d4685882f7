// GradFlow's front end (Python side: nbtorch/viz/gradflow.py).
//
// Left: one bar per parameter, the latest gradient 2-norm on a log axis, colored by its flag
// (ok / vanishing / exploding).  Right: the norms over all updates as a heatmap (layers x updates,
// log10 of the norm) drawn on one canvas.  Below: the flagged layers as a list, and for the layer
// clicked, its norm over time and the histogram of its latest gradient values.
// Elements are created once and updated in place; redraws are coalesced to one per frame.
// The pure functions are exported for node's test runner (extensions/tests/gradflow.test.mjs);
// Python has the same ones in nbtorch/viz/_charts.py.  Labels are set with textContent.

import { NS, fmt, svgEl, toF32 } from "./_shared.js";
export { fmt, toF32 } from "./_shared.js";

export const FLAG_COLORS = { ok: "#4c6ef5", vanishing: "#f59f00", exploding: "#e03131" };
const SEQUENTIAL = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const ROW_H = 16, LABEL_W = 150, BAR_W = 240, HEAT_W = 320;

// ---------------------------------------------------------------- pure functions (tested in node)

// "exploding" above `explode` or NaN/Inf; "vanishing" below vanish x the step's largest finite
// norm (floored at 1); else "ok".  Same as _charts.classify_norm.
export function classifyNorm(norm, maxNorm, vanish = 1e-7, explode = 1e3) {
  if (!Number.isFinite(norm) || norm > explode) return "exploding";
  const ref = Number.isFinite(maxNorm) && maxNorm > 1 ? maxNorm : 1.0;
  return norm < vanish * ref ? "vanishing" : "ok";
}

export function rowFlags(norms, thresholds) {
  let biggest = -Infinity;
  for (const n of norms) if (Number.isFinite(n) && n > biggest) biggest = n;
  if (biggest === -Infinity) biggest = NaN;
  return Array.from(norms, (n) => classifyNorm(n, biggest, thresholds.vanish, thresholds.explode));
}

// {layers, steps: Float64Array(U), norms: [Float64Array(L) per update], hist: [counts per layer],
//  histRange: [[lo, hi] per layer]} from the synced traits (base then tail).
export function gradFromState(state) {
  const layers = (state.layers || []).map(String), L = layers.length;
  const c = state.counts || { n: 0, tail_n: 0 };
  const bs = toF32(state.steps), bn = toF32(state.norms);
  const ts = toF32(state.tail_steps), tn = toF32(state.tail_norms);
  const n = Math.min(c.n, bs.length, L ? Math.floor(bn.length / L) : bs.length);
  const tnn = Math.min(c.tail_n, ts.length, L ? Math.floor(tn.length / L) : ts.length);
  const steps = new Float64Array(n + tnn), norms = [];
  for (let i = 0; i < n; i++) { steps[i] = bs[i]; norms.push(Float64Array.from(bn.subarray(i * L, (i + 1) * L))); }
  for (let i = 0; i < tnn; i++) { steps[n + i] = ts[i]; norms.push(Float64Array.from(tn.subarray(i * L, (i + 1) * L))); }
  const h = toF32(state.hist), r = toF32(state.hist_range);
  const bins = L ? Math.floor(h.length / L) : 0;
  const hist = [], histRange = [];
  for (let i = 0; i < L && bins; i++) {
    hist.push(Array.from(h.subarray(i * bins, (i + 1) * bins)));
    histRange.push([r[2 * i], r[2 * i + 1]]);
  }
  return { layers, steps, norms, hist, histRange };
}

// [lo, hi] decades (integers) covering the positive finite norms, at least one decade wide.
export function logRange(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (Number.isFinite(v) && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (lo > hi) return [-8, 0];
  const a = Math.floor(Math.min(Math.log10(lo), Math.log10(hi) - 1)), b = Math.ceil(Math.log10(hi));
  return [a, b];
}

export function colormap(v, lo, hi) {
  if (Number.isNaN(v)) return [255, 0, 255];
  if (v === Infinity) return [255, 255, 255];
  if (v === -Infinity) return [0, 0, 0];
  let t = hi <= lo ? 0.5 : (v - lo) / (hi - lo);
  t = Math.min(Math.max(t, 0), 1) * (SEQUENTIAL.length - 1);
  const i = Math.min(Math.floor(t), SEQUENTIAL.length - 2), f = t - i;
  const a = SEQUENTIAL[i], b = SEQUENTIAL[i + 1];
  return [0, 1, 2].map((k) => Math.floor(a[k] + (b[k] - a[k]) * f + 0.5));
}

// Update indices grouped into at most `width` columns; each column shows its last update.
export function columnsOf(count, width) {
  if (count <= width) return Array.from({ length: count }, (_, i) => i);
  return Array.from({ length: width }, (_, c) => Math.floor(((c + 1) * count) / width) - 1);
}

// ---------------------------------------------------------------- DOM

function htmlEl(tag, cls, css) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (css) e.style.cssText = css;
  return e;
}

function render({ model, el }) {
  const root = htmlEl("div", "nbt-gradflow", "font-family: sans-serif; font-size: 12px; color: #222;");
  const header = htmlEl("div", "nbt-header", "margin-bottom: 4px;");
  const title = htmlEl("b", "nbt-title");
  const stepInfo = htmlEl("span", "nbt-step", "margin-left: 12px; color: #555;");
  header.append(title, stepInfo);
  const row = htmlEl("div", "", "display: flex; gap: 12px; align-items: flex-start; flex-wrap: wrap;");
  const bars = svgEl("svg", { class: "nbt-bars" });
  const heatBox = htmlEl("div", "nbt-heat-box");
  const heat = htmlEl("canvas", "nbt-heat", `image-rendering: pixelated; width: ${HEAT_W}px; border: 1px solid #ddd;`);
  const heatCaption = htmlEl("div", "", "color: #666; font-size: 10px;");
  heatBox.append(heat, heatCaption);
  row.append(bars, heatBox);
  const flags = htmlEl("ul", "nbt-flags", "margin: 6px 0; padding-left: 18px;");
  const detail = htmlEl("div", "nbt-detail", "display: flex; gap: 12px;");
  root.append(header, row, flags, detail);
  el.append(root);

  let selected = null, frame = null;
  const barRows = [];

  const draw = () => {
    frame = null;
    const g = gradFromState({
      layers: model.get("layers"), counts: model.get("counts"), steps: model.get("steps"),
      norms: model.get("norms"), tail_steps: model.get("tail_steps"), tail_norms: model.get("tail_norms"),
      hist: model.get("hist"), hist_range: model.get("hist_range"),
    });
    const thresholds = model.get("thresholds") || { vanish: 1e-7, explode: 1e3 };
    const L = g.layers.length, U = g.norms.length;
    title.textContent = model.get("title") || "Gradient flow";
    root.dataset.updates = String(U);
    if (!U) { stepInfo.textContent = "no update yet: call .update() after backward()"; return; }
    const latest = g.norms[U - 1], rowFlag = rowFlags(latest, thresholds);
    stepInfo.textContent = `step ${g.steps[U - 1]} · ${U} updates · bars: the latest gradient 2-norm per parameter (log scale); click one for details`;

    // bars: latest norm per layer on a log axis
    const [lo, hi] = logRange(latest);
    const height = L * ROW_H + 24;
    bars.setAttribute("width", LABEL_W + BAR_W + 60);
    bars.setAttribute("height", height);
    while (barRows.length < L) {
      const gRow = svgEl("g", { class: "nbt-layer", cursor: "pointer" });
      const label = svgEl("text", { "font-size": 10, "text-anchor": "end", "font-family": "sans-serif" });
      const rect = svgEl("rect", { height: ROW_H - 4, class: "nbt-bar" });
      const value = svgEl("text", { "font-size": 9, fill: "#666", "font-family": "sans-serif" });
      gRow.append(label, rect, value);
      const index = barRows.length;
      gRow.addEventListener("click", () => { selected = selected === index ? null : index; schedule(); });
      bars.append(gRow);
      barRows.push({ gRow, label, rect, value });
    }
    for (let i = 0; i < barRows.length; i++) barRows[i].gRow.style.display = i < L ? "" : "none";
    g.layers.forEach((name, i) => {
      const { gRow, label, rect, value } = barRows[i], y = i * ROW_H, n = latest[i];
      const w = Number.isFinite(n) && n > 0 ? Math.max((Math.log10(n) - lo) / (hi - lo), 0.01) * BAR_W : Number.isFinite(n) ? 1 : BAR_W;
      label.setAttribute("x", LABEL_W - 6); label.setAttribute("y", y + 11);
      label.textContent = name;
      label.setAttribute("font-weight", selected === i ? "bold" : "normal");
      rect.setAttribute("x", LABEL_W); rect.setAttribute("y", y + 2); rect.setAttribute("width", w.toFixed(1));
      rect.setAttribute("fill", FLAG_COLORS[rowFlag[i]]);
      gRow.dataset.flag = rowFlag[i];
      gRow.dataset.layer = name;
      value.setAttribute("x", LABEL_W + w + 4); value.setAttribute("y", y + 11);
      value.textContent = fmt(n);
    });

    // heatmap: layers x updates, log10 of the norm
    const cols = columnsOf(U, HEAT_W);
    heat.width = Math.max(cols.length, 1); heat.height = Math.max(L, 1);
    heat.style.height = `${L * ROW_H}px`;
    const ctx = heat.getContext && heat.getContext("2d");
    if (ctx) {
      const img = ctx.createImageData(heat.width, heat.height);
      let hlo = Infinity, hhi = -Infinity;
      for (const u of cols) for (const v of g.norms[u]) if (v > 0 && Number.isFinite(v)) { hlo = Math.min(hlo, Math.log10(v)); hhi = Math.max(hhi, Math.log10(v)); }
      cols.forEach((u, c) => {
        for (let i = 0; i < L; i++) {
          const v = g.norms[u][i];
          const lv = v > 0 ? Math.log10(v) : Number.isFinite(v) && v === 0 ? hlo - 1 : NaN;
          const rgb = v === Infinity ? [255, 255, 255] : colormap(lv, hlo - 1, hhi);
          const k = 4 * (i * heat.width + c);
          img.data[k] = rgb[0]; img.data[k + 1] = rgb[1]; img.data[k + 2] = rgb[2]; img.data[k + 3] = 255;
        }
      });
      ctx.putImageData(img, 0, 0);
    }
    heatCaption.textContent = `log10 of the norm over steps ${g.steps[0]} to ${g.steps[U - 1]} (magenta: NaN)`;

    // flagged list
    flags.replaceChildren();
    g.layers.forEach((name, i) => {
      if (rowFlag[i] === "ok") return;
      const li = htmlEl("li", `nbt-flag nbt-${rowFlag[i]}`, `color: ${FLAG_COLORS[rowFlag[i]]};`);
      li.textContent = `${rowFlag[i]}: ${name} (norm ${fmt(latest[i])})`;
      flags.append(li);
    });
    if (!flags.children.length) {
      const li = htmlEl("li", "nbt-flag nbt-ok", "color: #2f9e44; list-style: none;");
      li.textContent = "no layer flagged";
      flags.append(li);
    }

    // detail of the selected layer: norm over time and histogram of its latest gradient
    detail.replaceChildren();
    if (selected !== null && selected < L) {
      const series = g.norms.map((r) => r[selected]);
      const [a, b] = logRange(series);
      const W = 300, H = 120, spark = svgEl("svg", { width: W, height: H, class: "nbt-spark" });
      let d = "", pen = false;
      series.forEach((v, u) => {
        if (!(v > 0 && Number.isFinite(v))) { pen = false; return; }
        const x = 30 + (U > 1 ? (u / (U - 1)) * (W - 40) : 0), y = H - 15 - ((Math.log10(v) - a) / (b - a)) * (H - 30);
        d += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`; pen = true;
      });
      spark.append(svgEl("path", { d, fill: "none", stroke: FLAG_COLORS[rowFlag[selected]], "stroke-width": 1.5 }));
      const cap = svgEl("text", { x: 4, y: 12, "font-size": 10, "font-family": "sans-serif" });
      cap.textContent = `${g.layers[selected]}: norm (1e${a} to 1e${b})`;
      spark.append(cap);
      detail.append(spark);
      if (g.hist[selected]) {
        const counts = g.hist[selected], peak = Math.max(...counts, 1), bw = W / counts.length;
        const hsvg = svgEl("svg", { width: W, height: H, class: "nbt-hist" });
        counts.forEach((c, k) => {
          if (c > 0) hsvg.append(svgEl("rect", { x: (k * bw).toFixed(1), y: (H - 15 - ((H - 30) * c) / peak).toFixed(1), width: Math.max(bw - 1, 0.5).toFixed(1), height: (((H - 30) * c) / peak).toFixed(1), fill: "#4c6ef5" }));
        });
        const [rlo, rhi] = g.histRange[selected];
        const t = svgEl("text", { x: 4, y: 12, "font-size": 10, "font-family": "sans-serif" });
        t.textContent = `gradient values at step ${model.get("hist_step")}: ${fmt(rlo)} to ${fmt(rhi)}`;
        hsvg.append(t);
        detail.append(hsvg);
      }
    }
  };
  const schedule = () => {
    if (frame === null) frame = (globalThis.requestAnimationFrame || ((f) => setTimeout(f, 16)))(draw);
  };
  const traits = ["layers", "counts", "steps", "norms", "tail_steps", "tail_norms", "hist", "hist_range", "thresholds", "title"];
  for (const name of traits) model.on(`change:${name}`, schedule);
  draw();
  return () => { for (const name of traits) model.off(`change:${name}`, schedule); };
}

export default { render };

// Front end of nbtorch.viz.BackwardStepper (nbtorch/viz/stepper.py lists the synced traits).
//
// Python runs the backward pass; this module draws the graph with the current node highlighted
// and the current step's details, and turns clicks into `command` changes that Python observes
// ({seq, action, node}: Step, Back, Reset, a tick while playing, a click on a node = jump).
// The text functions repeat nbtorch/viz/_stepper_view.py; the node tests check that both give
// the same on fixtures that the Python tests write. Every label is set with textContent.

import { NS, svgEl } from "./_shared.js";

export const TRAITS = ["graph", "steps", "current", "finished", "playing", "speed", "command",
  "message"];
export const MAX_SPEED = 10; // steps per second: at most ~10 updates per second
export const MIN_SPEED = 0.1;

// --- text (mirrors _stepper_view.py) ---------------------------------------------------------
function tidy(s) {
  // "1.500e+5" -> "1.5e5", "0.2500" -> "0.25", "100.0" -> "100"
  let [mantissa, exponent] = s.split("e");
  if (mantissa.includes(".")) mantissa = mantissa.replace(/0+$/, "").replace(/\.$/, "");
  return exponent === undefined ? mantissa : `${mantissa}e${Number(exponent)}`;
}

export function fmtNum(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "string") return v; // "nan", "inf", "-inf" from Python
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e4) return tidy(v.toPrecision(4));
  return tidy(v.toExponential(2));
}

export function shapeText(shape) {
  return "[" + shape.map(String).join(", ") + "]";
}

export function summaryText(s) {
  if (s === null || s === undefined) return "None";
  const head = `${shapeText(s.shape)} ${s.dtype}`;
  if (s.numel === 1) return `${head} = ${fmtNum(s.values[0])}`;
  if (s.numel === 0) return `${head} (empty)`;
  let text = `${head} · min ${fmtNum(s.min)} · max ${fmtNum(s.max)} · ` +
    `mean ${fmtNum(s.mean)} · norm ${fmtNum(s.norm)}`;
  if (s.nonfinite) text += ` · ${s.nonfinite} not finite`;
  return text;
}

export function valuesText(s) {
  if (s === null || s === undefined) return "";
  return "[" + s.values.map(fmtNum).join(", ") + (s.truncated ? ", …" : "") + "]";
}

function nodeLabel(id, op, names) {
  const named = names && names.length ? ` ${names.join(", ")}` : "";
  return `${op}${named} (node ${id})`;
}

export function stepLines(r) {
  const lines = [["title", `Step ${r.index}: ${nodeLabel(r.node, r.op, r.names)}`]];
  const rule = r.rule;
  lines.push(["words", rule.words]);
  if (rule.formula) lines.push(["formula", `${rule.op}: ${rule.forward}; ${rule.formula}`]);
  else if (rule.forward) lines.push(["formula", `${rule.op}: ${rule.forward}`]);
  const many = r.arriving.length > 1;
  for (const a of r.arriving) {
    const where = many ? ` at output ${a.output_nr}` : "";
    lines.push(["arriving", `gradient arriving${where}: ${summaryText(a.grad)}`]);
    if (a.grad !== null) lines.push(["values", valuesText(a.grad)]);
    const parts = a.parts;
    if (parts.length > 1) {
      lines.push(["fanout", `fan-out: the sum of ${parts.length} parts sent by its consumers`]);
      for (const p of parts) {
        lines.push(["part", `+ from ${nodeLabel(p.from, p.from_op)} at step ${p.step}: ` +
          summaryText(p.grad)]);
      }
    } else if (parts.length === 1 && parts[0].from === null) {
      lines.push(["seed", "the seed: d loss / d loss = 1"]);
    }
  }
  for (const e of r.sent) {
    lines.push(["sent", `sends to input ${e.input_index} → ${nodeLabel(e.to, e.to_op)}: ` +
      summaryText(e.grad)]);
  }
  const acc = r.accumulated;
  if (acc !== null) {
    lines.push(["grad", `.grad before: ${summaryText(acc.before)}`]);
    lines.push(["grad", `.grad after:  ${summaryText(acc.after)}`]);
    lines.push(["values", valuesText(acc.after)]);
  }
  const check = r.check;
  if (check !== null) {
    const note = check.note ? ` (${check.note})` : "";
    lines.push(["check", `finite-difference check: ${check.status}${note}`]);
    for (const c of check.inputs) {
      const verdict = c.ok ? "ok" : "MISMATCH";
      lines.push(["check", `input ${c.input_index}: analytic ${valuesText(c.analytic)} vs ` +
        `numeric ${valuesText(c.numeric)}: max |diff| ${fmtNum(c.max_abs_diff)} ${verdict}`]);
    }
  }
  return lines;
}

// "current", "done", "waiting" (holds a gradient not yet processed) or "idle", per node.
export function nodeStates(graph, steps, current) {
  const states = new Array(graph.nodes.length).fill("idle");
  const shown = steps.slice(0, current + 1);
  if (shown.length === 0) {
    for (const out of graph.outputs) if (out !== null) states[out] = "waiting";
    return states;
  }
  for (const r of shown) for (const e of r.sent) if (e.grad !== null) states[e.to] = "waiting";
  for (const r of shown) states[r.node] = "done";
  states[shown[shown.length - 1].node] = "current";
  return states;
}

// "e^(x - m)" -> [["e", false], ["x - m", true]]: exponents drawn raised.
export function formulaSegments(text) {
  const out = [];
  const re = /\^(\([^()]*\)|[-+]?[\p{L}\p{N}_.]+)/gu;
  let pos = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > pos) out.push([text.slice(pos, m.index), false]);
    const sup = m[1];
    out.push([sup.startsWith("(") ? sup.slice(1, -1) : sup, true]);
    pos = m.index + m[0].length;
  }
  if (pos < text.length) out.push([text.slice(pos), false]);
  return out;
}

// --- controls ----------------------------------------------------------------------------------
export function nextCommand(previous, action, node = null) {
  const seq = (previous && Number.isFinite(previous.seq) ? previous.seq : 0) + 1;
  return { seq, action, node };
}

export function clampSpeed(speed) {
  const v = Number(speed);
  if (!Number.isFinite(v)) return 1;
  return Math.min(MAX_SPEED, Math.max(MIN_SPEED, v));
}

export function tickDelay(speed) {
  return Math.round(1000 / clampSpeed(speed));
}

export function progressText(graph, steps, current, finished) {
  const n = graph.nodes ? graph.nodes.length : 0;
  if (current < 0) return `before step 0 · ${n} nodes`;
  return `step ${steps[current].index} · ${current + 1} done` + (finished ? " · finished" : "");
}

export function edgePath(points) {
  return points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
}

// The text lines of a node's box, as nbtorch/viz/svg.py's node_lines (which sized the layout's
// boxes): what it is, its shapes, its first name.
function shapeLabel(shape) {
  if (shape === null || shape === undefined) return "?";
  return shape.length ? shapeText(shape) : "scalar";
}

function clip(s, limit) {
  return s.length <= limit ? s : s.slice(0, limit - 1) + "…";
}

export function labelLines(node, limit = 28) {
  const shapes = (node.shapes && node.shapes.length ? node.shapes : [null]).map(shapeLabel)
    .join(" ");
  const names = node.names || [];
  let lines;
  if (node.kind === "leaf") lines = [names.length ? names[0] : "tensor", shapes];
  else {
    lines = [node.label || node.op || "?", shapes];
    if (names.length) lines.push(names[0]);
  }
  return lines.map((s) => clip(String(s), limit));
}

export function nodeTitle(node) {
  const names = node.names && node.names.length ? ` ${node.names.join(", ")}` : "";
  const shapes = (node.shapes || []).filter((s) => s !== null).map(shapeText).join(" ");
  return `${node.op}${names} (node ${node.id})${shapes ? " " + shapes : ""}`;
}

// --- DOM ---------------------------------------------------------------------------------------
const CSS = `
.nbt-stepper { font-family: sans-serif; font-size: 12px;
  color: var(--jp-ui-font-color1, #212529); }
.nbt-stepper .nbt-toolbar { display: flex; gap: 6px; align-items: center; margin-bottom: 6px;
  flex-wrap: wrap; }
.nbt-stepper button { padding: 2px 10px; cursor: pointer; }
.nbt-stepper .nbt-main { display: flex; gap: 12px; align-items: flex-start; }
.nbt-stepper .nbt-canvas { overflow: auto; max-height: 520px; max-width: 60%;
  border: 1px solid #dee2e6; border-radius: 4px; background: #fff; }
.nbt-stepper .nbt-details { flex: 1; min-width: 280px; max-height: 520px; overflow: auto; }
.nbt-stepper .nbt-line { margin: 2px 0; white-space: pre-wrap; }
.nbt-stepper .nbt-title { font-weight: bold; font-size: 13px; }
.nbt-stepper .nbt-formula { font-family: serif; font-size: 14px; padding: 2px 4px;
  background: var(--jp-layout-color2, #f8f9fa); }
.nbt-stepper .nbt-values { font-family: monospace; color: var(--jp-ui-font-color2, #495057); }
.nbt-stepper .nbt-fanout { color: #1c7ed6; font-weight: bold; }
.nbt-stepper .nbt-part { color: #1c7ed6; padding-left: 12px; }
.nbt-stepper .nbt-grad { color: #2f9e44; }
.nbt-stepper .nbt-check { color: #862e9c; }
.nbt-stepper .nbt-status { color: var(--jp-ui-font-color2, #495057); margin-top: 4px; }
.nbt-stepper g.nbt-node { cursor: pointer; }
.nbt-stepper path.nbt-edge { stroke: #adb5bd; stroke-width: 1.5; }
.nbt-stepper path.nbt-active { stroke: #e67700; stroke-width: 2.5; }
.nbt-stepper g.nbt-node rect { fill: #f8f9fa; stroke: #868e96; stroke-width: 1; }
.nbt-stepper g.nbt-done rect { fill: #d3f9d8; stroke: #2f9e44; stroke-width: 1.5; }
.nbt-stepper g.nbt-waiting rect { fill: #e7f5ff; stroke: #1c7ed6; stroke-width: 2; }
.nbt-stepper g.nbt-current rect { fill: #ffd43b; stroke: #e67700; stroke-width: 3; }
`;

function htmlEl(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function drawGraph(svg, graph, onClick) {
  svg.replaceChildren();
  const lay = graph.layout;
  if (!lay) return { groups: new Map(), edges: [] };
  svg.setAttribute("width", lay.width);
  svg.setAttribute("height", lay.height);
  svg.setAttribute("viewBox", `0 0 ${lay.width} ${lay.height}`);
  const defs = svgEl("defs");
  const marker = svgEl("marker", { id: "nbt-stepper-arrow", viewBox: "0 0 10 10", refX: 9,
    refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#868e96" }));
  defs.append(marker);
  svg.append(defs);
  const edges = [];
  for (const e of lay.edges) {
    const path = svgEl("path", { class: "nbt-edge", d: edgePath(e.points), fill: "none",
      "marker-end": "url(#nbt-stepper-arrow)" });
    svg.append(path);
    edges.push([e.target, path]);
  }
  const groups = new Map();
  const boxes = new Map(lay.nodes.map((box) => [box.id, box]));
  for (const node of graph.nodes) {
    const box = boxes.get(node.id);
    if (!box) continue;
    const g = svgEl("g", { class: "nbt-node nbt-idle", "data-node": node.id });
    const title = svgEl("title");
    title.textContent = nodeTitle(node);
    g.append(title);
    const rx = node.kind === "leaf" ? box.height / 2 : 6;
    g.append(svgEl("rect", { x: box.x - box.width / 2, y: box.y - box.height / 2,
      width: box.width, height: box.height, rx }));
    const top = box.y - box.height / 2 + 16;
    labelLines(node).forEach((line, k) => {
      const t = svgEl("text", { x: box.x, y: top + 15 * k, "text-anchor": "middle",
        "font-size": 12, "font-family": "monospace", fill: k ? "#495057" : "#212529" });
      if (!k) t.setAttribute("font-weight", "bold");
      t.textContent = line;
      g.append(t);
    });
    g.addEventListener("click", () => onClick(node.id));
    svg.append(g);
    groups.set(node.id, g);
  }
  return { groups, edges };
}

function drawLine(kind, text) {
  const div = htmlEl("div", `nbt-line nbt-${kind}`);
  if (kind === "formula") {
    for (const [piece, sup] of formulaSegments(text)) {
      if (sup) div.append(htmlEl("sup", "", piece));
      else div.append(document.createTextNode(piece));
    }
  } else {
    div.textContent = text;
  }
  return div;
}

const BEFORE = "Before the first step: the loss holds the seed gradient 1";

function render({ model, el }) {
  const root = htmlEl("div", "nbt-stepper");
  const style = htmlEl("style", "", CSS);
  const bar = htmlEl("div", "nbt-toolbar");
  const back = htmlEl("button", "nbt-back", "◀ Back");
  const step = htmlEl("button", "nbt-step", "Step ▶");
  const play = htmlEl("button", "nbt-play", "Play");
  const reset = htmlEl("button", "nbt-reset", "Reset");
  const speed = htmlEl("input", "nbt-speed");
  Object.assign(speed, { type: "range", min: 0.5, max: MAX_SPEED, step: 0.5 });
  const speedLabel = htmlEl("span", "nbt-speed-label");
  const progress = htmlEl("span", "nbt-progress");
  bar.append(back, step, play, speed, speedLabel, reset, progress);
  const main = htmlEl("div", "nbt-main");
  const canvas = htmlEl("div", "nbt-canvas");
  const svg = svgEl("svg", { "data-testid": "nbt-stepper-svg", class: "nbt-stepper-svg" });
  canvas.append(svg);
  const details = htmlEl("div", "nbt-details");
  main.append(canvas, details);
  const status = htmlEl("div", "nbt-status");
  root.append(style, bar, main, status);
  el.append(root);

  const send = (action, node = null) => {
    model.set("command", nextCommand(model.get("command"), action, node));
    model.save_changes();
  };
  let drawn = { groups: new Map(), edges: [] };
  const redrawGraph = () => {
    drawn = drawGraph(svg, model.get("graph"), (id) => send("jump", id));
    redraw();
  };
  // One Python update changes several traits at once: redraw once for all of them.
  let queued = false;
  const requestRedraw = () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => { queued = false; redraw(); });
  };
  const redraw = () => {
    const graph = model.get("graph");
    const steps = model.get("steps");
    const current = model.get("current");
    const finished = model.get("finished");
    const states = nodeStates(graph, steps, current);
    states.forEach((state, id) => {
      const g = drawn.groups.get(id);
      if (g) g.setAttribute("class", `nbt-node nbt-${state}`);
    });
    // The edges into the current node carry the gradients it sends back to its inputs.
    const now = current >= 0 && current < steps.length ? steps[current].node : null;
    for (const [target, path] of drawn.edges) {
      path.setAttribute("class", target === now ? "nbt-edge nbt-active" : "nbt-edge");
    }
    details.replaceChildren();
    if (current >= 0 && current < steps.length) {
      for (const [kind, text] of stepLines(steps[current])) details.append(drawLine(kind, text));
    } else {
      details.append(drawLine("title", BEFORE));
    }
    progress.textContent = progressText(graph, steps, current, finished);
    status.textContent = model.get("message");
    back.disabled = current < 0;
    step.disabled = finished;
    play.textContent = model.get("playing") ? "Pause" : "Play";
    speed.value = String(model.get("speed"));
    speedLabel.textContent = `${fmtNum(model.get("speed"))} steps/s`;
  };

  // Playing: one tick per 1/speed s, and never a new tick before Python answered the last one.
  let timer = null;
  let waiting = false;
  let waitingSince = 0;
  const tick = () => {
    if (!model.get("playing")) return;
    if (waiting && Date.now() - waitingSince < 2000) return;
    waiting = true;
    waitingSince = Date.now();
    send("tick");
  };
  const schedule = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    if (model.get("playing")) timer = setInterval(tick, tickDelay(model.get("speed")));
  };
  const answered = () => { waiting = false; };

  back.addEventListener("click", () => send("back"));
  step.addEventListener("click", () => send("step"));
  reset.addEventListener("click", () => send("reset"));
  play.addEventListener("click", () => {
    model.set("playing", !model.get("playing"));
    model.save_changes();
  });
  speed.addEventListener("input", () => {
    model.set("speed", clampSpeed(speed.value));
    model.save_changes();
  });

  const handlers = [
    ["change:graph", redrawGraph],
    ["change:steps", requestRedraw], ["change:current", requestRedraw],
    ["change:finished", requestRedraw], ["change:message", requestRedraw],
    ["change:playing", requestRedraw], ["change:speed", requestRedraw],
    ["change:current", answered], ["change:message", answered],
    ["change:playing", schedule], ["change:speed", schedule],
  ];
  for (const [name, fn] of handlers) model.on(name, fn);
  redrawGraph();
  schedule();
  return () => {
    if (timer !== null) clearInterval(timer);
    for (const [name, fn] of handlers) model.off(name, fn);
  };
}

export default { render };

// DOM-free logic of extensions/graph_view.js, on graphs that the Python tests write into
// extensions/tests/fixtures/graph_view_*.json (tests/viz/test_graph_view.py), so that renaming a
// field on either side breaks a test. Run: node --test extensions/tests/
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import * as gv from "../graph_view.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const fixtureNames = readdirSync(FIXTURES).filter((f) => /^graph_view_.*\.json$/.test(f)).sort();
// JSON has no NaN/Infinity: the Python side writes them as strings (tests/viz/fixture_io.py).
const revive = (_k, v) => (v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v);
const load = (name) => JSON.parse(readFileSync(join(FIXTURES, name), "utf8"), revive);
const bytes = (b64) => new DataView(Uint8Array.from(Buffer.from(b64, "base64")).buffer);
const graph = (name) => load(name).graph;
const hex = (rgb) => "#" + rgb.map((c) => c.toString(16).padStart(2, "0")).join("");

test("fixtures exist (written by tests/viz/test_graph_view.py)", () => {
  for (const name of ["mlp", "collapsed", "flags", "anomaly", "hostile"]) {
    assert.ok(fixtureNames.includes(`graph_view_${name}.json`), name);
  }
});

for (const name of fixtureNames) {
  test(`${name}: the synced traits and the wire format are what the front end reads`, () => {
    const { traits, graph, positions } = load(name);
    const source = readFileSync(join(FIXTURES, "..", "..", "graph_view.js"), "utf8");
    for (const t of traits) assert.ok(source.includes(`"${t}"`), `graph_view.js never reads ${t}`);
    assert.equal(graph.version, gv.WIRE_VERSION);
    for (const n of graph.nodes) {
      assert.equal(typeof n.id, "number");
      assert.equal(typeof n.op, "string");
      assert.equal(typeof n.label, "string");
      assert.ok(["op", "leaf", "output"].includes(n.kind), n.kind);
      assert.ok(Array.isArray(n.shapes) && Array.isArray(n.names) && Array.isArray(n.flags));
      assert.ok(n.module === null || typeof n.module === "string");
      for (const k of ["value", "grad"]) assert.ok(n[k] === null || typeof n[k].mean !== "undefined");
    }
    for (const e of graph.edges) assert.equal(e.length, 4);
    for (const p of positions.nodes) {
      for (const k of ["x", "y", "width", "height"]) assert.equal(typeof p[k], "number");
    }
    for (const e of positions.edges) assert.ok(e.points.length >= 2 && "source" in e && "target" in e);
    assert.equal(typeof positions.members, "object");
  });

  test(`${name}: one scene entry per laid-out node, box and edge, with Python's text lines`, () => {
    const { graph, positions, expect } = load(name);
    const scene = gv.buildScene(graph, positions);
    assert.equal(scene.nodes.length, expect.visible);
    assert.equal(scene.boxes.length, expect.boxes);
    assert.equal(scene.edges.length, positions.edges.length);
    for (const n of scene.nodes) assert.deepEqual(n.lines, expect.lines[String(n.id)], `node ${n.id}`);
    for (const b of scene.boxes) assert.deepEqual(b.lines, expect.module_lines[b.key], b.key);
    for (const e of scene.edges) assert.match(e.d, /^M-?[\d.]+,-?[\d.]+( L-?[\d.]+,-?[\d.]+)+$/);
    const svg = gv.sceneToSvg(scene);
    assert.equal((svg.match(/<g class="nbt-node[ "]/g) ?? []).length, expect.visible);
    assert.equal((svg.match(/<g class="nbt-module[ "]/g) ?? []).length, expect.boxes);
    assert.equal((svg.match(/<path class="nbt-edge"/g) ?? []).length, positions.edges.length);
    const b = gv.bounds(positions);
    for (const n of [...scene.nodes, ...scene.boxes]) {
      assert.ok(n.x >= b.x0 && n.x + n.w <= b.x1 + 1e-9 && n.y >= b.y0 && n.y + n.h <= b.y1 + 1e-9);
    }
    const ids = new Set(scene.nodes.map((n) => n.id));
    for (const id of gv.boxOf(positions).keys()) assert.ok(!ids.has(id), `member ${id} drawn`);
  });

  test(`${name}: search, flags and module paths agree with Python`, () => {
    const { graph, expect } = load(name);
    for (const [query, ids] of Object.entries(expect.search)) {
      assert.deepEqual([...gv.searchMatches(graph, query)].sort((a, b) => a - b), ids, query);
    }
    const flags = gv.nodeFlags(graph);
    for (const [id, want] of Object.entries(expect.flags)) {
      assert.deepEqual((flags.get(Number(id)) ?? []).sort(), [...want].sort(), `node ${id}`);
    }
    assert.deepEqual(gv.allModulePaths(graph), expect.module_paths);
  });
}

test("collapsed fixture: boxes hold their members; expanding one box leaves the other", () => {
  const { graph, positions, collapsed } = load("graph_view_collapsed.json");
  assert.deepEqual(collapsed, ["0", "2"]);
  const box = gv.boxOf(positions);
  for (const n of graph.nodes) {
    const path = gv.modulePath(n);
    const owner = collapsed.find((c) => path && gv.within(path, c));
    assert.equal(box.get(n.id), owner === undefined ? undefined : gv.moduleBox(owner));
  }
  assert.deepEqual(gv.expandPath(collapsed, "0", gv.allModulePaths(graph)), ["2"]);
  const scene = gv.buildScene(graph, positions);
  assert.deepEqual(scene.frames.map((f) => f.path), ["1"]);  // only expanded modules get frames
});

test("mlp fixture: expanded modules get frames around their nodes", () => {
  const { graph, positions } = load("graph_view_mlp.json");
  const scene = gv.buildScene(graph, positions);
  assert.deepEqual(scene.frames.map((f) => f.path).sort(), ["0", "1", "2"]);
  for (const f of scene.frames) {
    for (const n of scene.nodes.filter((m) => gv.modulePath(graph.nodes[m.id]) === f.path)) {
      assert.ok(n.x > f.x && n.y > f.y && n.x + n.w < f.x + f.w && n.y + n.h < f.y + f.h);
    }
  }
});

for (const name of ["graph_view_mlp.json", "graph_view_flags.json"]) {
  test(`${name}: the answer's float32 buffer decodes to the statistics Python sent`, () => {
    const { arrays } = load(name);
    const { message, buffers } = arrays;
    for (const which of ["value", "grad"]) {
      const part = message[which];
      if (!part) { assert.equal(typeof message[`${which}_note`], "string"); continue; }
      const values = gv.toFloat32(bytes(buffers[part.buffer]));
      assert.equal(values.length, part.shape.reduce((a, b) => a * b, 1));
      const s = gv.stats(values), want = part.stats;
      assert.equal(s.nan, want.nan);
      assert.equal(s.posinf + s.neginf, want.inf);
      for (const k of ["min", "max", "mean"]) {
        if (want[k] !== null) assert.ok(Math.abs(s[k] - want[k]) <= 1e-5 * (1 + Math.abs(want[k])), k);
      }
      const h = gv.histogram(values, 16);
      assert.equal(h.counts.reduce((a, b) => a + b, 0) + h.nan + h.posinf + h.neginf, values.length);
      const rows = gv.detailRows(graph(name).nodes[message.id], [], { id: message.id, [which]: part });
      assert.ok(rows.some(([k, v]) => k === which && v.includes("mean")));
    }
  });
}

test("heatmap colours are Python's (nbtorch.viz.svg.colour)", () => {
  const { expect } = load("graph_view_flags.json");
  for (const [v, lo, hi, want] of expect.colours) {
    const got = gv.colorFor(v, lo, hi);
    const ref = [1, 3, 5].map((i) => parseInt(want.slice(i, i + 2), 16));
    assert.ok(got.every((c, k) => Math.abs(c - ref[k]) <= 1), `${v}: ${hex(got)} vs ${want}`);
  }
});

test("escaping: hostile names stay text in the SVG string", () => {
  const { graph, positions } = load("graph_view_hostile.json");
  const scene = gv.buildScene(graph, positions);
  assert.ok(scene.nodes.some((n) => n.lines.includes("<script>alert(1)</script>")));
  const svg = gv.sceneToSvg(scene);
  assert.ok(!svg.includes("<script") && !svg.includes("<img"), svg);
  assert.ok(svg.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.equal(gv.escapeXml(`<a href="x" onclick='y'>&`),
               "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;");
  assert.equal(gv.escapeXml(null), "");
});

test("zoom keeps the point under the cursor; pan moves; fit contains the bounds", () => {
  const v = { k: 1, x: 10, y: 20 };
  const z = gv.zoomAt(v, 2, 110, 70);
  const before = gv.toWorld(v, 110, 70), after = gv.toWorld(z, 110, 70);
  assert.ok(Math.abs(before[0] - after[0]) < 1e-9 && Math.abs(before[1] - after[1]) < 1e-9);
  assert.equal(z.k, 2);
  assert.equal(gv.zoomAt(v, 1e9, 0, 0).k, gv.MAX_ZOOM);
  assert.equal(gv.zoomAt(v, 1e-9, 0, 0).k, gv.MIN_ZOOM);
  assert.deepEqual(gv.panBy(v, 5, -5), { k: 1, x: 15, y: 15 });
  assert.ok(gv.wheelFactor(100) < 1 && gv.wheelFactor(-100) > 1);
  assert.ok(Math.abs(gv.wheelFactor(100) * gv.wheelFactor(-100) - 1) < 1e-12);
  assert.ok(gv.wheelFactor(3, 1) < gv.wheelFactor(3, 0));
  const b = { x0: -50, y0: 100, x1: 950, y1: 3100 };
  const f = gv.fitView(b, 400, 300, 10);
  const [sx0, sy0] = gv.toScreen(f, b.x0, b.y0), [sx1, sy1] = gv.toScreen(f, b.x1, b.y1);
  assert.ok(sx0 >= 9.99 && sy0 >= 9.99 && sx1 <= 390.01 && sy1 <= 290.01);
  assert.ok(gv.fitView({ x0: 0, y0: 0, x1: 10, y1: 10 }, 400, 300).k <= 1.5);
  const c = gv.centerOn({ k: 2, x: 0, y: 0 }, 5, 5, 100, 100);
  assert.deepEqual(gv.toScreen(c, 5, 5), [50, 50]);
});

test("edge paths follow the layout's polyline", () => {
  assert.equal(gv.edgePath([[1, 2], [3.04, 4], [5, 6.66]]), "M1,2 L3,4 L5,6.7");
  assert.equal(gv.edgePath([[1, 2]]), "");
  assert.deepEqual(gv.rectOf({ x: 10, y: 20, width: 8, height: 4 }), [6, 18, 8, 4]);
});

test("collapse and expand module paths", () => {
  const graph = { nodes: [
    { id: 0, op: "A", module: "enc.0" }, { id: 1, op: "B", module: "enc.1.fc" },
    { id: 2, op: "C", module: "dec" }, { id: 3, op: "D", module: null }, { id: 4, op: "E", module: "" }] };
  const all = gv.allModulePaths(graph);
  assert.deepEqual(all, ["dec", "enc", "enc.0", "enc.1", "enc.1.fc"]);
  assert.deepEqual(gv.expandPath(["dec", "enc"], "enc", all), ["dec", "enc.0", "enc.1"]);
  assert.deepEqual(gv.collapsePath(["dec", "enc.0", "enc.1"], "enc"), ["dec", "enc"]);
  assert.ok(gv.within("enc.1", "enc") && !gv.within("encoder", "enc"));
  assert.deepEqual([...gv.boxOf({ members: { "module:enc": [0, 1] } })], [[0, "module:enc"], [1, "module:enc"]]);
});

test("search is case-insensitive over op, names and module; empty query matches nothing", () => {
  const graph = { nodes: [
    { id: 0, op: "MulBackward0", names: ["Loss"] }, { id: 1, op: "AccumulateGrad", names: ["fc.weight"], module: "fc" },
    { id: 2, op: "AddBackward0", names: [] }] };
  assert.deepEqual([...gv.searchMatches(graph, "loss")], [0]);
  assert.deepEqual([...gv.searchMatches(graph, " FC ")], [1]);
  assert.deepEqual([...gv.searchMatches(graph, "backward")], [0, 2]);
  assert.equal(gv.searchMatches(graph, "  ").size, 0);
});

test("histogram bins, counts non-finite apart, handles constants", () => {
  const h = gv.histogram([0, 1, 2, 3, NaN, Infinity, -Infinity, 3], 3);
  assert.deepEqual(h.counts, [1, 1, 3]);
  assert.equal(h.lo, 0); assert.equal(h.hi, 3);
  assert.deepEqual([h.nan, h.posinf, h.neginf, h.total], [1, 1, 1, 8]);
  const c = gv.histogram([5, 5, 5], 4);
  assert.equal(c.counts.reduce((a, b) => a + b), 3);
  assert.ok(c.lo < 5 && c.hi > 5);
  assert.deepEqual(gv.histogram([], 2).counts, [0, 0]);
  const bars = gv.histogramBars({ counts: [0, 2, 4] }, 30, 10);
  assert.equal(bars.length, 2);
  assert.equal(bars[1][3], 9);
  const s = gv.stats(Float32Array.from([1, 2, 3, NaN]));
  assert.equal(s.mean, 2); assert.equal(s.nan, 1); assert.ok(Math.abs(s.std - Math.sqrt(2 / 3)) < 1e-12);
});

test("heatmap colours: blue-white-red around zero, white-blue otherwise, magenta for NaN", () => {
  assert.deepEqual(gv.colorFor(NaN, 0, 1), [224, 49, 140]);
  assert.deepEqual(gv.colorFor(Infinity, -1, 1), [224, 49, 140]);
  assert.deepEqual(gv.colorFor(1, -1, 1), [178, 24, 43]);
  assert.deepEqual(gv.colorFor(-1, -1, 1), [33, 102, 172]);
  assert.deepEqual(gv.colorFor(0, -1, 1), [255, 255, 255]);
  assert.deepEqual(gv.colorFor(0, 0, 1), [255, 255, 255]);
  assert.deepEqual(gv.colorRange([-1, 3, NaN]), [-3, 3]);
  assert.deepEqual(gv.colorRange([2, 3]), [2, 3]);
  assert.deepEqual(gv.colorRange([NaN]), [0, 1]);
  const px = gv.heatmapPixels([-1, 0, 1, NaN], 2, 2);
  assert.equal(px.length, 16);
  assert.deepEqual([...px.slice(12, 16)], [224, 49, 140, 255]);
});

test("binary buffers decode as float32, aligned or not", () => {
  const f = Float32Array.from([1.5, -2, 3]);
  assert.deepEqual([...gv.toFloat32(new DataView(f.buffer))], [1.5, -2, 3]);
  assert.deepEqual([...gv.toFloat32(f.buffer)], [1.5, -2, 3]);
  const bytes = new Uint8Array(13);
  bytes.set(new Uint8Array(f.buffer), 1);
  assert.deepEqual([...gv.toFloat32(new DataView(bytes.buffer, 1, 12))], [1.5, -2, 3]);
  assert.equal(gv.toFloat32(null).length, 0);
});

test("NaN/Inf origin: flagged where its inputs' values are known and finite", () => {
  const graph = {
    nodes: [
      { id: 0, op: "SumBackward0", flags: ["nonfinite"] },
      { id: 1, op: "LogBackward0", flags: ["nonfinite"] },
      { id: 2, op: "AccumulateGrad", flags: [], value: { mean: 1 } },
      { id: 3, op: "DivBackward0", flags: ["nonfinite", "nonfinite_grad", "inplace_modified"] },
      { id: 4, op: "MulBackward0", flags: ["nan_origin"] },
      { id: 5, op: "ExpBackward0", flags: ["nonfinite"] },
      { id: 6, op: "MulBackward0", flags: [], value: null },
    ],
    edges: [[1, 0, 0, 0], [2, 1, 0, 0], [3, 0, 1, 0], [6, 5, 0, 0]],
  };
  const f = gv.nodeFlags(graph);
  assert.deepEqual(f.get(0), ["nonfinite"]);
  assert.deepEqual(f.get(1), ["origin", "nonfinite"]);
  assert.equal(f.get(2), undefined);
  assert.deepEqual(f.get(3), ["origin", "nonfinite", "nonfinite-grad", "inplace"]);
  assert.deepEqual(f.get(4), ["nan-origin"]);
  assert.deepEqual(f.get(5), ["nonfinite"]);  // its input's value is unknown: maybe not here
  for (const t of ["origin", "nan-origin", "inplace", "nonfinite", "nonfinite-grad"]) {
    assert.notEqual(gv.flagText(t), t);
  }
});

test("details rows and number formatting are plain text", () => {
  const node = { id: 3, op: "MulBackward0", kind: "op", names: ["<b>h</b>"], module: "fc",
                 shapes: [[2, 3]], dtype: "float32", device: "cpu", value: { mean: 1, min: -1, max: 2e-5, nan: 2 } };
  const rows = Object.fromEntries(gv.detailRows(node, ["origin"]));
  assert.equal(rows.names, "<b>h</b>");  // shown with textContent: displayed, never parsed
  assert.equal(rows.shape, "[2, 3]");
  assert.equal(rows.node, "3: MulBackward0 (op)");
  assert.equal(rows.flag, gv.flagText("origin"));
  assert.equal(rows.value, "mean 1  min -1  max 2.000e-5  nan×2");
  assert.equal(gv.statsText({ mean: null, std: null, nan: 3, inf: 0 }), "no finite values  nan×3");
  assert.equal(Object.fromEntries(gv.detailRows({ ...node, module: "" })).module, "(model)");
  assert.equal(gv.fmt(NaN), "nan"); assert.equal(gv.fmt(-Infinity), "-inf"); assert.equal(gv.fmt(0.5), "0.5");
  assert.equal(gv.fmt(null), "—");
  assert.deepEqual(gv.nodeLines({ op: "AddmmBackward0", label: "Addmm", kind: "op", names: [], shapes: [[4, 8]] }),
                   ["Addmm", "[4, 8]"]);
  assert.deepEqual(gv.nodeLines({ op: "AccumulateGrad", kind: "leaf", names: [], shapes: [[]] }), ["tensor", "scalar"]);
  assert.equal(gv.clip("x".repeat(30), 10).length, 10);
});

test("importing the module touches no DOM", () => {
  assert.equal(typeof globalThis.document, "undefined");
  assert.equal(typeof gv.default.render, "function");
});

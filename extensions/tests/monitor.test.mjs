// DOM-free logic of extensions/monitor.js against what the Python side computes, on fixtures that
// tests/viz/test_monitor.py writes (extensions/tests/fixtures/monitor_*.json): the same ticks,
// smoothing, names, durations and progress line, and the same points read from a real monitor's
// synced state.  Run: node --test extensions/tests/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import * as mon from "../monitor.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const SPECIAL = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
const load = (name) => JSON.parse(readFileSync(join(FIXTURES, name), "utf8"),
  (k, v) => (typeof v === "string" && v in SPECIAL ? SPECIAL[v] : v));

const close = (a, b, rel = 1e-9) =>
  (Number.isNaN(a) && Number.isNaN(b)) || a === b || Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));

function assertClose(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(close(actual[i], expected[i]), `${what}[${i}]: ${actual[i]} != ${expected[i]}`);
  }
}

const math = load("monitor_math.json");

test("axis ticks match Python's nice_ticks and log_ticks", () => {
  for (const [lo, hi, expect] of math.nice_ticks) assertClose(mon.niceTicks(lo, hi), expect, `niceTicks(${lo}, ${hi})`);
  for (const [lo, hi, expect] of math.log_ticks) assertClose(mon.logTicks(lo, hi), expect, `logTicks(${lo}, ${hi})`);
});

test("smoothing matches Python's ema (NaN and Inf pass through)", () => {
  for (const { values, weight, expect } of math.ema) {
    assertClose(Array.from(mon.ema(Float64Array.from(values), weight)), expect, `ema w=${weight}`);
  }
});

test("train/val kind and panel group of metric names", () => {
  for (const [name, kind, group] of math.names) {
    assert.equal(mon.metricKind(name), kind, name);
    assert.equal(mon.metricGroup(name), group, name);
  }
});

test("durations, ETA and the progress line", () => {
  for (const [seconds, text] of math.durations) assert.equal(mon.formatDuration(seconds), text, String(seconds));
  for (const [step, first, elapsed, total, expect] of math.eta) {
    const got = mon.etaSeconds(step, first, elapsed, total);
    if (expect === null) assert.equal(got, null);
    else assert.ok(close(got, expect), `${got} != ${expect}`);
  }
  for (const [status, total, text] of math.progress) assert.equal(mon.progressText(status, total), text);
});

test("tick labels", () => {
  for (const [v, text] of math.fmt) assert.equal(mon.fmt(v), text, String(v));
});

const fixture = load("monitor_state.json");

test("the fixture's traits are the ones the widget reads", () => {
  const src = readFileSync(join(FIXTURES, "..", "..", "monitor.js"), "utf8");
  for (const name of fixture.traits) assert.ok(src.includes(`"${name}"`), name);
  assert.deepEqual(Object.keys(fixture.state).sort(), [...fixture.traits].sort());
});

test("base + tail buffers give every point logged", () => {
  const { state, expect } = fixture;
  assert.ok(state.series.some((m) => m.tail_n > 0), "the fixture should have a tail");
  const series = mon.seriesFromState(state);
  assert.deepEqual(series.map((s) => s.name), Object.keys(expect.series));
  for (const s of series) {
    assertClose(Array.from(s.steps), expect.series[s.name].steps, `${s.name} steps`);
    assertClose(Array.from(s.values), expect.series[s.name].values, `${s.name} values`);
  }
  const panels = mon.panelsOf(series);
  assert.deepEqual(panels.map((p) => p.group), ["loss"]);
  assert.deepEqual(panels[0].series.map((s) => s.kind), ["train", "val"]);
  assert.equal(mon.progressText(state.status, state.total), expect.progress);
});

test("a short buffer never reads out of bounds", () => {
  const state = { series: [{ name: "a", kind: "train", group: "a", n: 5, tail_n: 3 }], steps: new Float32Array([1, 2]).buffer, values: new Float32Array([1, 2]).buffer, tail_steps: null, tail_values: null };
  const [s] = mon.seriesFromState(state);
  assert.deepEqual(Array.from(s.steps), [1, 2]);
});

test("unaligned DataViews are copied, not misread", () => {
  const bytes = new Uint8Array(9);
  new DataView(bytes.buffer).setFloat32(1, 2.5, true);
  assert.deepEqual(Array.from(mon.toF32(new DataView(bytes.buffer, 1, 4))), [2.5]);
});

test("decimation keeps spikes and order", () => {
  const n = 10000, xs = Array.from({ length: n }, (_, i) => i), ys = xs.map((i) => (i === 5000 ? 100 : Math.sin(i)));
  const [dx, dy] = mon.decimate(xs, ys, 200);
  assert.ok(dx.length <= 400);
  assert.ok(dy.includes(100));
  for (let i = 1; i < dx.length; i++) assert.ok(dx[i] > dx[i - 1]);
  const [sx] = mon.decimate([1, 2, 3], [1, 2, 3], 200);
  assert.deepEqual(sx, [1, 2, 3]);
});

test("paths break at points a log axis cannot show", () => {
  const d = mon.pathData([0, 1, 2, 3], [1, -1, 2, NaN], (x) => x, (y) => y, true);
  assert.equal(d, "M0.0,1.0M2.0,2.0");
  assert.equal(mon.yAxis([{ values: [0, -1] }], true), null);
  const axis = mon.yAxis([{ values: [0.5, 20] }], true);
  assert.deepEqual(axis.ticks, [0.1, 1, 10, 100]);
});

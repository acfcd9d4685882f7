// DOM-free logic of extensions/gradflow.js against the Python side, on fixtures that
// tests/viz/test_gradflow.py writes (extensions/tests/fixtures/gradflow_*.json): the rows read from
// a real GradFlow's synced state, and the same vanishing/exploding flags for every update.
// Run: node --test extensions/tests/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import * as gf from "../gradflow.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const SPECIAL = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
const load = (name) => JSON.parse(readFileSync(join(FIXTURES, name), "utf8"),
  (k, v) => (typeof v === "string" && v in SPECIAL ? SPECIAL[v] : v));
const same = (a, b) => (Number.isNaN(a) && Number.isNaN(b)) || a === b;

const fixture = load("gradflow_state.json");
const math = load("gradflow_math.json");

test("the fixture's traits are the ones the widget reads", () => {
  const src = readFileSync(join(FIXTURES, "..", "..", "gradflow.js"), "utf8");
  for (const name of fixture.traits) assert.ok(src.includes(`"${name}"`), name);
  assert.deepEqual(Object.keys(fixture.state).sort(), [...fixture.traits].sort());
});

test("base + tail rows give every update", () => {
  const { state, expect } = fixture;
  assert.ok(state.counts.tail_n > 0 && state.counts.n > 0);
  const g = gf.gradFromState(state);
  assert.deepEqual(Array.from(g.steps), expect.steps);
  assert.equal(g.norms.length, expect.norms.length);
  g.norms.forEach((row, u) => row.forEach((v, i) => assert.ok(same(v, expect.norms[u][i]), `norm ${u},${i}`)));
});

test("flags of every update are Python's", () => {
  const { state, expect } = fixture;
  const g = gf.gradFromState(state);
  g.norms.forEach((row, u) => assert.deepEqual(gf.rowFlags(row, state.thresholds), expect.flags[u], `update ${u}`));
  const last = expect.flags[expect.flags.length - 1];
  assert.ok(last.includes("exploding") && last.includes("vanishing"));
});

test("histograms: one per layer, counting every gradient value", () => {
  const g = gf.gradFromState(fixture.state);
  assert.equal(g.hist.length, g.layers.length);
  g.hist.forEach((counts, i) => {
    const sum = counts.reduce((a, b) => a + b, 0);
    // the NaN layer has no finite values; the others count every element
    assert.ok(sum === fixture.expect.hist_sums[i] || sum === 0, `${g.layers[i]}: ${sum}`);
    const [lo, hi] = g.histRange[i];
    assert.ok(lo === -hi);
  });
});

test("classifyNorm matches Python's classify_norm", () => {
  for (const [norm, max, flag] of math.classify) assert.equal(gf.classifyNorm(norm, max), flag, `${norm} of ${max}`);
});

test("colormap matches Python's", () => {
  for (const [v, lo, hi, rgb] of math.colormap) assert.deepEqual(gf.colormap(v, lo, hi), rgb, `${v} in [${lo}, ${hi}]`);
});

test("log range and heatmap columns", () => {
  assert.deepEqual(gf.logRange([0.02, 30, NaN, 0]), [-2, 2]);
  assert.deepEqual(gf.logRange([5, 5]), [-1, 1]);  // at least one decade below the top
  assert.deepEqual(gf.logRange([NaN]), [-8, 0]);
  assert.deepEqual(gf.columnsOf(3, 10), [0, 1, 2]);
  const cols = gf.columnsOf(1000, 320);
  assert.equal(cols.length, 320);
  assert.equal(cols[cols.length - 1], 999);
  for (let i = 1; i < cols.length; i++) assert.ok(cols[i] > cols[i - 1]);
});

// DOM-free logic of extensions/show.js against the Python side, on fixtures that
// tests/viz/test_show.py writes (extensions/tests/fixtures/show_*.json): the same colors, the same
// histogram counts from the synced sample, the same blocks behind each downsampled pixel.
// Run: node --test extensions/tests/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import * as sh from "../show.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const SPECIAL = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
const load = (name) => JSON.parse(readFileSync(join(FIXTURES, name), "utf8"),
  (k, v) => (typeof v === "string" && v in SPECIAL ? SPECIAL[v] : v));

const fixture = load("show_state.json");
const math = load("show_math.json");

test("the fixture's traits are the ones the widget reads", () => {
  const src = readFileSync(join(FIXTURES, "..", "..", "show.js"), "utf8");
  for (const name of fixture.traits) assert.ok(src.includes(`"${name}"`), name);
  assert.deepEqual(Object.keys(fixture.state).sort(), [...fixture.traits].sort());
});

test("histograms binned here equal Python's, for several bin counts", () => {
  const { state, expect } = fixture;
  const sample = sh.toF32(state.sample), { stats, grad_stats: gstats } = state.meta;
  for (const [bins, counts] of Object.entries(expect.hist)) {
    assert.deepEqual(sh.histogram(sample, Number(bins), stats.min, stats.max), counts, `${bins} bins`);
  }
  assert.deepEqual(sh.histogram(sh.toF32(state.grad_sample), state.bins, gstats.min, gstats.max), expect.grad_hist);
});

test("heatmap buffer, shape, title and statistics", () => {
  const { state, expect } = fixture;
  const [h, w] = state.heat_shape;
  const heat = sh.toF32(state.heat);
  assert.equal(heat.length, h * w);
  assert.ok(h <= 256 && w <= 256);
  const row = Array.from(heat.subarray(0, w));
  row.forEach((v, i) => assert.ok(Object.is(v, expect.heat_first_row[i]) || v === expect.heat_first_row[i], `heat[0][${i}]`));
  assert.ok(heat.some(Number.isNaN), "the NaN written in Python shows in its block");
  assert.equal(sh.toF32(state.grad_heat).length, state.grad_heat_shape[0] * state.grad_heat_shape[1]);
  assert.equal(sh.titleOf(state.meta), expect.title);
  assert.ok(state.meta.stats.nan === 1);
});

test("colormap matches Python's (diverging and sequential, NaN and Inf)", () => {
  for (const [v, lo, hi, div, rgb] of math.colormap) assert.deepEqual(sh.colormap(v, lo, hi, div), rgb, `${v} [${lo}, ${hi}] ${div}`);
});

test("histogram edge cases match Python's", () => {
  for (const [values, bins, lo, hi, counts] of math.histogram) assert.deepEqual(sh.histogram(values, bins, lo, hi), counts);
});

test("each pixel's block is the one Python averaged", () => {
  for (const [key, starts] of Object.entries(math.block_starts)) {
    const [n, size] = key.split("/").map(Number);
    const k = Math.min(n, size);
    for (let i = 0; i < k; i++) {
      const [a, b] = sh.blockRange(n, k, i);
      assert.equal(a, starts[i], `${key} start ${i}`);
      assert.equal(b, i + 1 < k ? starts[i + 1] : n, `${key} end ${i}`);
    }
  }
});

test("statistics lines", () => {
  for (const [stats, line] of math.stats_lines) assert.equal(sh.statsLine(stats), line);
});
